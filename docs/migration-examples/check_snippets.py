"""Checks that docs/migration.md shows only code that the examples run: every ```js / ```python
block must appear verbatim in one of the example files of that language, and every link to a
section of another page (page.md#anchor) must name a heading that exists.

    python check_snippets.py docs/migration.md docs/migration-examples
"""

import pathlib
import re
import sys

doc = pathlib.Path(sys.argv[1])
examples = pathlib.Path(sys.argv[2])
text = doc.read_text()
sources = {
    "js": "\n".join(p.read_text() for p in sorted(examples.glob("*.js"))),
    "python": "\n".join(p.read_text() for p in sorted(examples.glob("*.py"))),
}

failures = []
blocks = re.findall(r"^```(js|python)\n(.*?)^```$", text, flags=re.M | re.S)
for lang, body in blocks:
    if body.strip("\n") not in sources[lang]:
        first = body.strip().splitlines()[0]
        failures.append(f"{lang} block not found verbatim in the examples: {first!r}")


def slug(heading: str) -> str:
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


for target, anchor in re.findall(r"\]\(([^)#\s]+\.md)#([^)\s]+)\)", text):
    page = (doc.parent / target).resolve()
    if not page.exists():
        failures.append(f"link to a missing page: {target}")
        continue
    anchors = {slug(h) for h in re.findall(r"^#+ (.*)$", page.read_text(), flags=re.M)}
    if anchor not in anchors:
        failures.append(f"link to a missing section: {target}#{anchor}")

for f in failures:
    print("FAIL", f)
print(f"snippets: {len(blocks)} code blocks checked, {len(failures)} failures")
sys.exit(1 if failures or not blocks else 0)
