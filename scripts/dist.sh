#!/usr/bin/env bash
# `make dist`: the release rehearsal. Clones HEAD (committed files only: whatever is git-ignored or
# uncommitted here, native.js or a local .node included, is absent as in the release job) into
# target/dist/clone, then there, as .github/workflows/release.yml does:
#   node-binding/scripts/dist.sh    addon (glibc 2.17, stripped) + native.js, npm tarballs, and
#                                   node-binding/scripts/check-dist.sh on them
#   python-binding/scripts/dist.sh  manylinux2014 abi3 wheel (stripped) + sdist, and
#                                   python-binding/scripts/check-dist.sh on them
# The packages end up in dist/npm and dist/python. Cargo and the tools venv (target/dist-tools:
# maturin, ziglang, cargo-zigbuild) live outside the clone, so a second run reuses their caches.
# Exits non-zero on any failed check; the last lines are `# pass N` / `# fail M` for scripts/tally.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLONE="$ROOT/target/dist/clone"
start=$(date +%s)
say() { printf '\n=== %s\n' "$*"; }

cd "$ROOT"
dirty="$(git status --porcelain --untracked-files=no | wc -l)"
say "rehearsing the release of HEAD $(git rev-parse --short HEAD) from a clean clone"
[ "$dirty" = 0 ] || echo "note: $dirty modified tracked file(s) are not part of HEAD and not rehearsed"
rm -rf "$CLONE"
mkdir -p "$(dirname "$CLONE")"
git clone --quiet --no-local --no-hardlinks "$ROOT" "$CLONE"
(cd "$CLONE" && git log -1 --format='clone at %h %s' && ! [ -e node-binding/native.js ])

export HMAC_GUARD_DIST_TOOLS="$ROOT/target/dist-tools"
[ -x "$HMAC_GUARD_DIST_TOOLS/bin/python" ] || python3 -m venv "$HMAC_GUARD_DIST_TOOLS"
"$HMAC_GUARD_DIST_TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
  -r "$CLONE/python-binding/requirements-dist.txt"

log="$ROOT/target/dist/checks.log"
: > "$log"
rc=0
say "npm packages"
CARGO_TARGET_DIR="$ROOT/target/node-dist" bash "$CLONE/node-binding/scripts/dist.sh" 2>&1 | tee -a "$log" || rc=1
say "Python packages"
CARGO_TARGET_DIR="$ROOT/target/py-dist" bash "$CLONE/python-binding/scripts/dist.sh" 2>&1 | tee -a "$log" || rc=1

rm -rf "$ROOT/dist/npm" "$ROOT/dist/python"
mkdir -p "$ROOT/dist/npm" "$ROOT/dist/python"
cp "$CLONE"/node-binding/dist/*.tgz "$ROOT/dist/npm/" 2>/dev/null || true
cp "$CLONE"/dist/python/* "$ROOT/dist/python/" 2>/dev/null || true

# The check scripts print `# pass N` / `# fail M` each (scripts/tally.py adds them up).
pass=$(awk '/^# pass /{s+=$3} END{print s+0}' "$log")
fail=$(awk '/^# fail /{s+=$3} END{print s+0}' "$log")
ls -l "$ROOT"/dist/npm "$ROOT"/dist/python
if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
  echo "# fail 1" # a build or pack step failed before its checks ran
  fail=1
fi
say "release rehearsal of $(git rev-parse --short HEAD): $pass checks passed, $fail failed in $(( $(date +%s) - start )) s"
[ "$rc" = 0 ] && [ "$fail" = 0 ] || { echo "make dist FAILED" >&2; exit 1; }
