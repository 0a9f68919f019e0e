#!/usr/bin/env bash
# The Python binding's whole check, idempotent, from a fresh machine with Python >= 3.9, pip and
# Rust: installs redis-server with apt-get if it is missing, creates <repo>/.venv if missing, installs the pinned build/test tools
# (python-binding/requirements-dev.txt), builds the extension in place with `maturin develop
# --release` (its own CARGO_TARGET_DIR=target/py), then runs ruff, mypy (--strict on the package
# and stubtest on the native module) and pytest. Exits non-zero on any failure, including pytest
# collecting no tests (exit 5).
#
#   bash python-binding/scripts/ci.sh            # everything
#   bash python-binding/scripts/ci.sh -k flask   # extra arguments go to pytest
#   bash python-binding/scripts/ci.sh --setup-only   # (or HMAC_GUARD_SETUP_ONLY=1) venv, tools and
#                                                    # the extension only: no redis-server, no checks
set -euo pipefail

SETUP_ONLY="${HMAC_GUARD_SETUP_ONLY:-0}"
if [[ "${1:-}" == "--setup-only" ]]; then
    SETUP_ONLY=1
    shift
fi

BINDING="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$BINDING/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

step() { printf '\n==> %s\n' "$*"; }

if [[ ! -x "$VENV/bin/python" ]]; then
    step "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# Reinstall the tools only when the pinned list changed.
STAMP="$VENV/.hmac-guard-python-requirements"
WANT="$(sha256sum "$BINDING/requirements-dev.txt" | cut -d' ' -f1)"
if [[ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]]; then
    step "installing build and test tools (requirements-dev.txt)"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -r "$BINDING/requirements-dev.txt"
    echo "$WANT" > "$STAMP"
fi

# The Redis replay-store tests need a real redis-server (a missing one is a failure, not a skip).
if [[ "$SETUP_ONLY" != "1" ]] && ! command -v redis-server >/dev/null; then
    step "installing redis-server (apt-get)"
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi

step "building hmac_guard._native (maturin develop --release)"
(
    cd "$BINDING"
    export VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" CARGO_TARGET_DIR="$ROOT/target/py"
    "$VENV/bin/maturin" develop --release --quiet
)

if [[ "$SETUP_ONLY" == "1" ]]; then
    step "setup only: $VENV ready and the extension built; checks and tests skipped"
    exit 0
fi

cd "$BINDING"
step "ruff"
"$VENV/bin/ruff" check python tests scripts
"$VENV/bin/ruff" format --check python tests scripts

step "mypy --strict (package) and mypy.stubtest (native module stubs)"
(cd python && "$PY" -m mypy --strict --no-incremental hmac_guard && "$PY" -m mypy.stubtest hmac_guard._native)

step "pytest"
set +e
"$PY" -m pytest -p no:cacheprovider "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit $status
