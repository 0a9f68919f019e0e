#!/usr/bin/env bash
# Builds and packs the npm packages exactly as the release publishes them, then checks the
# tarballs as a user installs them (scripts/check-dist.sh). Output: node-binding/dist/*.tgz.
#
#   dist.sh                  build the linux-x64-gnu addon (release profile, stripped, against
#                            glibc 2.17 through cargo-zigbuild: `napi build -x --target
#                            x86_64-unknown-linux-gnu.2.17`) and native.js/native.d.ts, pack, check
#   dist.sh --prebuilt DIR   no build: take hmac-guard.*.node, native.js and native.d.ts from DIR
#                            (searched recursively: the release job's downloaded artifacts); every
#                            target in package.json `napi.targets` must be there; pack, check
#   dist.sh ... --host-only  pack only the platform packages whose binary is there (a local build
#                            has the host's only; the default without --prebuilt)
#   dist.sh ... --no-check   pack only
#
# `make dist` runs this in a clean clone of HEAD (scripts/dist.sh at the root), so nothing that is
# git-ignored here (native.js, the .node) can leak into the packages.
# Packing follows napi-rs conventions: `napi create-npm-dirs` makes one package per target
# (hmac-guard-<platform>, `os`/`cpu`/`libc` set) holding the binary; the main package lists them
# as optionalDependencies at the same version and ships index.js, the generated loader native.js
# and its types, lib/, bin/, README and the licence texts (package.json `files`), without
# devDependencies or scripts.
# Environment: HMAC_GUARD_DIST_TOOLS  a venv with ziglang and cargo-zigbuild (default:
#   <repo>/target/dist-tools, created from python-binding/requirements-dist.txt);
#   CARGO_TARGET_DIR (default <repo>/target/node-dist).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"
say() { printf '\n==> %s\n' "$*"; }

prebuilt=""
run_check=1
host_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --prebuilt) prebuilt="$(cd "${2:?--prebuilt DIR}" && pwd)"; shift 2 ;;
    --no-check) run_check=0; shift ;;
    --host-only) host_only=1; shift ;;
    *) echo "unknown argument: $1 (usage: dist.sh [--prebuilt DIR] [--no-check])" >&2; exit 2 ;;
  esac
done

triple="linux-x64-gnu"
glibc_target="x86_64-unknown-linux-gnu.2.17"

# `npm install`, not `npm ci`: see the note on @napi-rs/cli in scripts/ci.sh.
[ -d node_modules/@napi-rs/cli ] || { say "npm install"; npm install --no-audit --no-fund --loglevel=error; }

if [ -z "$prebuilt" ]; then
  tools="${HMAC_GUARD_DIST_TOOLS:-$root/target/dist-tools}"
  if [ ! -x "$tools/bin/cargo-zigbuild" ]; then
    say "tools venv $tools (ziglang, cargo-zigbuild from PyPI)"
    python3 -m venv "$tools"
    "$tools/bin/pip" install --quiet --disable-pip-version-check -r "$root/python-binding/requirements-dist.txt"
  fi
  say "napi build --release -x --target $glibc_target (stripped)"
  # cargo-zigbuild (found by napi on PATH) links with `zig cc -target x86_64-linux-gnu.2.17`, so
  # no symbol newer than glibc 2.17 is referenced, as manylinux2014 wheels. The cargo profile's
  # strip works on every target the release builds (the linker's -s does not on macOS).
  PATH="$tools/bin:$PATH" CARGO_PROFILE_RELEASE_STRIP=symbols \
    npx --no-install napi build --platform --release -x --target "$glibc_target" \
    --target-dir "${CARGO_TARGET_DIR:-$root/target/node-dist}" --js native.js --dts native.d.ts
  prebuilt="$here"
  host_only=1
fi

rm -rf dist
mkdir -p dist/stage

say "platform packages"
npx --no-install napi create-npm-dirs --npm-dir dist/npm >/dev/null 2>&1
for d in dist/npm/*/; do
  platform="$(basename "$d")"
  binary="$prebuilt/hmac-guard.$platform.node"
  [ -f "$binary" ] || binary="$(find "$prebuilt" -name "hmac-guard.$platform.node" -not -path '*/dist/*' -not -path '*/node_modules/*' | head -n 1)"
  if [ -z "$binary" ]; then
    # A local build has the host's binary only; a release (--prebuilt) must have all of them.
    if [ "$host_only" = 1 ]; then rm -rf "$d"; continue; fi
    echo "no hmac-guard.$platform.node under $prebuilt" >&2; exit 1
  fi
  cp "$binary" "$d"
  cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" "$d"
  node -e '
    const fs = require("fs"), file = process.argv[1] + "/package.json"
    const p = JSON.parse(fs.readFileSync(file, "utf8"))
    p.files = [...new Set([...(p.files || []), "LICENSE-MIT", "LICENSE-APACHE"])]
    fs.writeFileSync(file, JSON.stringify(p, null, 2) + "\n")
  ' "$d"
  (cd "$d" && npm pack --silent --pack-destination ../.. >/dev/null)
  echo "$platform: $(stat -c %s "$binary") bytes"
done

say "main package"
for f in native.js native.d.ts; do
  src="$prebuilt/$f"
  [ -f "$src" ] || src="$(find "$prebuilt" -name "$f" -not -path '*/dist/*' -not -path '*/node_modules/*' | head -n 1)"
  [ -n "$src" ] || { echo "no $f under $prebuilt: napi build --js native.js --dts native.d.ts makes them" >&2; exit 1; }
  cp "$src" dist/stage/
done
cp "$root/LICENSE-MIT" "$root/LICENSE-APACHE" dist/stage/
node -e '
  const fs = require("fs")
  const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"))
  for (const f of pkg.files) {
    const from = f.replace(/\/$/, "")
    if (fs.existsSync("dist/stage/" + from)) continue
    if (!fs.existsSync(from)) { console.error(`package.json files lists ${f}, which does not exist`); process.exit(1) }
    fs.cpSync(from, "dist/stage/" + from, { recursive: true })
  }
  const optional = {}
  for (const d of fs.readdirSync("dist/npm")) {
    optional[JSON.parse(fs.readFileSync(`dist/npm/${d}/package.json`, "utf8")).name] = pkg.version
  }
  delete pkg.devDependencies
  delete pkg.overrides
  delete pkg.scripts
  pkg.optionalDependencies = optional
  fs.writeFileSync("dist/stage/package.json", JSON.stringify(pkg, null, 2) + "\n")
'
(cd dist/stage && npm pack --silent --pack-destination .. >/dev/null)
rm -rf dist/stage
ls -l dist/*.tgz

if [ "$run_check" = 1 ]; then
  say "check the tarballs as a user installs them"
  bash "$here/scripts/check-dist.sh" dist
fi
say "npm dist ok: $(ls dist/*.tgz | xargs -n1 basename | tr '\n' ' ')"
