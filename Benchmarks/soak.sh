#!/usr/bin/env bash
# The 30-minute soak (issue 16): a release `chorus serve` under `chorus loadtest --churn`
# (publishers join, leave and mute while media flows), RSS and descriptors sampled from /proc,
# transports and rooms from /metrics, all flat at the end. Builds the release binary first
# unless CHORUS_BIN names one. Arguments go to Benchmarks/soak.py (--minutes, --rate, --rooms,
# --publishers, --subscribers, --interval); results in artifacts/soak/ (summary.json,
# samples.csv, the logs). The short version runs in scripts/test.sh (stage soak).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CHORUS_BIN:-}" ]; then
    swift build -c release --product chorus
    CHORUS_BIN="$(swift build -c release --show-bin-path)/chorus"
fi
exec python3 Benchmarks/soak.py --bin "$CHORUS_BIN" --minutes 30 "$@"
