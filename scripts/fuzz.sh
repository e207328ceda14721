#!/usr/bin/env bash
# Builds Chorus's libFuzzer targets (the Fuzz/ package: release, -sanitize=fuzzer,address) and
# runs each one from its committed seeds (Fuzz/Corpus/<fuzzer>/), bounded by time or by
# executions. A crash, an ASan report, a leak, an input slower than the timeout (a hang) or a
# fuzzer out of memory fails the run; the input is kept in artifacts/fuzz/ (crash-*, timeout-*,
# oom-*) and becomes a unit test once fixed (README, "Fuzzing").
#
#   scripts/fuzz.sh                     the core fuzzers for CHORUS_FUZZ_SECONDS (default 15) each
#   CHORUS_FUZZ_RUNS=10000000 scripts/fuzz.sh   every fuzzer for that many executions instead
#   scripts/fuzz.sh FuzzSDP FuzzRTP     only these
#
# The core fuzzers are all but FuzzJSONRequests: they build with CHORUS_PACKAGE=core (see
# Package.swift), without compiling Hummingbird, NIO and PostgresNIO with the sanitizers, which
# keeps the test command's fuzz stage to a few minutes of build on CI. FuzzJSONRequests reads
# request bodies with the server's own readers (Signaling), so asking for it, or for every fuzzer
# with CHORUS_FUZZ_RUNS (Benchmarks/fuzz.sh), builds the whole package into another scratch path.
# The JSON text parser itself (JSONValue) is fuzzed by FuzzSocketIO, through Socket.IO packets.
#
# Environment: CHORUS_FUZZ_SECONDS, CHORUS_FUZZ_RUNS, CHORUS_FUZZ_SCRATCH_PATH (default
# .build-fuzz, or .build-fuzz-full with FuzzJSONRequests), CHORUS_FUZZ_SKIP_BUILD=1 (use what
# is built), CHORUS_FUZZ_ARTIFACTS (default artifacts/fuzz). Per-fuzzer logs and the summary
# (executions, exec/s, libFuzzer's cov/ft) go there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ARTIFACTS="${CHORUS_FUZZ_ARTIFACTS:-$ROOT/artifacts/fuzz}"
CORE=(FuzzSTUN FuzzRTP FuzzRTCP FuzzSRTP FuzzDTLS FuzzSDP FuzzSocketIO)
if [ "$#" -gt 0 ]; then
    fuzzers=("$@")
elif [ -n "${CHORUS_FUZZ_RUNS:-}" ]; then
    fuzzers=("${CORE[@]}" FuzzJSONRequests)
else
    fuzzers=("${CORE[@]}")
fi
case " ${fuzzers[*]} " in
    *" FuzzJSONRequests "*) export CHORUS_PACKAGE=full; default_scratch=$ROOT/.build-fuzz-full ;;
    *) export CHORUS_PACKAGE=core; default_scratch=$ROOT/.build-fuzz ;;
esac
SCRATCH="${CHORUS_FUZZ_SCRATCH_PATH:-$default_scratch}"
mkdir -p "$ARTIFACTS"

# Largest input each fuzzer makes: a datagram for the packet codecs (the worker's receive
# buffers hold 2048 bytes), a few offers' worth for SDP and the JSON bodies (the REST API caps
# bodies at 64 KiB; a longer input finds nothing a shorter one does not, only slower), 4 KiB
# for Socket.IO packets: its parsers are single passes whose paths a few nested values reach,
# and at 16 KiB the corpus grew until a run took ten times as long.
max_len() {
    case "$1" in
        FuzzSDP | FuzzJSONRequests) echo 16384 ;;
        FuzzSocketIO) echo 4096 ;;
        FuzzDTLS) echo 4096 ;;
        *) echo 2048 ;;
    esac
}

if [ "${CHORUS_FUZZ_SKIP_BUILD:-0}" != 1 ]; then
    echo "==> building the fuzzers (Fuzz/, release, -sanitize=fuzzer,address, CHORUS_PACKAGE=$CHORUS_PACKAGE) into $SCRATCH"
    swift build -c release --package-path Fuzz --scratch-path "$SCRATCH" -Xswiftc -sanitize=fuzzer,address
fi
bin="$(swift build -c release --package-path Fuzz --scratch-path "$SCRATCH" --show-bin-path)"

# symbolize=0: symbolizing a crash can take minutes here; the saved input reproduces it
# (`$bin/FuzzX artifacts/fuzz/crash-...`), symbolized then. The Swift runtime's own backtracer
# would race ASan's report for the same signal, so it is off.
# Swift allocates on nearly every step, and by default ASan unwinds and stores 30 frames for each
# malloc, fills the first 4 KiB of each with garbage and keeps 256 MB of freed memory in
# quarantine: in FuzzSocketIO and FuzzJSONRequests that was ~60 % of the time. Two frames, no
# fill and 16 MB of quarantine: measured 1.7x the executions a second, every check still on
# (a report names fewer allocation frames; the saved input reproduces it with the defaults).
export ASAN_OPTIONS="${ASAN_OPTIONS:-symbolize=0:detect_leaks=1:malloc_context_size=2:max_malloc_fill_size=0:quarantine_size_mb=16}"
export SWIFT_BACKTRACE=enable=no

summary="$ARTIFACTS/summary.txt"
printf '%-18s %12s %8s %10s %7s %7s %7s  %s\n' fuzzer executions seconds exec/s cov ft corpus result | tee "$summary"
failed=()
for fuzzer in "${fuzzers[@]}"; do
    corpus="$ARTIFACTS/corpus/$fuzzer"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    log="$ARTIFACTS/$fuzzer.log"
    bound=(-max_total_time="${CHORUS_FUZZ_SECONDS:-15}")
    if [ -n "${CHORUS_FUZZ_RUNS:-}" ]; then bound=(-runs="$CHORUS_FUZZ_RUNS"); fi
    start=$SECONDS
    rc=0
    # New inputs go to the first corpus folder (artifacts/), the seeds are only read.
    "$bin/$fuzzer" "${bound[@]}" -max_len="$(max_len "$fuzzer")" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$fuzzer-" \
        "$corpus" "Fuzz/Corpus/$fuzzer" >"$log" 2>&1 || rc=$?
    took=$((SECONDS - start))
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)
    corp=$(grep -oE 'corp: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)
    result=passed
    if [ "$rc" -ne 0 ]; then
        result="FAILED (exit $rc; log $ARTIFACTS/$fuzzer.log)"
        failed+=("$fuzzer")
    fi
    printf '%-18s %12s %8s %10s %7s %7s %7s  %s\n' "$fuzzer" "${execs:-?}" "$took" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result" | tee -a "$summary"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "==> fuzzers that failed: ${failed[*]} (inputs: $ARTIFACTS/<fuzzer>-crash-*, -timeout-*, -oom-*, -leak-*)"
    exit 1
fi
echo "==> every fuzzer passed"
