"""`kill -9` in the middle of live calls and live media (issue 16, "faults in the test command"):
while 1-to-1 calls are being started, answered and ended under load and a group call of three
aiortc participants exchanges audio and video through the SFU, the server is killed with SIGKILL
and started again on the same database. Then every call the server acknowledged (a 2xx it sent)
is there in the state it acknowledged (or the next one, where a request was in flight at the
kill and may have committed without its answer arriving); the callers find their active calls
again; and the group call's participants reconnect, join again and publish and receive media
as before. test_call_persistence.py covers the quiet case (no load, no media) and what happens
to calls nobody comes back to."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from conftest import ChorusServer, integration_database, start_server, stop_process, tail
from group_peer import GroupPeer
from peers import run
from test_call_persistence import auth, sql
from test_group_aiortc import grows, initiate_group

# Long enough that nobody's call ends while the test reconnects on a busy machine (calls nobody
# attends end a grace period after the start: test_call_persistence.py), and rings never time out.
GRACE_PERIOD = 60
RING_TIMEOUT = 600
PAIRS = 6
# What the next request on a call moves it to.
NEXT = {"ringing": "active", "active": "ended"}


@dataclass
class Ledger:
    """What the server acknowledged, per call: the status of its last 2xx, and the status a
    request still in flight at the kill would have moved it to."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    in_flight: dict[str, str] = field(default_factory=dict)
    initiators: dict[str, str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def churn_calls(server: ChorusServer, tokens: dict[str, str], pair: int, ledger: Ledger, stop: threading.Event) -> None:
    """One caller/callee pair starting, answering and ending calls until the server goes away.
    Every third call is left active, so that active calls pile up for the restart."""
    caller, callee = f"@caller{pair}:example.org", f"@callee{pair}:example.org"
    count = 0
    while not stop.is_set():
        call_id = None
        try:
            response = requests.post(
                server.base_url + "/api/calls/initiate", headers=auth(tokens[caller]), timeout=10,
                json={"roomId": f"!{uuid.uuid4().hex[:8]}:example.org", "callType": "voice", "invitees": [callee]})
            if response.status_code != 201:
                ledger.refused.append(f"initiate {response.status_code}: {response.text[:200]}")
                return
            call_id = response.json()["callId"]
            with ledger.lock:
                ledger.acknowledged[call_id] = "ringing"
                ledger.initiators[call_id] = caller
                ledger.in_flight[call_id] = "active"
            response = requests.post(server.base_url + f"/api/calls/{call_id}/answer", headers=auth(tokens[callee]), timeout=10)
            if response.status_code != 200:
                ledger.refused.append(f"answer {response.status_code}: {response.text[:200]}")
                return
            with ledger.lock:
                ledger.acknowledged[call_id] = "active"
                del ledger.in_flight[call_id]
            count += 1
            if count % 3 == 0:
                continue
            with ledger.lock:
                ledger.in_flight[call_id] = "ended"
            response = requests.post(
                server.base_url + f"/api/calls/{call_id}/end", headers=auth(tokens[caller]), json={"reason": "done"}, timeout=10)
            if response.status_code != 200:
                ledger.refused.append(f"end {response.status_code}: {response.text[:200]}")
                return
            with ledger.lock:
                ledger.acknowledged[call_id] = "ended"
                del ledger.in_flight[call_id]
        except requests.RequestException:
            return  # the server is gone: whatever was in flight stays in ledger.in_flight


def active_calls(server: ChorusServer, token: str) -> set[str]:
    """Every call `GET /api/calls/active` lists for the token's user, page by page."""
    listed: set[str] = set()
    params: dict[str, object] = {"limit": 100}
    for _ in range(100):
        page = requests.get(server.base_url + "/api/calls/active", params=params, headers=auth(token), timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        listed |= {call["callId"] for call in body["calls"]}
        if not body.get("nextBefore"):
            break
        params["before"] = body["nextBefore"]
    return listed


def allowed(ledger: Ledger, call_id: str) -> set[str]:
    status = ledger.acknowledged[call_id]
    return {status} | ({ledger.in_flight[call_id]} if call_id in ledger.in_flight else set())


def test_kill_9_during_calls_and_media_loses_nothing_acknowledged(tmp_path: Path) -> None:
    database = integration_database(tmp_path, 0)
    env = {"CHORUS_GRACE_PERIOD": str(GRACE_PERIOD), "CHORUS_RING_TIMEOUT": str(RING_TIMEOUT)}
    # The load is the point here, not the per-user limits (test_limits.py).
    limits = ["--max-calls-per-minute", "100000", "--max-open-calls", "100000"]
    users = ["alice", "bob", "carol"] + [f"@caller{i}:example.org" for i in range(PAIRS)] + [f"@callee{i}:example.org" for i in range(PAIRS)]
    group = ["alice", "bob", "carol"]

    server = start_server(tmp_path, extra_env=env, database=database, extra_args=limits)
    tokens = {u: server.token(u, "*", publish=True, subscribe=True) for u in users}
    call_id = initiate_group(server.base_url, tokens["alice"], ["bob", "carol"])
    ledger = Ledger()
    stop = threading.Event()
    load = [threading.Thread(target=churn_calls, args=(server, tokens, i, ledger, stop), daemon=True) for i in range(PAIRS)]

    async def live_then_kill() -> None:
        peers = {u: await GroupPeer.connect(server.base_url, tokens[u], u) for u in group}
        try:
            for user in group:
                await peers[user].join(call_id)
            for user, peer in peers.items():
                await peer.wait_tracks([u for u in group if u != user], timeout=30)
            for thread in load:
                thread.start()
            # Media flows to everyone while the calls churn; then the kill, mid-flight.
            for user, peer in peers.items():
                for other in group:
                    if other != user:
                        assert await grows(peer, other, "video", 5, 20), f"{user} decodes no video of {other} before the kill"
            await asyncio.sleep(1.0)
            assert not ledger.refused, ledger.refused[:3]
            server.mark("kill -9 under load and media")
            server.process.kill()
            server.process.wait(10)
        finally:
            stop.set()
            for peer in peers.values():
                await peer.close()

    try:
        run(live_then_kill(), timeout=120)
    finally:
        stop.set()
        if server.alive():
            server.process.kill()
            server.process.wait(10)
    for thread in load:
        thread.join(15)
    acknowledged = dict(ledger.acknowledged)
    assert len(acknowledged) >= PAIRS, f"the load made only {len(acknowledged)} calls before the kill"

    # On disk, before anything else runs: every acknowledged call, in an allowed state.
    quoted = ",".join(f"'{c}'" for c in acknowledged)
    rows = dict(sql(database, f"SELECT id, status FROM call_sessions WHERE id IN ({quoted})"))
    missing = [c for c in acknowledged if c not in rows]
    assert not missing, f"{len(missing)} acknowledged calls lost to the kill: {missing[:5]}"
    wrong = {c: (rows[c], allowed(ledger, c)) for c in acknowledged if rows[c] not in allowed(ledger, c)}
    assert not wrong, f"calls in a state the server never acknowledged: {list(wrong.items())[:5]}"

    server = start_server(tmp_path, extra_env=env, database=database, extra_args=limits,
                          log_name=f"chorus-serve-{tmp_path.name}-after-kill.log")
    tokens = {u: server.token(u, "*", publish=True, subscribe=True) for u in users}  # a new secret
    try:
        # The callers' clients come back and find their calls (well within the grace period).
        active = {c for c in acknowledged if rows[c] == "active"}
        for caller in {ledger.initiators[c] for c in active}:
            listed = active_calls(server, tokens[caller])
            mine = {c for c in active if ledger.initiators[c] == caller}
            assert mine <= listed, f"{caller} does not get back {sorted(mine - listed)[:3]}"
        for c in acknowledged:
            answer = requests.get(server.base_url + f"/api/calls/{c}/status", headers=auth(tokens[ledger.initiators[c]]), timeout=10)
            assert answer.status_code == 200 and answer.json()["status"] == rows[c], (c, answer.text)
        ended = [c for c in acknowledged if ledger.acknowledged[c] == "ended"][:20]
        for c in ended:
            events = [e[0] for e in sql(database, f"SELECT type FROM call_events WHERE call_id = '{c}' ORDER BY id")]
            assert events == ["initiated", "answered", "ended"], (c, events)

        async def come_back() -> None:
            peers = {u: await GroupPeer.connect(server.base_url, tokens[u], u) for u in group}
            try:
                # A new connection and a new transport each: join again, publish again.
                for user in group:
                    await peers[user].join(call_id)
                for user, peer in peers.items():
                    others = [u for u in group if u != user]
                    await peer.wait_tracks(others, timeout=30)
                    for other in others:
                        assert await grows(peer, other, "video", 10, 20), f"{user} decodes no video of {other} after the restart"
                        assert await grows(peer, other, "audio", 10, 20), f"{user} receives no audio of {other} after the restart"
                call = requests.get(server.base_url + f"/api/calls/{call_id}/status", headers=auth(tokens["alice"]), timeout=10).json()
                assert call["status"] == "active", call
                assert sorted(p["status"] for p in call["participants"]) == ["joined"] * 3, call
            finally:
                for peer in peers.values():
                    await peer.close()

        run(come_back(), timeout=120)
        assert server.alive(), tail(server.log_path)
    finally:
        assert stop_process(server.process) == 0, tail(server.log_path)
