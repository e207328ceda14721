"""Media workers on one UDP port (`--udp-port-sharing`, issue 6): as root the session's server
(2 workers) shares one port with eBPF steering, and many rooms of real peers (`chorus loadtest`,
its small-rooms scenario: 8 rooms of 3, 72 transports, on both workers) all connect and get all their media,
the peers whose first check the kernel hashed to the other worker handed over to theirs.
Without the privileges (or when asked) each worker gets its own port, and a call still works
with aiortc peers there. A port that is taken (HTTP, or the media port's ICE-TCP side) ends
the server with exit 1 and a log line naming it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

from chorus_api import ChorusAPI
from conftest import ChorusServer, chorus_binary, clean_env, start_server, stop_process
from test_loadtest_smoke import run_loadtest
from test_whip_whep_aiortc import Tokens, connected_call
from peers import run
from ports import free_port

IS_ROOT = os.geteuid() == 0


def metric(api: ChorusAPI, name: str) -> float:
    response = api.metrics()
    assert response.status_code == 200, response.text[:500]
    values = [float(value) for value in re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", response.text, re.MULTILINE)]
    return sum(values)


@pytest.mark.skipif(not IS_ROOT, reason="eBPF steering needs root; the server falls back to a port per worker")
def test_workers_share_one_port_as_root(chorus: ChorusServer) -> None:
    assert chorus.shares_udp_port, f"server log says {chorus.udp_ports}: not shared"
    assert len(chorus.udp_ports) == 1 and chorus.udp_ports[0] == chorus.udp_port, chorus.udp_ports


def test_many_rooms_on_one_port_get_all_their_media(chorus: ChorusServer, api: ChorusAPI, tmp_path: Path) -> None:
    handed_before = metric(api, "chorus_stun_handed_off_total")
    result_path = tmp_path / "rooms.json"
    done = run_loadtest([
        "--server", chorus.base_url, "--jwt-secret", chorus.secret,
        "--scenario", "small-rooms", "--rooms", "8", "--duration", "3", "--threads", "1",
        "--video-size", "320x180", "--video-kbps", "300", "--floor-packets", "0",
        "--output", str(result_path),
    ])
    assert done.returncode == 0, f"loadtest exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    step = json.loads(result_path.read_text())["steps"][0]
    # Per room 3 WHIP publishers and 6 WHEP subscriptions (each participant watches the 2 others).
    assert step["transports"] == 72 and step["connected"] == 72 and step["failed"] == 0, step
    assert step["lost"] == 0 and step["duplicates"] == 0 and step["unknownSSRC"] == 0, step
    assert step["expected"] == step["audioPacketsReceived"] + step["videoPacketsReceived"] > 0, step
    if chorus.shares_udp_port:
        # 72 peers' first checks hashed over 2 workers: all landing on their own worker by
        # chance has odds of 2^-72. The rest of their traffic was steered: nothing was lost.
        assert metric(api, "chorus_stun_handed_off_total") > handed_before


def test_a_port_per_worker_when_asked(tmp_path: Path, room: str) -> None:
    server = start_server(tmp_path, extra_env={"CHORUS_UDP_PORT_SHARING": "per-worker"})
    try:
        assert not server.shares_udp_port
        assert server.udp_ports == [server.udp_port, server.udp_port + 1], server.udp_ports
        api = ChorusAPI(server.base_url)

        async def call() -> None:
            async with connected_call(server, api, room, Tokens.mint(server, room)):
                pass  # connected_call asserts that video and audio were decoded

        run(call(), 60)
    finally:
        stop_process(server.process)


@pytest.mark.parametrize("taken", ["http", "media-tcp"])
def test_a_taken_port_is_named_and_the_server_exits_1(tmp_path: Path, taken: str) -> None:
    # An operator (and the tests' retry on a lost port race) must see which port was taken:
    # NIO's own bind error names none. The media port is also ICE-TCP's listening port.
    # Free for UDP and TCP, then its TCP side held: the media case fails on TCP, not UDP.
    port = free_port(socket.SOCK_DGRAM)
    held = socket.create_server(("127.0.0.1", port))
    try:
        http_port = port if taken == "http" else free_port(socket.SOCK_STREAM)
        udp_port = port if taken == "media-tcp" else free_port(socket.SOCK_DGRAM)
        done = subprocess.run(
            [str(chorus_binary()), "serve", "--host", "127.0.0.1", "--http-port", str(http_port),
             "--udp-port", str(udp_port), "--workers", "1", "--jwt-secret", "s" * 32,
             "--database", f"sqlite://{tmp_path / 'chorus.db'}"],
            capture_output=True, text=True, timeout=60, env=clean_env(), cwd=tmp_path, stdin=subprocess.DEVNULL)
    finally:
        held.close()
    assert done.returncode == 1, done.stdout[-2000:]
    kind = "http" if taken == "http" else "tcp"
    assert re.search(rf"critical .*bind/listen {kind} 127\.0\.0\.1:{port} failed: .*Address already in use",
                     done.stdout), done.stdout[-2000:]
