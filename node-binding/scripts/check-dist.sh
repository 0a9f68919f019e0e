#!/usr/bin/env bash
# Checks the npm tarballs a release would publish, as a user gets them: installs the main package
# and the linux-x64-gnu platform package into a fresh folder whose PATH has no Rust toolchain, then
#   - contents: native.js/native.d.ts (the loader the package requires), the licence texts, the
#     repository/engines metadata, the addon in the platform package (stripped, glibc <= 2.17);
#   - require('hmac-guard') and require('hmac-guard/feathers'): sign, verify, replay;
#   - import { Guard, Signer, ManualClock, HmacGuardError } from 'hmac-guard' and
#     import { HmacStrategy } from 'hmac-guard/feathers': every require() export is a named export;
#   - a TypeScript user project under tsc --strict (module nodenext: a CJS .ts and an ESM .mts),
#     compiled and run: an Express server with the middleware answers a signed request 200 and a
#     tampered one 401, over 127.0.0.1;
#   - the CLI as installed (npm `bin`): sign -> verify -> tampered rejected.
# Every check runs; the script ends with `# pass N` / `# fail M` and exits 1 if any failed.
#
#   check-dist.sh DIR    DIR holds hmac-guard-X.Y.Z.tgz and hmac-guard-linux-x64-gnu-X.Y.Z.tgz
# Used by scripts/dist.sh (make dist) and by the release workflow before anything is published.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$(cd "${1:?usage: check-dist.sh DIR-with-tarballs}" && pwd)"
triple="linux-x64-gnu"
version="$(node -p 'require(process.argv[1]).version' "$here/package.json")"
main_tgz="$dist/hmac-guard-$version.tgz"
platform_tgz="$dist/hmac-guard-$triple-$version.tgz"
for f in "$main_tgz" "$platform_tgz"; do [ -f "$f" ] || { echo "missing $f" >&2; exit 1; }; done

# shellcheck source=../../scripts/check-lib.sh
source "$here/../scripts/check-lib.sh"

# The user project's own dependencies, at the versions the binding is tested with.
dev_version() { node -p 'require(process.argv[1]).devDependencies[process.argv[2]]' "$here/package.json" "$1"; }
user_deps=(
  "typescript@$(dev_version typescript)" "@types/node@$(dev_version @types/node)"
  "express@$(dev_version express)" "@types/express@$(dev_version @types/express)"
  "@feathersjs/errors@$(dev_version @feathersjs/errors)"
  "@feathersjs/authentication@$(dev_version @feathersjs/authentication)"
  "@feathersjs/feathers@$(dev_version @feathersjs/feathers)"
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here"/scripts/dist-check/* "$work/"
node_dir="$(dirname "$(command -v node)")"
cd "$work"
# From here on: node, npm and the system's tools only; no cargo, no rustc.
export PATH="$node_dir:/usr/bin:/bin"
if command -v cargo >/dev/null 2>&1 || command -v rustc >/dev/null 2>&1; then
  echo "a Rust toolchain is still on PATH ($PATH)" >&2
  exit 1
fi

echo "installing $(basename "$main_tgz") + $(basename "$platform_tgz") into $work (no Rust on PATH)"
npm init -y >/dev/null
# Both tarballs together: the platform package is an optional dependency of the main one (the
# other platforms' packages are not installable here and are skipped as optional).
npm install --no-audit --no-fund --loglevel=error "$platform_tgz" "$main_tgz" "${user_deps[@]}"
pkg="node_modules/hmac-guard"
plat="node_modules/hmac-guard-$triple"

contents() {
  for f in index.js index.d.ts feathers.js feathers.d.ts prometheus.js prometheus.d.ts native.js native.d.ts LICENSE-MIT LICENSE-APACHE README.md bin/hmac-guard.js; do
    [ -f "$pkg/$f" ] || { echo "hmac-guard is missing $f"; return 1; }
  done
  for f in "hmac-guard.$triple.node" LICENSE-MIT LICENSE-APACHE; do
    [ -f "$plat/$f" ] || { echo "hmac-guard-$triple is missing $f"; return 1; }
  done
  grep -q 'Apache License' "$pkg/LICENSE-APACHE" && grep -q 'MIT License' "$pkg/LICENSE-MIT"
  node -e '
    const assert = require("node:assert/strict")
    const main = require("hmac-guard/package.json")
    const plat = require(process.argv[1] + "/package.json")
    for (const p of [main, plat]) {
      assert.equal(p.license, "MIT OR Apache-2.0", p.name)
      assert.match(p.repository && p.repository.url, /^git\+https:\/\/github\.com\/.+\.git$/, `${p.name}: repository (npm provenance)`)
    }
    assert.equal(main.engines.node, ">= 20")
    assert.ok(main.homepage && main.bugs && main.bugs.url, "homepage and bugs")
    assert.equal(main.optionalDependencies[plat.name], main.version)
    assert.ok(!main.devDependencies && !main.scripts, "no devDependencies or scripts in the published package.json")
    console.log(`${main.name}@${main.version} + ${plat.name}: files, licences and metadata present`)
  ' "./$plat"
}
check "package contents: native.js loader, licences, metadata" contents

addon() {
  local so="$plat/hmac-guard.$triple.node" max
  file -L "$so" | grep -q ', stripped' || { echo "$so is not stripped"; return 1; }
  max="$(objdump -T "$so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)"
  echo "addon: $(stat -c %s "$so") bytes, stripped, needs glibc $max"
  [ "$(printf '%s\n2.17\n' "$max" | sort -V | tail -n 1)" = "2.17" ] || { echo "needs glibc $max > 2.17"; return 1; }
}
check "addon stripped and built for glibc 2.17 (objdump -T)" addon

check "require('hmac-guard'), require('hmac-guard/feathers'): sign, verify, replay" node cjs.cjs
check "import { Guard, Signer, ManualClock, HmacGuardError } from 'hmac-guard', { HmacStrategy } from 'hmac-guard/feathers'" node esm.mjs
check "tsc --strict of a user project (CJS .ts with Express req.hmac, ESM .mts)" ./node_modules/.bin/tsc -p tsconfig.json
check "the compiled TypeScript app: Express + expressMiddleware, signed 200, tampered 401" node out/app.js

cli() {
  local cli=./node_modules/.bin/hmac-guard code=0
  "$cli" --help >/dev/null
  export HMAC_GUARD_SECRET=smoke-test-secret-0123456789abcdef
  printf '{"smoke":"yes"}' > body.json
  "$cli" sign --key-id k1 --body-file body.json http://example.com/smoke > signature.txt
  { printf 'POST /smoke HTTP/1.1\r\nHost: example.com\r\nContent-Length: 15\r\n'; sed 's/$/\r/' signature.txt
    printf '\r\n'; cat body.json; } > request.http
  "$cli" verify --key-id k1 request.http > verified.txt
  grep -qx 'verdict: ok' verified.txt
  sed 's/"yes"}/"no!"}/' request.http > tampered.http
  "$cli" verify --key-id k1 - < tampered.http > rejected.txt 2> rejected.err || code=$?
  [ "$code" = 1 ] && grep -qx 'verdict: rejected ERR_DIGEST_MISMATCH (401)' rejected.txt \
    || { echo "the tampered request was not rejected (exit $code)"; cat rejected.txt rejected.err; return 1; }
  echo "cli ok: $("$cli" --version): sign -> verify -> tampered rejected"
}
check "the CLI (npm bin): sign -> verify -> tampered rejected" cli

echo "# pass $passed"
echo "# fail $failed"
[ "$failed" = 0 ] || { echo "npm package check FAILED: $failed of $((passed + failed)) checks" >&2; exit 1; }
echo "npm packages ok: $passed checks"
