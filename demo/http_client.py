"""The demo's HTTP client: one request per connection, headers exactly as given (the signature
headers included), the body sent whole or chunked, and the answer's status and JSON document."""

from __future__ import annotations

import http.client
import json
import select
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class Request:
    """A request as it goes on the wire (``Content-Length`` or the chunked framing is added)."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    chunked: bool = False


@dataclass
class Answer:
    status: int | None
    doc: Any = None
    error: str | None = None  # transport failure

    @property
    def code(self) -> str | None:
        """The ERR_* code: ``{"error": {"code"}}`` (Express, Flask, FastAPI) or a Feathers error's
        ``data.code``."""
        if not isinstance(self.doc, dict):
            return None
        for outer in ("error", "data"):
            inner = self.doc.get(outer)
            if isinstance(inner, dict) and isinstance(inner.get("code"), str):
                return str(inner["code"])
        return None


def get_json(port: int, target: str, timeout: float = 10) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        return resp.status, json_or_text(resp.read())
    finally:
        conn.close()


def json_or_text(raw: bytes) -> Any:
    """The body's JSON document, or (not JSON) its first 200 characters."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:200]


def exchange(port: int, req: Request, timeout: float = 15) -> Answer:
    """One request on its own connection, headers exactly as given, ``Content-Length`` added."""
    if req.chunked:
        return exchange_chunked(port, req, timeout)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(req.method, req.target, skip_host=True, skip_accept_encoding=True)
        for name, value in req.headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(req.body)))
        conn.putheader("Connection", "close")
        conn.endheaders(req.body or None)
        resp = conn.getresponse()
        return Answer(resp.status, json_or_text(resp.read()))
    except (OSError, http.client.HTTPException) as e:
        return Answer(None, error=f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def exchange_chunked(port: int, req: Request, timeout: float, piece: int = 16 * 1024) -> Answer:
    """Sends the body with ``Transfer-Encoding: chunked`` (no Content-Length), piece by piece,
    and stops sending as soon as the server answers -- as a client facing a 413 would."""
    head = f"{req.method} {req.target} HTTP/1.1\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in req.headers)
    head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return Answer(None, error=f"{type(e).__name__}: {e}")
    with sock:
        try:
            sock.sendall(head.encode("latin-1"))
            for offset in range(0, len(req.body), piece):
                if select.select([sock], [], [], 0.002)[0]:
                    break  # the server has answered: stop sending
                part = req.body[offset : offset + piece]
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed: read what it answered
        except OSError as e:
            return Answer(None, error=f"{type(e).__name__}: {e}")
        data = b""
        while True:
            try:
                got = sock.recv(65536)
            except ConnectionResetError:
                break
            except OSError as e:
                return Answer(None, error=f"{type(e).__name__}: {e}")
            if not got:
                break
            data += got
    return parse_response(data)


def parse_response(data: bytes) -> Answer:
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/"):
        return Answer(None, error=f"no HTTP answer (got {len(data)} bytes)")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2 :]
        body = out
    return Answer(int(parts[1]), json_or_text(body))


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
