#!/usr/bin/env python3
"""One version for the crate, the npm packages and the wheel.

The source of truth is `[workspace.package] version` in the root Cargo.toml. Every crate inherits it
(`version.workspace = true`), the wheel takes it from the crate through maturin (`dynamic =
["version"]`), and the npm package's version must equal it (napi-rs copies it into the platform
packages at pack time).

    python3 scripts/version.py check        # exit 1 and name the file when anything disagrees
    python3 scripts/version.py current      # print the version (the release workflow compares the tag)
    python3 scripts/version.py set 0.2.0    # rewrite every place, then run `check`
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARGO = ROOT / "Cargo.toml"
PACKAGE_JSON = ROOT / "node-binding" / "package.json"
PACKAGE_LOCK = ROOT / "node-binding" / "package-lock.json"
PYPROJECT = ROOT / "python-binding" / "pyproject.toml"
CRATES = ["core", "cli", "node-binding", "python-binding"]

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
WORKSPACE_VERSION = re.compile(r'(\[workspace\.package\][^\[]*?\nversion = ")([^"]+)(")', re.S)
# Path dependencies declared in [workspace.dependencies] carry a version for publishing.
PATH_DEP_VERSION = re.compile(r'^(hmac-guard[\w-]* = \{ path = "[^"]+", version = ")([^"]+)(")', re.M)


def workspace_version() -> str:
    m = WORKSPACE_VERSION.search(CARGO.read_text())
    if not m:
        sys.exit(f"{CARGO}: no [workspace.package] version")
    return m.group(2)


def problems(want: str) -> list[str]:
    found: list[str] = []
    cargo = CARGO.read_text()
    for m in PATH_DEP_VERSION.finditer(cargo):
        if m.group(2) != want:
            found.append(f"Cargo.toml: {m.group(0)!r} should say {want}")
    for crate in CRATES:
        manifest = ROOT / crate / "Cargo.toml"
        if manifest.exists() and "version.workspace = true" not in manifest.read_text():
            found.append(f"{crate}/Cargo.toml: must inherit the version (version.workspace = true)")
    if json.loads(PACKAGE_JSON.read_text())["version"] != want:
        found.append(f"node-binding/package.json: version should be {want}")
    if PACKAGE_LOCK.exists():
        lock = json.loads(PACKAGE_LOCK.read_text())
        if lock.get("version") != want or lock.get("packages", {}).get("", {}).get("version") != want:
            found.append(f"node-binding/package-lock.json: version should be {want}")
    if 'dynamic = ["version"]' not in PYPROJECT.read_text():
        found.append('python-binding/pyproject.toml: the version must come from Cargo (dynamic = ["version"])')
    return found


def set_version(new: str) -> None:
    if not SEMVER.match(new):
        sys.exit(f"not a semantic version: {new!r}")
    cargo = WORKSPACE_VERSION.sub(lambda m: m.group(1) + new + m.group(3), CARGO.read_text(), count=1)
    cargo = PATH_DEP_VERSION.sub(lambda m: m.group(1) + new + m.group(3), cargo)
    CARGO.write_text(cargo)
    for path in (PACKAGE_JSON, PACKAGE_LOCK):
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        data["version"] = new
        if "packages" in data and "" in data["packages"]:
            data["packages"][""]["version"] = new
        path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"version set to {new}; run `cargo update --workspace` to refresh Cargo.lock")


def main() -> None:
    args = sys.argv[1:]
    if args == ["current"]:
        print(workspace_version())
        return
    if args[:1] == ["set"] and len(args) == 2:
        set_version(args[1])
    elif args != ["check"]:
        sys.exit(__doc__)
    want = workspace_version()
    found = problems(want)
    for p in found:
        print(f"version mismatch: {p}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"version {want}: Cargo workspace, npm package and wheel agree")


if __name__ == "__main__":
    main()
