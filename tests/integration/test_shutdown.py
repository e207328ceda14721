"""SIGTERM ends `chorus serve` even while a client holds an HTTP connection it never sent a
request on (browsers open such connections ahead of time): the graceful shutdown waits for
open requests at most 5 s, then the services are cancelled. Found by the network-quality tests,
whose server never exited after a Chromium had loaded a page from it."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import requests

from conftest import start_server, tail


def test_sigterm_with_an_idle_connection_open(tmp_path: Path) -> None:
    server = start_server(tmp_path, log_name="chorus-serve-shutdown-idle.log")
    idle = socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
    try:
        assert requests.get(server.base_url + "/healthz", timeout=5).status_code == 200
        time.sleep(1)  # the idle connection is accepted and waiting for a request
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        try:
            code = server.process.wait(timeout=30)
        except Exception:
            server.process.kill()
            server.process.wait()
            raise AssertionError(f"chorus serve did not exit within 30 s of SIGTERM; log tail:\n{tail(server.log_path)}")
        print(f"exited {code} after {time.monotonic() - started:.1f}s with an idle connection open")
        assert code == 0, tail(server.log_path)
    finally:
        idle.close()
        if server.process.poll() is None:
            server.process.kill()
