"""A real Synapse homeserver for the Matrix tests (PyPI `matrix-synapse`, installed by
scripts/install-deps.sh --test): its config generated with --generate-config in a temporary
directory, SQLite, one client listener on 127.0.0.1 (no federation listener, no trusted key
servers, so it never reaches out), rate limits raised, and Chorus's registration (written by
`chorus matrix-registration`) in app_service_config_files. Stopped by its PID.

Also: a plain Matrix client over the client-server API (`requests`), test users registered with
the shared-secret admin API, and HomeserverSwitch, a TCP relay between Chorus and Synapse that
a test turns off (connections refused, or accepted and never answered) to see Chorus answer 503
and recover."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

import pytest
import requests
import yaml

from ports import free_tcp_port

SERVER_NAME = "test.local"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
TIMEOUT = 10.0


def synapse_installed() -> bool:
    try:
        import synapse  # noqa: F401
    except ImportError:
        return False
    return True


class Synapse:
    """One homeserver process; `base_url` is its client-server API."""

    def __init__(self, directory: Path, registration: Path) -> None:
        if not synapse_installed():
            pytest.fail("matrix-synapse is not installed (scripts/install-deps.sh --test installs it)", pytrace=False)
        self.directory = directory
        self.port = free_tcp_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.config = directory / "homeserver.yaml"
        self.log = directory / "synapse.log"
        python = sys.executable
        done = subprocess.run(
            [python, "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME, "--config-path", str(self.config),
             "--generate-config", "--report-stats=no", "--data-directory", str(directory)],
            capture_output=True, text=True, timeout=120, cwd=directory)
        assert done.returncode == 0, f"synapse --generate-config failed: {done.stderr[-2000:]}"
        self.shared_secret = yaml.safe_load(self.config.read_text())["registration_shared_secret"]
        limit = {"per_second": 1000, "burst_count": 1000}
        overrides = {
            "listeners": [{
                "port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False, "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "app_service_config_files": [str(registration)],
            "enable_metrics": False,
            "presence": {"enabled": False},
            "log_config": None,
            "rc_message": limit,
            "rc_login": {"address": limit, "account": limit, "failed_attempts": limit},
            "rc_registration": limit,
            "rc_joins": {"local": limit, "remote": limit},
            "rc_invites": {"per_room": limit, "per_user": limit},
            # Logins that ask for a refresh token get an access token this short-lived: the
            # tests' expired Matrix tokens.
            "refreshable_access_token_lifetime": "2s",
        }
        self.overrides = directory / "overrides.yaml"
        self.overrides.write_text(yaml.safe_dump({k: v for k, v in overrides.items() if v is not None}))
        # The generated log config writes a file beside the config; keep it but quiet.
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [python, "-m", "synapse.app.homeserver", "-c", str(self.config), "-c", str(self.overrides)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=directory)
        self.started = time.monotonic()

    def wait_ready(self) -> float:
        """Seconds from the start until /_matrix/client/versions answers."""
        deadline = self.started + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"synapse exited {self.process.returncode}:\n{self.tail()}", pytrace=False)
            try:
                if requests.get(self.base_url + "/_matrix/client/versions", timeout=1).status_code == 200:
                    return time.monotonic() - self.started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        pytest.fail(f"synapse did not answer within {START_TIMEOUT}s:\n{self.tail()}", pytrace=False)

    def tail(self, lines: int = 40) -> str:
        text = ""
        for path in (self.log, self.directory / "homeserver.log"):
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return text

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def register(self, user: str, password: str = "pw-" + uuid.uuid4().hex) -> "MatrixClient":
        """A new user through the shared-secret admin API, logged in."""
        nonce = requests.get(self.base_url + "/_synapse/admin/v1/register", timeout=TIMEOUT).json()["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\0{user}\0{password}\0notadmin".encode())
        response = requests.post(
            self.base_url + "/_synapse/admin/v1/register",
            json={"nonce": nonce, "username": user, "password": password, "admin": False, "mac": mac.hexdigest()},
            timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        body = response.json()
        return MatrixClient(self.base_url, body["user_id"], body["access_token"], password)


class MatrixClient:
    """A plain Matrix client: the client-server API over HTTP, events read with /sync."""

    _txn = itertools.count()

    def __init__(self, base_url: str, user_id: str, access_token: str, password: str) -> None:
        self.base_url = base_url
        self.user_id = user_id
        self.access_token = access_token
        self.password = password
        self.session = requests.Session()
        self.since: str | None = None
        self.seen: list[dict[str, Any]] = []

    @property
    def localpart(self) -> str:
        return self.user_id[1:].split(":", 1)[0]

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        headers = {"Authorization": f"Bearer {token or self.access_token}"}
        return self.session.request(method, self.base_url + path, headers=headers, **kwargs)

    def login(self, refresh: bool = False) -> str:
        """A new access token (a new device); with `refresh`, one that expires in 2 s."""
        body: dict[str, Any] = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": self.localpart},
                                "password": self.password}
        if refresh:
            body["refresh_token"] = True
        response = self.session.post(self.base_url + "/_matrix/client/v3/login", json=body, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def create_room(self, invite: list[str]) -> str:
        response = self.request("POST", "/_matrix/client/v3/createRoom",
                                json={"invite": invite, "is_direct": True, "preset": "trusted_private_chat"})
        assert response.status_code == 200, response.text
        return response.json()["room_id"]

    def join(self, room: str) -> None:
        response = self.request("POST", f"/_matrix/client/v3/join/{quote(room, safe='')}", json={})
        assert response.status_code == 200, response.text

    def send(self, room: str, event_type: str, content: dict[str, Any]) -> str:
        txn = f"t{os.getpid()}-{next(self._txn)}"
        response = self.request(
            "PUT", f"/_matrix/client/v3/rooms/{quote(room, safe='')}/send/{event_type}/{txn}", json=content)
        assert response.status_code == 200, response.text
        return response.json()["event_id"]

    def sync(self, timeout_ms: int = 1000) -> list[dict[str, Any]]:
        """New timeline events of every joined room since the last sync."""
        params: dict[str, Any] = {"timeout": timeout_ms}
        if self.since:
            params["since"] = self.since
        response = self.request("GET", "/_matrix/client/v3/sync", params=params, timeout=TIMEOUT + timeout_ms / 1000)
        assert response.status_code == 200, response.text
        body = response.json()
        self.since = body["next_batch"]
        events = []
        for room_id, room in body.get("rooms", {}).get("join", {}).items():
            for event in room.get("timeline", {}).get("events", []):
                events.append({**event, "room_id": room_id})
        self.seen.extend(events)
        return events

    def wait_for(self, event_type: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
                 timeout: float = 15.0) -> dict[str, Any]:
        """The first event of this type (seen before or arriving within `timeout`) that matches."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.seen:
                if event["type"] == event_type and predicate(event):
                    self.seen.remove(event)
                    return event
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.user_id}: no {event_type} within {timeout}s; saw "
                                     f"{[e['type'] for e in self.seen]}")
            self.sync()

    def none_of(self, event_type: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
                wait: float = 2.0) -> None:
        """No such event arrives within `wait`."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            self.sync(timeout_ms=500)
        found = [e for e in self.seen if e["type"] == event_type and predicate(e)]
        assert not found, f"{self.user_id}: unexpected {event_type}: {found}"


class HomeserverSwitch:
    """A TCP relay on 127.0.0.1 in front of the homeserver. `mode` "up" relays; "refuse" closes
    every connection (and the ones open: a pooled keep-alive connection must not slip through);
    "hang" accepts and never answers. Threads, stopped by `close`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "up"
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode: str) -> None:
        with self.lock:
            self.mode = mode
            if mode != "up":
                for sock in self.open:
                    try:
                        sock.close()
                    except OSError:
                        pass
                self.open.clear()

    def close(self) -> None:
        self.closed = True
        self.set("refuse")
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                mode = self.mode
                if mode == "refuse":
                    client.close()
                    continue
                self.open.append(client)
            if mode == "hang":
                continue  # held open, never answered (closed when the mode changes)
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass
