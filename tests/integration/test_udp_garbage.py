"""Hostile datagrams at the media port: random bytes in every RFC 7983 demux range, truncated and
lying STUN, DTLS and RTP/RTCP headers. The server must drop them and keep serving: /healthz
answers and a fresh aiortc publisher still completes ICE + DTLS on the same port."""

from __future__ import annotations

import random
import socket
import struct
import time

from chorus_api import ChorusAPI, assert_answer_shape, assert_created, describe
from conftest import ChorusServer
from peers import Publisher, close_all, in_thread, run, wait_connected

STUN_MAGIC = 0x2112A442


RNG = random.Random(7)  # seeded: the same datagrams every run


def noise(length: int) -> bytes:
    return bytes(RNG.getrandbits(8) for _ in range(length))


def stun_header(method: int, length: int) -> bytes:
    # RFC 8489 §5: type, length, magic cookie, 96-bit transaction id.
    return struct.pack("!HHI", method, length, STUN_MAGIC) + noise(12)


def stun_attribute(kind: int, value: bytes, claimed: int | None = None) -> bytes:
    padded = value + b"\x00" * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value) if claimed is None else claimed) + padded


def crafted_datagrams() -> list[bytes]:
    binding = 0x0001
    username = stun_attribute(0x0006, b"nosuchufrag:peer")
    integrity = stun_attribute(0x0008, noise(20))
    return [
        b"",
        b"\x00",
        stun_header(binding, 0)[:12],  # truncated header
        stun_header(binding, 80) + b"\x00" * 8,  # length says 80, 8 bytes follow
        stun_header(binding, 3) + b"\x00\x00\x00",  # length not a multiple of 4
        stun_header(binding, 0),  # binding request without USERNAME or integrity
        stun_header(binding, len(username + integrity)) + username + integrity,  # unknown ufrag
        stun_header(binding, 8) + stun_attribute(0x0006, b"abcd", claimed=400),  # attribute overruns
        stun_header(0x0101, 0),  # a binding *response* nobody asked for
        # DTLS record (RFC 6347 §4.1): handshake, DTLS 1.2, epoch 0, length larger than the datagram
        bytes([22, 0xFE, 0xFD]) + b"\x00" * 8 + struct.pack("!H", 1000) + b"\x01\x00",
        bytes([22, 0xFE, 0xFD]) + b"\x00" * 8 + struct.pack("!H", 0),
        bytes([23, 0xFE, 0xFD]) + noise(40),  # application data, no session
        # RTP (RFC 3550 §5.1): 15 CSRCs announced, none present; extension bit with no extension
        bytes([0x8F, 96]) + noise(10),
        bytes([0x90, 96]) + noise(10),
        bytes([0xA0, 96]) + noise(10) + b"\xff",  # padding count larger than the packet
        # RTCP (RFC 3550 §6.4): length field claims far more than is there
        bytes([0x81, 200]) + struct.pack("!H", 500) + noise(8),
        bytes([0x81, 206, 0x00, 0x00]),  # PLI with zero length
    ]


def random_datagrams(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    first_bytes = [0, 1, 2, 3, 4, 19, 20, 22, 63, 64, 127, 128, 144, 191, 192, 255]
    datagrams = []
    for i in range(count):
        length = rng.choice([1, 2, 4, 12, 20, 21, 100, 1200, 1500, rng.randrange(0, 1500)])
        body = bytes(rng.getrandbits(8) for _ in range(length))
        datagrams.append(bytes([first_bytes[i % len(first_bytes)]]) + body[1:] if body else body)
    return datagrams


def test_garbage_datagrams_do_not_stop_the_server(chorus: ChorusServer, api: ChorusAPI, room: str) -> None:
    targets = [(chorus.announced_ip, port) for port in chorus.udp_ports]
    datagrams = crafted_datagrams() + random_datagrams(seed=3, count=600)
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(4)]
    try:
        for i, datagram in enumerate(datagrams):
            senders[i % len(senders)].sendto(datagram, targets[i % len(targets)])
            if i % 50 == 0:
                time.sleep(0.005)  # stay under the loopback socket buffer; this is not a flood test
    finally:
        for sender in senders:
            sender.close()
    time.sleep(0.5)

    response = api.healthz()
    assert response.status_code == 200, describe(response)

    token = chorus.token("alice", room, publish=True)

    async def publish() -> None:
        publisher = await Publisher.create()
        try:
            created = assert_created(await in_thread(api.whip, room, publisher.offer, token), f"/whip/{room}")
            assert_answer_shape(created.answer, chorus.announced_ip, chorus.udp_ports, chorus.tcp_ports)
            await publisher.accept(created.answer)
            await wait_connected(publisher.pc, 10, "publisher after garbage")
            response = await in_thread(api.delete, created.path, token)
            assert response.status_code in (200, 204), describe(response)
        finally:
            await close_all(publisher.pc)

    run(publish(), timeout=60)
