#!/usr/bin/env bash
# A throwaway PostgreSQL for the CallStore tests: `start` creates a cluster in a temporary
# directory and runs it on 127.0.0.1 on a free port; `stop` stops that server by its PID and
# deletes the directory. Nothing else on the machine is touched (no system cluster, no service).
#
# Usage: scripts/postgres.sh start|stop|status
#   start   installs PostgreSQL from apt if no initdb is found, initdb (locale C, UTF8), starts
#           the server, creates a superuser role with a password, writes artifacts/postgres.env:
#             CHORUS_TEST_POSTGRES_URL=postgres://chorus:<password>@127.0.0.1:<port>/postgres
#             CHORUS_POSTGRES_PID=<postmaster pid>  CHORUS_POSTGRES_DIR=<cluster directory>
#           and prints the URL. Already running (that file's PID alive): prints it again.
#   stop    fast shutdown (SIGINT) of that PID, SIGKILL after 30 s, removes the directory.
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (created by
# the Debian package; made here if missing). The cluster trades durability for speed
# (fsync=off): it lives for one test run.
set -euo pipefail
cd "$(dirname "$0")/.."

ARTIFACTS="$PWD/artifacts"
ENV_FILE="$ARTIFACTS/postgres.env"
ROLE=chorus

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; fi
}

install_postgres() {
    log "no PostgreSQL server found; installing it with apt-get"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    # Below the ephemeral range, as the integration tests pick theirs (tests/integration/ports.py).
    python3 -c 'import sys; sys.path.insert(0, "tests/integration"); import ports; print(ports.free_tcp_port())'
}

running_pid() {
    [ -f "$ENV_FILE" ] || return 1
    local pid
    pid=$(sed -n 's/^CHORUS_POSTGRES_PID=//p' "$ENV_FILE")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start() {
    if running_pid >/dev/null; then
        log "already running (pid $(running_pid))"
        sed -n 's/^CHORUS_TEST_POSTGRES_URL=//p' "$ENV_FILE"
        return 0
    fi
    local bindir
    bindir=$(find_bindir)
    if [ -z "$bindir" ]; then
        install_postgres
        bindir=$(find_bindir)
        [ -n "$bindir" ] || { log "apt-get installed postgresql but no initdb under /usr/lib/postgresql"; exit 1; }
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi

    mkdir -p "$ARTIFACTS"
    local dir password port pid
    dir=$(mktemp -d "${TMPDIR:-/tmp}/chorus-postgres.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    # Scoped to the owner: initdb reads it, then it is deleted.
    printf '%s\n' "$password" >"$dir/pwfile"
    chmod 600 "$dir/pwfile"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/pwfile"; fi

    # Locale C: byte order and no dependence on the machine's locales.
    as_owner "$bindir/initdb" --pgdata="$dir/data" --username="$ROLE" --pwfile="$dir/pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
    rm -f "$dir/pwfile"

    # A port found free can be taken before the server binds it: try a few.
    local attempt
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait --timeout=60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
                -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null; then
            break
        fi
        log "start on port $port failed (attempt $attempt):"; tail -n 5 "$dir/server.log" >&2 || true
        port=""
    done
    if [ -z "$port" ]; then
        rm -rf "$dir"
        exit 1
    fi
    pid=$(head -n 1 "$dir/data/postmaster.pid")

    local url="postgres://$ROLE:$password@127.0.0.1:$port/postgres"
    umask 077
    cat >"$ENV_FILE" <<EOF
CHORUS_TEST_POSTGRES_URL=$url
CHORUS_POSTGRES_PID=$pid
CHORUS_POSTGRES_DIR=$dir
EOF
    # The server answers through TCP with the password, as the tests will use it.
    if ! PGPASSWORD="$password" "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$ROLE" -d postgres -Atqc 'SELECT 1' >/dev/null; then
        log "the server started but does not answer on 127.0.0.1:$port"
        stop
        exit 1
    fi
    log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running: pid $pid, 127.0.0.1:$port, $dir"
    echo "$url"
}

stop() {
    [ -f "$ENV_FILE" ] || { log "not running (no $ENV_FILE)"; return 0; }
    local pid dir
    pid=$(sed -n 's/^CHORUS_POSTGRES_PID=//p' "$ENV_FILE")
    dir=$(sed -n 's/^CHORUS_POSTGRES_DIR=//p' "$ENV_FILE")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, stop at once.
        kill -INT "$pid"
        local waited=0
        while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 300 ]; do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid still running after 30 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Only ever a directory this script made.
    case "$dir" in
        */chorus-postgres.*) rm -rf "$dir" ;;
        "") ;;
        *) log "not removing unexpected directory $dir" ;;
    esac
    rm -f "$ENV_FILE"
    log "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status)
        if pid=$(running_pid); then
            echo "running (pid $pid)"
        else
            echo "not running"
            exit 1
        fi
        ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
