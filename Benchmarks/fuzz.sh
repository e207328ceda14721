#!/usr/bin/env bash
# Every libFuzzer target for at least 10 million executions each (issue 16), one after the other,
# from the committed seeds; prints and writes (artifacts/fuzz/summary.txt) per fuzzer the
# executions, seconds, exec/s and libFuzzer's coverage (cov: edges, ft: features). The bounded
# version the test command runs is scripts/fuzz.sh on its own (15 s each).
#
#   Benchmarks/fuzz.sh                  all of them (hours: ~8 h of one core as measured here,
#                                       SDP and JSONRequests ~2 h each; docs/BENCHMARKS.md)
#   Benchmarks/fuzz.sh FuzzSDP          only these
#   CHORUS_FUZZ_RUNS=50000000 Benchmarks/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CHORUS_FUZZ_RUNS="${CHORUS_FUZZ_RUNS:-10000000}"
exec scripts/fuzz.sh "$@"
