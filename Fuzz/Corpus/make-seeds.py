#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (Fuzz/Corpus/<Fuzzer>/): real-shaped inputs from the RFCs'
test vectors, the SDP fixtures the Swift tests use (Tests/ChorusTestSupport/SDPFixtures.swift and
shared/fixtures), packets built field by field as browsers send them, SRTP protected by libsrtp2
(pylibsrtp, the library aiortc uses) and DTLS ClientHellos from OpenSSL (pyOpenSSL). Output is
deterministic except the ClientHellos' random fields. Run from anywhere:
    python3 Fuzz/Corpus/make-seeds.py
Needs pylibsrtp and pyOpenSSL (both come with aiortc, which scripts/install-deps.sh --test installs).
"""
import hashlib
import hmac
import json
import pathlib
import re
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def write(fuzzer, name, data):
    folder = HERE / fuzzer
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


# --- STUN (RFC 8489, RFC 5769) ---------------------------------------------------------------

STUN_PASSWORD = b"fuzz-password-0123456789"  # FuzzSTUN.swift's Fixture.password
COOKIE = 0x2112A442


def stun_attr(kind, value):
    padded = value + b"\0" * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value)) + padded


def stun(msg_type, tid, attrs, key=None, fingerprint=True):
    body = b"".join(attrs)
    if key is not None:
        header = struct.pack("!HHI", msg_type, len(body) + 24, COOKIE) + tid
        mac = hmac.new(key, header + body, hashlib.sha1).digest()
        body += stun_attr(0x0008, mac)
    if fingerprint:
        header = struct.pack("!HHI", msg_type, len(body) + 8, COOKIE) + tid
        crc = (zlib.crc32(header + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += stun_attr(0x8028, struct.pack("!I", crc))
    return struct.pack("!HHI", msg_type, len(body), COOKIE) + tid + body


def xor_address(ip4, port, tid):
    xport = port ^ (COOKIE >> 16)
    xip = struct.unpack("!I", bytes(ip4))[0] ^ COOKIE
    return struct.pack("!BBHI", 0, 1, xport, xip)


def stun_seeds():
    rfc5769 = {
        "rfc5769-request": "00010058 2112a442 b7e7a701 bc34d686 fa87dfae 80220010 5354554e 20746573 7420636c 69656e74"
        " 00240004 6e0001ff 80290008 932ff9b1 51263b36 00060009 6576746a 3a683676 59202020"
        " 00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2 80280004 e57a3bcf",
        "rfc5769-ipv4-response": "0101003c 2112a442 b7e7a701 bc34d686 fa87dfae 8022000b 74657374 20766563 746f7220"
        " 00200008 0001a147 e112a643 00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7 80280004 c07d4c96",
        "rfc5769-ipv6-response": "01010048 2112a442 b7e7a701 bc34d686 fa87dfae 8022000b 74657374 20766563 746f7220"
        " 00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9 00080014 a382954e 4be67bf1 1784c97c"
        " 8292c275 bfe3ed41 80280004 c8fb0b4c",
    }
    for name, text in rfc5769.items():
        write("FuzzSTUN", name, bytes.fromhex(text.replace(" ", "")))
    tid = bytes(range(1, 13))
    check = [
        stun_attr(0x0006, b"fuzzufrag:peerufrag"),
        stun_attr(0x0024, struct.pack("!I", 0x6E0001FF)),
        stun_attr(0x802A, struct.pack("!Q", 0x1122334455667788)),
        stun_attr(0x0025, b""),
    ]
    write("FuzzSTUN", "ice-check-use-candidate", stun(0x0001, tid, check, key=STUN_PASSWORD))
    write("FuzzSTUN", "ice-check-no-fingerprint", stun(0x0001, tid, check[:3], key=STUN_PASSWORD, fingerprint=False))
    write("FuzzSTUN", "ice-check-controlled", stun(0x0001, tid, [check[0], check[1], stun_attr(0x8029, b"\x01" * 8)], key=STUN_PASSWORD))
    write("FuzzSTUN", "binding-plain", stun(0x0001, tid, [], fingerprint=False))
    write("FuzzSTUN", "binding-success", stun(0x0101, tid, [stun_attr(0x0020, xor_address([127, 0, 0, 1], 40000, tid))], key=STUN_PASSWORD))
    write("FuzzSTUN", "binding-error-487", stun(0x0111, tid, [stun_attr(0x0009, b"\0\0\x04\x57Role Conflict")], key=STUN_PASSWORD))
    write("FuzzSTUN", "unknown-required-attribute", stun(0x0001, tid, [stun_attr(0x0006, b"fuzzufrag:x"), stun_attr(0x0030, b"abcd")]))


# --- RTP (RFC 3550, RFC 8285) and RTCP (RFC 3550, 4585, 5104, REMB) -----------------------------

def rtp(pt, seq, ts, ssrc, payload, marker=False, csrcs=(), extension=None, padding=0):
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extension else 0) | len(csrcs)
    header = struct.pack("!BBHII", first, (0x80 if marker else 0) | pt, seq, ts, ssrc)
    header += b"".join(struct.pack("!I", c) for c in csrcs)
    if extension:
        profile, data = extension
        data += b"\0" * (-len(data) % 4)
        header += struct.pack("!HH", profile, len(data) // 4) + data
    pad = (b"\0" * (padding - 1) + bytes([padding])) if padding else b""
    return header + payload + pad


def one_byte(elements):
    return (0xBEDE, b"".join(bytes([(i << 4) | (len(d) - 1)]) + d for i, d in elements))


def two_byte(elements):
    return (0x1000, b"".join(bytes([i, len(d)]) + d for i, d in elements))


VP8_KEYFRAME = bytes([0x10]) + bytes([0x50, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]) + bytes(range(64))
VP8_DELTA_EXTENDED = bytes([0x90, 0xE0, 0x81, 0x23, 0x05, 0x40]) + bytes([0x31, 0x02, 0x00]) + bytes(range(40))
H264_STAP_A_IDR = bytes([0x78, 0x00, 0x05, 0x67, 0x42, 0xE0, 0x1F, 0xDA, 0x00, 0x03, 0x68, 0xCE, 0x3C, 0x00, 0x04, 0x65, 0x88, 0x84, 0x00])
H264_FU_A_START = bytes([0x7C, 0x85]) + bytes(range(30))
OPUS = bytes([0xFC, 0xFF, 0xFE]) + bytes(range(60))

RTP_PACKETS = {
    "vp8-keyframe-one-byte-ext": rtp(96, 1000, 90000, 0x11223344, VP8_KEYFRAME, marker=True,
                                     extension=one_byte([(1, b"0"), (2, b"\x12\x34\x56"), (3, b"\x00\x01")])),
    "vp8-delta-picture-id": rtp(96, 1001, 93000, 0x11223344, VP8_DELTA_EXTENDED, extension=one_byte([(4, b"f1")])),
    "vp8-two-byte-ext": rtp(96, 1002, 96000, 0x11223344, VP8_KEYFRAME, extension=two_byte([(1, b"mid-0"), (20, b""), (21, bytes(20))])),
    "opus-audio-level": rtp(111, 65535, 4294967000, 0xCAFEBABE, OPUS, extension=one_byte([(1, b"1"), (10, b"\x9e")])),
    "opus-csrc-padding": rtp(111, 7, 960, 0xCAFEBABE, OPUS, csrcs=(1, 2, 3), padding=4),
    "h264-stap-a-idr": rtp(102, 20, 3000, 0x0BADF00D, H264_STAP_A_IDR, marker=True),
    "h264-fu-a-start": rtp(102, 21, 3000, 0x0BADF00D, H264_FU_A_START),
}


def rtcp_packet(count, ptype, body, padding=0):
    pad = (b"\0" * (padding - 1) + bytes([padding])) if padding else b""
    total = 4 + len(body) + len(pad)
    assert total % 4 == 0
    return struct.pack("!BBH", 0x80 | (0x20 if padding else 0) | count, ptype, total // 4 - 1) + body + pad


def report_block(ssrc):
    return struct.pack("!IIIIII", ssrc, (12 << 24) | 40, 70000, 13, 0x12345678, 0x0000AAAA)


def sdes_cname(ssrc, cname):
    items = bytes([1, len(cname)]) + cname + b"\0"
    items += b"\0" * (-len(items) % 4)
    return rtcp_packet(1, 202, struct.pack("!I", ssrc) + items)


RTCP_PACKETS = {
    "sr-sdes": rtcp_packet(1, 200, struct.pack("!IQII I", 0x11223344, 0xE5F0000012345678, 90000, 100, 120000) + report_block(0xCAFEBABE))
    + sdes_cname(0x11223344, b"chorus-cname"),
    "rr-two-blocks-sdes": rtcp_packet(2, 201, struct.pack("!I", 1) + report_block(0x11223344) + report_block(0xCAFEBABE))
    + sdes_cname(1, b"aiortc"),
    "pli": rtcp_packet(1, 206, struct.pack("!II", 1, 0x11223344)),
    "fir": rtcp_packet(4, 206, struct.pack("!II", 1, 0) + struct.pack("!IB3x", 0x11223344, 7)),
    "nack": rtcp_packet(1, 205, struct.pack("!II", 1, 0x11223344) + struct.pack("!HH", 1000, 0b1010000000000001)),
    "remb": rtcp_packet(15, 206, struct.pack("!II", 1, 0) + b"REMB" + bytes([2, (3 << 2) | 0x01, 0x86, 0xA0]) + struct.pack("!II", 0x11223344, 0xCAFEBABE)),
    "bye-reason": rtcp_packet(1, 203, struct.pack("!I", 0x11223344) + bytes([7]) + b"goodbye"),
    "twcc-unknown": rtcp_packet(15, 205, struct.pack("!II", 1, 0x11223344) + struct.pack("!HHI", 5, 3, 0x00010203) + bytes([0x20, 0x03, 0x04, 0x08])),
    "xr-and-app": rtcp_packet(0, 207, struct.pack("!I", 1) + bytes([4, 0, 0, 2]) + struct.pack("!Q", 1))
    + rtcp_packet(0, 204, struct.pack("!I", 1) + b"name" + b"data"),
    "rr-padded": rtcp_packet(0, 201, struct.pack("!I", 1), padding=4),
}


def rtp_rtcp_seeds():
    for name, packet in RTP_PACKETS.items():
        write("FuzzRTP", name, packet)
    for name, packet in RTCP_PACKETS.items():
        write("FuzzRTCP", name, packet)


# --- SRTP: FuzzSRTP's mode byte + packet ------------------------------------------------------

CM_KEY = bytes(range(0x00, 0x10)) + bytes(range(0x10, 0x1E))  # FuzzSRTP.swift's Fixture.cmKey
GCM_KEY = bytes(range(0x20, 0x30)) + bytes(range(0x30, 0x3C))


def srtp_seeds():
    import pylibsrtp

    profiles = [(0, pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, CM_KEY), (1, pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM, GCM_KEY)]
    rtp_samples = [RTP_PACKETS["vp8-keyframe-one-byte-ext"], RTP_PACKETS["opus-csrc-padding"], RTP_PACKETS["vp8-two-byte-ext"]]
    rtcp_samples = [RTCP_PACKETS["sr-sdes"], RTCP_PACKETS["pli"]]
    for bit, profile, key in profiles:
        sender = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
        for i, packet in enumerate(rtp_samples):
            protected = sender.protect(packet)
            for receiver in (0, 2):  # OpenSSL, libsrtp2
                write("FuzzSRTP", f"srtp-p{bit}-r{receiver}-{i}", bytes([bit | receiver]) + protected)
            write("FuzzSRTP", f"roundtrip-rtp-p{bit}-{i}", bytes([bit | 8]) + packet)
        for i, packet in enumerate(rtcp_samples):
            protected = sender.protect_rtcp(packet)
            for receiver in (0, 2):
                write("FuzzSRTP", f"srtcp-p{bit}-r{receiver}-{i}", bytes([bit | receiver | 4]) + protected)
            write("FuzzSRTP", f"roundtrip-rtcp-p{bit}-{i}", bytes([bit | 4 | 8 | 2]) + packet)


# --- DTLS: FuzzDTLS's flights (2-byte length + datagram) ---------------------------------------

def dtls_seeds():
    from OpenSSL import SSL

    def client_hello(ciphers, srtp):
        context = SSL.Context(SSL.DTLS_METHOD)
        context.set_cipher_list(ciphers)
        context.set_tlsext_use_srtp(srtp)
        connection = SSL.Connection(context, None)
        connection.set_connect_state()
        try:
            connection.do_handshake()
        except SSL.WantReadError:
            pass
        return connection.bio_read(65536)

    def flight(*datagrams):
        return b"".join(struct.pack("!H", len(d)) + d for d in datagrams)

    hello = client_hello(b"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", b"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80")
    write("FuzzDTLS", "client-hello-gcm", flight(hello))
    write("FuzzDTLS", "client-hello-cm-only", flight(client_hello(b"ECDHE-ECDSA-AES128-SHA", b"SRTP_AES128_CM_SHA1_80")))
    # A record header followed by the ClientHello again (a retransmission), then an alert.
    alert = bytes([21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 2, 40])
    write("FuzzDTLS", "client-hello-twice-then-alert", flight(hello, hello, alert))
    change_cipher_spec = bytes([20, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 1])
    application_data = bytes([23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8]) + bytes(8)
    write("FuzzDTLS", "records-out-of-order", flight(change_cipher_spec, application_data, hello))


# --- SDP ---------------------------------------------------------------------------------------

def sdp_fixtures():
    """The offers of Tests/ChorusTestSupport/SDPFixtures.swift, with its fingerprint constants
    put in where the Swift text interpolates them, lines ending in CRLF as browsers send them."""
    fixtures = (ROOT / "Tests/ChorusTestSupport/SDPFixtures.swift").read_text()
    constants = dict(re.findall(r'static let (\w+) = "([^"]*)"', fixtures))
    offers = {}
    for name, body in re.findall(r'static let (\w+) = """\n(.*?)\n\s*"""', fixtures, re.S):
        body = re.sub(r"\\\((\w+)\)", lambda m: constants[m.group(1)], body)
        offers[name] = "\r\n".join(line.strip() for line in body.split("\n")) + "\r\n"
    return offers


def sdp_seeds():
    for name, text in sdp_fixtures().items():
        write("FuzzSDP", f"{name}.sdp", text)
    simulcast = ROOT.parent / "shared/fixtures/chromium156-simulcast-offer.sdp"
    if not simulcast.exists():
        simulcast = pathlib.Path("/work/shared/fixtures/chromium156-simulcast-offer.sdp")
    if simulcast.exists():
        write("FuzzSDP", "chromium156-simulcast.sdp", simulcast.read_bytes())


# --- Engine.IO / Socket.IO ---------------------------------------------------------------------

def socketio_seeds():
    seeds = {
        "connect": "40",
        "connect-auth": '40{"token":"eyJhbGciOiJIUzI1NiJ9.e30.x"}',
        "connect-namespace": '40/admin,{"token":"t"}',
        "event": '42["call-event",{"callId":"c1","type":"ring"}]',
        "event-ack": '4217["webrtc-offer",{"callId":"c1","sdp":"v=0\\r\\n"}]',
        "ack": '4317[{"ok":true}]',
        "binary-event": '451-["upload",{"_placeholder":true,"num":0}]',
        "disconnect": "41",
        "ping-pong-probe": "2probe",
        "pong": "3",
        "upgrade": "5",
        "noop": "6",
        "close": "1",
        "binary-base64": "bAAECAwQF",
        "payload": "40\x1e42[\"ice-candidate\",{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 9 typ host\",\"sdpMLineIndex\":0}]\x1e3",
        "payload-binary": "451-[\"x\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID",
    }
    for name, text in seeds.items():
        write("FuzzSocketIO", name, text)


# --- JSON request bodies (CallRoutes) ----------------------------------------------------------

def json_seeds():
    offer = sdp_fixtures()["aiortc"]
    seeds = {
        "initiate": {"roomId": "!room:example.org", "callType": "video", "invitees": ["@bob:example.org"]},
        "initiate-group": {"roomId": "!room:example.org", "callType": "voice", "isGroupCall": True,
                           "invitees": ["@bob:example.org", "@carol:example.org", "@bob:example.org"]},
        "offer": {"callId": "c1", "sdp": offer, "type": "offer", "to": "@bob:example.org"},
        "answer-object": {"sdp": {"type": "answer", "sdp": offer}},
        "candidate": {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host", "sdpMid": "0", "sdpMLineIndex": 0},
        "end-of-candidates": {"candidate": "", "sdpMid": None, "sdpMLineIndex": None},
        "toggle": {"enabled": False},
        "reason": {"reason": "busy \u00e9\u4e2d\U0001F600"},
    }
    for name, value in seeds.items():
        write("FuzzJSONRequests", name, json.dumps(value))
    write("FuzzJSONRequests", "nested", '[[[[{"a":[1,-2.5e-3,1e300,true,null,"\\u0000\\ud83d\\ude00"]}]]]]')


if __name__ == "__main__":
    stun_seeds()
    rtp_rtcp_seeds()
    srtp_seeds()
    dtls_seeds()
    sdp_seeds()
    socketio_seeds()
    json_seeds()
    for folder in sorted(p for p in HERE.iterdir() if p.is_dir()):
        print(f"{folder.name}: {len(list(folder.iterdir()))} seeds")
