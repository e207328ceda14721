"""Call state survives a restart and stays consistent under concurrency, on whichever database
the suite runs (SQLite by default, PostgreSQL with CHORUS_INTEGRATION_DATABASE=postgres):
a restart keeps status, history and the event log, and turns calls that rang past the ring
timeout while the server was down into `missed`; after a `kill -9`, active calls that nobody
comes back to within the grace period end `server_restart` while one whose participant
reconnects goes on; 200 calls answered twice at once give exactly one 200 and one 409 each,
and the database holds exactly the rows and events that implies."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
import requests
import websocket

from conftest import ChorusServer, integration_database, start_server, stop_process, tail

RING_TIMEOUT = 3
# Long enough for a client to reconnect on a busy machine, short enough for a test.
GRACE_PERIOD = 8


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sql(database: str, query: str) -> list[tuple]:
    """Runs a read-only query on the server's own database, beside the server."""
    if database.startswith("sqlite://"):
        with sqlite3.connect(database.removeprefix("sqlite://")) as connection:
            return connection.execute(query).fetchall()
    out = subprocess.run(["psql", database, "-At", "-F", "\t", "-c", query], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return [tuple(line.split("\t")) for line in out.stdout.splitlines() if line]


def initiate(server: ChorusServer, caller: str, callee: str) -> dict:
    response = requests.post(
        server.base_url + "/api/calls/initiate", headers=auth(caller), timeout=10,
        json={"roomId": f"!{uuid.uuid4().hex[:8]}:example.org", "callType": "voice", "invitees": [callee], "isGroupCall": False})
    assert response.status_code == 201, response.text
    return response.json()


def status(server: ChorusServer, token: str, call_id: str) -> dict:
    response = requests.get(server.base_url + f"/api/calls/{call_id}/status", headers=auth(token), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_restart_keeps_calls_and_misses_stale_ringing(tmp_path: Path) -> None:
    database = integration_database(tmp_path, 0)
    env = {"CHORUS_RING_TIMEOUT": str(RING_TIMEOUT)}
    server = start_server(tmp_path, extra_env=env, database=database)
    alice = server.token("@alice:example.org", "*")
    bob = server.token("@bob:example.org", "*")
    try:
        finished = initiate(server, alice, "@bob:example.org")["callId"]
        assert requests.post(server.base_url + f"/api/calls/{finished}/answer", headers=auth(bob), timeout=10).status_code == 200
        assert requests.post(server.base_url + f"/api/calls/{finished}/end", headers=auth(alice), json={"reason": "bye"}, timeout=10).status_code == 200
        ringing = initiate(server, alice, "@bob:example.org")["callId"]
    finally:
        assert stop_process(server.process) == 0

    # Down for longer than the ring timeout: nobody was there to time the call out.
    time.sleep(RING_TIMEOUT + 1)
    server = start_server(tmp_path, extra_env=env, database=database)
    alice = server.token("@alice:example.org", "*")
    try:
        call = status(server, alice, finished)
        assert call["status"] == "ended" and call.get("answeredAt") and call.get("endedAt"), call
        deadline = time.monotonic() + 10
        while status(server, alice, ringing)["status"] == "ringing" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status(server, alice, ringing)["status"] == "missed"
        history = requests.get(server.base_url + "/api/calls/history?limit=10", headers=auth(alice), timeout=10).json()
        ids = [c["callId"] for c in history["calls"]]
        assert finished in ids and ringing in ids, history
        events = [row[0] for row in sql(database, f"SELECT type FROM call_events WHERE call_id = '{finished}' ORDER BY id")]
        assert events == ["initiated", "answered", "ended"], events
        events = [row[0] for row in sql(database, f"SELECT type FROM call_events WHERE call_id = '{ringing}' ORDER BY id")]
        assert events == ["initiated", "missed"], events
    finally:
        assert stop_process(server.process) == 0


def answered(server: ChorusServer, caller: str, callee: str, callee_token: str) -> str:
    call_id = initiate(server, caller, callee)["callId"]
    response = requests.post(server.base_url + f"/api/calls/{call_id}/answer", headers=auth(callee_token), timeout=10)
    assert response.status_code == 200, response.text
    return call_id


def test_kill_9_ends_active_calls_nobody_comes_back_to(tmp_path: Path) -> None:
    database = integration_database(tmp_path, 0)
    env = {"CHORUS_GRACE_PERIOD": str(GRACE_PERIOD)}
    server = start_server(tmp_path, extra_env=env, database=database)
    users = {name: server.token(f"@{name}:example.org", "*") for name in ("alice", "bob", "carol", "dave")}
    try:
        abandoned = [answered(server, users["alice"], "@bob:example.org", users["bob"]) for _ in range(5)]
        kept = answered(server, users["carol"], "@dave:example.org", users["dave"])
    finally:
        server.process.kill()  # SIGKILL: nothing is ended on the way out
        server.process.wait(10)
    quoted = ",".join(f"'{i}'" for i in abandoned + [kept])
    assert [r[0] for r in sql(database, f"SELECT status FROM call_sessions WHERE id IN ({quoted})")] == ["active"] * 6

    started = time.time()
    server = start_server(tmp_path, extra_env=env, database=database)
    users = {name: server.token(f"@{name}:example.org", "*") for name in users}  # a new secret
    ws = None
    try:
        # Carol's client reconnects within the grace period and joins her call again.
        ws = websocket.create_connection(f"ws://127.0.0.1:{server.http_port}/ws?token={users['carol']}", timeout=10)
        ws.send(json.dumps({"event": "join-call", "data": {"callId": kept}}))
        alice = users["alice"]
        deadline = time.monotonic() + GRACE_PERIOD + 60
        while any(status(server, alice, c)["status"] == "active" for c in abandoned) and time.monotonic() < deadline:
            time.sleep(0.5)
        for call_id in abandoned:
            call = status(server, alice, call_id)
            assert call["status"] == "ended" and call.get("endReason") == "server_restart", call
            assert [p["status"] for p in call["participants"]] == ["left", "left"], call
            # Not before the grace period: it counts from the start, which came after `started`.
            ended_at = datetime.fromisoformat(call["endedAt"].replace("Z", "+00:00")).timestamp()
            assert ended_at >= started + GRACE_PERIOD - 0.01, (call["endedAt"], started)
            events = sql(database, f"SELECT type, payload FROM call_events WHERE call_id = '{call_id}' ORDER BY id")
            assert [e[0] for e in events] == ["initiated", "answered", "ended"], events
            assert json.loads(events[-1][1]) == {"reason": "server_restart"}, events
        call = status(server, users["carol"], kept)
        assert call["status"] == "active", call
        assert [p["status"] for p in call["participants"]] == ["joined", "joined"], call
        assert server.alive(), tail(server.log_path)
    finally:
        if ws is not None:
            ws.close()
        assert stop_process(server.process) == 0


def test_two_hundred_calls_answered_twice_concurrently(chorus: ChorusServer) -> None:
    calls = 200
    tag = uuid.uuid4().hex[:6]
    callers = [chorus.token(f"@caller{i}-{tag}:example.org", "*") for i in range(calls)]
    callees = [chorus.token(f"@callee{i}-{tag}:example.org", "*") for i in range(calls)]

    def make(i: int) -> str:
        return initiate(chorus, callers[i], f"@callee{i}-{tag}:example.org")["callId"]

    def answer(args: tuple[int, str]) -> int:
        i, call_id = args
        return requests.post(chorus.base_url + f"/api/calls/{call_id}/answer", headers=auth(callees[i]), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        ids = list(pool.map(make, range(calls)))
        assert len(set(ids)) == calls
        outcomes = list(pool.map(answer, [(i, ids[i]) for i in range(calls) for _ in range(2)]))
    per_call = [sorted(outcomes[2 * i: 2 * i + 2]) for i in range(calls)]
    assert all(pair == [200, 409] for pair in per_call), [p for p in per_call if p != [200, 409]][:5]

    quoted = ",".join(f"'{i}'" for i in ids)
    rows = sql(chorus.database, f"SELECT status, COUNT(*) FROM call_sessions WHERE id IN ({quoted}) GROUP BY status")
    assert [(r[0], int(r[1])) for r in rows] == [("active", calls)], rows
    rows = sql(chorus.database, f"SELECT type, COUNT(*) FROM call_events WHERE call_id IN ({quoted}) GROUP BY type ORDER BY type")
    assert [(r[0], int(r[1])) for r in rows] == [("answered", calls), ("initiated", calls)], rows
