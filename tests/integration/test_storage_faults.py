"""A full disk and a read-only database (issue 16, "faults in the test command"): the SQLite
database lives on a 2 MiB tmpfs mounted in a mount namespace that a holder process (`unshare
... sleep`) keeps, and the servers run in that namespace (`nsenter`). While a server runs, the
test fills the disk (dd until ENOSPC) and frees it again; then it restarts the server on the
disk remounted read-only (a running SQLite holds its files open for writing, and Linux refuses
to remount a file system read-only under open writers, so read-only is met at start, as after
a volume came back read-only), and remounts it read-write. Throughout, the call API answers
every request in bounded time with success or a 503 and the JSON error `database_unwritable`
(never a 500, a crash or a hang), the log says what failed, and once space or write access is
back calls are made again with nothing acknowledged lost.

The tmpfs exists only inside the holder's namespace; the test ends the servers and then the
holder by PID however it ends, and checks that the mount is gone. Needs root (namespaces,
mounts); skipped on PostgreSQL runs of the suite, as it is about the SQLite file (PostgreSQL's
outage: test_database_outage.py)."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import ChorusServer, start_server, stop_process, tail
from test_call_persistence import auth

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace and a tmpfs need root"),
    pytest.mark.skipif(
        os.environ.get("CHORUS_INTEGRATION_DATABASE", "sqlite") == "postgres",
        reason="about the SQLite file; PostgreSQL outages are test_database_outage.py's"),
]

DISK_BYTES = 2 * 1024 * 1024
# A request that takes longer than this is a hang (SQLite's busy_timeout is 10 s, and a full
# disk or a read-only file must not wait for it).
REQUEST_BUDGET = 8.0


class MountNamespace:
    """A process that holds a private mount namespace with a tmpfs at `disk`, named
    `chorus-test-disk`; everything the test runs there goes through `nsenter`."""

    def __init__(self, disk: Path) -> None:
        self.disk = disk
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             f'mount -t tmpfs -o size={DISK_BYTES} chorus-test-disk "{disk}" && echo mounted && exec sleep 3600'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.process.stdout.readline().strip()
        assert line == "mounted", f"no tmpfs: {line} {self.process.stdout.read() if self.process.poll() is not None else ''}"

    @property
    def enter(self) -> list[str]:
        return ["nsenter", "--target", str(self.process.pid), "--mount", "--"]

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.enter + list(command), capture_output=True, text=True, timeout=60)

    def sql(self, query: str) -> list[tuple]:
        """The database as the servers see it: only inside the namespace is the tmpfs there."""
        done = self.run("python3", "-c",
                        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                        "print('\\n'.join('\\t'.join(str(v) for v in r) for r in c.execute(sys.argv[2])))",
                        str(self.disk / "chorus.db"), query)
        assert done.returncode == 0, done.stderr
        return [tuple(line.split("\t")) for line in done.stdout.splitlines() if line]

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)


def initiate(server: ChorusServer, caller: str, callee: str) -> requests.Response:
    started = time.monotonic()
    response = requests.post(
        server.base_url + "/api/calls/initiate", headers=auth(caller), timeout=REQUEST_BUDGET + 5,
        json={"roomId": f"!{uuid.uuid4().hex[:8]}:example.org", "callType": "voice", "invitees": [callee]})
    took = time.monotonic() - started
    assert took < REQUEST_BUDGET, f"initiate took {took:.1f}s: a hang, not an answer"
    return response


def refused_clearly(response: requests.Response) -> bool:
    """The 503 a client can act on: JSON error, the code that names the cause."""
    if response.status_code != 503:
        return False
    error = response.json()["error"]
    return error["code"] == "database_unwritable" and "try again" in error["message"]


def until_refused(server: ChorusServer, caller: str, callee: str, made: list[str]) -> None:
    """Starts calls until one is refused: SQLite may still fit a few into pages it already
    has (the WAL is reused after a checkpoint), but not many. Every answer is a success or the
    clear refusal."""
    for _ in range(300):
        response = initiate(server, caller, callee)
        if response.status_code == 201:
            made.append(response.json()["callId"])
            continue
        assert refused_clearly(response), f"{response.status_code}: {response.text}"
        # Refused from now on, as long as the fault lasts.
        for _ in range(5):
            again = initiate(server, caller, callee)
            assert refused_clearly(again), f"{again.status_code}: {again.text}"
        return
    pytest.fail("300 calls were stored on a disk that has no room or cannot be written")


def until_accepted(server: ChorusServer, caller: str, callee: str, made: list[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = initiate(server, caller, callee)
        if response.status_code == 201:
            made.append(response.json()["callId"])
            return
        assert refused_clearly(response), f"{response.status_code}: {response.text}"
        time.sleep(0.5)
    pytest.fail(f"no call accepted 30 s after the fault went; log tail:\n{tail(server.log_path)}")


def test_full_disk_and_read_only_database_get_clear_503s_and_recover(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    database = f"sqlite://{disk / 'chorus.db'}"
    limits = ["--max-calls-per-minute", "100000", "--max-open-calls", "100000"]
    namespace = MountNamespace(disk)
    servers: list[ChorusServer] = []
    try:
        assert "chorus-test-disk" not in Path("/proc/self/mountinfo").read_text(), "the tmpfs leaked out of the namespace"
        server = start_server(tmp_path, database=database, wrapper=namespace.enter, extra_args=limits)
        servers.append(server)
        caller = server.token("@caller:example.org", "*")
        callee = "@callee:example.org"
        made: list[str] = []
        for _ in range(3):
            response = initiate(server, caller, callee)
            assert response.status_code == 201, response.text
            made.append(response.json()["callId"])

        # A full disk under a running server.
        server.mark("fill the disk")
        filled = namespace.run("dd", "if=/dev/zero", f"of={disk / 'filler'}", "bs=64k")
        assert "No space left on device" in filled.stderr, filled.stderr
        until_refused(server, caller, callee, made)
        status = requests.get(server.base_url + f"/api/calls/{made[0]}/status", headers=auth(caller), timeout=10)
        assert status.status_code == 200, "reads must go on while writes cannot"
        assert server.alive(), tail(server.log_path)
        server.mark("free the disk")
        assert namespace.run("rm", "-f", str(disk / "filler")).returncode == 0
        until_accepted(server, caller, callee, made)
        log = server.log_path.read_text(errors="replace")
        assert re.search(r"initiate: the call database failed: unwritable\(.*the disk holding it is full", log), tail(server.log_path)
        assert stop_process(server.process) == 0, tail(server.log_path)

        # A restart onto a read-only volume: it listens, says why, and opens once it can write.
        remount = namespace.run("mount", "-o", "remount,ro", str(disk))
        assert remount.returncode == 0, remount.stderr
        server = start_server(tmp_path, database=database, wrapper=namespace.enter, extra_args=limits, ready=False,
                              log_name=f"chorus-serve-{tmp_path.name}-read-only.log")
        servers.append(server)
        caller = server.token("@caller:example.org", "*")
        refused = 0
        deadline = time.monotonic() + 10
        while refused < 3 and time.monotonic() < deadline:
            response = initiate(server, caller, callee)
            if refused_clearly(response):
                refused += 1
            else:
                # Before its first attempt failed the store is just "starting".
                assert response.status_code == 503 and response.json()["error"]["code"] == "unavailable", response.text
            time.sleep(0.3)
        assert refused >= 3, f"no database_unwritable answer from a server on a read-only volume:\n{tail(server.log_path)}"
        health = requests.get(server.base_url + "/healthz", timeout=5)
        assert health.status_code == 503, health.text
        assert server.alive(), tail(server.log_path)
        log = server.log_path.read_text(errors="replace")
        assert re.search(r"cannot be opened for writing, trying again: unwritable\(", log), tail(server.log_path)
        server.mark("remount read-write")
        remount = namespace.run("mount", "-o", "remount,rw", str(disk))
        assert remount.returncode == 0, remount.stderr
        until_accepted(server, caller, callee, made)
        assert requests.get(server.base_url + "/healthz", timeout=5).status_code == 200

        # Every call acknowledged with a 201 is stored; the refused ones left nothing behind.
        quoted = ",".join(f"'{c}'" for c in made)
        stored = {row[0] for row in namespace.sql(f"SELECT id FROM call_sessions WHERE id IN ({quoted})")}
        assert stored == set(made), f"lost: {sorted(set(made) - stored)[:5]}"
        total = int(namespace.sql("SELECT COUNT(*) FROM call_sessions")[0][0])
        assert total == len(made), f"{total} calls stored, {len(made)} acknowledged"
        assert server.alive(), tail(server.log_path)
        assert stop_process(server.process) == 0, tail(server.log_path)
    finally:
        for server in servers:
            stop_process(server.process)
        namespace.close()
    # The namespace, and the tmpfs in it, went with the holder.
    assert "chorus-test-disk" not in Path("/proc/self/mountinfo").read_text()
