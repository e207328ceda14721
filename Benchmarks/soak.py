#!/usr/bin/env python3
"""Soak: `chorus loadtest --churn` (publishers join, leave and mute themselves while media flows)
against one `chorus serve` for a while, sampling the server's RSS and open file descriptors from
/proc/<pid> and `chorus_transports` / `chorus_rooms` from /metrics. At the end, with the load
gone, they must be flat: transports and rooms back to 0, descriptors back to where they started,
RSS no higher than a bound over what the server held once warm (generous: the machine is shared
and the allocator keeps some of what it had; a leak grows with time, and the 30-minute run
shows that). Wall-clock speed is never asserted.

    Benchmarks/soak.sh                        # 30 minutes against a release build (the benchmark)
    python3 Benchmarks/soak.py --minutes 1.5  # the short version scripts/test.sh runs (stage soak)

Binds 127.0.0.1 only, stops the server by PID (SIGTERM, which must exit 0), and writes
artifacts/soak/: samples.csv, summary.json, the server's and the load test's logs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from ports import free_port  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def metrics(base: str) -> dict[str, float]:
    with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for name in ("chorus_transports", "chorus_rooms", "chorus_producers", "chorus_consumers"):
        match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
        values[name] = float(match.group(1)) if match else float("nan")
    return values


def sample(pid: int, base: str, start: float, phase: str) -> dict:
    values = metrics(base)
    return {
        "t": round(time.monotonic() - start, 1), "phase": phase, "rss_mb": round(rss_mb(pid), 1), "fds": open_fds(pid),
        "transports": int(values["chorus_transports"]), "rooms": int(values["chorus_rooms"]),
        "producers": int(values["chorus_producers"]), "consumers": int(values["chorus_consumers"]),
    }


def wait_healthy(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"chorus serve exited {process.returncode} during start")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("chorus serve not healthy in time")


def slope_mb_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS over time, MB per minute."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--bin", default=os.environ.get("CHORUS_BIN") or str(REPO / ".build/release/chorus"))
    parser.add_argument("--rate", type=float, default=2, help="churn operations per second")
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--publishers", type=int, default=2, help="publishers per room")
    parser.add_argument("--subscribers", type=int, default=1, help="listeners per room, each subscribed to every publisher")
    parser.add_argument("--interval", type=float, default=None, help="seconds between samples (default: 5, 10 for long runs)")
    parser.add_argument("--rss-growth-mb", type=float, default=64,
                        help="most the RSS at the end may exceed the RSS once warm (plus 25 %% of it)")
    parser.add_argument("--artifacts", default=str(REPO / "artifacts/soak"))
    args = parser.parse_args()

    binary = str(Path(args.bin).resolve())  # the server runs in a folder of its own
    artifacts = Path(args.artifacts)
    artifacts.mkdir(parents=True, exist_ok=True)
    seconds = max(10, int(args.minutes * 60))
    interval = args.interval or (10 if seconds > 300 else 5)
    secret = secrets.token_hex(32)
    http_port, udp_port = free_port(socket.SOCK_STREAM), free_port(socket.SOCK_DGRAM)
    base = f"http://127.0.0.1:{http_port}"
    workdir = Path(tempfile.mkdtemp(prefix="chorus-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_")}
    server_log = (artifacts / "chorus-serve.log").open("w")
    server = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--http-port", str(http_port), "--udp-port", str(udp_port),
         "--workers", "2", "--announced-ip", "127.0.0.1", "--database", f"sqlite://{workdir / 'soak.db'}",
         "--jwt-secret", secret],
        stdout=server_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=workdir)
    samples: list[dict] = []
    failures: list[str] = []
    load_rc = None
    try:
        wait_healthy(base, server)
        start = time.monotonic()
        time.sleep(1)
        samples.append(sample(server.pid, base, start, "idle"))
        print(f"soak: {seconds} s of churn at {args.rate}/s, {args.rooms} rooms x {args.publishers} publishers "
              f"+ {args.subscribers} listeners, server pid {server.pid}, samples every {interval} s", flush=True)
        with (artifacts / "loadtest.log").open("w") as load_log:
            load = subprocess.Popen(
                [binary, "loadtest", "--server", base, "--jwt-secret", secret, "--churn", "--churn-rate", str(args.rate),
                 "--duration", str(seconds), "--rooms", str(args.rooms), "--publishers", str(args.publishers),
                 "--subscribers", str(args.subscribers), "--video-size", "320x180", "--video-kbps", "300",
                 "--floor-packets", "0", "--threads", "1", "--server-pid", str(server.pid),
                 "--output", str(artifacts / "churn.json")],
                stdout=load_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            next_sample = time.monotonic() + interval
            # The load test stops by itself after `seconds` (plus its setup and teardown).
            hard_stop = time.monotonic() + seconds + 300
            while load.poll() is None:
                if time.monotonic() > hard_stop:
                    load.kill()
                    failures.append("chorus loadtest ran 5 minutes past its duration and was killed")
                    break
                if server.poll() is not None:
                    failures.append(f"chorus serve exited {server.returncode} during the soak")
                    load.kill()
                    break
                if time.monotonic() >= next_sample:
                    next_sample += interval
                    samples.append(sample(server.pid, base, start, "churn"))
                    last = samples[-1]
                    print(f"  t={last['t']:7.1f}s rss={last['rss_mb']:7.1f} MB fds={last['fds']:4d} "
                          f"transports={last['transports']:3d} rooms={last['rooms']:2d}", flush=True)
                time.sleep(0.2)
            load_rc = load.wait()
        if load_rc != 0:
            failures.append(f"chorus loadtest exited {load_rc} (artifacts/soak/loadtest.log)")
        # The load is gone: its peers closed with DTLS close_notify and it deleted its resources.
        settle = time.monotonic() + 20
        while time.monotonic() < settle and server.poll() is None:
            now = sample(server.pid, base, start, "after")
            if now["transports"] == 0 and now["rooms"] == 0:
                break
            time.sleep(1)
        if server.poll() is None:
            time.sleep(2)
            samples.append(sample(server.pid, base, start, "end"))
    finally:
        code = None
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                code = server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
        server_log.close()
    if code != 0:
        failures.append(f"chorus serve did not exit 0 on SIGTERM ({code})")

    with (artifacts / "samples.csv").open("w") as out:
        keys = list(samples[0].keys())
        out.write(",".join(keys) + "\n")
        for s in samples:
            out.write(",".join(str(s[k]) for k in keys) + "\n")

    churn = [s for s in samples if s["phase"] == "churn"]
    idle, end = samples[0], samples[-1]
    summary: dict = {"seconds": seconds, "rate": args.rate, "samples": len(samples)}
    for key in ("rss_mb", "fds", "transports", "rooms"):
        summary[key] = {"start": idle[key], "end": end[key], "peak": max(s[key] for s in samples)}
    if end["phase"] != "end":
        failures.append("no sample after the load ended")
    else:
        if end["transports"] != 0 or end["rooms"] != 0:
            failures.append(f"{end['transports']} transports and {end['rooms']} rooms left after the load")
        if end["fds"] > idle["fds"] + 4:
            failures.append(f"descriptors grew from {idle['fds']} to {end['fds']}")
        # Warm: the most the server held in the first third of the churn, when every kind of
        # object had been made and freed at least once.
        warm_part = churn[: max(1, len(churn) // 3)]
        if warm_part:
            warm = max(s["rss_mb"] for s in warm_part)
            bound = warm * 1.25 + args.rss_growth_mb
            summary["rss_mb"]["warm"] = warm
            summary["rss_mb"]["bound"] = round(bound, 1)
            if end["rss_mb"] > bound or churn[-1]["rss_mb"] > bound:
                failures.append(f"RSS grew from {warm} MB once warm to {max(end['rss_mb'], churn[-1]['rss_mb'])} MB (bound {bound:.0f} MB)")
        later = churn[len(churn) // 3:]
        summary["rss_mb"]["slope_mb_per_minute_after_warm"] = round(slope_mb_per_minute([(s["t"], s["rss_mb"]) for s in later]), 3)
    try:
        summary["churn"] = json.loads((artifacts / "churn.json").read_text())
    except (OSError, ValueError):
        failures.append("chorus loadtest wrote no result")
    summary["failures"] = failures
    (artifacts / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    print("\nsoak result (start -> end, peak):")
    for key, unit in (("rss_mb", " MB"), ("fds", ""), ("transports", ""), ("rooms", "")):
        item = summary[key]
        print(f"  {key:11s} {item['start']}{unit} -> {item['end']}{unit}, peak {item['peak']}{unit}")
    if "slope_mb_per_minute_after_warm" in summary["rss_mb"]:
        print(f"  RSS slope after warm-up: {summary['rss_mb']['slope_mb_per_minute_after_warm']} MB/min")
    if "churn" in summary:
        c = summary["churn"]
        print(f"  churn: {c['joins']} joins, {c['leaves']} leaves, {c['mutes']} mutes, {c['unmutes']} unmutes, "
              f"{c['failedOperations']} failed; peers {c['peersConnected']} connected, {c['peersFailed']} failed")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("soak: " + ("passed" if not failures else "FAILED"))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
