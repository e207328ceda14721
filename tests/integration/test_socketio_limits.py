"""The realtime endpoints' limits over a real `chorus serve`: a client that stops reading (on a
Socket.IO or a native /ws WebSocket) or polling (long polling) while a call relays 60 KB offers to it is disconnected, the
call service sees it leave (the grace period runs and the 1-to-1 call ends), and the server's
memory comes back; handshakes that never CONNECT are capped per address and in all (429 with
Retry-After and the JSON error) and expire.

Each test starts its own server (own limits, and 127.0.0.1 is every test's address, so the
shared server's pending-handshake slots are left alone). Memory is asserted on generous bounds,
never on timing: the machine is shared and noisy."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
import websocket

from chorus_api import describe
from conftest import ChorusServer, start_server, stop_process

TIMEOUT = 10.0
OFFER_BYTES = 60_000
# Enough relays to fill the kernel's socket buffers (a few MB on loopback), the server's queue
# bound (1,024 packets / 4 MiB by default) and then some: without a bound, this many 60 KB
# offers grow the server by hundreds of MB.
MAX_OFFERS = 1500
# Generous: the bounds keep the growth to a few MB (socket buffers, the allocator's slack).
# (Measured on a debug build: the bounded server grows by under 10 MB; the unbounded one by some
# 95 MB over MAX_OFFERS, and 15-20 MB per round of handshakes.)
PEAK_GROWTH_LIMIT_MB = 40
SETTLED_GROWTH_LIMIT_MB = 25
ROUND_GROWTH_LIMIT_MB = 8


def user(name: str) -> str:
    return f"@{name}-{uuid.uuid4().hex[:8]}:example.org"


def rss_mb(server: ChorusServer) -> float:
    """The server's resident memory, from /proc (VmRSS, kB)."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/<pid>/status")


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ChorusServer]:
    """A server of the test's own: grace period 1 s, and the environment the test's `limits`
    marker gives (CHORUS_SOCKETIO_* variables)."""
    marker = request.node.get_closest_marker("limits")
    env = {"CHORUS_GRACE_PERIOD": "1", **(marker.kwargs if marker else {})}
    started = start_server(tmp_path, extra_env=env)
    try:
        yield started
    finally:
        code = stop_process(started.process)
        assert code == 0, f"chorus serve exited {code} on SIGTERM"


def api(server: ChorusServer, method: str, path: str, token: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, server.base_url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)


def one_to_one_call(server: ChorusServer, caller: str, callee: str) -> str:
    """A 1-to-1 call from `caller` to `callee`, answered: relays from the caller reach the callee."""
    caller_token, callee_token = server.token(caller, "*"), server.token(callee, "*")
    initiated = api(server, "POST", "/api/calls/initiate", caller_token,
                    {"roomId": "!limits:example.org", "callType": "video", "invitees": [callee], "isGroupCall": False})
    assert initiated.status_code == 201, describe(initiated)
    call_id = initiated.json()["callId"]
    answered = api(server, "POST", f"/api/calls/{call_id}/answer", callee_token)
    assert answered.status_code == 200, describe(answered)
    return call_id


def offer_until_the_call_ends(server: ChorusServer, caller: str, call_id: str) -> tuple[int, float]:
    """Relays 60 KB offers from the caller until the call ends (the callee was dropped and the
    grace period ran out: `409`), at most MAX_OFFERS. Returns how many were relayed and the
    highest RSS seen."""
    token = server.token(caller, "*")
    sdp = "v=0\r\n" + "a=x-filler:" + "x" * (OFFER_BYTES - 20) + "\r\n"
    session = requests.Session()
    peak = rss_mb(server)
    for sent in range(MAX_OFFERS):
        response = session.post(f"{server.base_url}/api/calls/{call_id}/offer", json={"sdp": sdp, "type": "offer"},
                                headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
        if response.status_code == 409:
            return sent, max(peak, rss_mb(server))
        assert response.status_code == 200, describe(response)
        if sent % 10 == 0:
            peak = max(peak, rss_mb(server))
    return MAX_OFFERS, max(peak, rss_mb(server))


def settled_rss_mb(server: ChorusServer, baseline: float) -> float:
    """RSS once the server has had a moment to free what it held (released memory shows up a
    little later on a busy machine): the lowest of a few readings over some seconds."""
    lowest = rss_mb(server)
    for _ in range(10):
        if lowest - baseline < SETTLED_GROWTH_LIMIT_MB / 2:
            break
        time.sleep(0.5)
        lowest = min(lowest, rss_mb(server))
    return lowest


def assert_dropped_and_call_ended(server: ChorusServer, caller: str, call_id: str, relayed: int) -> None:
    assert relayed < MAX_OFFERS, (
        f"{MAX_OFFERS} offers of {OFFER_BYTES} bytes were queued for a client that does not read, "
        "and it is still connected")
    status = api(server, "GET", f"/api/calls/{call_id}/status", server.token(caller, "*"))
    assert status.status_code == 200, describe(status)
    assert status.json()["status"] == "ended", status.json()


class BlindPonger:
    """Sends an Engine.IO pong every few seconds without reading anything: a client that keeps its
    session alive (past pingTimeout) while never reading what the server sends it."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(5):
            try:
                self._send()
            except Exception:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT)


# MARK: a client that does not read


def test_a_websocket_client_that_does_not_read_is_dropped_and_its_memory_freed(server: ChorusServer) -> None:
    caller, callee = user("caller"), user("reader")
    url = server.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    # A small receive buffer, so that the server meets the client's backpressure early.
    ws = websocket.create_connection(url, timeout=TIMEOUT, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 16384),))
    try:
        assert ws.recv().startswith('0{"sid":')
        ws.send("40" + json.dumps({"token": server.token(callee, "*")}))
        assert ws.recv().startswith('40{"sid":')
        # From here on the client never reads; it only says "3" now and then.
        ponger = BlindPonger(lambda: ws.send("3"))
        call_id = one_to_one_call(server, caller, callee)
        before = rss_mb(server)

        relayed, peak = offer_until_the_call_ends(server, caller, call_id)

        ponger.stop()
        after = settled_rss_mb(server, before)
        print(f"\nwebsocket: {relayed} offers relayed before the drop; "
              f"RSS before {before:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB")
        assert_dropped_and_call_ended(server, caller, call_id, relayed)
        assert peak - before < PEAK_GROWTH_LIMIT_MB, f"RSS {before:.0f} MB → peak {peak:.0f} MB"
        assert after - before < SETTLED_GROWTH_LIMIT_MB, f"RSS {before:.0f} MB → {after:.0f} MB after the client was dropped"

        # The server closed the connection: what it had sent is there to read, then the end.
        ws.sock.settimeout(TIMEOUT)
        drained = 0
        while True:
            try:
                chunk = ws.sock.recv(1 << 20)
            except ConnectionResetError:
                break
            if not chunk:
                break
            drained += len(chunk)
        # Only what was in flight when it was dropped: nowhere near every offer.
        assert drained < relayed * OFFER_BYTES
    finally:
        ws.close()


def test_a_native_websocket_client_that_does_not_read_is_dropped(server: ChorusServer) -> None:
    # The same on /ws (bounded at 1,024 events): over the bound the server drops the TCP
    # connection, since a close frame would wait behind the write the client never takes.
    caller, callee = user("caller"), user("ws-reader")
    url = server.base_url.replace("http://", "ws://") + f"/ws?token={server.token(callee, '*')}"
    ws = websocket.create_connection(url, timeout=TIMEOUT, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 16384),))
    try:
        call_id = one_to_one_call(server, caller, callee)
        before = rss_mb(server)
        relayed, peak = offer_until_the_call_ends(server, caller, call_id)
        after = settled_rss_mb(server, before)
        print(f"\n/ws: {relayed} offers relayed before the drop; "
              f"RSS before {before:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB")
        assert_dropped_and_call_ended(server, caller, call_id, relayed)
        assert after - before < SETTLED_GROWTH_LIMIT_MB, f"RSS {before:.0f} MB → {after:.0f} MB after the client was dropped"
    finally:
        ws.close()


def test_a_polling_client_that_does_not_poll_is_dropped(server: ChorusServer) -> None:
    caller, callee = user("caller"), user("poller")
    base = f"{server.base_url}/socket.io/?EIO=4&transport=polling"
    opened = requests.get(base, timeout=TIMEOUT)
    assert opened.status_code == 200, describe(opened)
    sid = json.loads(opened.text[1:])["sid"]
    session_url = f"{base}&sid={sid}"
    connect = requests.post(session_url, data="40" + json.dumps({"token": server.token(callee, "*")}), timeout=TIMEOUT)
    assert connect.status_code == 200, describe(connect)
    assert requests.get(session_url, timeout=TIMEOUT).text.startswith('40{"sid":')
    # From here on the client never polls; it only posts pongs.
    ponger = BlindPonger(lambda: requests.post(session_url, data="3", timeout=TIMEOUT).raise_for_status())
    try:
        call_id = one_to_one_call(server, caller, callee)
        before = rss_mb(server)
        relayed, peak = offer_until_the_call_ends(server, caller, call_id)
    finally:
        ponger.stop()
    print(f"\npolling: {relayed} offers relayed before the drop; RSS before {before:.0f} MB, peak {peak:.0f} MB")
    assert_dropped_and_call_ended(server, caller, call_id, relayed)
    assert peak - before < PEAK_GROWTH_LIMIT_MB, f"RSS {before:.0f} MB → peak {peak:.0f} MB"
    # The session is gone: its next poll is Engine.IO's "Session ID unknown".
    late = requests.get(session_url, timeout=TIMEOUT)
    assert late.status_code == 400 and late.json()["code"] == 1, describe(late)


# MARK: handshakes that never CONNECT


def handshake_from(server: ChorusServer, source: str) -> http.client.HTTPResponse:
    """A polling handshake sent from `source` (another loopback address, so that it counts as
    another client); the response is read in full."""
    connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=TIMEOUT, source_address=(source, 0))
    try:
        connection.request("GET", "/socket.io/?EIO=4&transport=polling")
        response = connection.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        return response
    finally:
        connection.close()


def expired(session: Any, url: str) -> bool:
    """Whether the session at `url` is gone (400, code 1). A live session holds the poll: the
    connect timeout answers it with a close packet (200), and a session that never expires holds
    it until the next ping, past the short timeout here."""
    try:
        response = session.get(url, timeout=5)
    except requests.exceptions.Timeout:
        return False
    return response.status_code == 400 and response.json().get("code") == 1


def assert_too_many(response: Any, retry_after_at_most: int) -> None:
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    assert status == 429, f"expected 429, got {status}"
    headers = response.headers
    assert 1 <= int(headers["Retry-After"]) <= retry_after_at_most, headers
    body = response.json() if hasattr(response, "json") else json.loads(response.body)
    assert body["error"]["code"] == "too_many_requests", body
    assert "handshakes" in body["error"]["message"], body


@pytest.mark.limits(CHORUS_SOCKETIO_MAX_PENDING_PER_ADDRESS="5", CHORUS_SOCKETIO_MAX_PENDING="8",
                    CHORUS_SOCKETIO_CONNECT_TIMEOUT="3")
def test_pending_handshakes_are_capped_per_address_and_in_total_and_expire(server: ChorusServer) -> None:
    base = f"{server.base_url}/socket.io/?EIO=4&transport=polling"
    ws_url = server.base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    sids = []
    for _ in range(5):
        opened = requests.get(base, timeout=TIMEOUT)
        assert opened.status_code == 200, describe(opened)
        sids.append(json.loads(opened.text[1:])["sid"])
    # Over the cap for 127.0.0.1: a polling handshake gets 429; a WebSocket one is closed at once
    # with 1013 (Try Again Later) and when to retry, since a refused upgrade could only be a bare 400.
    assert_too_many(requests.get(base, timeout=TIMEOUT), retry_after_at_most=3)
    ws = websocket.create_connection(ws_url, timeout=TIMEOUT)
    try:
        opcode, data = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 1013, data
        assert data[2:].decode().startswith("too many pending handshakes; retry after "), data
    finally:
        ws.close()
    # Another address still gets in, until the total is reached.
    for _ in range(3):
        assert handshake_from(server, "127.0.0.2").status == 200
    assert_too_many(handshake_from(server, "127.0.0.3"), retry_after_at_most=3)

    # A CONNECT frees its slot.
    token = server.token(user("pending"), "*")
    connected = requests.post(f"{base}&sid={sids[0]}", data="40" + json.dumps({"token": token}), timeout=TIMEOUT)
    assert connected.status_code == 200, describe(connected)
    assert requests.get(base, timeout=TIMEOUT).status_code == 200

    # The others expire after the connect timeout: closed, forgotten, their slots free again.
    deadline = time.monotonic() + 30
    while not expired(requests, f"{base}&sid={sids[1]}"):
        assert time.monotonic() < deadline, "a handshake without CONNECT did not expire"
        time.sleep(0.5)
    for sid in sids[1:]:
        assert expired(requests, f"{base}&sid={sid}")
    for _ in range(5):
        assert requests.get(base, timeout=TIMEOUT).status_code == 200
    # The connected session was not expired with them.
    assert requests.post(f"{base}&sid={sids[0]}", data="3", timeout=TIMEOUT).status_code == 200


@pytest.mark.limits(CHORUS_SOCKETIO_MAX_PENDING_PER_ADDRESS="100000", CHORUS_SOCKETIO_MAX_PENDING="100000",
                    CHORUS_SOCKETIO_CONNECT_TIMEOUT="3")
def test_handshakes_without_connect_expire_and_their_memory_is_reused(server: ChorusServer) -> None:
    """Two rounds of thousands of handshakes that never CONNECT: each round's sessions expire,
    and the second round costs no more memory than the first left behind (the allocator keeps
    freed pages for reuse rather than handing them back, so "comes back" means "does not add
    up"). Without expiry each round added some 20 MB that never came back."""
    base = f"{server.base_url}/socket.io/?EIO=4&transport=polling"
    session = requests.Session()
    before = rss_mb(server)
    settled = []
    for _ in range(2):
        sids = []
        for _ in range(4000):
            opened = session.get(base, timeout=TIMEOUT)
            assert opened.status_code == 200, describe(opened)
            sids.append(json.loads(opened.text[1:])["sid"])
        deadline = time.monotonic() + 40
        while not expired(session, f"{base}&sid={sids[-1]}"):
            assert time.monotonic() < deadline, "handshakes without CONNECT did not expire"
            time.sleep(0.5)
        for sid in sids[::400]:
            assert expired(session, f"{base}&sid={sid}")
        settled.append(rss_mb(server))
    print(f"\n2 x 4000 handshakes: RSS before {before:.0f} MB, after each round's expiry "
          f"{settled[0]:.0f} MB, {settled[1]:.0f} MB")
    assert settled[1] - settled[0] < ROUND_GROWTH_LIMIT_MB, settled
    assert settled[1] - before < SETTLED_GROWTH_LIMIT_MB, (before, settled)
