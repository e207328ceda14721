"""Starts one real `chorus serve` for the integration session (free ports, random JWT secret,
temporary SQLite database, 127.0.0.1 announced) and stops it with SIGTERM, which must exit 0.

The binary is $CHORUS_BIN, else .build/debug/chorus. Its log goes to
$CHORUS_ARTIFACTS/chorus-serve.log (default artifacts/integration/), with a marker line per test."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))

from chorus_api import ChorusAPI  # noqa: E402
from peers import use_loopback_only  # noqa: E402
from ports import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT = 60.0
# Two media workers, so rooms land on different workers and every test also checks that a
# room's transports find their own worker: on one shared UDP port with eBPF steering when the
# tests run as root (the default `--udp-port-sharing auto`), else one port each.
WORKERS = 2
STOP_TIMEOUT = 10.0

use_loopback_only()


def chorus_binary() -> Path:
    return Path(os.environ.get("CHORUS_BIN") or REPO / ".build" / "debug" / "chorus")


def artifacts_dir() -> Path:
    path = Path(os.environ.get("CHORUS_ARTIFACTS") or REPO / "artifacts" / "integration")
    path.mkdir(parents=True, exist_ok=True)
    return path


def tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(no log: {error})"
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ChorusServer:
    binary: Path
    base_url: str
    http_port: int
    udp_port: int
    workers: int
    secret: str
    announced_ip: str
    database: str
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def token(
        self,
        identity: str,
        room: str,
        *,
        publish: bool = False,
        subscribe: bool = False,
        admin: bool = False,
        ttl: int | None = None,
    ) -> str:
        """A token from `chorus token` (exercising that command's contract)."""
        args = [str(self.binary), "token", "--identity", identity, "--room", room, "--jwt-secret", self.secret]
        if publish:
            args.append("--publish")
        if subscribe:
            args.append("--subscribe")
        if admin:
            args.append("--admin")
        if ttl is not None:
            args += ["--ttl", str(ttl)]
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, env=clean_env())
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}: {done.stderr}"
        lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
        assert lines, f"`chorus token` printed nothing (stderr: {done.stderr!r})"
        token = lines[-1]
        assert token.count(".") == 2, f"`chorus token` printed {token!r}, not a JWT"
        return token

    @property
    def udp_ports(self) -> list[int]:
        """The media ports the server announced at start: one shared by all workers, or worker
        i's udp_port + i (read from its "media on udp HOST:PORTS (...)" log line)."""
        lines = re.findall(r"media on udp (\S+) \((.*?)\)", self.log_path.read_text(errors="replace"))
        assert lines, f"no 'media on udp' line in the server log:\n{tail(self.log_path)}"
        address, _ = lines[-1]
        return [int(port) for port in address.rsplit(":", 1)[1].split(",")]

    @property
    def tcp_ports(self) -> list[int]:
        """The ICE-TCP ports the server announced at start ("ice-tcp on tcp HOST:PORTS")."""
        lines = re.findall(r"ice-tcp on tcp (\S+) ", self.log_path.read_text(errors="replace"))
        assert lines, f"no 'ice-tcp on tcp' line in the server log:\n{tail(self.log_path)}"
        return [int(port) for port in lines[-1].rsplit(":", 1)[1].split(",")]

    @property
    def shares_udp_port(self) -> bool:
        lines = re.findall(r"media on udp \S+ \((.*?)\)", self.log_path.read_text(errors="replace"))
        return bool(lines) and lines[-1].startswith("shared by")

    def alive(self) -> bool:
        return self.process.poll() is None

    def mark(self, text: str) -> None:
        with self.log_path.open("a") as log:
            log.write(f"\n===== {text} =====\n")


def clean_env() -> dict[str, str]:
    # The server must see only the configuration the tests give it.
    return {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}


def integration_database(tmp: Path, attempt: int) -> str:
    """The server's --database: a fresh SQLite file, or with CHORUS_INTEGRATION_DATABASE=postgres
    a fresh database on the PostgreSQL that scripts/postgres.sh started (CHORUS_TEST_POSTGRES_URL)."""
    if os.environ.get("CHORUS_INTEGRATION_DATABASE", "sqlite") != "postgres":
        return f"sqlite://{tmp / f'chorus-{attempt}.db'}"
    admin_url = os.environ.get("CHORUS_TEST_POSTGRES_URL")
    if not admin_url:
        pytest.fail("CHORUS_INTEGRATION_DATABASE=postgres needs CHORUS_TEST_POSTGRES_URL (scripts/postgres.sh start)", pytrace=False)
    name = f"chorus_it_{uuid.uuid4().hex[:12]}"
    done = subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-c", f"CREATE DATABASE {name}"],
                          capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.fail(f"CREATE DATABASE failed: {done.stderr}", pytrace=False)
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def start_server(
    tmp: Path, extra_env: dict[str, str] | None = None, database: str | None = None, extra_args: list[str] | None = None,
    development_secret: bool = False, ready: bool = True, log_name: str | None = None, http_port: int | None = None,
    host: str = "127.0.0.1", wrapper: list[str] | None = None,
) -> ChorusServer:
    """`extra_args` go to `chorus serve`; `development_secret` starts it without a secret (so
    on the published development secret, minting development tokens). Returns once /healthz
    answers 200, or with `ready=False` once it answers at all (the server listens before its
    database is open, answering 503 until then). `http_port` fixes the HTTP port (a Matrix
    registration names it before the server starts); by default one is picked. `host` is the
    address it serves and announces (another than 127.0.0.1 only inside a test's own network
    namespace, see netns.py). `wrapper` goes before the command and must `exec` it, so that the
    process is the server's (test_storage_faults.py starts it in a mount namespace of its own)."""
    binary = chorus_binary()
    if not binary.exists():
        pytest.fail(f"chorus binary not found at {binary} (build it, or set CHORUS_BIN)", pytrace=False)
    # Every server its own log: ports and markers are read back from it.
    log_path = artifacts_dir() / (log_name or f"chorus-serve-{tmp.name}.log")
    log_path.write_text("")
    last_error = ""
    fixed_port = http_port
    for attempt in range(3):
        http_port, udp_port = fixed_port or free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
        secret = secrets.token_hex(32)  # never starts with "-", which the CLI would read as an option
        database = database or integration_database(tmp, attempt)
        args = [
            str(binary), "serve",
            "--host", host,
            "--http-port", str(http_port),
            "--udp-port", str(udp_port),
            "--workers", str(WORKERS),
            "--announced-ip", host,
            "--database", database,
        ]
        if development_secret:
            secret = "chorus-dev-secret"
        else:
            args += ["--jwt-secret", secret]
        args += extra_args or []
        with log_path.open("a") as log:
            log.write(f"===== start attempt {attempt}: {' '.join(args)} =====\n")
            log.flush()
            # Opened in append mode, so the server's output and our markers interleave in order.
            process = subprocess.Popen(
                (wrapper or []) + args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**clean_env(), **(extra_env or {})}, cwd=tmp,
            )
        server = ChorusServer(
            binary=binary,
            base_url=f"http://{host}:{http_port}",
            http_port=http_port,
            udp_port=udp_port,
            workers=WORKERS,
            secret=secret,
            announced_ip=host,
            database=database,
            log_path=log_path,
            process=process,
        )
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                status = requests.get(server.base_url + "/healthz", timeout=1).status_code
                if status == 200 or not ready:
                    return server
            except requests.RequestException:
                pass
            time.sleep(0.1)
        if process.poll() is None:
            stop_process(process)
            pytest.fail(
                f"chorus serve not healthy after {HEALTH_TIMEOUT}s; log tail:\n{tail(log_path)}", pytrace=False
            )
        last_error = tail(log_path)
        if not re.search(r"address already in use|EADDRINUSE|errno 98", last_error, re.IGNORECASE):
            break
        # A fixed HTTP port is kept; a start that failed on it is not retried.
        if fixed_port and re.search(rf":{fixed_port}\b[^\n]*(address already in use|EADDRINUSE|errno 98)",
                                    last_error, re.IGNORECASE):
            break
    pytest.fail(f"chorus serve exited during start; log tail:\n{last_error}", pytrace=False)


def stop_process(process: subprocess.Popen) -> int | None:
    """SIGTERM, then SIGKILL after STOP_TIMEOUT; returns the SIGTERM exit code or None if killed."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
        return None


@pytest.fixture(scope="session")
def chorus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChorusServer]:
    server = start_server(tmp_path_factory.mktemp("chorus"), log_name="chorus-serve.log")
    try:
        yield server
    finally:
        server.mark("session end: SIGTERM")
        was_running = server.alive()
        code = stop_process(server.process)
    assert was_running, f"chorus serve had already exited with {server.process.returncode}; log tail:\n{tail(server.log_path)}"
    assert code is not None, f"chorus serve ignored SIGTERM for {STOP_TIMEOUT}s and was killed; log tail:\n{tail(server.log_path)}"
    assert code == 0, f"chorus serve exited {code} on SIGTERM; log tail:\n{tail(server.log_path)}"


@pytest.fixture(scope="session")
def api(chorus: ChorusServer) -> ChorusAPI:
    return ChorusAPI(chorus.base_url)


@pytest.fixture(autouse=True)
def server_keeps_serving(request: pytest.FixtureRequest) -> Iterator[None]:
    """Marks each test in the server log and checks after it that the server still runs and
    answers /healthz, so a crash or hang is pinned on the test that caused it."""
    if "chorus" not in request.fixturenames:
        yield
        return
    server: ChorusServer = request.getfixturevalue("chorus")
    server.mark(f"BEGIN {request.node.nodeid}")
    yield
    server.mark(f"END {request.node.nodeid}")
    assert server.alive(), f"chorus serve died (exit {server.process.returncode}); log tail:\n{tail(server.log_path)}"
    response = requests.get(server.base_url + "/healthz", timeout=5)
    assert response.status_code == 200, f"/healthz answered {response.status_code} after the test"


@pytest.fixture
def room() -> str:
    """A room name no other test uses."""
    return f"room-{uuid.uuid4().hex[:10]}"
