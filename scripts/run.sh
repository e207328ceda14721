#!/usr/bin/env bash
# Runs Chorus: installs the build dependencies, builds the release binary and starts
# `chorus serve` on its defaults (HTTP 127.0.0.1:8080, media UDP 40000, sqlite://./chorus.db).
#
# Usage: scripts/run.sh [extra `chorus serve` options, e.g. --http-port 9000]
# Settings can also come from the environment (CHORUS_HOST, CHORUS_HTTP_PORT, CHORUS_UDP_PORT,
# CHORUS_ANNOUNCED_IP, CHORUS_DATABASE_URL, CHORUS_JWT_SECRET); see README.md.
# CHORUS_BIN=/path/to/chorus skips the build and runs that binary.
# CHORUS_SKIP_DEPS=1 skips scripts/install-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CHORUS_SKIP_DEPS:-0}" != 1 ]; then
    scripts/install-deps.sh
fi

if [ -n "${CHORUS_BIN:-}" ]; then
    bin="$CHORUS_BIN"
else
    echo "run: swift build -c release --product chorus" >&2
    swift build -c release --product chorus
    bin="$(swift build -c release --show-bin-path)/chorus"
fi

# The defaults (and the CHORUS_* environment) are the server's own; extra arguments pass through.
# With no JWT secret on a loopback host the server uses a fixed dev secret and says so.
echo "run: exec $bin serve $*" >&2
exec "$bin" serve "$@"
