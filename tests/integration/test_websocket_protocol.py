"""The native /ws endpoint at the protocol level (reliability finding 7): a bad token gets the
documented 401 JSON error, not an empty 400; RFC 6455's rules for malformed frames hold (text
that is not UTF-8 closes with 1007, a continuation frame with nothing to continue with 1002)."""

from __future__ import annotations

import base64
import os
import socket
import struct

import pytest
import requests

from chorus_api import assert_error
from conftest import ChorusServer

UPGRADE_HEADERS = {
    "Connection": "Upgrade",
    "Upgrade": "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
}


def test_a_bad_token_gets_401_with_the_json_error(chorus: ChorusServer) -> None:
    for query in ("?token=not-a-jwt", ""):
        response = requests.get(f"{chorus.base_url}/ws{query}", headers=UPGRADE_HEADERS, timeout=10)
        assert_error(response, 401)
    # An expired token is refused the same way.
    expired = chorus.token("ws-expired", "*", ttl=1)
    import time
    time.sleep(2.1)
    assert_error(requests.get(f"{chorus.base_url}/ws?token={expired}", headers=UPGRADE_HEADERS, timeout=10), 401)


class RawWebSocket:
    """Just enough of a client to send frames a well-behaved library would never send."""

    def __init__(self, port: int, token: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n"
            f"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n")
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, f"connection closed during the handshake: {head!r}"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buffer = head.split(b"\r\n\r\n", 1)[1]

    def send_frame(self, opcode: int, payload: bytes, fin: bool = True) -> None:
        mask = os.urandom(4)
        header = bytes([(0x80 if fin else 0) | opcode])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def read_close_code(self) -> int:
        """Reads frames until the server's close frame and returns its status code."""
        while True:
            while len(self.buffer) < 2:
                self.buffer += self._recv()
            opcode = self.buffer[0] & 0x0F
            length = self.buffer[1] & 0x7F
            offset = 2
            if length == 126:
                while len(self.buffer) < 4:
                    self.buffer += self._recv()
                length = struct.unpack("!H", self.buffer[2:4])[0]
                offset = 4
            while len(self.buffer) < offset + length:
                self.buffer += self._recv()
            payload = self.buffer[offset:offset + length]
            self.buffer = self.buffer[offset + length:]
            if opcode == 0x8:
                assert len(payload) >= 2, "close frame without a status code"
                return struct.unpack("!H", payload[:2])[0]

    def _recv(self) -> bytes:
        chunk = self.sock.recv(4096)
        assert chunk, "connection closed without a close frame"
        return chunk

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(
    ("opcode", "payload", "code"),
    [
        (0x1, b'{"event":"join-call","data":{"callId":"\xff\xfe"}}', 1007),  # text that is not UTF-8
        (0x0, b"orphan", 1002),  # a continuation frame with nothing to continue
    ],
    ids=["invalid-utf8-1007", "orphan-continuation-1002"],
)
def test_malformed_frames_close_with_the_rfc_6455_code(chorus: ChorusServer, opcode: int, payload: bytes, code: int) -> None:
    ws = RawWebSocket(chorus.http_port, chorus.token("ws-malformed", "*"))
    try:
        ws.send_frame(opcode, payload)
        assert ws.read_close_code() == code
    finally:
        ws.close()


def test_a_good_frame_still_works_after_the_checks(chorus: ChorusServer) -> None:
    ws = RawWebSocket(chorus.http_port, chorus.token("ws-good", "*"))
    try:
        ws.send_frame(0x1, b'{"event":"no-such-event","data":{}}')
        ws.send_frame(0x8, struct.pack("!H", 1000))
        assert ws.read_close_code() == 1000
    finally:
        ws.close()
