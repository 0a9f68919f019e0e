"""Client side: auth classes that sign outgoing requests.

    import requests
    from hmac_guard.client import RequestsAuth

    auth = RequestsAuth("client-1", secret)          # RFC 9421; scheme="simple" for the simple scheme
    requests.post("https://api.example.com/orders", json={"id": 7}, auth=auth)

    import httpx
    from hmac_guard.client import HttpxAuth
    httpx.post("https://api.example.com/orders", json={"id": 7}, auth=HttpxAuth("client-1", secret))

Extra keyword arguments go to :class:`~hmac_guard.Signer` (``algorithm``, ``components``, ``tag``,
``label``, ``digest``, ``expires_in``…). The body must be in memory (bytes or str), not a stream:
the signature covers its digest.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._native import Signer

if TYPE_CHECKING:
    import httpx
    import requests

__all__ = ["HttpxAuth", "RequestsAuth", "host_header"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_header(url: str) -> tuple[str, str]:
    """``(Host header, origin-form target)`` for a URL, as HTTP clients send them (the port is
    left out when it is the scheme's default)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, target


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("latin-1")  # what http.client sends for a str body
    raise TypeError("hmac_guard can only sign a body that is in memory (bytes or str), not a stream")


class _Signing:
    def __init__(
        self, key_id: str | Signer, secret: bytes | str | None = None, **signer_options: Any
    ) -> None:
        if isinstance(key_id, Signer):
            self.signer = key_id
        else:
            if secret is None:
                raise TypeError("a secret is required")
            self.signer = Signer(key_id, secret, **signer_options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.signer!r})"


class RequestsAuth(_Signing):
    """``requests`` auth: ``requests.post(url, data=..., auth=RequestsAuth(key_id, secret))``."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        host, target = host_header(r.url or "")
        body = _body_bytes(r.body)
        headers = [("Host", host), *((k, v) for k, v in r.headers.items() if k.lower() != "host")]
        for name, value in self.signer.sign(
            r.method or "GET", target, headers, body, url_scheme=urlsplit(r.url or "").scheme
        ):
            r.headers[name] = value
        r.headers["Host"] = host  # send exactly the authority that was signed
        return r


try:
    import httpx as _httpx

    _HttpxBase: Any = _httpx.Auth
except ImportError:  # pragma: no cover - httpx is optional
    _HttpxBase = object


class HttpxAuth(_Signing, _HttpxBase):  # type: ignore[misc]
    """``httpx`` auth (sync and async clients): ``httpx.Client(auth=HttpxAuth(key_id, secret))``."""

    requires_request_body = True

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")
        headers = list(request.headers.multi_items())
        for name, value in self.signer.sign(
            request.method, target, headers, request.content, url_scheme=request.url.scheme
        ):
            request.headers[name] = value
        yield request
