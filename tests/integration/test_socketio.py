"""The Socket.IO endpoint at /socket.io/ driven by the real python-socketio client (what the old
Node service's clients speak): connecting with auth {token} over long polling, over WebSocket and
by default (polling, then the upgrade), refused tokens, and a whole 1-to-1 call with the old event
names. Raw Engine.IO requests check the protocol's edges (versions, unknown sessions, malformed
payloads, duplicate polls, the upgrade handshake by hand)."""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from typing import Any, Callable, Iterator

import pytest
import requests
import socketio
import websocket

from chorus_api import describe
from jwt_tokens import claims, mint

TIMEOUT = 10.0
TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "default": None,  # python-socketio's default: polling, then upgrade to WebSocket
}


def user(name: str) -> str:
    """A Matrix id no other test uses."""
    return f"@{name}-{uuid.uuid4().hex[:8]}:example.org"


class Peer:
    """One python-socketio client that records every event it receives."""

    def __init__(self, base_url: str, token: str | None, transports: list[str] | None, **connect: Any) -> None:
        self.client = socketio.Client(reconnection=False, request_timeout=TIMEOUT)
        self.events: list[tuple[str, Any]] = []
        self.connect_errors: list[Any] = []
        self._changed = threading.Condition()
        self.client.on("*", self._record)
        self.client.on("connect_error", self._connect_error)
        kwargs: dict[str, Any] = {"wait_timeout": TIMEOUT}
        if transports is not None:
            kwargs["transports"] = transports
        if token is not None:
            kwargs["auth"] = {"token": token}
        kwargs.update(connect)
        self.client.connect(base_url, **kwargs)

    def _record(self, event: str, data: Any = None) -> None:
        with self._changed:
            self.events.append((event, data))
            self._changed.notify_all()

    def _connect_error(self, data: Any = None) -> None:
        self.connect_errors.append(data)

    def expect(self, event: str, where: Callable[[Any], bool] = lambda _: True, timeout: float = TIMEOUT) -> Any:
        """The first recorded `event` whose data satisfies `where` (waiting for it); it is
        consumed, so a later expect finds the next one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, (name, data) in enumerate(self.events):
                    if name == event and where(data):
                        del self.events[index]
                        return data
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {event!r} within {timeout}s; received {self.events!r}")
                self._changed.wait(left)

    def names(self) -> list[str]:
        with self._changed:
            return [name for name, _ in self.events]

    def emit(self, event: str, data: Any) -> None:
        self.client.emit(event, data)

    def call(self, event: str, data: Any) -> Any:
        return self.client.call(event, data, timeout=TIMEOUT)

    @property
    def transport(self) -> str:
        return self.client.transport()

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def peers(chorus) -> Iterator[Callable[..., Peer]]:
    opened: list[Peer] = []

    def open_peer(identity: str, transports: list[str] | None = None, **connect: Any) -> Peer:
        peer = Peer(chorus.base_url, chorus.token(identity, "*"), transports, **connect)
        opened.append(peer)
        return peer

    yield open_peer
    for peer in opened:
        peer.close()


def api(chorus, method: str, path: str, token: str, body: Any = None) -> Any:
    response = requests.request(
        method, chorus.base_url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )
    assert response.status_code in (200, 201), describe(response)
    return response.json()


# MARK: connecting


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_connects_with_an_auth_token(chorus, peers, transport):
    peer = peers(user("conn"), TRANSPORTS[transport])
    assert peer.client.connected
    assert peer.client.get_sid() is not None
    # The default starts on polling and upgrades at once.
    assert peer.transport == ("polling" if transport == "polling" else "websocket")


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_a_wrong_token_is_refused_with_connect_error(chorus, transport):
    forged = mint("not-the-server-secret", claims(user("forger"), "*"))
    with pytest.raises(socketio.exceptions.ConnectionError):
        Peer(chorus.base_url, forged, TRANSPORTS[transport])
    expired = mint(chorus.secret, claims(user("late"), "*", ttl=-60))
    errors: list[Any] = []
    client = socketio.Client(reconnection=False)
    client.on("connect_error", lambda data=None: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(chorus.base_url, auth={"token": expired}, transports=TRANSPORTS[transport], wait_timeout=TIMEOUT)
    assert errors and errors[-1] == {"message": "token expired"}, errors


def test_a_missing_token_is_refused(chorus):
    errors: list[Any] = []
    client = socketio.Client(reconnection=False)
    client.on("connect_error", lambda data=None: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(chorus.base_url, transports=["polling"], wait_timeout=TIMEOUT)
    assert errors and errors[-1]["message"].startswith("missing token"), errors


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_the_authorization_header_is_a_fallback(chorus, transport):
    token = chorus.token(user("header"), "*")
    peer = Peer(chorus.base_url, None, [transport], headers={"Authorization": f"Bearer {token}"})
    try:
        assert peer.client.connected
    finally:
        peer.close()


# MARK: a whole 1-to-1 call


@pytest.mark.parametrize("transport", list(TRANSPORTS))
def test_a_one_to_one_call_with_the_old_event_names(chorus, peers, transport):
    transports = TRANSPORTS[transport]
    alice_id, bob_id, carol_id = user("alice"), user("bob"), user("carol")
    alice_token, bob_token = chorus.token(alice_id, "*"), chorus.token(bob_id, "*")
    alice, bob = peers(alice_id, transports), peers(bob_id, transports)
    carol = peers(carol_id, transports)  # connected, but not in the call: must hear nothing of it

    call = api(chorus, "POST", "/api/calls/initiate", alice_token, {
        "roomId": "!room:example.org", "callType": "video", "invitees": [bob_id], "isGroupCall": False,
    })
    call_id = call["callId"]
    assert call["status"] == "ringing"
    incoming = bob.expect("incoming-call", lambda d: d["callId"] == call_id)
    assert incoming["from"] == alice_id and incoming["callType"] == "video"
    assert isinstance(incoming["iceServers"], list) and incoming["iceServers"]

    answered = api(chorus, "POST", f"/api/calls/{call_id}/answer", bob_token)
    assert answered["status"] == "active"
    for peer in (alice, bob):
        assert peer.expect("call-answered", lambda d: d["callId"] == call_id)["status"] == "active"

    bob.emit("join-call", {"callId": call_id})
    assert alice.expect("user-joined", lambda d: d["callId"] == call_id)["userId"] == bob_id

    sdp_offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    alice.emit("webrtc-offer", {"callId": call_id, "sdp": sdp_offer, "type": "offer"})
    offer = bob.expect("webrtc-offer", lambda d: d["callId"] == call_id)
    assert offer["sdp"] == sdp_offer and offer["type"] == "offer" and offer["from"] == alice_id

    sdp_answer = sdp_offer.replace("o=- 1", "o=- 2")
    bob.emit("webrtc-answer", {"callId": call_id, "sdp": sdp_answer, "type": "answer"})
    assert alice.expect("webrtc-answer", lambda d: d["callId"] == call_id)["sdp"] == sdp_answer

    candidate = {"callId": call_id, "candidate": "candidate:1 1 udp 2130706431 192.0.2.10 50000 typ host",
                 "sdpMid": "0", "sdpMLineIndex": 0}
    alice.emit("ice-candidate", candidate)
    relayed = bob.expect("ice-candidate", lambda d: d["callId"] == call_id)
    assert relayed["candidate"] == candidate["candidate"] and relayed["sdpMLineIndex"] == 0
    assert relayed["sdpMid"] == "0" and relayed["from"] == alice_id

    # An event with an ack id is answered: ok when it worked, the error (ok false) when not.
    assert bob.call("toggle-audio", {"callId": call_id, "enabled": False}) == {"ok": True}
    toggled = alice.expect("audio-toggled", lambda d: d["callId"] == call_id)
    assert toggled["enabled"] is False and toggled["userId"] == bob_id
    refused = carol.call("toggle-audio", {"callId": call_id, "enabled": True})
    assert refused["ok"] is False and refused["code"] == "forbidden", refused
    # Without an ack id, a refused event comes back as an `error` event.
    carol.emit("webrtc-offer", {"callId": call_id, "sdp": sdp_offer})
    assert carol.expect("error", lambda d: d.get("callId") == call_id)["code"] == "forbidden"

    status = api(chorus, "GET", f"/api/calls/{call_id}/status", alice_token)
    bob_state = next(p for p in status["participants"] if p["user"] == bob_id)
    assert bob_state["audioEnabled"] is False

    alice.emit("leave-call", {"callId": call_id})
    ended = bob.expect("call-ended", lambda d: d["callId"] == call_id)
    assert ended["status"] == "ended"
    assert api(chorus, "GET", f"/api/calls/{call_id}/status", bob_token)["status"] == "ended"

    # Relays went to the two sockets of the call only; nothing reached the bystander.
    assert not [name for name in carol.names() if name != "error"], carol.events
    # The sender never gets its own relays back.
    assert "webrtc-offer" not in alice.names() and "ice-candidate" not in alice.names()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_rest_end_reaches_both_sockets(chorus, peers, transport):
    alice_id, bob_id = user("alice"), user("bob")
    alice_token, bob_token = chorus.token(alice_id, "*"), chorus.token(bob_id, "*")
    alice, bob = peers(alice_id, [transport]), peers(bob_id, [transport])
    call_id = api(chorus, "POST", "/api/calls/initiate", alice_token, {
        "roomId": "!r:example.org", "callType": "voice", "invitees": [bob_id],
    })["callId"]
    bob.expect("incoming-call", lambda d: d["callId"] == call_id)
    api(chorus, "POST", f"/api/calls/{call_id}/answer", bob_token)
    bob.emit("join-call", {"callId": call_id})
    alice.expect("user-joined", lambda d: d["callId"] == call_id)
    api(chorus, "POST", f"/api/calls/{call_id}/end", alice_token, {"reason": "hangup"})
    for peer in (alice, bob):
        ended = peer.expect("call-ended", lambda d: d["callId"] == call_id)
        assert ended["status"] == "ended"


def test_leaving_a_group_call_sends_user_left(chorus, peers):
    alice_id, bob_id, carol_id = user("alice"), user("bob"), user("carol")
    alice_token = chorus.token(alice_id, "*")
    alice, bob, carol = peers(alice_id), peers(bob_id, ["polling"]), peers(carol_id, ["websocket"])
    call_id = api(chorus, "POST", "/api/calls/initiate", alice_token, {
        "roomId": "!g:example.org", "callType": "video", "invitees": [bob_id, carol_id], "isGroupCall": True,
    })["callId"]
    for peer in (bob, carol):
        peer.expect("incoming-call", lambda d: d["callId"] == call_id)
        assert peer.call("join-call", {"callId": call_id}) == {"ok": True}
    alice.expect("user-joined", lambda d: d["callId"] == call_id and d["userId"] == carol_id)
    carol.emit("leave-call", {"callId": call_id})
    for peer in (alice, bob):
        left = peer.expect("user-left", lambda d: d["callId"] == call_id)
        assert left["userId"] == carol_id
    assert "call-ended" not in alice.names()
    api(chorus, "POST", f"/api/calls/{call_id}/end", alice_token)
    for peer in (alice, bob):
        peer.expect("call-ended", lambda d: d["callId"] == call_id)


def test_a_rejected_call_reaches_the_caller(chorus, peers):
    alice_id, bob_id = user("alice"), user("bob")
    alice_token, bob_token = chorus.token(alice_id, "*"), chorus.token(bob_id, "*")
    alice, bob = peers(alice_id), peers(bob_id)
    call_id = api(chorus, "POST", "/api/calls/initiate", alice_token, {
        "roomId": "!r:example.org", "callType": "voice", "invitees": [bob_id],
    })["callId"]
    bob.expect("incoming-call", lambda d: d["callId"] == call_id)
    api(chorus, "POST", f"/api/calls/{call_id}/reject", bob_token, {"reason": "busy"})
    assert alice.expect("call-rejected", lambda d: d["callId"] == call_id)["status"] == "rejected"


# MARK: Engine.IO edges, by hand


def eio(chorus, query: str = "", method: str = "GET", body: bytes | str | None = None, timeout: float = TIMEOUT) -> requests.Response:
    return requests.request(method, f"{chorus.base_url}/socket.io/?{query}", data=body, timeout=timeout)


def handshake(chorus) -> dict[str, Any]:
    response = eio(chorus, "EIO=4&transport=polling")
    assert response.status_code == 200, describe(response)
    assert response.text.startswith("0"), response.text
    return json.loads(response.text[1:])


def assert_eio_error(response: requests.Response, code: int, status: int = 400) -> None:
    assert response.status_code == status, describe(response)
    assert response.json()["code"] == code, describe(response)


def test_the_handshake_announces_the_session(chorus):
    opened = handshake(chorus)
    assert set(opened) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert opened["upgrades"] == ["websocket"]
    assert opened["pingInterval"] == 25000 and opened["pingTimeout"] == 20000 and opened["maxPayload"] == 1000000


def test_bad_requests_get_engine_io_errors(chorus):
    assert_eio_error(eio(chorus, "EIO=3&transport=polling"), 5)
    assert_eio_error(eio(chorus, "transport=polling"), 5)
    assert_eio_error(eio(chorus, "EIO=4"), 0)
    assert_eio_error(eio(chorus, "EIO=4&transport=carrier-pigeon"), 0)
    assert_eio_error(eio(chorus, "EIO=4&transport=polling&sid=unknown"), 1)
    assert_eio_error(eio(chorus, "EIO=4&transport=polling&sid=unknown", "POST", "4x"), 1)
    assert_eio_error(eio(chorus, "EIO=4&transport=polling", "POST", "40"), 2)
    assert_eio_error(eio(chorus, "EIO=4&transport=polling", "PUT", "40"), 2)
    assert_eio_error(eio(chorus, "EIO=4&transport=websocket"), 3)  # no Upgrade header
    assert eio(chorus, "EIO=4&transport=polling&sid=unknown", "OPTIONS").status_code < 500


def test_a_malformed_payload_closes_the_session(chorus):
    sid = handshake(chorus)["sid"]
    assert_eio_error(eio(chorus, f"EIO=4&transport=polling&sid={sid}", "POST", "abc"), 3)
    assert_eio_error(eio(chorus, f"EIO=4&transport=polling&sid={sid}"), 1)


def test_a_payload_over_max_payload_is_413(chorus):
    sid = handshake(chorus)["sid"]
    response = eio(chorus, f"EIO=4&transport=polling&sid={sid}", "POST", "4" + "x" * 1_000_001)
    assert_eio_error(response, 3, status=413)
    assert_eio_error(eio(chorus, f"EIO=4&transport=polling&sid={sid}"), 1)


def test_a_duplicate_poll_closes_the_session(chorus):
    sid = handshake(chorus)["sid"]
    first: queue.Queue[requests.Response] = queue.Queue()
    thread = threading.Thread(target=lambda: first.put(eio(chorus, f"EIO=4&transport=polling&sid={sid}", timeout=40)))
    thread.start()
    time.sleep(0.3)
    assert_eio_error(eio(chorus, f"EIO=4&transport=polling&sid={sid}"), 3)
    held = first.get(timeout=TIMEOUT)
    assert held.status_code == 200 and held.text == "1", describe(held)
    assert_eio_error(eio(chorus, f"EIO=4&transport=polling&sid={sid}"), 1)


def test_socket_io_over_raw_polling_and_the_upgrade_by_hand(chorus):
    token = chorus.token(user("raw"), "*")
    sid = handshake(chorus)["sid"]
    url = f"EIO=4&transport=polling&sid={sid}"
    ok = eio(chorus, url, "POST", "40" + json.dumps({"token": token}))
    assert ok.status_code == 200 and ok.text == "ok", describe(ok)
    connected = eio(chorus, url)
    assert connected.text.startswith('40{"sid":"'), connected.text
    # An event with an ack id, and an unknown event: both answered on the next poll.
    assert eio(chorus, url, "POST", '4212["toggle-audio",{"callId":"nope","enabled":true}]\x1e42["bogus",{}]').text == "ok"
    answers = eio(chorus, url).text.split("\x1e")
    assert answers[0].startswith("4312[{") and '"ok":false' in answers[0], answers
    assert answers[1].startswith('42["error",{'), answers
    # Namespaces other than "/" are refused, the session stays.
    assert eio(chorus, url, "POST", "40/admin,").text == "ok"
    assert eio(chorus, url).text == '44/admin,{"message":"Invalid namespace"}'

    # Upgrade: open the probe while a poll is held; 2probe → 3probe, the poll ends with a noop.
    held: queue.Queue[requests.Response] = queue.Queue()
    poller = threading.Thread(target=lambda: held.put(eio(chorus, url, timeout=40)))
    poller.start()
    time.sleep(0.3)
    ws = websocket.create_connection(
        chorus.base_url.replace("http://", "ws://") + f"/socket.io/?EIO=4&transport=websocket&sid={sid}", timeout=TIMEOUT)
    try:
        ws.send("2probe")
        assert ws.recv() == "3probe"
        assert held.get(timeout=TIMEOUT).text == "6"
        ws.send("5")
        # Polling is over for this session; the WebSocket carries it.
        assert_eio_error(eio(chorus, url), 3)
        ws.send('421["leave-call",{"callId":"nope"}]')
        reply = ws.recv()
        assert reply.startswith("431[{") and '"ok":false' in reply, reply
        # A second probe for an upgraded session is refused before the upgrade.
        with pytest.raises(websocket.WebSocketBadStatusException):
            websocket.create_connection(
                chorus.base_url.replace("http://", "ws://") + f"/socket.io/?EIO=4&transport=websocket&sid={sid}",
                timeout=TIMEOUT)
        ws.send("41")
    finally:
        ws.close()


def test_binary_attachments_are_refused_cleanly(chorus):
    token = chorus.token(user("bin"), "*")
    ws = websocket.create_connection(
        chorus.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=TIMEOUT)
    try:
        assert ws.recv().startswith('0{"sid":')
        ws.send("40" + json.dumps({"token": token}))
        assert ws.recv().startswith('40{"sid":')
        ws.send('451-["upload",{"_placeholder":true,"num":0}]')
        ws.send_binary(b"\x01\x02\x03")
        reply = ws.recv()
        assert reply.startswith('42["error",') and "binary attachments are not supported" in reply, reply
        # The connection is still usable.
        ws.send('427["leave-call",{"callId":"nope"}]')
        assert ws.recv().startswith("437[")
    finally:
        ws.close()


def test_garbage_on_the_websocket_closes_it(chorus):
    ws = websocket.create_connection(
        chorus.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=TIMEOUT)
    try:
        assert ws.recv().startswith("0{")
        ws.send("hello")
        # The server answers a malformed packet with a close packet and closes the WebSocket.
        assert ws.recv() == "1"
        opcode, _ = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
    finally:
        ws.close()


def test_sigterm_releases_held_polls_and_websockets(tmp_path):
    """A held poll (up to pingInterval, 25 s) must not hold up a graceful shutdown: it is answered
    with a close packet, a WebSocket session is closed, and the server exits 0 promptly."""
    from conftest import start_server, stop_process

    # Its own server (a log of its own, via extra_env), so that the session's server stays up.
    server = start_server(tmp_path, extra_env={"SOCKETIO_SHUTDOWN_TEST": "1"})
    try:
        sid = handshake(server)["sid"]
        held: queue.Queue[requests.Response] = queue.Queue()
        threading.Thread(
            target=lambda: held.put(eio(server, f"EIO=4&transport=polling&sid={sid}", timeout=40)), daemon=True).start()
        ws = websocket.create_connection(
            server.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=TIMEOUT)
        assert ws.recv().startswith("0{")
        frames: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            # Like a real client's read loop: answers the server's close frame at once.
            try:
                while True:
                    frame = ws.recv()
                    frames.put(frame)
                    if not frame:
                        break
            except Exception:
                pass
            frames.put(None)

        threading.Thread(target=read, daemon=True).start()
        time.sleep(0.3)
        started = time.monotonic()
        code = stop_process(server.process)
        assert code == 0, f"chorus exited {code}"
        assert time.monotonic() - started < 8
        assert held.get(timeout=TIMEOUT).text == "1"
        received = []
        while (frame := frames.get(timeout=TIMEOUT)) not in ("", None):
            received.append(frame)
        assert set(received) <= {"1"}, received  # the close packet, unless the close frame won the race
        ws.close()
    finally:
        stop_process(server.process)


def test_group_media_is_negotiated_over_socketio_too(chorus, peers):
    """sfu-offer/sfu-answer ride the Socket.IO channel like the native WebSocket: two aiortc
    offers from two Socket.IO clients (one polling, one on WebSocket) get answers, and the
    first participant gets Chorus's offer with the second one's tracks."""
    from peers import publish_offer

    alice_id, bob_id = user("alice"), user("bob")
    alice_token = chorus.token(alice_id, "*")
    alice, bob = peers(alice_id, ["polling"]), peers(bob_id, ["websocket"])
    call_id = api(chorus, "POST", "/api/calls/initiate", alice_token, {
        "roomId": "!sfu:example.org", "callType": "video", "invitees": [bob_id], "isGroupCall": True,
    })["callId"]
    bob.expect("incoming-call", lambda d: d["callId"] == call_id)
    assert bob.call("join-call", {"callId": call_id}) == {"ok": True}
    for peer in (alice, bob):
        assert peer.call("sfu-offer", {"callId": call_id, "sdp": publish_offer()}) == {"ok": True}
        answer = peer.expect("sfu-answer", lambda d: d["callId"] == call_id)
        assert "a=ice-lite" in answer["sdp"] and "a=recvonly" in answer["sdp"], answer["sdp"]
    offer = alice.expect("sfu-offer", lambda d: d["callId"] == call_id)
    assert offer["sdp"].count("a=sendonly") == 2, offer["sdp"]
    assert [s["userId"] for s in offer["streams"]] == [bob_id], offer["streams"]
    # Bad input on this channel is an error ack, never a dropped connection.
    refused = alice.call("sfu-answer", {"callId": call_id, "sdp": "v=0"})
    assert refused.get("ok") is False and refused.get("code") == "bad_sdp", refused
    api(chorus, "POST", f"/api/calls/{call_id}/end", alice_token)
