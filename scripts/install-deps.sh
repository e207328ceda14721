#!/usr/bin/env bash
# Installs what Chorus needs on Debian 12: the C libraries it builds against (apt) and, with
# --test, the Python packages its integration tests drive (aiortc as the real WebRTC peer).
#
# Idempotent and quick when everything is present: apt runs only for missing packages, pip only
# for modules that do not import. Works as root without sudo; as another user it uses sudo.
#
# Usage: scripts/install-deps.sh [--test]
# Python: if python3 already imports the test modules, nothing happens. Otherwise they are
# installed into python3 itself, or, when Debian marks it externally managed (PEP 668), into a
# virtualenv at .venv/ that scripts/test.sh picks up. CHORUS_PYTHON overrides python3.
set -euo pipefail
cd "$(dirname "$0")/.."

# linux-libc-dev: <linux/bpf.h> for the shared port's eBPF steering (Swift's toolchain pulls it
# in through libc6-dev; named so that the build does not depend on that).
APT_PACKAGES=(libsrtp2-dev libssl-dev libopus-dev libvpx-dev libsqlite3-dev pkg-config linux-libc-dev)
# Real peers and servers the tests start: coturn (TURN credentials), PostgreSQL (CallStore),
# headless Chromium and its WebDriver (browser end-to-end tests, driven by selenium), unzip (the
# Socket.IO JavaScript client is taken out of a PyPI wheel), node-typescript (tsc checks the web
# client's JSDoc types); for the network tests (tests/integration/netns.py): iproute2 (network
# namespaces, veth pairs, tc rate limits), nftables (random loss, blocked UDP or TCP) and
# Firefox ESR (driven over its own Marionette protocol: Debian has no geckodriver).
TEST_APT_PACKAGES=(coturn postgresql chromium chromium-driver unzip node-typescript iproute2 nftables firefox-esr)
# Pinned to the aiortc series whose behaviour docs and tests were checked against.
# python-socketio[client] (with requests and websocket-client) is the old call service's client,
# driven against /socket.io/. openapi-spec-validator (with jsonschema) and schemathesis check
# /openapi.yaml; schemathesis is pinned to the 4.x CLI that tests/integration/test_openapi.py drives.
# matrix-synapse is the real homeserver of the Matrix tests (tests/integration/synapse.py starts it
# on 127.0.0.1 with SQLite); pinned to the series they were checked against. About 40 s to install
# from wheels here (75 s into an empty virtualenv). marionette-driver is Mozilla's client of
# Firefox's built-in Marionette protocol.
PIP_PACKAGES=("aiortc~=1.16.0" "numpy" "pytest" "requests" "python-socketio[client]~=5.18"
    "openapi-spec-validator~=0.9" "schemathesis~=4.32" "pyyaml" "selenium~=4.51" "matrix-synapse~=1.163"
    "marionette-driver~=3.7")
PY_MODULES="aiortc, aioice, av, numpy, pytest, requests, socketio, websocket, openapi_spec_validator, jsonschema, referencing, schemathesis, yaml, selenium, synapse, marionette_driver"
VENV=.venv

with_test=0
for arg in "$@"; do
    case "$arg" in
        --test) with_test=1 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install-deps: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { echo "install-deps: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root to run: $*  (run as root or install sudo)"
        exit 1
    fi
}

apt_missing() {
    local pkg missing=()
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$pkg")
        fi
    done
    echo "${missing[@]:-}"
}

apt_updated=0
apt_install() {
    local missing
    missing=$(apt_missing "$@")
    [ -z "$missing" ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing packages ($missing) and no apt-get: install them with your package manager"
        exit 1
    fi
    log "apt-get install $missing"
    if [ "$apt_updated" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
}

apt_install "${APT_PACKAGES[@]}"

if ! command -v swift >/dev/null 2>&1; then
    log "warning: no 'swift' on PATH. Chorus needs a Swift 6.1+ toolchain (https://swift.org/install);"
    log "         the apt packages above are installed, the toolchain is not an apt package on Debian 12."
fi

[ "$with_test" -eq 1 ] || exit 0

imports_ok() { "$1" -c "import ${PY_MODULES}" >/dev/null 2>&1; }

apt_install "${TEST_APT_PACKAGES[@]}"

PY="${CHORUS_PYTHON:-python3}"
if ! command -v "$PY" >/dev/null 2>&1; then
    apt_install python3
fi
if imports_ok "$PY"; then
    exit 0
fi
if [ -x "$VENV/bin/python" ] && imports_ok "$VENV/bin/python"; then
    exit 0
fi

externally_managed() {
    "$1" - <<'EOF'
import os, sys, sysconfig
in_venv = sys.prefix != sys.base_prefix
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
sys.exit(0 if (not in_venv and os.path.exists(marker)) else 1)
EOF
}

if externally_managed "$PY" || [ -x "$VENV/bin/python" ]; then
    if [ ! -x "$VENV/bin/python" ]; then
        # Debian's python3 refuses pip installs (PEP 668); a virtualenv is the supported way.
        apt_install python3-venv python3-pip
        log "creating virtualenv $VENV"
        "$PY" -m venv "$VENV"
    fi
    PY="$VENV/bin/python"
else
    if ! "$PY" -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip
    fi
fi

log "pip install ${PIP_PACKAGES[*]} (into $PY)"
"$PY" -m pip install --quiet --disable-pip-version-check "${PIP_PACKAGES[@]}"
if ! imports_ok "$PY"; then
    log "pip finished but '$PY -c \"import ${PY_MODULES}\"' still fails"
    exit 1
fi
