"""The old clients' transport in a real browser: the Socket.IO v4.8.1 JavaScript client (from the
nicegui wheel on PyPI) on a page of another origin connects to Chorus with auth {token}, long
polling then WebSocket, and two such pages run the old 1-to-1 flow (join-call, webrtc-offer,
webrtc-answer, ice-candidate, toggle-audio, leave-call) over a real P2P RTCPeerConnection."""

from __future__ import annotations

import shutil
import uuid
from typing import Iterator

import pytest
import requests

from browser import PAGES, StaticServer, browsers, require_browser, socketio_client_js, wait_flowing, wait_until
from conftest import ChorusServer

pytestmark = pytest.mark.browser

__all__ = ["browsers"]  # the fixture, imported for pytest

PAGE = "socketio-client.html"


@pytest.fixture(scope="module")
def socketio_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticServer]:
    """The test page and socket.io.min.js, served from 127.0.0.1 on a port of their own."""
    require_browser()
    site = tmp_path_factory.mktemp("socketio-site")
    socketio_client_js(site)
    shutil.copy(PAGES / PAGE, site / PAGE)
    server = StaticServer(site)
    try:
        yield server
    finally:
        server.close()


def user(name: str) -> str:
    return f"@{name}-{uuid.uuid4().hex[:8]}:example.org"


def rest(chorus: ChorusServer, method: str, path: str, token: str, body: dict | None = None) -> dict:
    response = requests.request(method, chorus.base_url + path, json=body,
                                headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
    return response.json()


def test_socketio_js_client_runs_a_p2p_call(chorus: ChorusServer, socketio_site: StaticServer, browsers) -> None:
    assert socketio_site.base_url != chorus.base_url  # another origin: CORS is exercised
    banner = requests.get(f"{socketio_site.base_url}/socket.io.min.js", timeout=5).text[:200]
    assert "Socket.IO v4." in banner, banner
    alice_id, bob_id = user("alice"), user("bob")
    alice_token = chorus.token(alice_id, "*", publish=True, subscribe=True)
    bob_token = chorus.token(bob_id, "*", publish=True, subscribe=True)
    alice, bob = browsers("sio-alice"), browsers("sio-bob")
    for browser, token in ((alice, alice_token), (bob, bob_token)):
        browser.hook_name = "client"
        browser.open(f"{socketio_site.base_url}/{PAGE}")
        wait_until(lambda: browser.js("return Boolean(window.client && window.io)"), 10,
                   lambda: f"{browser.name}: page or socket.io.min.js not loaded; {browser.logs_text()}")
        sid = browser.hook("connect", chorus.base_url, token)
        assert sid, f"{browser.name}: no socket id"
        # Starts on long polling (cross-origin XHR), then upgrades to the WebSocket.
        wait_until(lambda: browser.hook("transport") == "websocket", 15,
                   lambda: f"{browser.name}: still on {browser.hook('transport')}; {browser.logs_text()}")

    call = rest(chorus, "POST", "/api/calls/initiate", alice_token,
                {"roomId": "!sio:example.org", "callType": "video", "invitees": [bob_id], "isGroupCall": False})
    call_id = call["callId"]
    incoming = bob.wait_event("incoming-call", lambda d: d["callId"] == call_id)
    assert incoming["from"] == alice_id

    # Bob answers the old way: join-call on the socket (the ack says it was accepted).
    bob.hook("prepare", call_id)
    assert bob.hook("request", "join-call", {"callId": call_id}) == {"ok": True}
    joined = alice.wait_event("user-joined", lambda d: d["callId"] == call_id)
    assert joined["userId"] == bob_id
    assert alice.wait_event("call-answered", lambda d: d["callId"] == call_id)["status"] == "active"

    alice.hook("prepare", call_id)
    alice.hook("offer")
    offer = bob.wait_event("webrtc-offer", lambda d: d["callId"] == call_id)
    assert offer["from"] == alice_id and offer["type"] == "offer"
    answer = alice.wait_event("webrtc-answer", lambda d: d["callId"] == call_id)
    assert answer["from"] == bob_id and answer["type"] == "answer"
    for browser, other in ((alice, bob_id), (bob, alice_id)):
        candidate = browser.wait_event("ice-candidate", lambda d: d["callId"] == call_id)
        assert candidate["from"] == other and "candidate" in candidate and candidate.get("sdpMid") is not None
        wait_until(lambda: browser.stats()["connectionState"] == "connected", 30,
                   lambda: f"{browser.name}: {browser.stats()['connectionState']}; {browser.logs_text()}")
    wait_flowing(alice, "video", ["peer"])
    wait_flowing(bob, "video", ["peer"])
    wait_flowing(alice, "audio", ["peer"])

    assert bob.hook("toggleAudio", False) == {"ok": True}
    toggled = alice.wait_event("audio-toggled", lambda d: d["callId"] == call_id)
    assert toggled["userId"] == bob_id and toggled["enabled"] is False
    status = rest(chorus, "GET", f"/api/calls/{call_id}/status", alice_token)
    assert next(p for p in status["participants"] if p["user"] == bob_id)["audioEnabled"] is False, status

    assert alice.hook("leave") == {"ok": True}
    ended = bob.wait_event("call-ended", lambda d: d["callId"] == call_id)
    assert ended["status"] == "ended"
    assert rest(chorus, "GET", f"/api/calls/{call_id}/status", bob_token)["status"] == "ended"
    for browser in (alice, bob):
        assert not browser.js("return client.errors"), f"{browser.name}: {browser.js('return client.errors')}"
        assert browser.hook("transport") == "websocket"
