#!/usr/bin/env python3
"""Chorus against Janus from `chorus loadtest --output` results (Benchmarks/janus/run.sh).

Usage: compare.py --out DIR [--janus-version V ...] --janus JANUS.json... --chorus CHORUS.json...

The figure compared is forwarded packets per second of server CPU time (packets subscribers
received, over the server process's utime + stime in the same window): what one core of each
server forwards. With several rounds the median round is reported; with a ramp, every step
both servers ran, and the headline is the median over the steps where both stayed under the
loss threshold. Writes DIR/comparison.json and DIR/comparison.txt and prints the text."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

FIELDS = [
    ("forwardedPacketsPerServerCPUSecond", "fwd pkt per server CPU-s", 0),
    ("forwardedPacketsPerSecond", "forwarded pkt/s", 0),
    ("offeredPacketsPerSecond", "offered pkt/s", 0),
    ("serverCPUPercent", "server CPU % of a core", 1),
    ("serverNanosecondsPerForwardedPacket", "server ns per fwd pkt", 0),
    ("lossPercent", "loss %", 3),
    ("p50Ms", "p50 added latency ms", 3),
    ("p99Ms", "p99 added latency ms", 3),
    ("p999Ms", "p99.9 added latency ms", 3),
    ("serverRSSMegabytes", "server RSS MB", 1),
    ("generatorCPUPercent", "generator CPU %", 1),
    ("unknownSSRC", "pkts from unknown SSRC", 0),
    ("duplicates", "duplicates", 0),
]


def step_values(step: dict) -> dict:
    values = {name: step.get(name) for name, _, _ in FIELDS}
    for key in ("p50Ms", "p99Ms", "p999Ms"):
        values[key] = step["latency"][key]
    values["subscriptions"] = step["subscriptions"]
    values["connected"] = step["connected"]
    values["transports"] = step["transports"]
    return values


def median_steps(results: list[dict]) -> dict[int, dict]:
    """Step number -> median of each field over the rounds that reached that step."""
    by_step: dict[int, list[dict]] = {}
    for result in results:
        for step in result["steps"]:
            by_step.setdefault(step["step"], []).append(step_values(step))
    merged = {}
    for number, runs in by_step.items():
        merged[number] = {
            key: (statistics.median([r[key] for r in runs if r[key] is not None]) if any(r[key] is not None for r in runs) else None)
            for key in runs[0]
        }
        merged[number]["rounds"] = len(runs)
    return merged


def fmt(value, decimals: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{decimals}f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--janus-version", default="?")
    parser.add_argument("--janus-event-loops", default="?")
    parser.add_argument("--chorus-srtp", default="?")
    parser.add_argument("--cores", default="?")
    parser.add_argument("--janus", nargs="+", default=[])
    parser.add_argument("--chorus", nargs="+", default=[])
    args = parser.parse_args()
    janus_results = [json.loads(Path(f).read_text()) for f in args.janus if Path(f).exists()]
    chorus_results = [json.loads(Path(f).read_text()) for f in args.chorus if Path(f).exists()]
    if not janus_results or not chorus_results:
        print("missing results: need at least one Janus and one Chorus JSON", file=sys.stderr)
        return 1

    janus = median_steps(janus_results)
    chorus = median_steps(chorus_results)
    common = sorted(set(janus) & set(chorus))
    threshold = janus_results[0].get("lossThresholdPercent", 1)
    clean = [s for s in common if (janus[s]["lossPercent"] or 0) <= threshold and (chorus[s]["lossPercent"] or 0) <= threshold]
    headline_steps = clean or common

    def ratio(step: int) -> float | None:
        j, c = janus[step]["forwardedPacketsPerServerCPUSecond"], chorus[step]["forwardedPacketsPerServerCPUSecond"]
        return c / j if j and c else None

    ratios = [r for r in (ratio(s) for s in headline_steps) if r is not None]
    headline = {
        "janusForwardedPacketsPerServerCPUSecond": statistics.median(janus[s]["forwardedPacketsPerServerCPUSecond"] for s in headline_steps),
        "chorusForwardedPacketsPerServerCPUSecond": statistics.median(chorus[s]["forwardedPacketsPerServerCPUSecond"] for s in headline_steps),
        "ratioChorusOverJanus": statistics.median(ratios) if ratios else None,
        "steps": headline_steps,
    }
    first = chorus_results[0]
    clip = first["clip"]
    scenario = first["scenario"]
    lines = [
        f"Chorus vs Janus {args.janus_version} (VideoRoom, event_loops={args.janus_event_loops}); Chorus --workers 1, "
        f"{args.chorus_srtp} SRTP; cores: {args.cores}",
        f"scenario: {scenario['name']}, {scenario['publishersPerRoom']} publisher -> {scenario['subscribersPerRoom']} subscribers"
        f"{' per step (ramp)' if first['mode'] == 'ramp' else ''}; clip {clip['width']}x{clip['height']} VP8 "
        f"{clip['videoKilobitsPerSecond']:.0f} kbit/s ({clip['videoPacketsPerSecond']:.0f} pkt/s) + Opus ({clip['audioPacketsPerSecond']:.0f} pkt/s); "
        f"rounds: Janus {len(janus_results)}, Chorus {len(chorus_results)} (medians)",
    ]
    floors = [r["floor"]["outgoingPackets"] / r["floor"]["cpuSeconds"]
              for r in janus_results + chorus_results if r.get("floor") and r["floor"].get("cpuSeconds")]
    if floors:
        lines.append(f"forwarding floor (same runs, generator core): {statistics.median(floors):,.0f} outgoing pkt per CPU-s")
    # One row per step: what each server forwarded, at what CPU, loss and latency.
    columns = [("fwd pkt/s", "forwardedPacketsPerSecond", 0), ("CPU %", "serverCPUPercent", 1),
               ("pkt/CPU-s", "forwardedPacketsPerServerCPUSecond", 0), ("loss %", "lossPercent", 2),
               ("p50 ms", "p50Ms", 2), ("p99 ms", "p99Ms", 2), ("RSS MB", "serverRSSMegabytes", 0)]
    lines.append("")
    header = f"{'step':>4} {'subs':>5} {'offered':>8} |"
    header += "".join(f"{name:>10}" for name, _, _ in columns) + " |" + "".join(f"{name:>10}" for name, _, _ in columns)
    header += f" | {'Chorus/Janus':>12}"
    group = f"{'':>20}|{'Janus':^{10 * len(columns)}} |{'Chorus':^{10 * len(columns)}} |"
    lines += [group, header, "-" * len(header)]
    for step in common:
        row = f"{step:>4} {chorus[step]['subscriptions']:>5.0f} {chorus[step]['offeredPacketsPerSecond']:>8,.0f} |"
        row += "".join(f"{fmt(janus[step][key], d):>10}" for _, key, d in columns) + " |"
        row += "".join(f"{fmt(chorus[step][key], d):>10}" for _, key, d in columns)
        r = ratio(step)
        row += f" | {(fmt(r, 2) + 'x') if r else '-':>12}"
        lines.append(row)
    odd = [f"step {s}: {name} {server[s][key]:.0f}" for s in common for name, server in (("Janus", janus), ("Chorus", chorus))
           for key in ("unknownSSRC", "duplicates") if server[s][key]]
    odd += [f"step {s}: {name} connected {server[s]['connected']:.0f} of {server[s]['transports']:.0f}"
            for s in common for name, server in (("Janus", janus), ("Chorus", chorus)) if server[s]["connected"] < server[s]["transports"]]
    lines += [f"note: {line}" for line in odd]
    lines.append("")
    lines.append(
        f"forwarded packets per server CPU-second: Janus {headline['janusForwardedPacketsPerServerCPUSecond']:,.0f}, "
        f"Chorus {headline['chorusForwardedPacketsPerServerCPUSecond']:,.0f}; "
        f"Chorus/Janus = {fmt(headline['ratioChorusOverJanus'], 2)}x"
        + ("" if clean else f" (every common step passed {threshold} % loss on one server)"))
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    (out / "comparison.txt").write_text(text)
    (out / "comparison.json").write_text(json.dumps({
        "janusVersion": args.janus_version, "janusEventLoops": args.janus_event_loops, "chorusSRTP": args.chorus_srtp,
        "cores": args.cores, "headline": headline,
        "steps": {str(s): {"janus": janus[s], "chorus": chorus[s], "ratio": ratio(s)} for s in common},
    }, indent=2, sort_keys=True) + "\n")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
