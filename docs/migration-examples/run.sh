#!/usr/bin/env bash
# Runs the examples behind docs/migration.md: every code block of the guide must appear verbatim
# in one of these files, and these files must behave as the guide says.
#   bash docs/migration-examples/run.sh
# Needs the Node addon built in node-binding/ and the repository's .venv with hmac_guard, flask,
# requests and httpx (python-binding/scripts/ci.sh makes both).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/node_modules"
ln -s "$root/node-binding" "$tmp/node_modules/hmac-guard"   # require('hmac-guard') as in the guide
python="${PYTHON:-$root/.venv/bin/python}"

"$python" "$here/check_snippets.py" "$root/docs/migration.md" "$here"
(cd "$here" && NODE_PATH="$tmp/node_modules:$root/node-binding/node_modules" node check-node.js)
(cd "$here" && "$python" check_python.py)
