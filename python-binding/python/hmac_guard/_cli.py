"""The ``hmac-guard`` console script: sign, verify and explain HMAC-signed HTTP requests.

Everything (arguments, reading the request, the verdict) runs in the Rust core through
:func:`hmac_guard._native.run_cli`, which reads stdin and writes stdout/stderr itself. See
``hmac-guard --help``.
"""

from __future__ import annotations

import sys

from hmac_guard._native import run_cli


def main() -> None:
    """Entry point: runs the tool with ``sys.argv[1:]`` and exits with its code (0, 1 or 2)."""
    # Whatever Python buffered goes out before the native code writes to the same descriptors.
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(run_cli(sys.argv[1:]))


if __name__ == "__main__":
    main()
