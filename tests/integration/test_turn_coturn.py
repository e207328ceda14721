"""TURN credentials from /api/ice-servers work against a real coturn: Chorus and coturn share
the `use-auth-secret` secret (TURN REST API), an allocation with Chorus's credentials succeeds
and relays a datagram, and a tampered or expired credential is refused by coturn itself."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from typing import Iterator

import pytest
import requests
from aioice.turn import create_turn_endpoint

from conftest import ChorusServer
from coturn import Coturn, chorus_with_turn, running_coturn


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    with running_coturn(tmp_path_factory.mktemp("coturn")) as server:
        yield server


@pytest.fixture(scope="module")
def chorus_turn(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[ChorusServer]:
    with chorus_with_turn(tmp_path_factory.mktemp("chorus-turn"), coturn) as server:
        yield server


class Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr) -> None:  # noqa: ANN001 - asyncio signature
        self.received.put_nowait(data)


def turn_server(chorus: ChorusServer) -> tuple[str, str, str]:
    token = chorus.token("@alice:example.org", "*")
    response = requests.get(chorus.base_url + "/api/ice-servers", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert response.status_code == 200, response.text
    servers = response.json()["iceServers"]
    for server in servers:
        urls = server["urls"] if isinstance(server["urls"], list) else [server["urls"]]
        turn = [u for u in urls if u.startswith("turn:")]
        if turn:
            return turn[0], server["username"], server["credential"]
    raise AssertionError(f"no TURN server in {servers}")


async def allocate_and_relay(port: int, username: str, password: str) -> bytes:
    transport, protocol = await create_turn_endpoint(
        Collect, server_addr=("127.0.0.1", port), username=username, password=password, lifetime=60)
    try:
        relayed = transport.get_extra_info("sockname")
        # A plain UDP peer on loopback sends to the relayed address; coturn forwards it to us
        # once a permission exists (created by sending to the peer first).
        loop = asyncio.get_running_loop()
        peer, peer_protocol = await loop.create_datagram_endpoint(Collect, local_addr=("127.0.0.1", 0))
        peer_addr = peer.get_extra_info("sockname")
        transport.sendto(b"hello peer", peer_addr)
        assert await asyncio.wait_for(peer_protocol.received.get(), 5) == b"hello peer"
        peer.sendto(b"hello relay", relayed)
        data = await asyncio.wait_for(protocol.received.get(), 5)
        peer.close()
        return data
    finally:
        transport.close()


def test_chorus_turn_credentials_allocate_on_coturn(chorus_turn: ChorusServer, coturn: Coturn) -> None:
    url, username, credential = turn_server(chorus_turn)
    assert url.startswith(f"turn:127.0.0.1:{coturn.port}"), url
    expiry, _, user = username.partition(":")
    assert user == "@alice:example.org" and int(expiry) > time.time(), username
    # The coturn scheme: base64(HMAC-SHA1(secret, username)).
    expected = base64.b64encode(hmac.new(coturn.secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    assert credential == expected
    assert asyncio.run(allocate_and_relay(coturn.port, username, credential)) == b"hello relay"


def test_tampered_and_expired_credentials_are_refused_by_coturn(chorus_turn: ChorusServer, coturn: Coturn) -> None:
    _, username, credential = turn_server(chorus_turn)
    tampered = ("A" if credential[0] != "A" else "B") + credential[1:]
    with pytest.raises(Exception):
        asyncio.run(allocate_and_relay(coturn.port, username, tampered))
    expired_user = f"{int(time.time()) - 60}:@alice:example.org"
    expired_credential = base64.b64encode(hmac.new(coturn.secret.encode(), expired_user.encode(), hashlib.sha1).digest()).decode()
    with pytest.raises(Exception):
        asyncio.run(allocate_and_relay(coturn.port, expired_user, expired_credential))
