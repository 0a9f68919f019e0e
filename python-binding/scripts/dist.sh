#!/usr/bin/env bash
# Builds the Python distribution and proves the wheel installs without Rust:
#   - a manylinux2014 abi3 wheel (maturin --zig, ziglang from PyPI) and an sdist, in <repo>/dist/python
#   - a fresh venv whose PATH has no cargo/rustc, the wheel installed there, scripts/smoke.py run
#     (with every interpreter in SMOKE_PYTHONS, e.g. "python3.9 python3.13"; default python3).
set -euo pipefail

BINDING="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$BINDING/.." && pwd)"
VENV="$ROOT/.venv"
OUT="$ROOT/dist/python"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet -r "$BINDING/requirements-dist.txt"

rm -rf "$OUT"
mkdir -p "$OUT"
(
    cd "$BINDING"
    export PATH="$VENV/bin:$PATH" CARGO_TARGET_DIR="$ROOT/target/py-dist"
    maturin build --release --zig --compatibility manylinux2014 --out "$OUT"
    maturin sdist --out "$OUT"
)
WHEEL="$(ls "$OUT"/hmac_guard-*-cp39-abi3-manylinux*2014*.whl)"
ls -l "$OUT"

# One abi3 wheel for every CPython >= 3.9: smoke-test it with each interpreter in SMOKE_PYTHONS
# (default: $PYTHON), each in a fresh venv whose PATH has no Rust toolchain.
SMOKE="$(mktemp -d)"
trap 'rm -rf "$SMOKE"' EXIT
for interpreter in ${SMOKE_PYTHONS:-$PYTHON}; do
    rm -rf "$SMOKE/venv"
    "$interpreter" -m venv "$SMOKE/venv"
    env -i HOME="$HOME" PATH="$SMOKE/venv/bin:/usr/bin:/bin" bash -c '
        set -euo pipefail
        ! command -v cargo >/dev/null && ! command -v rustc >/dev/null
        pip install --quiet --no-index "$0"
        cd /
        python -c "import sys; print(sys.version.split()[0], end=\": \")"
        python "$1"
    ' "$WHEEL" "$BINDING/scripts/smoke.py"
done
# Optionally prove the sdist builds from source (needs Rust; ~2 min): CHECK_SDIST=1.
if [[ "${CHECK_SDIST:-0}" == "1" ]]; then
    rm -rf "$SMOKE/venv"
    "$PYTHON" -m venv "$SMOKE/venv"
    CARGO_TARGET_DIR="$ROOT/target/py-sdist" "$SMOKE/venv/bin/pip" install --quiet "$OUT"/hmac_guard-*.tar.gz
    (cd / && "$SMOKE/venv/bin/python" "$BINDING/scripts/smoke.py")
fi
echo "dist: $(basename "$WHEEL") and the sdist are in $OUT"
