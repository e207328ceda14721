"""Starts a real coturn (Debian's `coturn` package) for a test: TURN REST credentials
(`use-auth-secret`), UDP (and with `tcp=True` TCP) on 127.0.0.1 only, loopback peers allowed,
stopped by PID. It listens in the network namespace of the thread that starts it."""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ports import free_udp_port

if TYPE_CHECKING:
    from conftest import ChorusServer


@dataclass
class Coturn:
    port: int
    secret: str
    realm: str
    process: subprocess.Popen
    log_path: Path
    # The UDP ports its relays use towards peers (low, high), for tests that let only those through.
    relay_ports: tuple[int, int] = (0, 0)

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def answers_stun(port: int) -> bool:
    """True when a STUN Binding request to the port gets a response (the server is ready)."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + secrets.token_bytes(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(request, ("127.0.0.1", port))
        try:
            data, _ = s.recvfrom(2048)
        except OSError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == request[8:20]


def start_coturn(directory: Path, secret: str, realm: str = "chorus.test", tcp: bool = False) -> Coturn:
    """`tcp`: clients may also reach it over TCP (`turn:...?transport=tcp`); relays stay UDP."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError("turnserver not found: scripts/install-deps.sh --test installs coturn")
    port = free_udp_port()
    relay_low = 50000 + (port % 1000) * 10
    log_path = directory / "coturn.log"
    args = [
        binary, "-n",  # no config file: everything is on the command line
        "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        f"--min-port={relay_low}", f"--max-port={relay_low + 9}",
        "--use-auth-secret", f"--static-auth-secret={secret}", f"--realm={realm}",
        # coturn refuses relaying to loopback peers unless told (this test's peers are local).
        "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", *([] if tcp else ["--no-tcp"]),
        "--log-file=stdout", "--simple-log", f"--pidfile={directory / 'coturn.pid'}",
        f"--db={directory / 'turndb'}",
    ]
    log = log_path.open("w")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Coturn(port=port, secret=secret, realm=realm, process=process, log_path=log_path,
                    relay_ports=(relay_low, relay_low + 9))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"turnserver exited {process.returncode}: {log_path.read_text()[-2000:]}")
        if answers_stun(port):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"turnserver did not start: {log_path.read_text()[-2000:]}")


@contextmanager
def chorus_with_turn(directory: Path, coturn: Coturn) -> Iterator["ChorusServer"]:
    """A chorus serve of its own that mints credentials for `coturn` (TURN REST API, the same
    secret), stopped afterwards with SIGTERM, which must exit 0."""
    from conftest import start_server, stop_process

    server = start_server(
        directory,
        extra_env={"CHORUS_TURN_URLS": coturn.url, "CHORUS_TURN_SECRET": coturn.secret, "CHORUS_TURN_TTL": "600"},
    )
    try:
        yield server
    finally:
        assert stop_process(server.process) == 0


@contextmanager
def running_coturn(directory: Path) -> Iterator[Coturn]:
    """A coturn with a fresh secret for the duration of the block, stopped by PID afterwards;
    one that does not start fails the test with coturn's reason."""
    import pytest

    try:
        server = start_coturn(directory, secret=secrets.token_hex(16))
    except RuntimeError as error:
        pytest.fail(f"coturn did not start: {error}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()
