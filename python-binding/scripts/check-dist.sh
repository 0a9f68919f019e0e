#!/usr/bin/env bash
# Checks the Python distribution a release would publish, as a user gets it:
#   - the wheel: licence texts in .dist-info/licenses, PEP 639 `License-Expression`, no legacy
#     `License:`, the project URLs and classifiers, the [flask]/[fastapi]/[prometheus] extras; the
#     extension stripped and needing glibc <= 2.17 (objdump -T), the manylinux2014 tag; the sdist's licences;
#   - in a fresh venv whose PATH has no Rust toolchain, for each interpreter in SMOKE_PYTHONS
#     (default python3): `pip install 'hmac_guard-….whl[flask,fastapi,prometheus]'`, then import +
#     sign + verify + replay (scripts/smoke.py), the console script (sign -> verify -> tampered rejected),
#     `mypy --strict` of a small user app (scripts/dist-check/app.py) and that app run against a
#     real Flask server on 127.0.0.1.
# Every check runs; the script ends with `# pass N` / `# fail M` and exits 1 if any failed.
#
#   check-dist.sh DIR    DIR holds hmac_guard-X.Y.Z-cp39-abi3-manylinux*2014*x86_64.whl and the sdist
# Used by scripts/dist.sh (make dist) and by the release workflow before anything is published.
set -euo pipefail

BINDING="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$(cd "${1:?usage: check-dist.sh DIR-with-wheel-and-sdist}" && pwd)"
PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
WHEEL="$(ls "$DIST"/hmac_guard-*-cp39-abi3-manylinux*2014*x86_64*.whl | head -n 1)"
SDIST="$(ls "$DIST"/hmac_guard-*.tar.gz | head -n 1)"
MYPY="mypy==$(sed -n 's/^mypy==//p' "$BINDING/requirements-dev.txt")"

# shellcheck source=../../scripts/check-lib.sh
source "$BINDING/../scripts/check-lib.sh"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

metadata() {
    "$PYTHON" - "$WHEEL" "$SDIST" <<'EOF'
import sys, tarfile, zipfile
from email.parser import Parser
wheel, sdist = sys.argv[1:]
z = zipfile.ZipFile(wheel)
names = z.namelist()
info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
for lic in ("LICENSE-MIT", "LICENSE-APACHE"):
    assert f"{info}/licenses/{lic}" in names, f"wheel lacks {info}/licenses/{lic}"
meta = Parser().parsestr(z.read(f"{info}/METADATA").decode())
assert meta["Metadata-Version"] in ("2.4", "2.5"), meta["Metadata-Version"]
assert meta["License-Expression"] == "MIT OR Apache-2.0", meta["License-Expression"]
assert meta["License"] is None, "legacy License: field present"
assert not [c for c in meta.get_all("Classifier", []) if c.startswith("License ::")], "License classifier with License-Expression"
urls = {u.split(",")[0] for u in meta.get_all("Project-URL", [])}
assert urls >= {"Homepage", "Repository", "Issues", "Changelog", "Documentation"}, urls
classifiers = meta.get_all("Classifier", [])
assert len(classifiers) >= 10 and "Typing :: Typed" in classifiers, classifiers
requires = meta.get_all("Requires-Dist", [])
assert any(r.startswith("fastapi") and "extra == 'fastapi'" in r for r in requires), requires
assert any(r.startswith("flask") and "extra == 'flask'" in r for r in requires), requires
assert any(r.startswith("prometheus-client") and "extra == 'prometheus'" in r for r in requires), requires
assert "hmac_guard/py.typed" in names
with tarfile.open(sdist) as t:
    members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
for need in ("LICENSE-MIT", "LICENSE-APACHE", "pyproject.toml", "Cargo.lock"):
    assert need in members, f"sdist lacks {need}"
print(f"{info}: License-Expression, licences, {len(urls)} URLs, {len(classifiers)} classifiers, extras; sdist ok")
EOF
}
check "wheel and sdist metadata: PEP 639 licence, licence files, URLs, classifiers, extras" metadata

extension() {
    local so max
    mkdir -p "$WORK/unzipped"
    "$PYTHON" -m zipfile -e "$WHEEL" "$WORK/unzipped"
    so="$(ls "$WORK"/unzipped/hmac_guard/_native*.so)"
    file -L "$so" | grep -q ', stripped' || { echo "$so is not stripped"; return 1; }
    max="$(objdump -T "$so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
    echo "extension: $(stat -c %s "$so") bytes, stripped, needs glibc $max; $(basename "$WHEEL")"
    [ "$(printf '%s\n2.17\n' "$max" | sort -V | tail -n 1)" = "2.17" ] || { echo "needs glibc $max > 2.17"; return 1; }
}
check "extension stripped and built for glibc 2.17 (objdump -T)" extension

# The console script as installed (`hmac-guard`): help, then sign -> raw request -> verify, and a
# tampered copy.
cat > "$WORK/cli-smoke.sh" <<'EOF'
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
cp "$BINDING/scripts/smoke.py" "$BINDING/scripts/dist-check/app.py" "$WORK/"

# One abi3 wheel for every CPython >= 3.9: each interpreter in SMOKE_PYTHONS gets a fresh venv whose
# PATH has no Rust toolchain (env -i: nothing of this shell's environment but HOME).
in_venv() { env -i HOME="$HOME" PIP_DISABLE_PIP_VERSION_CHECK=1 PATH="$WORK/venv/bin:/usr/bin:/bin" bash -c "set -euo pipefail; cd '$WORK'; $1"; }
for interpreter in ${SMOKE_PYTHONS:-$PYTHON}; do
    rm -rf "$WORK/venv"
    "$interpreter" -m venv "$WORK/venv"
    echo "installing $(basename "$WHEEL")[flask,fastapi,prometheus] into a fresh $interpreter venv (no Rust on PATH)"
    in_venv '! command -v cargo && ! command -v rustc'
    in_venv "pip install --quiet '$WHEEL[flask,fastapi,prometheus]' '$MYPY'"
    v="$("$WORK/venv/bin/python" -c 'import sys; print(sys.version.split()[0])')"
    check "python $v: import, sign, verify, replay (scripts/smoke.py)" in_venv 'cd / && python '"$WORK"'/smoke.py'
    check "python $v: the console script: sign -> verify -> tampered rejected" in_venv "bash '$WORK/cli-smoke.sh'"
    check "python $v: mypy --strict of a user app (Flask + FastAPI)" in_venv 'python -m mypy --strict --no-incremental app.py'
    check "python $v: the user app against a real Flask server: signed 200, tampered 401, hook, stats, metrics" in_venv 'python app.py'
done

echo "# pass $passed"
echo "# fail $failed"
[ "$failed" = 0 ] || { echo "Python package check FAILED: $failed of $((passed + failed)) checks" >&2; exit 1; }
echo "Python packages ok: $passed checks"
