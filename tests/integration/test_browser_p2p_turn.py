"""A 1-to-1 call between two real Chromiums on Chorus's web page, forced through a real coturn
(`?relay=1` sets iceTransportPolicy "relay"): ringing and answer over REST, offer, answer and
candidates over the realtime WebSocket, video decoded both ways over a relay candidate pair,
hang-up, and the call's status, history and event log afterwards."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import requests

from browser import browsers, inbound, page_url, require_browser, require_page, wait_flowing, wait_until, web_dev_server
from conftest import ChorusServer
from coturn import Coturn, chorus_with_turn, running_coturn
from test_call_persistence import sql

pytestmark = pytest.mark.browser

__all__ = ["browsers"]  # the fixture, imported for pytest


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    require_browser()
    with running_coturn(tmp_path_factory.mktemp("coturn-browser")) as server:
        yield server


@pytest.fixture(scope="module")
def chorus_turn(tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[ChorusServer]:
    with chorus_with_turn(tmp_path_factory.mktemp("chorus-browser-turn"), coturn) as server:
        yield server


def user(name: str) -> str:
    return f"@{name}-{uuid.uuid4().hex[:8]}:example.org"


def test_p2p_call_through_turn(chorus_turn: ChorusServer, coturn: Coturn, browsers) -> None:
    static = web_dev_server()
    try:
        require_page(chorus_turn, static)
        alice_id, bob_id = user("alice"), user("bob")
        alice_token = chorus_turn.token(alice_id, "*", publish=True, subscribe=True)
        bob_token = chorus_turn.token(bob_id, "*", publish=True, subscribe=True)
        alice, bob = browsers("p2p-alice"), browsers("p2p-bob")
        alice.open(page_url(chorus_turn, alice_token, relay=True, static=static))
        bob.open(page_url(chorus_turn, bob_token, relay=True, static=static))
        alice.wait_ready()
        bob.wait_ready()
        assert alice.state()["user"] == alice_id and bob.state()["user"] == bob_id

        # Ringing: Alice initiates by REST (through the page), Bob's socket gets incoming-call.
        call_id = alice.hook("call", bob_id)
        incoming = bob.wait_event("incoming-call", lambda d: d["callId"] == call_id)
        assert incoming["from"] == alice_id and incoming["isGroupCall"] is False
        assert any("turn:" in str(server.get("urls")) for server in incoming["iceServers"]), incoming["iceServers"]
        assert bob.js("return document.querySelector('.toast.call') !== null"), "no incoming-call toast"
        assert not alice.js("return document.getElementById('view-ringing').hidden"), "caller sees no ringing view"

        bob.hook("answer", call_id)
        alice.wait_event("call-answered", lambda d: d["callId"] == call_id)

        # Signaling over the realtime channel: the offer reaches Bob, the answer Alice, and the
        # candidates each side relays are relay candidates only (iceTransportPolicy relay).
        offer = bob.wait_event("webrtc-offer", lambda d: d["callId"] == call_id)
        assert offer["from"] == alice_id and offer["sdp"].startswith("v=0")
        answer = alice.wait_event("webrtc-answer", lambda d: d["callId"] == call_id)
        assert answer["from"] == bob_id and answer["sdp"].startswith("v=0")
        for browser, other in ((alice, bob_id), (bob, alice_id)):
            candidate = browser.wait_event("ice-candidate", lambda d: d["callId"] == call_id)
            assert candidate["from"] == other
        for browser in (alice, bob):
            types = {e["data"]["candidate"].split(" typ ")[1].split()[0]
                     for e in browser.events("ice-candidate") if e["data"]["callId"] == call_id}
            assert types == {"relay"}, f"{browser.name} received candidates of types {types}"

        for browser in (alice, bob):
            wait_until(lambda: browser.state()["connectionState"] == "connected", 30,
                       lambda: f"{browser.name}: peer connection {browser.state()['connectionState']}; {browser.logs_text()}")
        wait_flowing(alice, "video", [bob_id])
        wait_flowing(bob, "video", [alice_id])
        wait_flowing(alice, "audio", [bob_id])
        wait_flowing(bob, "audio", [alice_id])
        for browser in (alice, bob):
            stats = browser.stats()
            pair = stats["pair"]
            assert pair and "relay" in (pair["local"], pair["remote"]), f"{browser.name}: selected pair {pair}"
            assert pair["localAddress"].startswith("127.0.0.1:"), pair
            print(f"{browser.name}: selected pair {pair}")
            video = inbound(stats, "video")
            assert len(video) == 1 and video[0]["framesDecoded"] > 0 and video[0]["frameWidth"] <= 320, video
            tiles = browser.state()["tiles"]
            assert [t["hasVideo"] for t in tiles] == [True, True], tiles

        # A mute reaches the other side as audio-toggled.
        bob.hook("toggleAudio", False)
        toggled = alice.wait_event("audio-toggled", lambda d: d["callId"] == call_id)
        assert toggled["userId"] == bob_id and toggled["enabled"] is False
        wait_until(lambda: next(t for t in alice.state()["tiles"] if t["userId"] == bob_id)["audioMuted"], 5,
                   "Alice's tile of Bob shows no muted microphone")

        # Alice hangs up: both pages tear down, the call is over everywhere.
        alice.hook("hangUp")
        ended = bob.wait_event("call-ended", lambda d: d["callId"] == call_id)
        assert ended["status"] == "ended" and ended.get("from") == alice_id, ended
        for browser in (alice, bob):
            wait_until(lambda: browser.state()["callId"] is None, 10, f"{browser.name} still in the call")
    finally:
        if static is not None:
            static.close()

    headers = {"Authorization": f"Bearer {alice_token}"}
    status = requests.get(f"{chorus_turn.base_url}/api/calls/{call_id}/status", headers=headers, timeout=10).json()
    assert status["status"] == "ended" and status.get("answeredAt") and status.get("endedAt"), status
    history = requests.get(f"{chorus_turn.base_url}/api/calls/history?limit=5", headers=headers, timeout=10).json()
    assert any(c["callId"] == call_id and c["status"] == "ended" for c in history["calls"]), history
    events = [row[0] for row in sql(chorus_turn.database, f"SELECT type FROM call_events WHERE call_id = '{call_id}' ORDER BY id")]
    assert events[:2] == ["initiated", "answered"] and events[-1] == "ended", events
    assert "offer" in events and "answer-sdp" in events and "ice-candidate" in events, events
