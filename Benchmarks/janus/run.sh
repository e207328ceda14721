#!/usr/bin/env bash
# Chorus and Janus side by side: the same `chorus loadtest` scenario against Janus's VideoRoom
# (Debian's janus package) and against `chorus serve --workers 1`, one server at a time, each
# pinned to the same core and the generator to the other, everything on 127.0.0.1. Writes both
# JSON results and a comparison (forwarded packets per server CPU-second, and Chorus/Janus) to
# artifacts/bench/ and prints it. A benchmark, not a test: it never fails on the figures.
#
# Usage: Benchmarks/janus/run.sh            (see Benchmarks/janus/README.md)
# Settings (environment):
#   SUBSCRIBERS=50      listeners of the one publisher (livestream: 1 publisher -> N); with
#                       RAMP=1 each step adds as many (50, 100, 150, 200 by default)
#   DURATION=10         seconds measured per step (RAMP=1) or in all (RAMP=0)
#   RAMP=1              0: one fixed size instead of steps
#   MAX_STEPS=4         with RAMP=1; the ramp also stops at 1 % loss or 95 % server CPU
#   ROUNDS=1            repeat both servers this many times (medians are reported)
#   VIDEO_SIZE=640x360 VIDEO_KBPS=1500   the clip the publisher replays
#   FLOOR_PACKETS=50000 the forwarding floor measured in each run (0: skip)
#   SERVER_CORE=0 GENERATOR_CORE=1
#   JANUS_EVENT_LOOPS=1 Janus threads for all handles (0: Janus's default, one per handle)
#   CHORUS_SRTP=openssl chorus serve --srtp-backend (openssl or libsrtp)
#   CHORUS_BIN          the chorus binary to serve with (default: a release build of this repo)
#   LOADTEST_BIN        the binary that has `loadtest --sfu` (default: CHORUS_BIN)
#   SERVERS="janus chorus"  which servers to run (the comparison needs both)
#   OUT=artifacts/bench
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE/../.."

SUBSCRIBERS=${SUBSCRIBERS:-50}
DURATION=${DURATION:-10}
RAMP=${RAMP:-1}
MAX_STEPS=${MAX_STEPS:-4}
ROUNDS=${ROUNDS:-1}
VIDEO_SIZE=${VIDEO_SIZE:-640x360}
VIDEO_KBPS=${VIDEO_KBPS:-1500}
FLOOR_PACKETS=${FLOOR_PACKETS:-50000}
SERVER_CORE=${SERVER_CORE:-0}
GENERATOR_CORE=${GENERATOR_CORE:-1}
JANUS_EVENT_LOOPS=${JANUS_EVENT_LOOPS:-1}
CHORUS_SRTP=${CHORUS_SRTP:-openssl}
SERVERS=${SERVERS:-janus chorus}
OUT=${OUT:-artifacts/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

log() { printf '\n== %s\n' "$*"; }

# --- Janus from Debian -----------------------------------------------------------------------
if ! command -v janus >/dev/null; then
    log "installing janus (apt-get)"
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq janus >/dev/null
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq janus >/dev/null
    fi
fi
JANUS_VERSION=$(dpkg-query -W -f='${Version}' janus 2>/dev/null || echo '?')
# The Debian package starts no service here (and must not: we run our own instance); if a
# system instance runs, its ports are not ours and it is left alone.
JANUS_LIB=$(dirname "$(dpkg -L janus 2>/dev/null | grep -m1 '/janus/plugins/libjanus_videoroom.so$')")
JANUS_LIB=${JANUS_LIB%/plugins}
[ -f "$JANUS_LIB/plugins/libjanus_videoroom.so" ] || { echo "janus VideoRoom plugin not found" >&2; exit 1; }
command -v cc >/dev/null || { echo "a C compiler (cc) is needed for the loopback shim" >&2; exit 1; }

# --- Chorus ------------------------------------------------------------------------------------
if [ -z "${CHORUS_BIN:-}" ]; then
    log "building chorus (release)"
    swift build -c release --product chorus >/dev/null
    CHORUS_BIN=$(swift build -c release --show-bin-path)/chorus
fi
LOADTEST_BIN=${LOADTEST_BIN:-$CHORUS_BIN}
"$LOADTEST_BIN" loadtest --help 2>/dev/null | grep -q -- '--sfu' \
    || { echo "$LOADTEST_BIN has no 'loadtest --sfu': build a chorus with the Janus adapter, or set LOADTEST_BIN" >&2; exit 1; }

WORK=$(mktemp -d /tmp/chorus-janus-bench.XXXXXX)
SERVER_PID=
cleanup() {
    local status=$?
    stop_server
    rm -rf "$WORK"
    exit $status
}
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, int(sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}

wait_http() {  # url, pid, name
    for _ in $(seq 150); do
        curl -sf -o /dev/null "$1" && return 0
        kill -0 "$2" 2>/dev/null || { echo "$3 exited at start; log: $4" >&2; tail -20 "$4" >&2; return 1; }
        sleep 0.1
    done
    echo "$3 did not answer $1 in 15 s; log: $4" >&2
    return 1
}

# The same scenario for both servers.
SCENARIO=(--scenario livestream --publishers 1 --subscribers "$SUBSCRIBERS" --threads 1
    --video-size "$VIDEO_SIZE" --video-kbps "$VIDEO_KBPS" --floor-packets "$FLOOR_PACKETS")
if [ "$RAMP" = 1 ]; then
    SCENARIO+=(--rate --ramp-by subscribers --duration "$DURATION" --max-steps "$MAX_STEPS")
else
    SCENARIO+=(--duration "$DURATION")
fi

# --- Janus config: a private directory, placeholders filled -----------------------------------
mkdir -p "$WORK/janus"
cc -shared -fPIC -O2 -o "$WORK/loopback_shim.so" "$HERE/loopback_shim.c" -ldl
others() {  # the .so files of a Janus folder except $2, comma-separated
    find "$JANUS_LIB/$1" -maxdepth 1 -name 'libjanus_*.so' -printf '%f\n' 2>/dev/null | grep -vx "${2:-}" | sort | paste -sd, -
}
write_janus_config() {  # http port
    local file
    for file in janus.jcfg janus.transport.http.jcfg janus.plugin.videoroom.jcfg; do
        sed -e "s|@CONF@|$WORK/janus|g" -e "s|@LIBDIR@|$JANUS_LIB|g" -e "s|@HTTP_PORT@|$1|g" \
            -e "s|@EVENT_LOOPS@|$JANUS_EVENT_LOOPS|g" -e "s|@RTP_PORTS@|41000-42999|g" \
            -e "s|@DISABLED_PLUGINS@|$(others plugins libjanus_videoroom.so)|g" \
            -e "s|@DISABLED_TRANSPORTS@|$(others transports libjanus_http.so)|g" \
            -e "s|@DISABLED_LOGGERS@|$(others loggers)|g" -e "s|@DISABLED_EVENTS@|$(others events)|g" \
            "$HERE/$file" >"$WORK/janus/$file"
    done
}

run_janus() {  # round
    local port result=$OUT/janus-$1.json
    port=$(free_port 1)
    write_janus_config "$port"
    log "Janus $JANUS_VERSION on core $SERVER_CORE, http://127.0.0.1:$port (round $1)"
    LD_PRELOAD="$WORK/loopback_shim.so" taskset -c "$SERVER_CORE" \
        janus --configs-folder "$WORK/janus" --config "$WORK/janus/janus.jcfg" --disable-colors \
        >"$OUT/janus-$1.log" 2>&1 </dev/null &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$port/janus/info" "$SERVER_PID" janus "$OUT/janus-$1.log"
    taskset -c "$GENERATOR_CORE" "$LOADTEST_BIN" loadtest --sfu janus --server "http://127.0.0.1:$port" \
        --server-pid "$SERVER_PID" "${SCENARIO[@]}" --output "$result" --plot "$OUT/janus-$1.svg" \
        | tee "$OUT/janus-$1.txt" || true
    stop_server
    [ -s "$result" ] || echo "no result from the Janus run (see $OUT/janus-$1.txt)" >&2
}

run_chorus() {  # round
    local port udp secret result=$OUT/chorus-$1.json
    port=$(free_port 1)
    udp=$(free_port 2)
    secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    log "Chorus ($CHORUS_SRTP SRTP) on core $SERVER_CORE, http://127.0.0.1:$port (round $1)"
    rm -f "$WORK/chorus.db"*
    taskset -c "$SERVER_CORE" "$CHORUS_BIN" serve --host 127.0.0.1 --http-port "$port" --udp-port "$udp" \
        --announced-ip 127.0.0.1 --database "sqlite://$WORK/chorus.db" --jwt-secret "$secret" --workers 1 \
        --srtp-backend "$CHORUS_SRTP" >"$OUT/chorus-$1.log" 2>&1 </dev/null &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$port/healthz" "$SERVER_PID" chorus "$OUT/chorus-$1.log"
    taskset -c "$GENERATOR_CORE" "$LOADTEST_BIN" loadtest --sfu chorus --server "http://127.0.0.1:$port" \
        --jwt-secret "$secret" --server-pid "$SERVER_PID" "${SCENARIO[@]}" --output "$result" \
        --plot "$OUT/chorus-$1.svg" | tee "$OUT/chorus-$1.txt" || true
    stop_server
    [ -s "$result" ] || echo "no result from the Chorus run (see $OUT/chorus-$1.txt)" >&2
}

rm -f "$OUT"/janus-*.json "$OUT"/chorus-*.json
for round in $(seq "$ROUNDS"); do
    for server in $SERVERS; do
        case $server in
        janus) run_janus "$round" ;;
        chorus) run_chorus "$round" ;;
        *) echo "unknown server '$server' in SERVERS" >&2; exit 2 ;;
        esac
    done
done

[[ " $SERVERS " == *" janus "* && " $SERVERS " == *" chorus "* ]] || exit 0
log "comparison"
python3 "$HERE/compare.py" --out "$OUT" --janus-version "${JANUS_VERSION:-?}" --janus-event-loops "$JANUS_EVENT_LOOPS" \
    --chorus-srtp "$CHORUS_SRTP" --cores "server $SERVER_CORE, generator $GENERATOR_CORE" \
    --janus "$OUT"/janus-*.json --chorus "$OUT"/chorus-*.json
