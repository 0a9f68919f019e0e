"""The ``hmac-guard`` console script installed in the venv (``hmac_guard._cli:main`` → the core's
CLI): sign → verify round trips, agreement with the Python Signer/Guard, explain, exit codes and
secrets."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

import hmac_guard as hg
from hmac_guard import _cli

SCRIPT = Path(sys.executable).with_name("hmac-guard")
SECRET = "python-cli-test-secret-0123456789abcdef"
BODY = b'{"amount": 10, "item": "tea"}'
T0 = 1_700_000_000
URL = "http://api.example.com/orders?id=7"


def run(
    args: list[str],
    stdin: bytes = b"",
    secret: Optional[str] = SECRET,
    script: Optional[list[str]] = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMAC_GUARD_")}
    if secret is not None:
        env["HMAC_GUARD_SECRET"] = secret
    argv = (script or [str(SCRIPT)]) + args
    result = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=60, check=False)
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def header_lines(stdout: str) -> list[tuple[str, str]]:
    return [(name, value) for name, _, value in (line.partition(": ") for line in stdout.splitlines())]


def raw_request(headers: list[tuple[str, str]], body: bytes = BODY, target: str = "/orders?id=7") -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: api.example.com", f"Content-Length: {len(body)}"]
    lines += [f"{n}: {v}" for n, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def body_file(tmp_path: Path) -> str:
    path = tmp_path / "order.json"
    path.write_bytes(BODY)
    return str(path)


def signed(body_file: str, scheme: str = "rfc9421", *extra: str) -> bytes:
    args = ["sign", "--key-id", "k1", "--scheme", scheme, "--created", str(T0), "--body-file", body_file]
    out = run([*args, *extra, URL])
    assert out.returncode == 0, out.stderr
    return raw_request(header_lines(out.stdout))


def test_the_console_script_is_installed_and_has_help() -> None:
    assert SCRIPT.is_file(), f"{SCRIPT} missing: maturin develop installs [project.scripts]"
    for args, first in [
        (["--help"], "hmac-guard: sign, verify and explain"),
        (["sign", "--help"], "hmac-guard sign:"),
        (["verify", "-h"], "hmac-guard verify:"),
        (["help", "explain"], "hmac-guard explain:"),
    ]:
        out = run(args, secret=None)
        assert out.returncode == 0, args
        assert out.stdout.startswith(first), out.stdout
        assert out.stderr == ""
    version = run(["--version"])
    assert version.stdout == f"hmac-guard {hg.__version__}\n"
    # The module runs as well: python -m hmac_guard._cli.
    assert run(["--help"], script=[sys.executable, "-m", "hmac_guard._cli"]).returncode == 0


@pytest.mark.parametrize("scheme", ["rfc9421", "simple"])
def test_sign_then_verify_round_trip(body_file: str, scheme: str) -> None:
    request = signed(body_file, scheme)
    args = ["verify", "--scheme", scheme, "--key-id", "k1", "--subject", "svc:billing", "--at", str(T0 + 5)]
    ok = run(args, request)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"verdict: ok\nscheme: {scheme}\n")
    assert "\nkey id: k1\nsubject: svc:billing\n" in ok.stdout
    assert f"\ncreated: {T0} (5 s before now)\n" in ok.stdout
    assert f"\nbody: {len(BODY)} bytes\n" in ok.stdout

    tampered = run(args, request.replace(b'"tea"', b'"rum"'))
    assert tampered.returncode == 1
    assert tampered.stdout.startswith("verdict: rejected ERR_DIGEST_MISMATCH (401)\n")
    late = run([*args[:-1], str(T0 + 301)], request)
    assert late.returncode == 1
    assert late.stdout.startswith("verdict: rejected ERR_TIMESTAMP_EXPIRED (401)\n")
    wrong = run(args, request, secret="some-other-secret-0123456789abcdef")
    assert wrong.returncode == 1
    assert wrong.stdout.startswith("verdict: rejected ERR_SIGNATURE_MISMATCH (401)\n")


def test_the_cli_and_the_python_binding_agree(body_file: str) -> None:
    # Signed in Python, verified by the CLI.
    head = [("Host", "api.example.com"), ("Content-Length", str(len(BODY)))]
    signer = hg.Signer("k1", SECRET)
    added = signer.sign("POST", "/orders?id=7", head, BODY, created=T0, nonce="py-signed-nonce")
    request = raw_request(added)
    out = run(["verify", "--key-id", "k1", "--at", str(T0)], request)
    assert out.returncode == 0, out.stdout
    assert "\nnonce: py-signed-nonce\n" in out.stdout
    # Signed by the CLI, verified in Python.
    sign = ["sign", "--key-id", "k1", "--nonce", "cli-signed-nonce", "--body-file", body_file, URL]
    cli_headers = header_lines(run(sign).stdout)
    guard = hg.Guard(keys=[{"id": "k1", "secret": SECRET, "subject": "svc:cli"}])
    verified = guard.verify("POST", "/orders?id=7", head + cli_headers, BODY)
    assert (verified.subject, verified.nonce) == ("svc:cli", "cli-signed-nonce")


def test_explain_prints_the_base_and_never_the_secret(body_file: str) -> None:
    request = signed(body_file, "rfc9421", "--nonce", "explain-nonce-01")
    base = (
        '"@method": POST\n"@authority": api.example.com\n"@path": /orders\n"@query": ?id=7\n'
        '"content-digest": sha-256=:'
    )
    keyed = run(["explain", "--key-id", "k1", "--at", str(T0 + 1)], request)
    assert keyed.returncode == 0, keyed.stdout
    assert base in keyed.stdout
    assert ';created=1700000000;nonce="explain-nonce-01";keyid="k1"\n-----\n' in keyed.stdout
    assert "\nverdict: ok\nnote: explain does not look for replays" in keyed.stdout

    tampered = request.replace(b"/orders?id=7", b"/orders?id=8")
    failed = run(["explain", "--key-id", "k1", "--at", str(T0 + 1)], tampered)
    assert failed.returncode == 1
    assert '"@query": ?id=8\n' in failed.stdout
    assert "failing check: signature\nverdict: rejected ERR_SIGNATURE_MISMATCH (401)\n" in failed.stdout

    # Without a key the MAC is never checked: exit 3 ("incomplete"), never 0.
    keyless = run(["explain", "--at", str(T0 + 1)], request, secret=None)
    assert keyless.returncode == 3, keyless.stderr
    assert base in keyless.stdout
    assert "  signature: skip (no key given: the MAC cannot be checked)\n" in keyless.stdout
    assert "\nverdict: incomplete (" in keyless.stdout

    for out in (keyed, failed, keyless):
        assert SECRET not in out.stdout + out.stderr
        assert SECRET[:12] not in out.stdout + out.stderr


def test_exit_codes_and_secret_sources(tmp_path: Path, body_file: str) -> None:
    refused = run(["sign", "--key-id", "k1", f"--secret={SECRET}", URL])
    assert refused.returncode == 2
    assert "refusing --secret: a secret on the command line is visible" in refused.stderr
    assert SECRET not in refused.stdout + refused.stderr

    missing = run(["verify", "--key-id", "k1"], b"GET / HTTP/1.1\r\n\r\n", secret=None)
    assert missing.returncode == 2
    assert "no secret: the environment variable HMAC_GUARD_SECRET is not set" in missing.stderr
    assert missing.stdout == ""

    malformed = run(["verify", "--key-id", "k1"], b"this is not a request\r\n\r\n")
    assert malformed.returncode == 2
    assert malformed.stderr.startswith("hmac-guard: error: stdin: malformed request head")

    unknown = run(["sign", "--key-id", "k1", "--frobnicate", URL])
    assert unknown.returncode == 2
    assert "unknown option --frobnicate" in unknown.stderr

    # The secret from a file (trailing newline removed), through a named file and stdin input.
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    request = signed(body_file)
    request_file = tmp_path / "request.http"
    request_file.write_bytes(request)
    args = ["verify", "--key-id", "k1", "--secret-file", str(secret_file), "--at", str(T0), str(request_file)]
    from_file = run(args, secret=None)
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.startswith("verdict: ok\n")


def test_a_python_side_failure_is_exit_2_without_traceback() -> None:
    # A non-UTF-8 argument (Python surrogate-escapes it; the native call cannot take it): exit 2,
    # "usage error", never 1 ("rejected"), one line, no traceback, the argument not repeated.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMAC_GUARD_")}
    env["HMAC_GUARD_SECRET"] = SECRET
    for script in ([os.fsencode(SCRIPT)], [os.fsencode(sys.executable), b"-m", b"hmac_guard._cli"]):
        for args in ([b"verify", b"--key-id", b"k\xff1"], [b"\xfe\xffpasted"]):
            result = subprocess.run(
                [*script, *args], input=b"", capture_output=True, env=env, timeout=60, check=False
            )
            assert result.returncode == 2, result
            assert result.stdout == b""
            assert result.stderr == b"hmac-guard: error: arguments must be valid UTF-8\n", result.stderr


def test_a_python_side_failure_prints_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # Any other exception from the native call (an InternalError from a caught panic): exit 2 too,
    # with its type only (not its reason, not the arguments).
    previous = signal.getsignal(signal.SIGINT)  # main() resets it; pytest's own comes back after
    with pytest.MonkeyPatch.context() as mp:

        def boom(argv: list[str]) -> int:
            raise hg.InternalError("detail that must not be printed")

        mp.setattr(_cli, "run_cli", boom)
        mp.setattr(sys, "argv", ["hmac-guard", "verify", "pasted-secret-value"])
        try:
            with pytest.raises(SystemExit) as exited:
                _cli.main()
        finally:
            signal.signal(signal.SIGINT, previous)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "hmac-guard: error: internal error (InternalError)\n"


def _catches_sigint(pid: int) -> bool:
    """Whether the process has a handler for SIGINT (Linux: SigCgt in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError("no SigCgt line")


def test_ctrl_c_stops_the_tool_while_it_reads_stdin() -> None:
    # verify waits on stdin (kept open, empty). Rust's read retries on EINTR, so with Python's
    # SIGINT handler installed Ctrl-C would only set a flag and the tool would wait forever;
    # main() restores the default action, so SIGINT kills it (a shell reports 130).
    env = {k: v for k, v in os.environ.items() if not k.startswith("HMAC_GUARD_")}
    env["HMAC_GUARD_SECRET"] = SECRET
    proc = subprocess.Popen(
        [str(SCRIPT), "verify", "--key-id", "k1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        # Until main() has run its signal.signal() (Python installs its handler at start-up), or
        # a few seconds: after that the tool is blocked in the native read either way.
        deadline = time.monotonic() + 5
        seen_handler = False
        while time.monotonic() < deadline and proc.poll() is None:
            catches = _catches_sigint(proc.pid)
            seen_handler = seen_handler or catches
            if seen_handler and not catches:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)  # into the blocking read
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("hmac-guard ignored SIGINT while reading stdin")
        assert code == -signal.SIGINT, (code, proc.stderr.read() if proc.stderr else b"")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
