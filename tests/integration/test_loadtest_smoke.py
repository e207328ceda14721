"""`chorus loadtest` against the session's server, small and short: 1 room, 1 publisher,
2 subscribers for 4 s. Checks that packets flow and are counted consistently (each subscriber
gets every audio and video packet the publisher sent in the window, no loss, no duplicates,
every packet timed), that the JSON result and the SVG plot are written, and that a host other
than 127.0.0.1 is refused. No performance thresholds.

The binary is $CHORUS_LOADTEST_BIN if set (a build that has `loadtest`), else the chorus binary
under test."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from conftest import ChorusServer, chorus_binary, clean_env

TIMEOUT = 120


def loadtest_binary() -> str:
    return os.environ.get("CHORUS_LOADTEST_BIN") or str(chorus_binary())


def run_loadtest(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([loadtest_binary(), "loadtest", *args], capture_output=True, text=True, timeout=TIMEOUT, env=clean_env())


def test_loadtest_smoke(chorus: ChorusServer, tmp_path: Path) -> None:
    result_path = tmp_path / "result.json"
    plot_path = tmp_path / "plot.svg"
    done = run_loadtest([
        "--server", chorus.base_url, "--jwt-secret", chorus.secret,
        "--rooms", "1", "--publishers", "1", "--subscribers", "2", "--duration", "4",
        "--server-pid", str(chorus.process.pid), "--threads", "1",
        # A smaller clip than the default keeps the run light on a shared machine.
        "--video-size", "320x180", "--video-kbps", "500", "--floor-packets", "3000",
        "--output", str(result_path), "--plot", str(plot_path),
    ])
    output = f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"loadtest exited {done.returncode}\n{output}"
    assert "fwd pps" in done.stdout and "p99 ms" in done.stdout, f"no result table\n{output}"
    assert "rx " in done.stdout and "pkt/s" in done.stdout, f"no progress lines\n{output}"

    result = json.loads(result_path.read_text())
    assert result["mode"] == "fixed" and result["serverPID"] == chorus.process.pid, result
    assert len(result["steps"]) == 1, result
    step = result["steps"][0]
    assert step["transports"] == 3 and step["connected"] == 3 and step["failed"] == 0, step
    assert 3.5 < step["seconds"] < 6, step

    # Both subscribers get every packet sent in the window; only packets in flight at the
    # window's start may make a few more.
    for kind in ("audio", "video"):
        sent = step[f"{kind}PacketsSent"]
        received = step[f"{kind}PacketsReceived"]
        # 4 s of 20 ms audio, of 30 fps video with at least one packet per frame.
        assert sent > (150 if kind == "audio" else 100), f"{kind}: only {sent} packets sent\n{step}"
        assert abs(received - 2 * sent) <= max(6, 0.01 * 2 * sent), f"{kind}: {received} received for {sent} sent to 2 subscribers\n{step}"
    assert step["audioPacketsSent"] / step["seconds"] > 45, step

    assert step["lost"] == 0 and step["lossPercent"] == 0, step
    assert step["duplicates"] == 0 and step["unknownSSRC"] == 0, step
    assert step["expected"] == step["audioPacketsReceived"] + step["videoPacketsReceived"], step
    latency = step["latency"]
    assert latency["samples"] >= 0.99 * step["expected"], f"packets without a latency sample: {latency}"
    assert 0 < latency["p50Ms"] <= latency["p99Ms"] <= latency["p999Ms"] <= latency["maxMs"], latency
    # Every packet sent has its send lag (due time to leaving) measured.
    lag = step["sendLag"]
    assert lag["samples"] == step["audioPacketsSent"] + step["videoPacketsSent"], f"{lag}\n{step}"
    assert 0 <= lag["p50Ms"] <= lag["p99Ms"] <= lag["maxMs"], lag
    assert "send lag p99 ms" in done.stdout and "(send lag " in done.stdout, output
    assert step["forwardedPacketsPerSecond"] > 0 and step["offeredPacketsPerSecond"] > 0, step
    assert step["serverCPUPercent"] is not None and step["serverCPUPercent"] > 0, step
    assert step["serverRSSMegabytes"] > 1, step
    # The floor measured in the same run, and Chorus's cost per forwarded packet beside it.
    floor = result["floor"]
    assert floor["incomingPackets"] == 3000 and floor["outgoingPackets"] == 30000 and floor["sendErrors"] == 0, floor
    assert floor["cpuSeconds"] > 0, floor
    plain = result["floorWithoutGSO"]
    assert plain["outgoingPackets"] == 30000 and plain["gsoDatagrams"] == 0 and plain["sendErrors"] == 0, plain
    assert step["serverNanosecondsPerForwardedPacket"] > 0, step
    assert "x floor" in done.stdout and "floor (same run)" in done.stdout, output

    svg = ElementTree.parse(plot_path).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg", svg.tag
    marks = [e for e in svg.iter("{http://www.w3.org/2000/svg}circle") if e.get("class") == "forwarded"]
    assert len(marks) == 1, ElementTree.tostring(svg)[:500]


def test_loadtest_refuses_other_hosts(tmp_path: Path) -> None:
    done = run_loadtest(["--server", "http://192.0.2.1:8080", "--jwt-secret", "x", "--duration", "1"])
    assert done.returncode != 0, done.stdout
    assert "127.0.0.1" in done.stderr, done.stderr


def test_loadtest_simulcast_smoke(chorus: ChorusServer, tmp_path: Path) -> None:
    """`--simulcast`: one publisher sends three layers, three subscribers ask for layers 0, 1
    and 2. The SFU learns each layer from its RID and forwards each subscriber exactly the one
    it asked for, so together they receive every video packet sent, once: any layer forwarded
    twice, lost, or not forwarded breaks the equality."""
    result_path = tmp_path / "result.json"
    done = run_loadtest([
        "--server", chorus.base_url, "--jwt-secret", chorus.secret,
        "--rooms", "1", "--publishers", "1", "--subscribers", "3", "--duration", "3",
        "--server-pid", str(chorus.process.pid), "--threads", "1", "--simulcast",
        "--video-size", "320x180", "--video-kbps", "500", "--floor-packets", "0",
        "--output", str(result_path),
    ])
    output = f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"loadtest exited {done.returncode}\n{output}"
    assert "simulcast layer q: 80x44" in done.stdout and "simulcast layer f: 320x180" in done.stdout, output

    result = json.loads(result_path.read_text())
    layers = result["clip"]["simulcastLayers"]
    assert [(l["rid"], l["width"], l["height"]) for l in layers] == [("q", 80, 44), ("h", 160, 90), ("f", 320, 180)], layers
    step = result["steps"][0]
    assert step["transports"] == 4 and step["connected"] == 4 and step["failed"] == 0, step
    # Audio to all three; of the video, each layer to the one subscriber that asked for it.
    assert abs(step["audioPacketsReceived"] - 3 * step["audioPacketsSent"]) <= 6, step
    assert abs(step["videoPacketsReceived"] - step["videoPacketsSent"]) <= 6, step
    assert step["lost"] == 0 and step["duplicates"] == 0 and step["unknownSSRC"] == 0, step
    # The offered rate follows the layers asked for (audio 3x, each layer once), not 3x the top.
    offered = 3 * result["clip"]["audioPacketsPerSecond"] + sum(l["videoPacketsPerSecond"] for l in layers)
    assert abs(step["offeredPacketsPerSecond"] - offered) < 0.01, (step, offered)
    assert step["latency"]["samples"] >= 0.99 * step["expected"], step["latency"]
