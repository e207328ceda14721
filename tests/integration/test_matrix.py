"""Chorus as a Matrix application service against a real Synapse (synapse.py): a Chorus user and a
plain Matrix client call each other both ways, with the call recorded in Chorus; rejections both
ways and the ring timeout; and bad input: bogus and expired Matrix tokens, a stranger to the room,
a homeserver that is down or hangs (503, then recovery), a transaction with the wrong hs_token,
malformed m.call.* content, a replayed transaction; and real media between an aiortc peer behind
Bob's Matrix events and another aiortc peer, or Chromium on Chorus's web client signed in through
its "Sign in with Matrix" form.

Alice is the Chorus user (a Chorus JWT, or her Matrix access token, against Chorus's API), Bob a
plain Matrix client (the client-server API over HTTP), Carol a user of the homeserver who is not
in their room. One Synapse and one Chorus for the module; Chorus reaches Synapse through a relay
the tests can switch off."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import pytest
import requests
import socketio
import websocket
import yaml

from browser import browsers
from chorus_api import assert_error
from conftest import ChorusServer, chorus_binary, clean_env, start_server, stop_process
from synapse import SERVER_NAME, HomeserverSwitch, MatrixClient, Synapse, free_tcp_port

__all__ = ["browsers"]  # the fixture, imported for pytest

RING_TIMEOUT = 8
TIMEOUT = 10.0

OFFER_VIDEO = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
               "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
               "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n")
OFFER_AUDIO = ("v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
               "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n")
ANSWER = "v=0\r\no=- 3 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"


class Env:
    def __init__(self, chorus: ChorusServer, synapse: Synapse, switch: HomeserverSwitch, registration: dict[str, Any],
                 alice: MatrixClient, bob: MatrixClient, carol: MatrixClient, room: str) -> None:
        self.chorus = chorus
        self.synapse = synapse
        self.switch = switch
        self.registration = registration
        self.alice = alice
        self.bob = bob
        self.carol = carol
        self.room = room

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return requests.request(method, self.chorus.base_url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)

    def status(self, call_id: str, token: str) -> dict[str, Any]:
        response = self.api("GET", f"/api/calls/{call_id}/status", token)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    directory = tmp_path_factory.mktemp("matrix")
    chorus_port = free_tcp_port()
    registration_path = directory / "chorus-registration.yaml"
    # The registration as an operator makes it.
    done = subprocess.run(
        [str(chorus_binary()), "matrix-registration", "--url", f"http://127.0.0.1:{chorus_port}",
         "--server-name", SERVER_NAME, "--output", str(registration_path)],
        capture_output=True, text=True, timeout=30, env=clean_env())
    assert done.returncode == 0, done.stderr
    registration = yaml.safe_load(registration_path.read_text())
    started = time.monotonic()
    (directory / "synapse").mkdir()
    synapse = Synapse(directory / "synapse", registration_path)
    switch = HomeserverSwitch(synapse.port)
    chorus = None
    try:
        chorus = start_server(
            directory, http_port=chorus_port, log_name="chorus-serve-matrix.log",
            extra_args=["--matrix-homeserver", switch.url, "--matrix-registration", str(registration_path),
                        "--ring-timeout", str(RING_TIMEOUT)])
        ready = synapse.wait_ready()
        print(f"\nsynapse ready {ready:.1f}s after its start ({time.monotonic() - started:.1f}s with config and Chorus)")
        alice, bob, carol = (synapse.register(name) for name in ("alice", "bob", "carol"))
        room = alice.create_room([bob.user_id])
        bob.join(room)
        bob.sync()  # from now on, only new events
        yield Env(chorus, synapse, switch, registration, alice, bob, carol, room)
    finally:
        code = stop_process(chorus.process) if chorus is not None else 0
        switch.close()
        synapse.stop()
    assert code == 0, f"chorus serve (Matrix) exited {code} on SIGTERM"


class Realtime:
    """Chorus's /ws as a client sees it: every event kept, waited for by name."""

    def __init__(self, env: Env, token: str) -> None:
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{env.chorus.http_port}/ws?token={token}", timeout=TIMEOUT)
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                frame = json.loads(self.ws.recv())
                with self.lock:
                    self.events.append(frame)
                    self.lock.notify_all()
        except Exception:
            return

    def send(self, event: str, data: dict[str, Any]) -> None:
        self.ws.send(json.dumps({"event": event, "data": data}))

    def wait(self, event: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for frame in self.events:
                    if frame["event"] == event and predicate(frame["data"]):
                        self.events.remove(frame)
                        return frame["data"]
                left = deadline - time.monotonic()
                assert left > 0, f"no {event} within {timeout}s; got {[f['event'] for f in self.events]}"
                self.lock.wait(left)

    def count(self, event: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True) -> int:
        with self.lock:
            return sum(1 for f in self.events if f["event"] == event and predicate(f["data"]))

    def close(self) -> None:
        self.ws.close()


def of_call(call_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("content", {}).get("call_id") == call_id


def test_chorus_user_calls_a_matrix_user(env: Env) -> None:
    """Alice (a Chorus JWT) calls Bob in their room without naming him; Bob's Matrix client sees
    m.call.invite, answers, trades candidates and hangs up; Chorus follows at every step."""
    token = env.chorus.token(env.alice.user_id, "*")
    alice = Realtime(env, token)
    try:
        response = env.api("POST", "/api/calls/initiate", token,
                           json={"roomId": env.room, "callType": "video", "offer": {"type": "offer", "sdp": OFFER_VIDEO}})
        assert response.status_code == 201, response.text
        call = response.json()
        call_id = call["callId"]
        assert [p["user"] for p in call["participants"]] == [env.alice.user_id, env.bob.user_id]

        invite = env.bob.wait_for("m.call.invite", of_call(call_id))
        content = invite["content"]
        assert invite["sender"] == env.alice.user_id and invite["room_id"] == env.room
        assert content["version"] == "1" and content["invitee"] == env.bob.user_id
        assert content["offer"] == {"type": "offer", "sdp": OFFER_VIDEO}
        assert content["lifetime"] == RING_TIMEOUT * 1000
        alice_party = content["party_id"]

        env.bob.send(env.room, "m.call.answer", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1",
                                                  "answer": {"type": "answer", "sdp": ANSWER}})
        answered = alice.wait("call-answered", lambda d: d["callId"] == call_id)
        assert answered["from"] == env.bob.user_id
        assert alice.wait("webrtc-answer", lambda d: d["callId"] == call_id)["sdp"] == ANSWER
        assert env.status(call_id, token)["status"] == "active"
        select = env.bob.wait_for("m.call.select_answer", of_call(call_id))
        assert select["sender"] == env.alice.user_id and select["content"]["selected_party_id"] == "BOBPHONE"

        # Alice's candidates reach Bob batched, the end-of-candidates included.
        for candidate in (CANDIDATE, CANDIDATE.replace("50000", "50001"), ""):
            alice.send("ice-candidate", {"callId": call_id, "candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0})
        received: list[dict[str, Any]] = []
        events = 0
        while len(received) < 3:
            event = env.bob.wait_for("m.call.candidates", of_call(call_id))
            assert event["content"]["party_id"] == alice_party
            received += event["content"]["candidates"]
            events += 1
        assert [c["candidate"] for c in received] == [CANDIDATE, CANDIDATE.replace("50000", "50001"), ""]
        assert events <= 2
        env.bob.send(env.room, "m.call.candidates", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1",
                                                      "candidates": [{"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0}]})
        assert alice.wait("ice-candidate", lambda d: d["callId"] == call_id)["candidate"] == CANDIDATE

        env.bob.send(env.room, "m.call.hangup", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1", "reason": "user_hangup"})
        ended = alice.wait("call-ended", lambda d: d["callId"] == call_id)
        assert ended["status"] == "ended" and ended["from"] == env.bob.user_id
        status = env.status(call_id, token)
        assert status["status"] == "ended" and status["endReason"] == "user_hangup"
        # Chorus's own events came back in transactions and were not taken for Bob's or Alice's
        # actions a second time: one answer, one hangup.
        assert alice.count("call-ended", lambda d: d["callId"] == call_id) == 0
    finally:
        alice.close()


def test_matrix_user_calls_a_chorus_user(env: Env) -> None:
    """Bob's Matrix client invites Alice, who uses Chorus with her Matrix access token: she gets
    incoming-call with the offer, answers, sends candidates and ends; Bob sees it all."""
    token = env.alice.login()
    alice = Realtime(env, token)
    try:
        call_id = f"mx{uuid.uuid4().hex}"
        env.bob.send(env.room, "m.call.invite", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1", "lifetime": 60000,
                                                  "invitee": env.alice.user_id, "offer": {"type": "offer", "sdp": OFFER_AUDIO}})
        incoming = alice.wait("incoming-call", lambda d: d["callId"] == call_id)
        assert incoming["from"] == env.bob.user_id and incoming["callType"] == "voice"
        assert incoming["sdp"] == OFFER_AUDIO and incoming["roomId"] == env.room

        assert env.api("POST", f"/api/calls/{call_id}/answer", token).status_code == 200
        response = env.api("POST", f"/api/calls/{call_id}/answer-sdp", token, json={"sdp": ANSWER, "type": "answer"})
        assert response.status_code == 200, response.text
        answer = env.bob.wait_for("m.call.answer", of_call(call_id))
        assert answer["sender"] == env.alice.user_id
        assert answer["content"]["answer"] == {"type": "answer", "sdp": ANSWER} and answer["content"]["version"] == "1"

        response = env.api("POST", f"/api/calls/{call_id}/ice-candidate", token,
                           json={"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0})
        assert response.status_code == 200, response.text
        candidates = env.bob.wait_for("m.call.candidates", of_call(call_id))
        assert candidates["sender"] == env.alice.user_id
        assert candidates["content"]["candidates"] == [{"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0}]

        assert env.api("POST", f"/api/calls/{call_id}/end", token).status_code == 200
        hangup = env.bob.wait_for("m.call.hangup", of_call(call_id))
        assert hangup["sender"] == env.alice.user_id and hangup["content"]["reason"] == "user_hangup"

        history = env.api("GET", "/api/calls/history", token).json()["calls"]
        mine = [c for c in history if c["callId"] == call_id]
        assert mine and mine[0]["status"] == "ended" and mine[0]["initiator"] == env.bob.user_id
        # Bob's invite was applied once, though Chorus's own events came back in transactions.
        assert alice.count("incoming-call", lambda d: d["callId"] == call_id) == 0
    finally:
        alice.close()


def test_socketio_accepts_a_matrix_access_token(env: Env) -> None:
    client = socketio.Client(reconnection=False)
    received: list[dict[str, Any]] = []
    client.on("incoming-call", lambda data: received.append(data))
    client.connect(env.chorus.base_url, auth={"token": env.alice.login()}, transports=["websocket"], wait_timeout=TIMEOUT)
    try:
        call_id = f"mx{uuid.uuid4().hex}"
        env.bob.send(env.room, "m.call.invite", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1", "lifetime": 60000,
                                                  "invitee": env.alice.user_id, "offer": {"type": "offer", "sdp": OFFER_VIDEO}})
        deadline = time.monotonic() + 15
        while not any(d["callId"] == call_id for d in received):
            assert time.monotonic() < deadline, "no incoming-call over Socket.IO"
            time.sleep(0.1)
        assert next(d for d in received if d["callId"] == call_id)["callType"] == "video"
        env.bob.send(env.room, "m.call.hangup", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1", "reason": "user_hangup"})
    finally:
        client.disconnect()
    bogus = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        bogus.connect(env.chorus.base_url, auth={"token": "syt_bogus_token"}, transports=["websocket"], wait_timeout=TIMEOUT)


def test_rejections_both_ways_and_the_ring_timeout(env: Env) -> None:
    token = env.chorus.token(env.alice.user_id, "*")
    alice = Realtime(env, token)
    try:
        # Bob's Matrix client declines Alice's call.
        call_id = env.api("POST", "/api/calls/initiate", token,
                          json={"roomId": env.room, "callType": "voice", "offer": OFFER_AUDIO}).json()["callId"]
        env.bob.wait_for("m.call.invite", of_call(call_id))
        env.bob.send(env.room, "m.call.reject", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1"})
        assert alice.wait("call-rejected", lambda d: d["callId"] == call_id)["from"] == env.bob.user_id
        assert env.status(call_id, token)["status"] == "rejected"

        # Alice declines Bob's.
        mx_call = f"mx{uuid.uuid4().hex}"
        env.bob.send(env.room, "m.call.invite", {"call_id": mx_call, "party_id": "BOBPHONE", "version": "1", "lifetime": 60000,
                                                  "invitee": env.alice.user_id, "offer": {"type": "offer", "sdp": OFFER_AUDIO}})
        alice.wait("incoming-call", lambda d: d["callId"] == mx_call)
        assert env.api("POST", f"/api/calls/{mx_call}/reject", token).status_code == 200
        assert env.bob.wait_for("m.call.reject", of_call(mx_call))["sender"] == env.alice.user_id

        # Nobody answers Alice: after the ring timeout Bob's client is told invite_timeout.
        call_id = env.api("POST", "/api/calls/initiate", token,
                          json={"roomId": env.room, "callType": "voice", "offer": OFFER_AUDIO}).json()["callId"]
        env.bob.wait_for("m.call.invite", of_call(call_id))
        hangup = env.bob.wait_for("m.call.hangup", of_call(call_id), timeout=RING_TIMEOUT + 10)
        assert hangup["sender"] == env.alice.user_id and hangup["content"]["reason"] == "invite_timeout"
        assert env.status(call_id, token)["status"] == "missed"
    finally:
        alice.close()


def test_group_call_in_a_matrix_room_posts_a_notice(env: Env) -> None:
    token = env.chorus.token(env.alice.user_id, "*")
    response = env.api("POST", "/api/calls/initiate", token,
                       json={"roomId": env.room, "callType": "video", "invitees": [env.bob.user_id], "isGroupCall": True})
    assert response.status_code == 201, response.text
    call_id = response.json()["callId"]
    notice = env.bob.wait_for("m.room.message", lambda e: call_id in e["content"].get("body", ""))
    assert notice["content"]["msgtype"] == "m.notice" and notice["sender"] == env.alice.user_id
    assert env.chorus.base_url in notice["content"]["body"]
    assert env.api("POST", f"/api/calls/{call_id}/end", token).status_code == 200


def test_bad_matrix_tokens_and_strangers(env: Env) -> None:
    for bogus in ("syt_bogus_token", "not-a-token-at-all"):
        assert_error(env.api("GET", "/api/calls/active", bogus), 401)
    websocket_refusal = requests.get(f"{env.chorus.base_url}/ws?token=syt_bogus", timeout=TIMEOUT, headers={
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "MDEyMzQ1Njc4OWFiY2RlZg=="})
    assert_error(websocket_refusal, 401)
    # An access token that expired at the homeserver (a refreshable login's lives 2 s).
    expiring = env.bob.login(refresh=True)
    time.sleep(2.5)
    assert_error(env.api("GET", "/api/calls/active", expiring), 401)
    # Carol is not in the room; inviting her is not allowed either.
    carol = env.carol.login()
    assert env.api("GET", "/api/calls/active", carol).status_code == 200
    assert_error(env.api("POST", "/api/calls/initiate", carol, json={"roomId": env.room, "callType": "voice", "invitees": [env.bob.user_id]}), 403)
    alice = env.alice.login()
    assert_error(env.api("POST", "/api/calls/initiate", alice, json={"roomId": env.room, "callType": "voice", "invitees": [env.carol.user_id]}), 400)
    assert_error(env.api("POST", "/api/calls/initiate", alice, json={"roomId": "!nosuchroom:test.local", "callType": "voice", "invitees": [env.bob.user_id]}), 403)
    # A Matrix token opens no SFU room that belongs to no call.
    assert_error(env.api("GET", "/api/rooms/some-room", alice), 403)


def test_a_homeserver_that_is_down_gives_503_then_recovers(env: Env) -> None:
    tokens = [env.alice.login() for _ in range(3)]  # never seen by Chorus: not cached
    try:
        env.switch.set("refuse")
        started = time.monotonic()
        response = env.api("GET", "/api/calls/active", tokens[0], timeout=20)
        assert_error(response, 503)
        assert time.monotonic() - started < 8
        env.switch.set("hang")
        started = time.monotonic()
        assert_error(env.api("GET", "/api/calls/active", tokens[1], timeout=20), 503)
        took = time.monotonic() - started
        assert 4 <= took < 9, f"a hanging homeserver took {took:.1f}s to be given up"
        # A Chorus JWT does not need the homeserver; a Matrix room does.
        jwt = env.chorus.token(env.alice.user_id, "*")
        assert env.api("GET", "/api/calls/active", jwt).status_code == 200
        assert_error(env.api("POST", "/api/calls/initiate", jwt, json={"roomId": env.room, "callType": "voice"}, timeout=20), 503)
    finally:
        env.switch.set("up")
    assert env.api("GET", "/api/calls/active", tokens[2]).status_code == 200
    assert env.api("GET", "/api/calls/active", tokens[0]).status_code == 200


def transaction(env: Env, txn: str, events: Any, token: str | None = None) -> requests.Response:
    headers = {} if token == "" else {"Authorization": f"Bearer {token or env.registration['hs_token']}"}
    return requests.put(f"{env.chorus.base_url}/_matrix/app/v1/transactions/{txn}", data=events if isinstance(events, bytes) else json.dumps(events),
                        headers={**headers, "Content-Type": "application/json"}, timeout=TIMEOUT)


def matrix_error(response: requests.Response, status: int, errcode: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["errcode"] == errcode, response.text


def test_transactions_check_the_hs_token_and_are_applied_once(env: Env) -> None:
    txn = f"test-{uuid.uuid4().hex}"
    matrix_error(transaction(env, txn, {"events": []}, token="wrong"), 403, "M_FORBIDDEN")
    matrix_error(transaction(env, txn, {"events": []}, token=""), 401, "M_UNAUTHORIZED")
    matrix_error(transaction(env, txn, b"not json"), 400, "M_NOT_JSON")

    token = env.alice.login()
    alice = Realtime(env, token)
    try:
        call_id = f"mx{uuid.uuid4().hex}"
        env.bob.send(env.room, "m.call.invite", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1", "lifetime": 60000,
                                                  "invitee": env.alice.user_id, "offer": {"type": "offer", "sdp": OFFER_AUDIO}})
        alice.wait("incoming-call", lambda d: d["callId"] == call_id)
        now = int(time.time() * 1000)
        candidate_event = {"type": "m.call.candidates", "room_id": env.room, "sender": env.bob.user_id, "event_id": f"$fake{uuid.uuid4().hex}",
                           "origin_server_ts": now, "content": {"call_id": call_id, "party_id": "BOBPHONE", "version": "1",
                                                                "candidates": [{"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0}]}}
        assert transaction(env, txn, {"events": [candidate_event]}).status_code == 200
        assert transaction(env, txn, {"events": [candidate_event]}).status_code == 200  # replayed
        alice.wait("ice-candidate", lambda d: d["callId"] == call_id)
        time.sleep(1)
        assert alice.count("ice-candidate", lambda d: d["callId"] == call_id) == 0, "a replayed transaction was applied twice"

        # Malformed call events are skipped (and logged); the server goes on.
        malformed = [
            {"type": "m.call.invite", "room_id": env.room, "sender": env.bob.user_id, "content": {"call_id": "x"}},
            {"type": "m.call.answer", "room_id": env.room, "sender": env.bob.user_id, "content": {"call_id": call_id, "answer": "nope"}},
            {"type": "m.call.candidates", "room_id": env.room, "sender": env.bob.user_id, "content": {"call_id": call_id, "candidates": [1, 2]}},
            {"type": "m.call.hangup", "room_id": env.room, "sender": env.bob.user_id, "content": {"call_id": ["not", "a", "string"]}},
            {"type": "m.call.negotiate", "content": "garbage"},
            {"type": "m.call.invite", "room_id": env.room, "sender": env.bob.user_id,
             "content": {"call_id": "y" * 300, "lifetime": 1, "offer": {"sdp": "v=0"}}},
            "not an object", 42, None,
        ]
        assert transaction(env, f"test-{uuid.uuid4().hex}", {"events": malformed}).status_code == 200
        # The same through the homeserver, from Bob's client.
        env.bob.send(env.room, "m.call.answer", {"call_id": call_id, "version": "1", "answer": {"type": "answer"}})
        env.bob.send(env.room, "m.call.invite", {"call_id": f"mx{uuid.uuid4().hex}", "version": "1", "lifetime": "soon"})
        assert env.status(call_id, token)["status"] == "ringing"
        # An invite older than its lifetime does not ring.
        stale_call = f"mx{uuid.uuid4().hex}"
        stale = {"type": "m.call.invite", "room_id": env.room, "sender": env.bob.user_id, "event_id": f"$fake{uuid.uuid4().hex}",
                 "origin_server_ts": now - 120_000, "unsigned": {"age": 120_000},
                 "content": {"call_id": stale_call, "party_id": "BOBPHONE", "version": "1", "lifetime": 60000,
                             "invitee": env.alice.user_id, "offer": {"type": "offer", "sdp": OFFER_AUDIO}}}
        assert transaction(env, f"test-{uuid.uuid4().hex}", {"events": [stale]}).status_code == 200
        assert env.api("GET", f"/api/calls/{stale_call}/status", token).status_code == 404
        # The caller hangs up while it rings: the call ends.
        env.bob.send(env.room, "m.call.hangup", {"call_id": call_id, "party_id": "BOBPHONE", "version": "1"})
        assert alice.wait("call-ended", lambda d: d["callId"] == call_id)["from"] == env.bob.user_id
    finally:
        alice.close()
    assert env.chorus.alive()


def test_registration_command_writes_what_the_contract_says(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(chorus_binary()), "matrix-registration", "--url", "http://127.0.0.1:8080", "--server-name", "example.org:8448"],
        capture_output=True, text=True, timeout=30, env=clean_env())
    assert done.returncode == 0, done.stderr
    registration = yaml.safe_load(done.stdout)
    assert registration["url"] == "http://127.0.0.1:8080" and registration["rate_limited"] is False
    assert len(registration["as_token"]) >= 32 and registration["as_token"] != registration["hs_token"]
    assert registration["sender_localpart"] and registration["id"]
    users = registration["namespaces"]["users"]
    assert users == [{"exclusive": False, "regex": r"@.*:example\.org:8448"}]
    output = tmp_path / "reg.yaml"
    done = subprocess.run(
        [str(chorus_binary()), "matrix-registration", "--url", "http://x", "--server-name", "example.org", "--output", str(output)],
        capture_output=True, text=True, timeout=30, env=clean_env())
    assert done.returncode == 0 and done.stdout == ""
    assert output.stat().st_mode & 0o077 == 0


def test_real_media_over_the_bridged_signalling(env: Env) -> None:
    """Two aiortc peers hold a 1-to-1 call whose signalling crosses the bridge: Bob's peer speaks
    through his Matrix client's m.call.* events, Alice's through Chorus's call API (her Matrix
    access token). Audio and video decode on both sides; Chorus only relays SDP."""
    import asyncio

    from peers import FrameCounter, NumberedVideoTrack, SineAudioTrack, close_all, in_thread, local_offer, new_peer_connection, run, wait_connected

    token = env.alice.login()
    alice = Realtime(env, token)
    call_id = f"mx{uuid.uuid4().hex}"

    async def scenario() -> None:
        bob_pc, alice_pc = new_peer_connection(), new_peer_connection()
        counters: dict[str, list[FrameCounter]] = {"bob": [], "alice": []}
        bob_pc.on("track", lambda track: counters["bob"].append(FrameCounter(track)))
        alice_pc.on("track", lambda track: counters["alice"].append(FrameCounter(track)))
        try:
            for pc in (bob_pc, alice_pc):
                pc.addTrack(SineAudioTrack())
                pc.addTrack(NumberedVideoTrack())
            offer = await local_offer(bob_pc)
            await in_thread(env.bob.send, env.room, "m.call.invite", {
                "call_id": call_id, "party_id": "BOBAIORTC", "version": "1", "lifetime": 60000,
                "invitee": env.alice.user_id, "offer": {"type": "offer", "sdp": offer}})
            incoming = await in_thread(alice.wait, "incoming-call", lambda d: d["callId"] == call_id)
            assert incoming["callType"] == "video"
            from aiortc import RTCSessionDescription
            await alice_pc.setRemoteDescription(RTCSessionDescription(sdp=incoming["sdp"], type="offer"))
            await alice_pc.setLocalDescription(await alice_pc.createAnswer())
            assert (await in_thread(env.api, "POST", f"/api/calls/{call_id}/answer", token)).status_code == 200
            response = await in_thread(env.api, "POST", f"/api/calls/{call_id}/answer-sdp", token,
                                       json={"sdp": alice_pc.localDescription.sdp, "type": "answer"})
            assert response.status_code == 200, response.text
            answer = await in_thread(env.bob.wait_for, "m.call.answer", of_call(call_id))
            await bob_pc.setRemoteDescription(RTCSessionDescription(sdp=answer["content"]["answer"]["sdp"], type="answer"))
            await asyncio.gather(wait_connected(bob_pc, 20, "bob"), wait_connected(alice_pc, 20, "alice"))
            for side in ("bob", "alice"):
                deadline = time.monotonic() + 20
                while len(counters[side]) < 2 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                kinds = sorted(c.kind for c in counters[side])
                assert kinds == ["audio", "video"], f"{side} got tracks {kinds}"
                for counter in counters[side]:
                    assert await counter.wait_for_count(20, 20), f"{side}: only {counter.count} {counter.kind} frames decoded"
            assert env.status(call_id, token)["status"] == "active"
        finally:
            for counter in counters["bob"] + counters["alice"]:
                await counter.stop()
            await close_all(bob_pc, alice_pc)

    try:
        run(scenario(), timeout=90)
        assert env.api("POST", f"/api/calls/{call_id}/end", token).status_code == 200
        assert env.bob.wait_for("m.call.hangup", of_call(call_id))["sender"] == env.alice.user_id
    finally:
        alice.close()


def matrix_sign_in(page: Any, user: str, password: str) -> None:
    """Fills and submits the page's "Sign in with Matrix" form as a person would."""
    from selenium.webdriver.common.by import By

    for field, value in (("matrix-user", user), ("matrix-password", password)):
        element = page.driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    page.driver.find_element(By.ID, "matrix-submit").click()


def decoded_audio_samples(page: Any, user: str) -> int:
    """Audio samples the page played out from what it decoded (not concealment) from `user`."""
    from browser import inbound

    return sum(int(s["totalSamplesReceived"] or 0) - int(s["concealedSamples"] or 0)
               for s in inbound(page.stats(), "audio", user))


@pytest.mark.browser
def test_real_media_between_chromium_and_a_matrix_client(env: Env, browsers) -> None:
    """Alice signs in on Chorus's web page in Chromium through "Sign in with Matrix" (her Matrix
    user and password, checked by Synapse's /login from the page's origin: CORS), and holds a
    1-to-1 call with an aiortc peer that speaks only through Bob's Matrix client events, both
    ways: Bob rings her (she answers with the toast's button), then she calls their room. Audio
    and video decode on both sides each time."""
    import asyncio

    from aiortc import RTCSessionDescription
    from aiortc.sdp import candidate_from_sdp
    from selenium.webdriver.common.by import By

    from browser import require_browser, require_page, wait_flowing, wait_until
    from peers import FrameCounter, NumberedVideoTrack, SineAudioTrack, close_all, in_thread, local_offer, new_peer_connection, run, wait_connected

    require_browser()
    require_page(env.chorus, None)
    started = time.monotonic()
    page = browsers("matrix-alice")
    page.open(env.chorus.base_url + "/")
    wait_until(lambda: page.js("return !document.getElementById('matrix-form').hidden"), 15,
               lambda: f"no Matrix sign-in form; {page.logs_text()}")
    assert page.js("return document.getElementById('matrix-homeserver').value") == env.switch.url

    # A wrong password: the homeserver's refusal is shown beside the form; nobody is signed in.
    matrix_sign_in(page, env.alice.localpart, "wrong-password")
    error = wait_until(lambda: page.js("const e = document.getElementById('matrix-error'); return e.hidden ? null : e.textContent"),
                       15, "no error shown for a wrong password")
    assert "403" in error and "M_FORBIDDEN" in error, error
    assert page.state()["user"] is None

    matrix_sign_in(page, env.alice.localpart, env.alice.password)
    page.wait_ready()
    assert page.state()["user"] == env.alice.user_id
    assert page.driver.find_element(By.ID, "matrix-error").get_attribute("hidden") is not None
    # The token is a Matrix access token, not a Chorus JWT, and on a reload the page asks the
    # homeserver whose it is (whoami, with an Authorization header: a CORS preflight).
    token = page.js("return sessionStorage.getItem('chorus.token')")
    assert token and len(token.split(".")) != 3
    page.driver.refresh()
    page.wait_ready()
    assert page.state()["user"] == env.alice.user_id

    def check_page_media(peer: str) -> None:
        wait_until(lambda: page.state()["connectionState"] == "connected", 30,
                   lambda: f"page: peer connection {page.state()['connectionState']}; {page.logs_text()}")
        wait_flowing(page, "video", [peer])
        first = decoded_audio_samples(page, peer)
        wait_until(lambda: decoded_audio_samples(page, peer) > first + 48000, 20,
                   lambda: f"page: decoded audio from {peer} stuck near {first} samples; {page.stats()}")

    async def feed_candidates(pc: Any, call_id: str) -> None:
        """Gives Bob's peer the page's trickled candidates (m.call.candidates) until it connects."""
        deadline = time.monotonic() + 30
        while pc.connectionState != "connected" and time.monotonic() < deadline:
            try:
                event = await in_thread(env.bob.wait_for, "m.call.candidates", of_call(call_id), 1.0)
            except AssertionError:
                continue
            assert event["sender"] == env.alice.user_id
            for candidate in event["content"]["candidates"]:
                if not candidate.get("candidate"):
                    await pc.addIceCandidate(None)
                    continue
                parsed = candidate_from_sdp(candidate["candidate"].split(":", 1)[1])
                parsed.sdpMid, parsed.sdpMLineIndex = candidate.get("sdpMid"), candidate.get("sdpMLineIndex")
                await pc.addIceCandidate(parsed)

    async def call_with_bob(call_id: str, negotiate: Callable[[Any], Awaitable[None]]) -> None:
        """Bob's aiortc peer in a call: `negotiate` trades the SDP through his Matrix client's
        events; then the page's trickled candidates, and audio and video decoded on both sides."""
        pc = new_peer_connection()
        counters: list[FrameCounter] = []
        pc.on("track", lambda track: counters.append(FrameCounter(track)))
        pc.addTrack(SineAudioTrack())
        pc.addTrack(NumberedVideoTrack())
        try:
            await negotiate(pc)
            await feed_candidates(pc, call_id)
            await wait_connected(pc, 20, "bob")
            deadline = time.monotonic() + 20
            while len(counters) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert sorted(c.kind for c in counters) == ["audio", "video"], f"Bob's peer got tracks {[c.kind for c in counters]}"
            for counter in counters:
                assert await counter.wait_for_count(30, 20), f"Bob's peer decoded only {counter.count} {counter.kind} frames"
            await in_thread(check_page_media, env.bob.user_id)
        finally:
            for counter in counters:
                await counter.stop()
            await close_all(pc)

    # 1. Bob's Matrix client calls Alice: the page rings, she answers with the toast's button.
    bob_calls = f"mx{uuid.uuid4().hex}"

    async def bob_rings(pc: Any) -> None:
        await in_thread(env.bob.send, env.room, "m.call.invite", {
            "call_id": bob_calls, "party_id": "BOBAIORTC", "version": "1", "lifetime": 60000,
            "invitee": env.alice.user_id, "offer": {"type": "offer", "sdp": await local_offer(pc)}})
        await in_thread(page.wait_event, "incoming-call", lambda d: d["callId"] == bob_calls)
        answer_button = await in_thread(wait_until, lambda: page.driver.find_element(
            By.XPATH, "//div[contains(@class,'toast') and contains(@class,'call')]//button[text()='Answer']"), 10,
            "no Answer button on the incoming-call toast")
        answer_button.click()
        answer = await in_thread(env.bob.wait_for, "m.call.answer", of_call(bob_calls))
        assert answer["sender"] == env.alice.user_id
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["content"]["answer"]["sdp"], type="answer"))

    run(call_with_bob(bob_calls, bob_rings), timeout=120)
    assert env.status(bob_calls, token)["status"] == "active"
    page.hook("hangUp")
    assert env.bob.wait_for("m.call.hangup", of_call(bob_calls))["sender"] == env.alice.user_id
    wait_until(lambda: page.state()["callId"] is None, 10, "the page is still in Bob's call")

    # 2. Alice calls their room from the page: Bob's client rings with the page's offer.
    alice_calls = page.hook("call", env.room)

    async def alice_rings(pc: Any) -> None:
        invite = await in_thread(env.bob.wait_for, "m.call.invite", of_call(alice_calls))
        assert invite["sender"] == env.alice.user_id and invite["content"]["invitee"] == env.bob.user_id
        await pc.setRemoteDescription(RTCSessionDescription(sdp=invite["content"]["offer"]["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await in_thread(env.bob.send, env.room, "m.call.answer", {
            "call_id": alice_calls, "party_id": "BOBAIORTC", "version": "1",
            "answer": {"type": "answer", "sdp": pc.localDescription.sdp}})

    run(call_with_bob(alice_calls, alice_rings), timeout=120)
    assert env.status(alice_calls, token)["status"] == "active"
    env.bob.send(env.room, "m.call.hangup", {"call_id": alice_calls, "party_id": "BOBAIORTC", "version": "1", "reason": "user_hangup"})
    page.wait_event("call-ended", lambda d: d["callId"] == alice_calls)
    wait_until(lambda: page.state()["callId"] is None, 10, "the page is still in its call to Bob")
    print(f"\nChromium <-> Matrix client, both ways: {time.monotonic() - started:.1f}s")
