#!/usr/bin/env bash
# Runs every Chorus test: installs build and test dependencies, builds everything (debug),
# runs the Swift tests, then the integration suite (pytest + real peers: aiortc, Chromium,
# coturn, PostgreSQL) against `chorus serve` instances that tests/integration/conftest.py
# starts on free ports, once on SQLite and once on PostgreSQL.
#
# Stages, in order (README.md has the same table):
#   deps                  scripts/install-deps.sh --test
#   build                 swift build --build-tests
#   postgres              a throwaway PostgreSQL (scripts/postgres.sh start), started when a
#                         stage that needs it runs (unit, integration-postgres) and stopped by
#                         PID when this script exits, however it exits
#   unit                  swift test (the CallStore suite on SQLite and on that PostgreSQL)
#   asan                  the core package's tests under AddressSanitizer (own build, .build-asan)
#   tsan                  the SFU and load-generator tests under ThreadSanitizer (own build,
#                         .build-tsan): the worker threads, their control queue, the port hand-off
#   tsan-server           opt-in: SignalingTests under ThreadSanitizer,
#                         a whole-package build of its own (.build-tsan-server; not measured,
#                         expect 15 minutes or more)
#   fuzz                  the core libFuzzer targets for CHORUS_FUZZ_SECONDS each (scripts/fuzz.sh)
#   integration           pytest tests/integration, chorus serve on SQLite (the fault tests too:
#                         kill -9 under load and media, PostgreSQL outage, full and read-only disk)
#   integration-postgres  the same suite, chorus serve on PostgreSQL
#   soak                  a short soak: chorus loadtest --churn against chorus serve, with RSS,
#                         descriptors, transports and rooms flat at the end (Benchmarks/soak.py)
# A failed build stops the run; other failed stages do not, so one run reports them all. Exit
# status is non-zero if any stage failed. Logs and reports go to artifacts/ (gitignored).
#
# Environment:
#   CHORUS_TEST_STAGES   stages to run (default "deps build unit asan tsan fuzz integration
#                        integration-postgres soak"; tsan-server only when named;
#                        "postgres" alone just starts the server and leaves it running)
#   CHORUS_SCRATCH_PATH  SwiftPM build directory (default .build)
#   CHORUS_BIN           chorus binary for the integration stages (default: the debug build)
#   CHORUS_PYTHON        Python interpreter (default .venv/bin/python if present, else python3)
#   CHORUS_PYTEST_ARGS   extra pytest arguments, e.g. "-k mute -x"
#   CHORUS_UNIT_TIMEOUT, CHORUS_INTEGRATION_TIMEOUT  seconds (default 1200, 1500: a guard against a
#                        hang; the integration suite takes ~10 min on an idle 2-core machine)
#   CHORUS_FUZZ_SECONDS  seconds per fuzzer in the fuzz stage (default 15)
#   CHORUS_SOAK_MINUTES  length of the soak stage's churn (default 1.5)
#   CHORUS_TEST_POSTGRES_URL  a PostgreSQL superuser URL to test against instead of starting one
set -euo pipefail
cd "$(dirname "$0")/.."

# tsan-server is opt-in: instrumenting Hummingbird, NIO and PostgresNIO again costs ~15 minutes
# cold, which CI's hour cannot spare; its subjects (the call service, the realtime hub, the
# group-call actor) are actors checked by Swift 6's data-race safety at compile time. tsan (the
# core package: the threads Swift cannot check, the worker's own pthread and its queues) costs
# ~3 minutes of build cold for ~40 s of tests, and runs by default.
STAGES="${CHORUS_TEST_STAGES:-deps build unit asan tsan fuzz integration integration-postgres soak}"
ARTIFACTS="$PWD/artifacts"
mkdir -p "$ARTIFACTS"

swift_flags=()
if [ -n "${CHORUS_SCRATCH_PATH:-}" ]; then
    swift_flags+=(--scratch-path "$CHORUS_SCRATCH_PATH")
fi

wants() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

results=()
failed=()
# run_stage NAME LOGFILE COMMAND...: runs COMMAND, copies its output to artifacts/LOGFILE,
# and records whether it passed.
run_stage() {
    local name=$1 logfile=$2 start rc=0
    shift 2
    echo
    echo "==> [$name] $*"
    start=$SECONDS
    "$@" 2>&1 | tee "$ARTIFACTS/$logfile" || rc=$?
    local took=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        echo "==> [$name] passed in ${took}s"
        results+=("$name: passed (${took}s)")
    else
        echo "==> [$name] FAILED with exit status $rc after ${took}s (log: artifacts/$logfile)"
        results+=("$name: FAILED, exit $rc (${took}s), log artifacts/$logfile")
        failed+=("$name")
    fi
    return "$rc"
}

summary() {
    echo
    echo "==> summary"
    local line
    for line in "${results[@]}"; do echo "    $line"; done
    printf '%s\n' "${results[@]}" >"$ARTIFACTS/test-summary.txt"
    # One closing line over both runners (Swift Testing and pytest), counted from their logs.
    local passed=0 failed_tests=0 n log
    # swift-test.log, and swift-test-asan.log etc. of the sanitizer stages.
    for log in "$ARTIFACTS"/swift-test*.log; do
        [ -f "$log" ] || continue
        n=$(grep -cE '^✔ Test .* passed' "$log" || true); passed=$((passed + n))
        n=$(grep -cE '^✘ Test .* failed' "$log" || true); failed_tests=$((failed_tests + n))
    done
    for log in "$ARTIFACTS"/pytest*.log; do
        [ -f "$log" ] || continue
        line=$(grep -E '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log" | tail -n 1 || true)
        n=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true); passed=$((passed + ${n:-0}))
        n=$(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}' || true)
        failed_tests=$((failed_tests + n))
    done
    if [ "${#failed[@]}" -gt 0 ]; then
        echo "==> FAILED stage(s): ${failed[*]}"
        [ "$failed_tests" -gt 0 ] || failed_tests=1  # a failed build or stage counts as a failure
        echo "$passed passed, $failed_tests failed"
        exit 1
    fi
    echo "==> all stages passed"
    echo "$passed passed, $failed_tests failed"
}

if wants deps; then
    run_stage deps deps.log scripts/install-deps.sh --test || summary
fi

if wants build; then
    # --build-tests: one build of every product and test target, so the unit stage only runs.
    run_stage build swift-build.log swift build --build-tests "${swift_flags[@]}" || summary
fi

# Starts the throwaway PostgreSQL once (unit tests run the CallStore suite on it, the
# integration suite runs a second time with chorus serve on it).
ensure_postgres() {
    if [ -z "${CHORUS_TEST_POSTGRES_URL:-}" ]; then
        # Stopped at exit only if this run starts it (a server already started by hand stays),
        # and not when "postgres" is the stage asked for.
        if ! scripts/postgres.sh status >/dev/null 2>&1 && [ "$STAGES" != "postgres" ]; then
            trap 'scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
        fi
        # A failed start fails the run: without a server the PostgreSQL cases would be skipped.
        if run_stage postgres postgres.log scripts/postgres.sh start; then
            CHORUS_TEST_POSTGRES_URL=$(sed -n 's/^CHORUS_TEST_POSTGRES_URL=//p' "$ARTIFACTS/postgres.env")
            export CHORUS_TEST_POSTGRES_URL
        fi
    fi
}

if wants postgres; then
    ensure_postgres
fi

if wants unit; then
    ensure_postgres
    run_stage unit swift-test.log \
        timeout --kill-after=30 "${CHORUS_UNIT_TIMEOUT:-1200}" \
        swift test --skip-build "${swift_flags[@]}" || true
fi

# The Swift tests under a sanitizer, in a build of their own (.build-asan/, .build-tsan/,
# gitignored). Budget: CI builds every dependency from scratch on two cores, and instrumenting
# Hummingbird, NIO and PostgresNIO again costs ~10 minutes per sanitizer. So these stages build
# the core package (CHORUS_PACKAGE=core, see Package.swift: every target but Signaling and the
# executable, with swift-log as the only dependency) and run all of its tests: the codecs, the
# SFU with its worker threads and control queue, group calls at the SFU, the load generator
# (under TSan only the threaded suites, see below). The server's own tests (call service, realtime hub, group-call actor) under TSan are the
# opt-in stage tsan-server, which builds the whole package. A failed build fails the stage,
# not the run.
sanitized_tests() {
    local sanitizer=$1 name=$2 package=$3
    shift 3
    local flags=(--sanitize="$sanitizer" --scratch-path ".build-$name")
    # Resolving the core package rewrites Package.resolved without the server's pins; put the
    # whole file back afterwards, so that the next full build does not resolve again.
    local pins
    pins=$(mktemp)
    cp Package.resolved "$pins" 2>/dev/null || true
    sanitized_build_and_test "$@" || true
    if [ -s "$pins" ]; then cp "$pins" Package.resolved; fi
    rm -f "$pins"
}

sanitized_build_and_test() {
    CHORUS_PACKAGE=$package run_stage "$name-build" "swift-build-$name.log" \
        swift build --build-tests "${flags[@]}" || return 0
    # The Swift runtime's backtracer would race the sanitizer's own report for the same signal.
    # --disable-xctest: there are no XCTest cases, only XCTest's own objects for LSan to report.
    CHORUS_PACKAGE=$package SWIFT_BACKTRACE=enable=no \
        LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0" \
        TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1" \
        run_stage "$name" "swift-test-$name.log" \
        timeout --kill-after=30 "${CHORUS_SANITIZER_TIMEOUT:-1200}" \
        swift test --skip-build --disable-xctest "${flags[@]}" "$@" || true
}

if wants asan; then
    sanitized_tests address asan core
fi

if wants tsan; then
    # The suites where threads meet: the SFU's (worker threads, their control queue, the shared
    # port's hand-off between workers) and the load generator's. The codec suites are single-
    # threaded and run under ASan and the fuzzers; their random-input loops (*NeverCrash*) take
    # many minutes under TSan for nothing it could find.
    sanitized_tests thread tsan core --filter 'SFUTests\.|LoadTestTests\.' --skip 'NeverCrash'
fi

if wants tsan-server; then
    ensure_postgres
    sanitized_tests thread tsan-server full --filter 'SignalingTests\.'
fi

if wants fuzz; then
    run_stage fuzz fuzz.log env CHORUS_FUZZ_SECONDS="${CHORUS_FUZZ_SECONDS:-15}" scripts/fuzz.sh || true
fi

if wants integration || wants integration-postgres || wants soak; then
    if [ -z "${CHORUS_BIN:-}" ]; then
        CHORUS_BIN="$(swift build --show-bin-path "${swift_flags[@]}")/chorus"
    fi
    export CHORUS_BIN
    # The browser scenarios (headless Chromium via selenium) are part of the suite: a missing
    # browser is a failure here, not a skip.
    export CHORUS_REQUIRE_BROWSER="${CHORUS_REQUIRE_BROWSER:-1}"
    if [ -n "${CHORUS_PYTHON:-}" ]; then
        py="$CHORUS_PYTHON"
    elif [ -x .venv/bin/python ]; then
        py=.venv/bin/python
    else
        py=python3
    fi
fi

if wants integration; then
    # shellcheck disable=SC2086 # CHORUS_PYTEST_ARGS is a list of words on purpose
    CHORUS_ARTIFACTS="$ARTIFACTS/integration" run_stage integration pytest.log \
        timeout --kill-after=30 "${CHORUS_INTEGRATION_TIMEOUT:-1500}" \
        "$py" -m pytest tests/integration -ra -p no:cacheprovider \
        --junitxml="$ARTIFACTS/integration-junit.xml" ${CHORUS_PYTEST_ARGS:-} || true
fi

if wants integration-postgres; then
    # The same suite with chorus serve on PostgreSQL instead of the SQLite default.
    ensure_postgres
    if [ -n "${CHORUS_TEST_POSTGRES_URL:-}" ]; then
        # shellcheck disable=SC2086
        CHORUS_INTEGRATION_DATABASE=postgres CHORUS_ARTIFACTS="$ARTIFACTS/integration-postgres" \
            run_stage integration-postgres pytest-postgres.log \
            timeout --kill-after=30 "${CHORUS_INTEGRATION_TIMEOUT:-1500}" \
            "$py" -m pytest tests/integration -ra -p no:cacheprovider \
            --junitxml="$ARTIFACTS/integration-postgres-junit.xml" ${CHORUS_PYTEST_ARGS:-} || true
    fi
fi

if wants soak; then
    run_stage soak soak.log "$py" Benchmarks/soak.py --minutes "${CHORUS_SOAK_MINUTES:-1.5}" --bin "$CHORUS_BIN" \
        --artifacts "$ARTIFACTS/soak" || true
fi

summary
