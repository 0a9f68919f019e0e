#!/usr/bin/env bash
# Builds the Python distribution as the release publishes it, then checks it as a user installs it
# (scripts/check-dist.sh):
#   - a manylinux2014 abi3 wheel (maturin --zig, ziglang from PyPI: glibc 2.17; --strip) and an
#     sdist, in <repo>/dist/python
#   - check-dist.sh: metadata, licences, glibc, then a fresh venv per interpreter in SMOKE_PYTHONS
#     (default python3) with no Rust on PATH: import, console script, mypy --strict, a real server.
# `make dist` runs this in a clean clone of HEAD (scripts/dist.sh at the root).
# Environment: HMAC_GUARD_DIST_TOOLS  the venv with maturin and ziglang (default
#   <repo>/target/dist-tools, created from requirements-dist.txt); CARGO_TARGET_DIR (default
#   <repo>/target/py-dist); CHECK_SDIST=1 also builds the sdist from source (~2 min, needs Rust).
set -euo pipefail

BINDING="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$BINDING/.." && pwd)"
TOOLS="${HMAC_GUARD_DIST_TOOLS:-$ROOT/target/dist-tools}"
OUT="$ROOT/dist/python"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

[[ -x "$TOOLS/bin/python" ]] || "$PYTHON" -m venv "$TOOLS"
"$TOOLS/bin/python" -m pip install --quiet -r "$BINDING/requirements-dist.txt"

rm -rf "$OUT"
mkdir -p "$OUT"
(
    cd "$BINDING"
    export PATH="$TOOLS/bin:$PATH" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/py-dist}"
    maturin build --release --strip --zig --compatibility manylinux2014 --out "$OUT"
    maturin sdist --out "$OUT"
)
ls -l "$OUT"

bash "$BINDING/scripts/check-dist.sh" "$OUT"

# Optionally prove the sdist builds from source (needs Rust; ~2 min): CHECK_SDIST=1.
if [[ "${CHECK_SDIST:-0}" == "1" ]]; then
    SDIST_VENV="$(mktemp -d)"
    trap 'rm -rf "$SDIST_VENV"' EXIT
    "$PYTHON" -m venv "$SDIST_VENV"
    CARGO_TARGET_DIR="$ROOT/target/py-sdist" "$SDIST_VENV/bin/pip" install --quiet "$OUT"/hmac_guard-*.tar.gz
    (cd / && "$SDIST_VENV/bin/python" "$BINDING/scripts/smoke.py")
fi
echo "Python dist ok: $(cd "$OUT" && ls | tr '\n' ' ')in $OUT"
