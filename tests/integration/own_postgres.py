"""A throwaway PostgreSQL cluster of one test's own (initdb in a temporary directory of its own,
127.0.0.1 on a free port), which the test stops and starts again on the same port and data
as it likes, without touching the session's server (scripts/postgres.sh). Stopped by the PID in
its postmaster.pid. As root the server runs as the `postgres` user, as PostgreSQL requires."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from ports import free_tcp_port

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def bindir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb, as scripts/postgres.sh finds it."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: [int(p) for p in d.split("/")[-2].split(".") if p.isdigit()])
    for directory in reversed(dirs):
        if os.access(os.path.join(directory, "initdb"), os.X_OK):
            return Path(directory)
    return None


def skip_unless_installed() -> Path:
    found = bindir()
    if found is None:
        pytest.skip("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); scripts/test.sh installs it")
    if os.geteuid() == 0:
        try:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
    return found


class OwnPostgres:
    """initdb'd at construction; `start()` and `stop()` as often as the test needs."""

    def __init__(self) -> None:
        self.bindir = skip_unless_installed()
        # Not under pytest's temporary directory: as root that is private to root, and the
        # server runs as `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="chorus-own-postgres."))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_tcp_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        # Trust on 127.0.0.1 only: the cluster lives for one test and listens nowhere else.
        try:
            self._as_owner([str(self.bindir / "initdb"), f"--pgdata={self.data}", "--username=chorus", "--auth=trust",
                            "--encoding=UTF8", "--locale=C"], timeout=120)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    @property
    def url(self) -> str:
        return f"postgres://chorus@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def _as_owner(self, args: list[str], timeout: float) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}"
        return done

    def start(self) -> None:
        # fsync off (this cluster dies with the test, never with the machine); commits stay
        # synchronous, so a commit acknowledged to Chorus survives an immediate shutdown.
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
                   "-c fsync=off -c full_page_writes=off")
        self._as_owner([str(self.bindir / "pg_ctl"), f"--pgdata={self.data}", f"--log={self.log}", "--wait",
                        f"--timeout={int(START_TIMEOUT)}", "-o", options, "start"], timeout=START_TIMEOUT + 10)

    def pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self, mode: signal.Signals = signal.SIGQUIT) -> None:
        """Stops the postmaster by its PID: SIGQUIT is an immediate shutdown (no checkpoint,
        connections cut, recovery from the WAL at the next start), SIGINT a fast one."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, mode)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        # An immediate shutdown leaves postmaster.pid behind; pg_ctl start copes with a stale one.

    def close(self, keep_log: Path | None = None) -> None:
        """Stops the server if it runs and deletes the cluster, its log copied to `keep_log` first."""
        if self.running():
            self.stop(signal.SIGINT)
        if keep_log is not None and self.log.exists():
            shutil.copyfile(self.log, keep_log)
        shutil.rmtree(self.root, ignore_errors=True)
