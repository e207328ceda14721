"""PostgreSQL lost under a running `chorus serve`, and not there yet when it starts, on a
throwaway cluster of each test's own (own_postgres.py: stopped and started again on the same
port; the session's server is never touched). While the database is gone every call request
answers 503 `unavailable` within its deadline (never a hang: requests carry a timeout), the
realtime channel answers with an `error` event, /healthz names the database, and the server
neither crashes nor exits; once the database is back, requests succeed again by themselves and
every call acknowledged before the outage is there. Skipped when PostgreSQL is not installed
(scripts/test.sh installs it). The last test needs no PostgreSQL: a server whose database never
comes exits 1 with a critical log line after its 20 s of attempts, listening meanwhile."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import requests
import websocket

from conftest import ChorusServer, artifacts_dir, start_server, stop_process, tail
from own_postgres import OwnPostgres

# A request must be answered well within this, outage or not (the server's deadline is 5 s).
REQUEST_TIMEOUT = 20.0
# How long the database stays away while requests keep coming.
OUTAGE = 8.0
# Generous bounds for what the test waits for; they are deadlines, not measurements.
WAIT = 120.0
ENV = {"CHORUS_RING_TIMEOUT": "3600"}  # acknowledged calls keep their status during the test


@pytest.fixture
def own_postgres(request: pytest.FixtureRequest) -> Iterator[OwnPostgres]:
    """A cluster of the test's own (skips the test when PostgreSQL is not installed), stopped
    and deleted after it, its log kept among the artifacts."""
    postgres = OwnPostgres()
    try:
        yield postgres
    finally:
        postgres.close(keep_log=artifacts_dir() / f"own-postgres-{request.node.name}.log")


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Load:
    """Callers that keep initiating and answering calls, remembering what was acknowledged."""

    server: ChorusServer
    pairs: list[tuple[str, str, str]]  # caller token, callee id, callee token
    acknowledged: dict[str, tuple[str, str]] = field(default_factory=dict)  # call id → (status a 2xx reported, caller)
    outcomes: list[tuple[float, str, int | str]] = field(default_factory=list)  # (time, request, status or exception)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, path: str, token: str, body: dict | None = None) -> requests.Response | None:
        try:
            response = requests.post(self.server.base_url + path, headers=auth(token), json=body, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            with self.lock:
                self.outcomes.append((time.monotonic(), path.rsplit("/", 1)[-1], type(error).__name__))
            return None
        with self.lock:
            self.outcomes.append((time.monotonic(), path.rsplit("/", 1)[-1], response.status_code))
        return response

    def run(self, index: int) -> None:
        caller, callee, callee_token = self.pairs[index]
        while not self.stop.is_set():
            body = {"roomId": "!outage:example.org", "callType": "voice", "invitees": [callee], "isGroupCall": False}
            created = self.post("/api/calls/initiate", caller, body)
            if created is None or created.status_code != 201:
                time.sleep(0.05)
                continue
            call_id = created.json()["callId"]
            with self.lock:
                self.acknowledged[call_id] = ("ringing", caller)
            answered = self.post(f"/api/calls/{call_id}/answer", callee_token)
            if answered is not None and answered.status_code == 200:
                with self.lock:
                    self.acknowledged[call_id] = ("active", caller)

    def first_after(self, since: float, status: int) -> float | None:
        with self.lock:
            times = [at for at, _, outcome in self.outcomes if at >= since and outcome == status]
        return min(times) if times else None


def wait_for(what: str, probe, timeout: float = WAIT, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def healthz(server: ChorusServer) -> tuple[int, dict]:
    response = requests.get(server.base_url + "/healthz", timeout=REQUEST_TIMEOUT)
    return response.status_code, response.json()


def realtime_error(server: ChorusServer, token: str, call_id: str) -> dict:
    """Sends `join-call` over /ws and returns the reply (an `error` event while the database is gone)."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.http_port}/ws?token={token}", timeout=REQUEST_TIMEOUT)
    try:
        ws.send(json.dumps({"event": "join-call", "data": {"callId": call_id}}))
        while True:
            message = json.loads(ws.recv())
            if message.get("event") == "error":
                return message["data"]
    finally:
        ws.close()


def test_postgres_lost_while_serving(tmp_path: Path, own_postgres: OwnPostgres) -> None:
    postgres = own_postgres
    postgres.start()
    server = start_server(tmp_path, extra_env=ENV, database=postgres.url)
    tag = uuid.uuid4().hex[:6]
    pairs = [(server.token(f"@caller{i}-{tag}:example.org", "*"), f"@callee{i}-{tag}:example.org",
              server.token(f"@callee{i}-{tag}:example.org", "*")) for i in range(6)]
    load = Load(server, pairs)
    measured: dict[str, float | int] = {}
    try:
        with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
            for i in range(len(pairs)):
                pool.submit(load.run, i)
            try:
                wait_for("calls before the outage", lambda: len(load.acknowledged) >= 20, timeout=60)

                server.mark("PostgreSQL: immediate shutdown")
                stopped_at = time.monotonic()
                postgres.stop(signal.SIGQUIT)
                # Every call request now answers 503 `unavailable`, within the request timeout.
                first_503 = wait_for("a 503 from the call API", lambda: load.first_after(stopped_at, 503))
                measured["seconds_to_first_503"] = round(first_503 - stopped_at, 2)
                probe_started = time.monotonic()
                response = requests.post(
                    server.base_url + "/api/calls/initiate", headers=auth(pairs[0][0]), timeout=REQUEST_TIMEOUT,
                    json={"roomId": "!r:example.org", "callType": "voice", "invitees": [pairs[0][1]]})
                measured["seconds_for_a_503"] = round(time.monotonic() - probe_started, 2)
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "unavailable", response.text
                status, report = healthz(server)
                assert status == 503 and report["database"] == "unavailable" and report["status"] == "unavailable", report
                some_call = next(iter(load.acknowledged))
                error = realtime_error(server, pairs[0][0], some_call)
                assert error["code"] == "unavailable", error
                time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped_at)))
                assert server.alive(), f"chorus serve exited during the outage:\n{tail(server.log_path)}"

                server.mark("PostgreSQL: start again")
                postgres.start()
                restarted_at = time.monotonic()
                recovered = wait_for("a call request to succeed again", lambda: load.first_after(restarted_at, 201))
                measured["seconds_to_recover"] = round(recovered - restarted_at, 2)
                wait_for("/healthz to say ready", lambda: healthz(server)[0] == 200)
            finally:
                load.stop.set()

        # Nothing acknowledged is lost: each call is there, at least as far as it was acknowledged
        # (an answer that timed out may still have committed, so `ringing` may read `active`).
        acknowledged = dict(load.acknowledged)
        measured["acknowledged_calls"] = len(acknowledged)
        lost = []
        for call_id, (status, caller) in acknowledged.items():
            response = requests.get(server.base_url + f"/api/calls/{call_id}/status", headers=auth(caller), timeout=REQUEST_TIMEOUT)
            now = response.json().get("status") if response.status_code == 200 else response.status_code
            if not (now == status or (status == "ringing" and now == "active")):
                lost.append((call_id, status, now))
        measured["calls_lost"] = len(lost)
        assert not lost, f"acknowledged calls lost or gone back: {lost[:10]}"

        with load.lock:
            outcomes = list(load.outcomes)
        failures = [o for o in outcomes if isinstance(o[2], str) or o[2] not in (200, 201, 503)]
        assert not failures, f"requests that hung, failed to connect or got an unexpected status: {failures[:10]}"
        measured["requests"] = len(outcomes)
        measured["answered_503"] = sum(1 for o in outcomes if o[2] == 503)
    finally:
        (artifacts_dir() / "database-outage.json").write_text(json.dumps(measured, indent=2) + "\n")
        server.mark(f"measured: {measured}")
        code = stop_process(server.process)
    assert code == 0, f"chorus serve exited {code} on SIGTERM; log tail:\n{tail(server.log_path)}"


def test_listens_before_postgres_is_there(tmp_path: Path, own_postgres: OwnPostgres) -> None:
    postgres = own_postgres  # initdb'd, not started: its port refuses connections
    server = start_server(tmp_path, extra_env=ENV, database=postgres.url, ready=False)
    token = server.token("@early:example.org", "*")
    try:
        status, report = healthz(server)
        assert status == 503 and report["status"] == "starting" and report["database"] == "starting", report
        response = requests.get(server.base_url + "/api/calls/active", headers=auth(token), timeout=REQUEST_TIMEOUT)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "unavailable", response.text
        # The database comes within the 20 s the server gives it.
        postgres.start()
        wait_for("/healthz to say ready", lambda: healthz(server)[0] == 200, timeout=60)
        response = requests.get(server.base_url + "/api/calls/active", headers=auth(token), timeout=REQUEST_TIMEOUT)
        assert response.status_code == 200, response.text
    finally:
        code = stop_process(server.process)
    assert code == 0, f"chorus serve exited {code} on SIGTERM; log tail:\n{tail(server.log_path)}"


def test_exits_1_when_postgres_never_comes(tmp_path: Path) -> None:
    # A port nobody listens on (held, not listening: connections are refused).
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        url = f"postgres://chorus@127.0.0.1:{held.getsockname()[1]}/postgres?sslmode=disable"
        server = start_server(tmp_path, database=url, ready=False)
        try:
            status, report = healthz(server)
            assert status == 503 and report["status"] == "starting", report
            code = server.process.wait(WAIT)
        finally:
            stop_process(server.process)
    assert code == 1, f"chorus serve exited {code}; log tail:\n{tail(server.log_path)}"
    log = server.log_path.read_text(errors="replace")
    assert any("critical" in line and "could not connect to PostgreSQL" in line for line in log.splitlines()), tail(server.log_path)
