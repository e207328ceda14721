#!/usr/bin/env bash
# Requests per second of the call API (initiate + status, alternating) with wrk on 127.0.0.1,
# against `chorus serve` on the embedded SQLite file and on PostgreSQL, one after the other.
# Usage: Benchmarks/http/run.sh [seconds=10] [connections=16]
# A benchmark, not a test: it prints figures and never fails on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10}
CONNECTIONS=${2:-16}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product chorus >/dev/null
BIN=$(swift build -c release --show-bin-path)/chorus
WORK=$(mktemp -d)
SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN=$("$BIN" token --identity @caller:example.org --room '*' --jwt-secret "$SECRET" --ttl 3600)
export TOKEN
cleanup() {
    [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [ "${PG_STARTED:-0}" = 1 ] && scripts/postgres.sh stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

run_against() {
    local name=$1 database=$2 port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$BIN" serve --host 127.0.0.1 --http-port "$port" --udp-port 0 --database "$database" \
        --jwt-secret "$SECRET" --log-level warning >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
    echo "== $name: wrk -t2 -c$CONNECTIONS -d${DURATION}s (initiate + status)"
    taskset -c 1 wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s Benchmarks/http/calls.lua "http://127.0.0.1:$port" \
        | grep -E "Requests/sec|Latency|requests in|Non-2xx"
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

run_against sqlite "sqlite://$WORK/bench.db"
if ! scripts/postgres.sh status >/dev/null 2>&1; then
    PG_STARTED=1
fi
scripts/postgres.sh start >/dev/null
ADMIN_URL=$(sed -n 's/^CHORUS_TEST_POSTGRES_URL=//p' artifacts/postgres.env)
DB=chorus_bench_$$
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB"
run_against postgres "${ADMIN_URL%/*}/$DB"
psql "$ADMIN_URL" -qc "DROP DATABASE $DB"
