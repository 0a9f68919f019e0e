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
# The console script as installed (`hmac-guard`): help, then sign -> raw request -> verify, and a
# tampered copy; run in each smoke venv below.
cat > "$SMOKE/cli-smoke.sh" <<'EOF'
set -euo pipefail
mkdir -p "$(dirname "$0")/cli" && cd "$(dirname "$0")/cli"
hmac-guard --help >/dev/null
export HMAC_GUARD_SECRET=smoke-test-secret-0123456789abcdef
printf '{"smoke":"yes"}' > body.json
hmac-guard sign --key-id k1 --body-file body.json http://example.com/smoke > signature.txt
{ printf 'POST /smoke HTTP/1.1\r\nHost: example.com\r\nContent-Length: 15\r\n'; sed 's/$/\r/' signature.txt
  printf '\r\n'; cat body.json; } > request.http
hmac-guard verify --key-id k1 request.http > verified.txt
grep -qx 'verdict: ok' verified.txt
sed 's/"yes"}/"no!"}/' request.http > tampered.http
code=0; hmac-guard verify --key-id k1 - < tampered.http > rejected.txt 2> rejected.err || code=$?
[ "$code" = 1 ] && grep -qx 'verdict: rejected ERR_DIGEST_MISMATCH (401)' rejected.txt \
  || { echo "CLI: the tampered request was not rejected (exit $code)" >&2; cat rejected.txt rejected.err >&2; exit 1; }
echo "cli smoke ok: $(hmac-guard --version): sign -> verify -> tampered rejected"
EOF
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
        bash "$2"
    ' "$WHEEL" "$BINDING/scripts/smoke.py" "$SMOKE/cli-smoke.sh"
done
# Optionally prove the sdist builds from source (needs Rust; ~2 min): CHECK_SDIST=1.
if [[ "${CHECK_SDIST:-0}" == "1" ]]; then
    rm -rf "$SMOKE/venv"
    "$PYTHON" -m venv "$SMOKE/venv"
    CARGO_TARGET_DIR="$ROOT/target/py-sdist" "$SMOKE/venv/bin/pip" install --quiet "$OUT"/hmac_guard-*.tar.gz
    (cd / && "$SMOKE/venv/bin/python" "$BINDING/scripts/smoke.py")
fi
echo "dist: $(basename "$WHEEL") and the sdist are in $OUT"
