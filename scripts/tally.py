#!/usr/bin/env python3
"""Adds up the test runners' closing lines in the given logs and prints one 'N passed, N failed' line.

cargo test prints 'test result: ok. N passed; M failed; …' per binary; node:test prints
'# pass N' / '# fail M'; pytest prints '== N passed, M failed in …s =='. Exits non-zero when a log
is missing, nothing ran, or anything failed — a suite that silently ran no test is a failure.
"""

import re
import sys

passed = failed = 0
for path in sys.argv[1:]:
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        print(f"tally: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(1)
    found = False
    for p, f in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", text):
        passed += int(p)
        failed += int(f)
        found = True
    for p in re.findall(r"^# pass (\d+)$", text, re.M):
        passed += int(p)
        found = True
    for f in re.findall(r"^# fail (\d+)$", text, re.M):
        failed += int(f)
    for line in re.findall(r"^=+ (.*) in [\d.]+s.*=+$", text, re.M):
        m = re.search(r"(\d+) passed", line)
        if m:
            passed += int(m.group(1))
            found = True
        m = re.search(r"(\d+) failed", line)
        if m:
            failed += int(m.group(1))
    if not found:
        print(f"tally: no test results in {path}", file=sys.stderr)
        sys.exit(1)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
