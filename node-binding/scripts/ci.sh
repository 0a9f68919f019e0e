#!/usr/bin/env bash
# The Node binding's whole check, idempotent: install what is missing, build the addon, type-check,
# run the node:test suite. Exits non-zero on any failure. Called by the root `make test`.
#
# Needs only Node >= 18 (20 in CI) with npm, a Rust toolchain (cargo) and redis-server on PATH
# (`__test__/redis.test.js` starts its own on 127.0.0.1; without the binary it fails, never skips;
# `make test` installs it with apt-get).
# Environment:
#   HMAC_GUARD_NODE_PROFILE=fast (default) | release | debug
#     fast:    release optimisations without LTO and with parallel codegen (quick to build, quick
#              to hash); the profile CI uses.
#     release: the workspace release profile (thin LTO, one codegen unit): what gets published.
#     debug:   unoptimised (slow hashing; the memory test is skipped).
#   HMAC_GUARD_NODE_SKIP_BUILD=1   reuse the addon already built.
#   HMAC_GUARD_SETUP_ONLY=1 (or the --setup-only argument)   install and build only: no tsc, no
#                                  tests (what `make demo` uses).
set -euo pipefail

setup_only="${HMAC_GUARD_SETUP_ONLY:-0}"
for arg in "$@"; do
  case "$arg" in
    --setup-only) setup_only=1 ;;
    *) echo "unknown argument: $arg (usage: ci.sh [--setup-only])" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"

say() { printf '\n==> %s\n' "$*"; }

command -v node >/dev/null || { echo "node is required (Node 20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }
command -v cargo >/dev/null || { echo "cargo is required (Rust toolchain)" >&2; exit 1; }
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then echo "Node >= 18 is required (found $(node --version))" >&2; exit 1; fi

# 1. npm dependencies. `npm ci` fails with @napi-rs/cli 3.10 (platform packages missing from the
# registry); package.json pins the working versions through `overrides`, and `npm install` is
# used. Skipped when node_modules is newer than package.json and the lock file.
stamp="node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  say "npm install"
  npm install --no-audit --no-fund --loglevel=error
else
  say "npm dependencies up to date"
fi

# 2. The addon. Its own target dir keeps these builds from invalidating the workspace's.
profile="${HMAC_GUARD_NODE_PROFILE:-fast}"
if [ "${HMAC_GUARD_NODE_SKIP_BUILD:-0}" != "1" ]; then
  say "napi build ($profile)"
  args=(build --platform --target-dir "$root/target/node" --js native.js --dts native.d.ts)
  case "$profile" in
    fast)
      export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
      args+=(--release)
      ;;
    release) args+=(--release) ;;
    debug) ;;
    *) echo "unknown HMAC_GUARD_NODE_PROFILE=$profile" >&2; exit 1 ;;
  esac
  npx --no-install napi "${args[@]}"
fi
ls hmac-guard.*.node >/dev/null 2>&1 || { echo "no addon was built" >&2; exit 1; }
export HMAC_GUARD_NODE_PROFILE="$profile"

if [ "$setup_only" = "1" ]; then
  say "setup only: dependencies installed and addon built; tsc and tests skipped"
  exit 0
fi

# 3. Types: the declarations themselves (strict, lib check on), then a usage file against them.
say "tsc"
npx --no-install tsc -p tsconfig.decl.json
npx --no-install tsc -p tsconfig.json

# 4. Tests: real servers on 127.0.0.1, ephemeral ports; every test bounded in time.
say "node --test"
node --test --test-timeout=180000 __test__/*.test.js
