#!/usr/bin/env python3
"""One version, one licence and one set of addresses for the crates, the npm package and the wheel.

The source of truth is `[workspace.package]` in the root Cargo.toml:
- `version`: every crate inherits it (`version.workspace = true`), the wheel takes it from the crate
  through maturin (`dynamic = ["version"]`), and the npm package's version must equal it (napi-rs
  copies it into the platform packages at pack time);
- `license`: the crates inherit it; package.json `license` and pyproject `license` (PEP 639
  expression) must equal it, and the licence texts shipped in the wheel (python-binding/LICENSE-*)
  must be copies of the root ones;
- `repository` and `homepage`: the published crates inherit them; package.json `repository`,
  `homepage`, `bugs` and pyproject `[project.urls]` are derived from them (see `expected_metadata`).

    python3 scripts/version.py check        # exit 1 and name the file when anything disagrees
    python3 scripts/version.py current      # print the version (the release workflow compares the tag)
    python3 scripts/version.py repository   # print the repository URL (the release workflow compares it)
    python3 scripts/version.py set 0.2.0    # rewrite every version, sync the metadata, then `check`
    python3 scripts/version.py sync         # rewrite the derived metadata, then `check`
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
PUBLISHED_CRATES = ["core", "cli"]
LICENSE_FILES = ["LICENSE-MIT", "LICENSE-APACHE"]

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
WORKSPACE_VERSION = re.compile(r'(\[workspace\.package\][^\[]*?\nversion = ")([^"]+)(")', re.S)
# Path dependencies declared in [workspace.dependencies] carry a version for publishing.
PATH_DEP_VERSION = re.compile(r'^(hmac-guard[\w-]* = \{ path = "[^"]+", version = ")([^"]+)(")', re.M)


def workspace_field(name: str) -> str:
    section = re.search(r"\[workspace\.package\]\n(.*?)(?:\n\[|\Z)", CARGO.read_text(), re.S)
    m = re.search(rf'^{name} = "([^"]*)"', section.group(1) if section else "", re.M)
    if not m:
        sys.exit(f"{CARGO}: no [workspace.package] {name}")
    return m.group(1)


def expected_metadata() -> dict[str, dict[str, object]]:
    """What package.json and pyproject.toml must say, derived from [workspace.package]."""
    repo = workspace_field("repository").rstrip("/")
    home = workspace_field("homepage")
    lic = workspace_field("license")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo):
        # npm provenance and the release workflow's check compare it with the GitHub repository.
        sys.exit(f"{CARGO}: [workspace.package] repository must be https://github.com/OWNER/NAME, not {repo!r}")
    return {
        "package.json": {
            "license": lic,
            "homepage": home,
            "repository": {"type": "git", "url": f"git+{repo}.git", "directory": "node-binding"},
            "bugs": {"url": f"{repo}/issues"},
        },
        "pyproject.toml": {
            "license": lic,
            "Homepage": home,
            "Repository": repo,
            "Issues": f"{repo}/issues",
            "Changelog": f"{repo}/blob/main/CHANGELOG.md",
            "Documentation": f"{repo}/tree/main/python-binding#readme",
        },
    }


PYPROJECT_LICENSE = re.compile(r'^(license = )(.*)$', re.M)
PYPROJECT_URL = re.compile(r'^(\w+) = "([^"]*)"$', re.M)


def pyproject_urls(text: str) -> dict[str, str]:
    m = re.search(r"^\[project\.urls\]\n(.*?)(?:\n\[|\Z)", text, re.S | re.M)
    return dict(PYPROJECT_URL.findall(m.group(1))) if m else {}


def metadata_problems() -> list[str]:
    found: list[str] = []
    want = expected_metadata()
    pkg = json.loads(PACKAGE_JSON.read_text())
    for key, value in want["package.json"].items():
        if pkg.get(key) != value:
            found.append(f"node-binding/package.json: {key} should be {json.dumps(value)} (from Cargo.toml)")
    for name in LICENSE_FILES:
        if name not in pkg.get("files", []):
            found.append(f"node-binding/package.json: files must list {name}")
    text = PYPROJECT.read_text()
    lic = PYPROJECT_LICENSE.search(text)
    if not lic or lic.group(2) != json.dumps(want["pyproject.toml"]["license"]):
        found.append(f'python-binding/pyproject.toml: license should be "{want["pyproject.toml"]["license"]}"')
    urls = pyproject_urls(text)
    for key, value in want["pyproject.toml"].items():
        if key != "license" and urls.get(key) != value:
            found.append(f'python-binding/pyproject.toml: [project.urls] {key} should be "{value}"')
    for name in LICENSE_FILES:
        root_text = (ROOT / name).read_text() if (ROOT / name).exists() else None
        if root_text is None:
            found.append(f"{name}: missing at the repository root")
        elif not (PYPROJECT.parent / name).exists() or (PYPROJECT.parent / name).read_text() != root_text:
            found.append(f"python-binding/{name}: must be a copy of the root {name} (cp {name} python-binding/)")
    for crate in PUBLISHED_CRATES:
        manifest = (ROOT / crate / "Cargo.toml").read_text()
        for field in ("license", "repository", "homepage"):
            if f"{field}.workspace = true" not in manifest:
                found.append(f"{crate}/Cargo.toml: must inherit {field} ({field}.workspace = true)")
    return found


def sync_metadata() -> None:
    want = expected_metadata()
    pkg = json.loads(PACKAGE_JSON.read_text())
    pkg.update(want["package.json"])
    PACKAGE_JSON.write_text(json.dumps(pkg, indent=2) + "\n")
    text = PYPROJECT.read_text()
    text = PYPROJECT_LICENSE.sub(lambda m: m.group(1) + json.dumps(want["pyproject.toml"]["license"]), text, count=1)
    urls = "".join(f'{k} = "{v}"\n' for k, v in want["pyproject.toml"].items() if k != "license")
    if "[project.urls]\n" in text:
        text = re.sub(r"^\[project\.urls\]\n(?:\w+ = \"[^\"]*\"\n)*", "[project.urls]\n" + urls, text, count=1, flags=re.M)
    else:
        text = text.replace("\n[project.scripts]", "\n[project.urls]\n" + urls + "\n[project.scripts]", 1)
    PYPROJECT.write_text(text)
    for name in LICENSE_FILES:
        (PYPROJECT.parent / name).write_text((ROOT / name).read_text())


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
    sync_metadata()
    print(f"version set to {new}; run `cargo update --workspace` to refresh Cargo.lock")


def main() -> None:
    args = sys.argv[1:]
    if args == ["current"]:
        print(workspace_version())
        return
    if args == ["repository"]:
        print(workspace_field("repository").rstrip("/"))
        return
    if args[:1] == ["set"] and len(args) == 2:
        set_version(args[1])
    elif args == ["sync"]:
        sync_metadata()
    elif args != ["check"]:
        sys.exit(__doc__)
    want = workspace_version()
    found = problems(want)
    for p in found:
        print(f"version mismatch: {p}", file=sys.stderr)
    meta = metadata_problems()
    for p in meta:
        print(f"metadata mismatch: {p}", file=sys.stderr)
    if found or meta:
        sys.exit(1)
    print(
        f"version {want}, licence {workspace_field('license')} and project URLs: Cargo workspace, npm package and wheel agree"
    )


if __name__ == "__main__":
    main()
