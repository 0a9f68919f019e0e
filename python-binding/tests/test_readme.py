"""The README's quick starts run as written: the Flask app under gunicorn and the FastAPI app
under uvicorn, called by the README's `requests` client example (and httpx)."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from servers import free_port, gunicorn_argv, serve, uvicorn_argv

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.timeout(120)


def block(marker: str) -> str:
    for code in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        if code.startswith(marker):
            return str(code)
    raise AssertionError(f"no README block starting with {marker!r}")


def run_client(url: str, secret: str) -> str:
    code = block("import os\n\nimport requests").replace("http://127.0.0.1:5000", url)
    env = {"HMAC_SECRET": secret, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout


def test_flask_quick_start(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(block("# app.py"), encoding="utf-8")
    secret = secrets.token_hex(32)
    port = free_port()
    argv = gunicorn_argv(port, 2, "app:app")
    with serve("readme-flask", argv, port, cwd=tmp_path, env={"HMAC_SECRET": secret}, health="/nothing") as s:
        out = run_client(f"http://{s.host}", secret)
    assert out.startswith("200 ")
    assert "'by': 'svc:billing'" in out
    assert "'qty': 2" in out


def test_fastapi_quick_start(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(block("# main.py"), encoding="utf-8")
    secret = secrets.token_hex(32)
    port = free_port()
    argv = uvicorn_argv(port, "main:app")
    with serve(
        "readme-fastapi", argv, port, cwd=tmp_path, env={"HMAC_SECRET": secret}, health="/nothing"
    ) as s:
        out = run_client(f"http://{s.host}", secret)
        import httpx

        from hmac_guard.client import HttpxAuth

        r = httpx.post(f"http://{s.host}/orders", json={"x": 1}, auth=HttpxAuth("client-1", secret))
        assert r.status_code == 200, r.text
        unsigned = httpx.post(f"http://{s.host}/orders", json={"x": 1})
        assert unsigned.status_code == 401
        assert unsigned.json()["error"]["code"] == "ERR_MISSING_SIGNATURE"
    assert out.startswith("200 ")
    assert "'by': 'svc:billing'" in out


def test_observability_section_runs() -> None:
    code = block("# observability")
    check = """
import hmac_guard
head = [("Host", "example.com")]
wrong = hmac_guard.Signer("partner-a", "w" * 40).sign("POST", "/p", head, b"{}")
try:
    guard.verify("POST", "/p", head + wrong, b"{}")
except hmac_guard.SignatureMismatchError:
    pass
from prometheus_client import generate_latest
print(guard.stats()["rejections"], guard.fail_open_uses)
print([line for line in generate_latest().decode().splitlines() if "ERR_SIGNATURE_MISMATCH" in line])
"""
    secret = secrets.token_hex(32)
    out = subprocess.run(
        [sys.executable, "-c", f"secret = {secret!r}\n{code}{check}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = out.stdout.splitlines()
    assert lines[0] == "bad signature from partner-a"
    assert lines[1] == "{'ERR_SIGNATURE_MISMATCH': 1} 0"
    assert 'code="ERR_SIGNATURE_MISMATCH",guard="api",status="401"} 1.0' in lines[2]
    assert "INFO:hmac_guard:hmac-guard: rejected ERR_SIGNATURE_MISMATCH (401)" in out.stderr
    assert secret not in out.stdout + out.stderr


def test_webhook_quick_starts(tmp_path: Path) -> None:
    import requests

    from hmac_guard import sign_webhook

    (tmp_path / "hooks.py").write_text(block("# hooks.py"), encoding="utf-8")
    (tmp_path / "hooks_main.py").write_text(block("# hooks_main.py"), encoding="utf-8")
    stripe = ["whsec_" + secrets.token_hex(16), "whsec_" + secrets.token_hex(16)]
    github = [secrets.token_hex(12)]
    env = {"STRIPE_WEBHOOK_SECRETS": ",".join(stripe), "GITHUB_WEBHOOK_SECRETS": ",".join(github)}
    port = free_port()
    argv = gunicorn_argv(port, 1, "hooks:app")
    with serve("readme-hooks-flask", argv, port, cwd=tmp_path, env=env, health="/nothing") as s:
        code = block("# send a test delivery").replace("http://127.0.0.1:8000", f"http://{s.host}")
        run = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert run.stdout.strip() == "200 {'received': 'evt_test_1', 'type': 'invoice.paid'}"
        again = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        assert "ERR_DUPLICATE_DELIVERY" in again.stdout
        assert again.stdout.startswith("200 ")
        assert all(secret not in run.stdout + run.stderr for secret in stripe)
    port = free_port()
    with serve(
        "readme-hooks-fastapi",
        uvicorn_argv(port, "hooks_main:app"),
        port,
        cwd=tmp_path,
        env=env,
        health="/nothing",
    ) as s:
        body = b'{"zen": "Keep it logically awesome."}'
        signed = sign_webhook("github", secret=github[0], body=body)
        headers = {**signed.headers, "X-GitHub-Event": "ping"}
        r = requests.post(f"http://{s.host}/hooks/github", data=body, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json() == {"event": "ping", "bytes": len(body)}
        unsigned = requests.post(f"http://{s.host}/hooks/github", data=body, timeout=10)
        assert unsigned.status_code == 401
        assert unsigned.json()["error"]["code"] == "ERR_MISSING_SIGNATURE"
