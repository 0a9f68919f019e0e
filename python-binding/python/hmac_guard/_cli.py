"""The ``hmac-guard`` console script: sign, verify and explain HMAC-signed HTTP requests.

Everything (arguments, reading the request, the verdict) runs in the Rust core through
:func:`hmac_guard._native.run_cli`, which reads stdin and writes stdout/stderr itself. See
``hmac-guard --help``.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import NoReturn

from hmac_guard._native import run_cli

#: Usage or input error (the tool's exit code 2); 1 means "rejected" and is never used for a crash.
EXIT_USAGE = 2


def main() -> None:
    """Entry point: runs the tool with ``sys.argv[1:]`` and exits with its code.

    0 ok, 1 rejected, 2 usage or input error, 3 ``explain`` incomplete (no key: the signature was
    not checked). A Python-side failure (an argument that is not valid UTF-8, an internal error)
    is exit 2 with a one-line message on stderr: no traceback, and no argument repeated.
    """
    # Ctrl-C must stop the tool while it blocks on stdin: the native read retries on EINTR, so
    # Python's own SIGINT handler (which only sets a flag) would never get to run. With the
    # default action the process dies of SIGINT (a shell reports 130), as the Node bin does.
    # signal.signal() works only in the main thread; elsewhere the caller keeps its handlers.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        # Whatever Python buffered goes out before the native code writes to the same descriptors.
        sys.stdout.flush()
        sys.stderr.flush()
        code = run_cli(sys.argv[1:])
    except ValueError:
        # A non-UTF-8 byte in argv (surrogate-escaped by Python): run_cli names its position only.
        _fail("arguments must be valid UTF-8")
    except Exception as e:  # any failure is a usage error (2), never "rejected" (1)
        _fail(f"internal error ({type(e).__name__})")
    sys.exit(code)


def _fail(message: str) -> NoReturn:
    try:
        sys.stderr.write(f"hmac-guard: error: {message}\n")
        sys.stderr.flush()
    finally:
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
