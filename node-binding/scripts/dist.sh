#!/usr/bin/env bash
# Packs the npm packages the napi-rs way — the main package `hmac-guard` plus the platform package
# `hmac-guard-linux-x64-gnu` holding the prebuilt addon (other targets are declared in
# package.json `napi.targets`, their dirs generated, but only the host's binary is built here) —
# then installs both tarballs into a fresh folder with no Rust toolchain on PATH and runs a smoke
# test there. Output: node-binding/dist/*.tgz.
#   HMAC_GUARD_NODE_SKIP_BUILD=1  reuse hmac-guard.linux-x64-gnu.node built by `npm run build`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"
say() { printf '\n==> %s\n' "$*"; }

[ -d node_modules/@napi-rs/cli ] || npm install --no-audit --no-fund --loglevel=error

triple="linux-x64-gnu"
if [ "${HMAC_GUARD_NODE_SKIP_BUILD:-0}" != "1" ]; then
  say "napi build --release"
  npx --no-install napi build --platform --release --target-dir "$root/target/node" --js native.js --dts native.d.ts
fi
[ -f "hmac-guard.$triple.node" ] || { echo "hmac-guard.$triple.node is missing" >&2; exit 1; }

rm -rf dist
mkdir -p dist/stage

say "platform packages"
npx --no-install napi create-npm-dirs --npm-dir dist/npm
cp "hmac-guard.$triple.node" "dist/npm/$triple/"
(cd "dist/npm/$triple" && npm pack --silent --pack-destination ../.. >/dev/null)

say "main package"
cp -r index.js index.d.ts feathers.js feathers.d.ts native.js native.d.ts lib bin README.md dist/stage/
node -e '
  const fs = require("fs")
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"))
  const optional = {}
  for (const d of fs.readdirSync("dist/npm")) {
    const p = JSON.parse(fs.readFileSync(`dist/npm/${d}/package.json`, "utf8"))
    optional[p.name] = pkg.version
  }
  delete pkg.devDependencies
  delete pkg.overrides
  delete pkg.scripts
  pkg.optionalDependencies = optional
  fs.writeFileSync("dist/stage/package.json", JSON.stringify(pkg, null, 2) + "\n")
'
(cd dist/stage && npm pack --silent --pack-destination .. >/dev/null)
ls -l dist/*.tgz

say "smoke test: fresh folder, no Rust toolchain on PATH"
smoke="$(mktemp -d)"
trap 'rm -rf "$smoke"' EXIT
cp dist/*.tgz "$smoke/"
node_dir="$(dirname "$(command -v node)")"
(
  cd "$smoke"
  export PATH="$node_dir:/usr/bin:/bin"
  if command -v cargo >/dev/null 2>&1 || command -v rustc >/dev/null 2>&1; then
    echo "a Rust toolchain is still on PATH" >&2
    exit 1
  fi
  npm init -y >/dev/null
  # Both tarballs together (the platform package is an optional dependency of the main one; the
  # other platforms' packages are skipped as optional).
  npm install --no-audit --no-fund --loglevel=error ./hmac-guard-$triple-*.tgz ./hmac-guard-[0-9]*.tgz
  cat > smoke.js <<'EOF'
const assert = require('node:assert/strict')
const { Guard, Signer, HmacGuardError, errorCodes, coreVersion } = require('hmac-guard')
assert.equal(require('hmac-guard/package.json').name, 'hmac-guard')
const secret = Buffer.alloc(32, 7)
const guard = new Guard({ keys: [{ id: 'k1', secret, subject: 'user:1' }] })
const signer = new Signer({ id: 'k1', secret })
const body = Buffer.from('{"smoke":true}')
const headers = { host: 'example.com', 'content-type': 'application/json' }
const req = { method: 'POST', url: '/smoke', headers: { ...headers, ...signer.sign({ method: 'POST', url: '/smoke', headers, body }) }, body }
const v = guard.verify(req)
assert.equal(v.subject, 'user:1')
assert.throws(() => guard.verify(req), (e) => e instanceof HmacGuardError && e.code === 'ERR_REPLAY' && e.status === 401)
assert.ok(errorCodes().length >= 30)
const binding = require.resolve('hmac-guard-linux-x64-gnu')
console.log(`smoke ok: core ${coreVersion()}, addon from ${binding.replace(process.cwd(), '.')}`)
EOF
  node smoke.js
  # The CLI as installed (npm `bin`): help, then sign -> raw request -> verify, and a tampered copy.
  cli=./node_modules/.bin/hmac-guard
  "$cli" --help >/dev/null
  export HMAC_GUARD_SECRET=smoke-test-secret-0123456789abcdef
  printf '{"smoke":"yes"}' > body.json
  "$cli" sign --key-id k1 --body-file body.json http://example.com/smoke > signature.txt
  { printf 'POST /smoke HTTP/1.1\r\nHost: example.com\r\nContent-Length: 15\r\n'; sed 's/$/\r/' signature.txt
    printf '\r\n'; cat body.json; } > request.http
  "$cli" verify --key-id k1 request.http > verified.txt
  grep -qx 'verdict: ok' verified.txt
  sed 's/"yes"}/"no!"}/' request.http > tampered.http
  code=0; "$cli" verify --key-id k1 - < tampered.http > rejected.txt 2> rejected.err || code=$?
  [ "$code" = 1 ] && grep -qx 'verdict: rejected ERR_DIGEST_MISMATCH (401)' rejected.txt \
    || { echo "CLI: the tampered request was not rejected (exit $code)" >&2; cat rejected.txt rejected.err >&2; exit 1; }
  echo "cli smoke ok: $("$cli" --version): sign -> verify -> tampered rejected"
)
say "dist ok: $(ls dist/*.tgz | xargs -n1 basename | tr '\n' ' ')"
