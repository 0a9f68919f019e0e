#!/usr/bin/env python3
"""Writes the shared test vectors (see README.md) with Python's standard library only.

This is an independent implementation of the parts of RFC 9421 / RFC 9530 and of the simple
scheme (SPEC.md) needed to sign the positive cases, so the vectors check the Rust core instead of
echoing it. Negative cases are mutations of signed requests. Output is deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
NOW = 1_700_000_000


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def secret(name: str, length: int = 32) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{name}/{counter}".encode()).digest()
        counter += 1
    return out[:length]


K1 = secret("k1")
K2 = secret("k2", 64)
OTHER = secret("other")
KEYS = [
    {"id": "k1", "secret_b64": b64(K1), "algorithm": "hmac-sha256", "subject": "user:alice"},
    {"id": "k2", "secret_b64": b64(K2), "algorithm": "hmac-sha512", "subject": "user:bob"},
]
SECRETS = {"k1": (K1, "sha256"), "k2": (K2, "sha512")}
# RFC 9421 key ids are any sf-string: one with a space only (the verifier's fast path) and one with
# a space, quotes and a backslash (escaped in Signature-Input and in the signature base).
SPACE_ID = "ops team"
ODD_ID = 'ops "blue" \\ team'
K3 = secret("k3")
ODD_KEYS = KEYS + [
    {"id": SPACE_ID, "secret_b64": b64(K3), "algorithm": "hmac-sha256", "subject": "team:ops"},
    {"id": ODD_ID, "secret_b64": b64(K3), "algorithm": "hmac-sha256", "subject": "team:ops"},
]
SECRETS.update({SPACE_ID: (K3, "sha256"), ODD_ID: (K3, "sha256")})


def mac(secret_bytes: bytes, alg: str, data: bytes) -> bytes:
    return hmac.new(secret_bytes, data, alg).digest()


# --- RFC 9421, independently ------------------------------------------------------------------


def authority(host: str, scheme: str) -> str:
    host = host.lower()
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and host.endswith(default):
        host = host[: -len(default)]
    return host


def component_value(name: str, req: dict) -> str:
    target = req["target"]
    path, _, query = target.partition("?")
    has_query = "?" in target
    headers = req["headers"]
    host = next(v for n, v in headers if n.lower() == "host")
    if name == "@method":
        return req["method"]
    if name == "@authority":
        return authority(host, req["scheme"])
    if name == "@path":
        return path or "/"
    if name == "@query":
        return "?" + query if has_query else "?"
    if name == "@scheme":
        return req["scheme"]
    if name == "@request-target":
        return target
    if name == "@target-uri":
        return f"{req['scheme']}://{host}{target}"
    values = [v.strip(" \t") for n, v in headers if n.lower() == name.lower()]
    if not values:
        raise KeyError(name)
    return ", ".join(values)


def form_decode(s: str) -> bytes:
    """WHATWG application/x-www-form-urlencoded parsing of one name or value, as bytes."""
    raw = s.replace("+", " ").encode()
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i : i + 1] == b"%" and i + 2 < len(raw) and all(chr(c) in "0123456789abcdefABCDEF" for c in raw[i + 1 : i + 3]):
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def form_encode(b: bytes) -> str:
    """Percent-encode with the form-urlencoded set, space as %20 (RFC 9421 section 2.2.8)."""
    keep = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-._")
    return "".join(chr(c) if c in keep else f"%{c:02X}" for c in b)


def query_param(req: dict, pname: str) -> str:
    query = req["target"].partition("?")[2]
    for pair in query.split("&"):
        n, _, v = pair.partition("=")
        if form_encode(form_decode(n)) == pname:
            return form_encode(form_decode(v))
    raise KeyError(pname)


def content_digest(body: bytes, algs=("sha-256",)) -> str:
    parts = []
    for alg in algs:
        h = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}[alg](body).digest()
        parts.append(f"{alg}=:{b64(h)}:")
    return ", ".join(parts)


def sf_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sign_9421(
    req: dict,
    key_id: str = "k1",
    components=("@method", "@authority", "@path", "@query"),
    created: int | None = NOW,
    nonce: str | None = "nonce-0001-abcdef",
    extra_params: str = "",
    label: str = "sig1",
    digest_algs=("sha-256",),
    secret_override: bytes | None = None,
    base_suffix: str = "",
    keyid_param: bool = True,
) -> dict:
    """Adds Content-Digest (when covered), Signature-Input and Signature to req."""
    body = base64.b64decode(req.get("body_b64", ""))
    components = list(components)
    covers_digest = any(c == "content-digest" or (isinstance(c, tuple) and c[1] == "content-digest") for c in components)
    if body and not covers_digest and digest_algs:
        components.append("content-digest")
    if (covers_digest or "content-digest" in components) and not any(n.lower() == "content-digest" for n, _ in req["headers"]):
        req["headers"].append(["Content-Digest", content_digest(body, digest_algs)])
    lines = []
    ids = []
    for c in components:
        if isinstance(c, tuple) and c[0] == "key":  # ("key", field, member): one dictionary member
            ident = f"{sf_string(c[1])};key={sf_string(c[2])}"
            members = dict(m.split("=", 1) for m in component_value(c[1], req).split(", "))
            value = members[c[2]]
        elif isinstance(c, tuple):  # ("@query-param", "name")
            ident = f'"@query-param";name={sf_string(c[1])}'
            value = query_param(req, c[1])
        else:
            ident = sf_string(c)
            value = component_value(c, req)
        ids.append(ident)
        lines.append(f"{ident}: {value}")
    params = ""
    if created is not None:
        params += f";created={created}"
    if nonce is not None:
        params += f";nonce={sf_string(nonce)}"
    if keyid_param:
        params += f";keyid={sf_string(key_id)}"
    params += extra_params
    member = "(" + " ".join(ids) + ")" + params
    base = "\n".join(lines + [f'"@signature-params": {member}']) + base_suffix
    secret_bytes, alg = SECRETS.get(key_id, (OTHER, "sha256"))
    if secret_override is not None:
        secret_bytes = secret_override
    sig = mac(secret_bytes, alg, base.encode())
    req["headers"].append(["Signature-Input", f"{label}={member}"])
    req["headers"].append(["Signature", f"{label}=:{b64(sig)}:"])
    req["_base"] = base
    return req


# --- the simple scheme, independently (SPEC.md) ------------------------------------------------


def sign_simple(req: dict, key_id: str = "k1", timestamp: int = NOW, nonce: str = "simple-nonce-0001", secret_override=None) -> dict:
    body = base64.b64decode(req.get("body_b64", ""))
    content = hashlib.sha256(body).hexdigest()
    canonical = "\n".join(["HG1", req["method"], req["target"], str(timestamp), nonce, key_id, content])
    secret_bytes, alg = SECRETS.get(key_id, (OTHER, "sha256"))
    if secret_override is not None:
        secret_bytes = secret_override
    sig = mac(secret_bytes, alg, canonical.encode()).hex()
    req["headers"] += [
        ["X-HMAC-Key-Id", key_id],
        ["X-HMAC-Timestamp", str(timestamp)],
        ["X-HMAC-Nonce", nonce],
        ["X-HMAC-Content-SHA256", content],
        ["X-HMAC-Signature", sig],
    ]
    req["_base"] = canonical
    return req


# --- helpers -------------------------------------------------------------------------------------


def request(method="POST", target="/orders?id=7", body: bytes = b'{"amount": 10}', headers=None, scheme="https") -> dict:
    hs = [["Host", "api.example.com"]]
    if body:
        hs.append(["Content-Type", "application/json"])
        hs.append(["Content-Length", str(len(body))])
    hs += headers or []
    return {"method": method, "target": target, "scheme": scheme, "headers": hs, "body_b64": b64(body)}


def set_header(req: dict, name: str, value: str) -> dict:
    req["headers"] = [[n, v] for n, v in req["headers"] if n.lower() != name.lower()] + [[name, value]]
    return req


def drop_header(req: dict, name: str) -> dict:
    req["headers"] = [[n, v] for n, v in req["headers"] if n.lower() != name.lower()]
    return req


def ok(name, scheme, req, key_id="k1", subject="user:alice", nonce=None, policy=None, keys=None, **extra):
    base = req.pop("_base", None)
    expect = {"ok": True, "key_id": key_id, "subject": subject}
    if nonce is not None:
        expect["nonce"] = nonce
    if base is not None:
        expect["signature_base"] = base
    case = {"name": name, "scheme": scheme, "policy": policy or {}, "keys": keys or KEYS, "now": NOW, "request": req, "expect": expect}
    case.update(extra)
    return case


def bad(name, scheme, req, error, policy=None, keys=None, **extra):
    req.pop("_base", None)
    case = {"name": name, "scheme": scheme, "policy": policy or {}, "keys": keys or KEYS, "now": NOW, "request": req, "expect": {"ok": False, "error": error}}
    case.update(extra)
    return case


def tamper_body(req: dict, body: bytes) -> dict:
    req["body_b64"] = b64(body)
    return set_header(req, "Content-Length", str(len(body)))


# --- RFC 9421 appendix B.2.5 ---------------------------------------------------------------------

B25_SECRET = base64.b64decode("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==")
B25_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"'
)
B25_KEYS = [{"id": "test-shared-secret", "secret_b64": b64(B25_SECRET), "algorithm": "hmac-sha256"}]
B25_POLICY = {"required_components": [], "required_params": ["created", "keyid"], "require_nonce": False, "max_age_secs": 300}


def b25_request(body: bytes = b"", signature: str = "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=") -> dict:
    hs = [
        ["Host", "example.com"],
        ["Date", "Tue, 20 Apr 2021 02:07:55 GMT"],
        ["Content-Type", "application/json"],
    ]
    if body:
        hs.append(["Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"])
        hs.append(["Content-Length", str(len(body))])
    hs.append(["Signature-Input", 'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"'])
    hs.append(["Signature", f"sig-b25=:{signature}:"])
    return {"method": "POST", "target": "/foo?param=Value&Pet=dog", "scheme": "http", "headers": hs, "body_b64": b64(body)}


def rfc9421_cases() -> list:
    assert b64(hmac.new(B25_SECRET, B25_BASE.encode(), "sha256").digest()) == "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="
    cases = []
    b25_now = {"now": 1618884475}
    c = ok("rfc9421-b25-hmac-sha256", "rfc9421", b25_request(), key_id="test-shared-secret", subject=None, policy=B25_POLICY, keys=B25_KEYS)
    c["expect"]["signature_base"] = B25_BASE
    c.update(b25_now)
    cases.append(c)
    # The appendix request has a body but B.2.5 does not cover content-digest: hmac-guard refuses
    # an unauthenticated body by design.
    c = bad("rfc9421-b25-with-unbound-body", "rfc9421", b25_request(b'{"hello": "world"}'), "ERR_DIGEST_REQUIRED", policy=B25_POLICY, keys=B25_KEYS)
    c.update(b25_now)
    cases.append(c)
    c = bad(
        "rfc9421-b25-trailing-newline-base",
        "rfc9421",
        b25_request(signature="+fep01MNDbkKBi26gY50tRwPw0QUF/5Tq9pGatYX9Pk="),
        "ERR_SIGNATURE_MISMATCH",
        policy=B25_POLICY,
        keys=B25_KEYS,
    )
    c.update(b25_now)
    cases.append(c)

    n = "nonce-0001-abcdef"
    cases.append(ok("rfc9421-post-json-sha256", "rfc9421", sign_9421(request()), nonce=n))
    cases.append(ok("rfc9421-post-json-sha512-key", "rfc9421", sign_9421(request(), key_id="k2"), key_id="k2", subject="user:bob", nonce=n))
    cases.append(ok("rfc9421-get-no-body", "rfc9421", sign_9421(request("GET", "/orders", b"")), nonce=n))
    cases.append(ok("rfc9421-empty-path-and-query", "rfc9421", sign_9421(request("GET", "/", b"")), nonce=n))
    cases.append(ok("rfc9421-alg-param", "rfc9421", sign_9421(request(), extra_params=';alg="hmac-sha256"'), nonce=n))
    cases.append(ok("rfc9421-expires-param", "rfc9421", sign_9421(request(), extra_params=f";expires={NOW + 60}"), nonce=n))
    cases.append(
        ok("rfc9421-tag-required", "rfc9421", sign_9421(request(), extra_params=';tag="orders-api"'), nonce=n, policy={"required_tag": "orders-api"})
    )
    cases.append(
        ok(
            "rfc9421-derived-components",
            "rfc9421",
            sign_9421(
                request(target="/a/b?x=1&Pet=dog&empty="),
                components=("@method", "@authority", "@path", "@query", "@target-uri", "@scheme", "@request-target", ("@query-param", "Pet"), ("@query-param", "empty")),
            ),
            nonce=n,
        )
    )
    cases.append(
        ok(
            "rfc9421-query-param-encoding",
            "rfc9421",
            sign_9421(
                request(target="/s?q=a+b%20c%7E&na%6De=x&big=this%20is%20a%20big%0Avalue"),
                components=("@method", "@authority", "@path", "@query", ("@query-param", "q"), ("@query-param", "name"), ("@query-param", "big")),
            ),
            nonce=n,
        )
    )
    cases.append(
        ok(
            "rfc9421-repeated-header-joined",
            "rfc9421",
            sign_9421(
                request(headers=[["X-Tenant", " acme "], ["x-tenant", "beta"]]),
                components=("@method", "@authority", "@path", "@query", "x-tenant", "content-type"),
            ),
            nonce=n,
        )
    )
    cases.append(ok("rfc9421-host-default-port", "rfc9421", sign_9421(set_header(request(), "Host", "API.Example.com:443")), nonce=n))
    cases.append(
        ok("rfc9421-streamed-in-7-byte-chunks", "rfc9421", sign_9421(request(body=b"x" * 1000)), nonce=n, chunk_size=7)
    )
    binary = bytes(range(256)) * 4
    cases.append(ok("rfc9421-binary-body", "rfc9421", sign_9421(set_header(request(body=binary), "Content-Type", "application/octet-stream")), nonce=n))
    cases.append(ok("rfc9421-content-digest-sha512", "rfc9421", sign_9421(request(), digest_algs=("sha-512",)), nonce=n))
    cases.append(
        ok(
            "rfc9421-content-digest-one-member-covered",
            "rfc9421",
            sign_9421(request(), components=("@method", "@authority", "@path", "@query", ("key", "content-digest", "sha-512")), digest_algs=("sha-512",)),
            nonce=n,
        )
    )
    cases.append(ok("rfc9421-content-digest-both", "rfc9421", sign_9421(request(), digest_algs=("sha-512", "sha-256")), nonce=n))
    cases.append(ok("rfc9421-content-digest-both-sha256-first", "rfc9421", sign_9421(request(), digest_algs=("sha-256", "sha-512")), nonce=n))
    cases.append(
        ok(
            "rfc9421-no-content-length-streamed",
            "rfc9421",
            sign_9421(drop_header(request(body=b"y" * 300), "Content-Length")),
            nonce=n,
            chunk_size=64,
        )
    )
    for name, key_id in (("rfc9421-keyid-with-space", SPACE_ID), ("rfc9421-keyid-with-quotes-and-backslash", ODD_ID)):
        cases.append(ok(name, "rfc9421", sign_9421(request(), key_id=key_id), key_id=key_id, subject="team:ops", nonce=n, keys=ODD_KEYS))
    r = set_header(drop_header(request(body=b"c" * 300), "Content-Length"), "Transfer-Encoding", "gzip, chunked")
    cases.append(ok("rfc9421-transfer-encoding-chunked-last", "rfc9421", sign_9421(r), nonce=n, chunk_size=100))
    # Two signatures; the policy accepts only the second label.
    r = sign_9421(request(), label="proxy", key_id="k2", nonce="proxy-nonce-0001")
    r.pop("_base")
    r = sign_9421(r, label="app", nonce="app-nonce-00001")
    sig_inputs = [v for k, v in r["headers"] if k == "Signature-Input"]
    sigs = [v for k, v in r["headers"] if k == "Signature"]
    r["headers"] = [[k, v] for k, v in r["headers"] if k not in ("Signature-Input", "Signature")]
    r["headers"] += [["Signature-Input", ", ".join(sig_inputs)], ["Signature", ", ".join(sigs)]]
    cases.append(ok("rfc9421-second-label-accepted", "rfc9421", r, nonce="app-nonce-00001", policy={"accepted_labels": ["app"]}))
    cases.append(
        ok(
            "rfc9421-key-inside-validity-window",
            "rfc9421",
            sign_9421(request()),
            nonce=n,
            keys=[dict(KEYS[0], not_before=NOW - 10, not_after=NOW + 10)],
        )
    )
    cases += url_scheme_cases()
    return cases


# How the request reached the server: the adapter's scheme, the core's default (https) when it
# cannot tell (""), and a trusted proxy's Forwarded / X-Forwarded-* headers (the last element).
URL_COMPONENTS = ("@method", "@authority", "@path", "@query", "@scheme", "@target-uri")
TRUST = {"trust_proxy": True}


def behind_proxy(req: dict, *forwarded) -> dict:
    """The signed request as a TLS-terminating proxy passes it on: plain http, internal Host."""
    req["scheme"] = "http"
    set_header(req, "Host", "backend.internal:8080")
    req["headers"] += [list(h) for h in forwarded]
    return req


def url_scheme_cases() -> list:
    n = "nonce-0001-abcdef"
    xf = (("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example.com"))
    rfc7239 = (("Forwarded", 'for=192.0.2.60;proto=http;host=evil.example, for=10.0.0.2;proto=https;host="api.example.com"'),)
    unknown = sign_9421(request(), components=URL_COMPONENTS)
    unknown["scheme"] = ""
    return [
        ok("rfc9421-url-scheme-https", "rfc9421", sign_9421(request(), components=URL_COMPONENTS), nonce=n),
        ok("rfc9421-url-scheme-http", "rfc9421", sign_9421(request(scheme="http"), components=URL_COMPONENTS), nonce=n),
        ok("rfc9421-url-scheme-unknown-is-https", "rfc9421", unknown, nonce=n),
        ok("rfc9421-trusted-proxy-x-forwarded", "rfc9421", behind_proxy(sign_9421(request(), components=URL_COMPONENTS), *xf), nonce=n, policy=TRUST),
        ok("rfc9421-trusted-proxy-forwarded-last-element", "rfc9421", behind_proxy(sign_9421(request(), components=URL_COMPONENTS), *rfc7239), nonce=n, policy=TRUST),
    ]


def url_scheme_negatives() -> list:
    xf = (("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example.com"))
    http_as_https = sign_9421(request(scheme="http"), components=URL_COMPONENTS)
    http_as_https["scheme"] = "https"
    unknown_signed_http = sign_9421(request(scheme="http"), components=URL_COMPONENTS)
    unknown_signed_http["scheme"] = ""
    first_element = (("X-Forwarded-Proto", "https, http"),)
    return [
        bad("neg-signed-for-http-arrived-by-https", "rfc9421", http_as_https, "ERR_SIGNATURE_MISMATCH"),
        bad("neg-unknown-scheme-is-https-not-http", "rfc9421", unknown_signed_http, "ERR_SIGNATURE_MISMATCH"),
        bad("neg-proxy-headers-ignored-unless-trusted", "rfc9421", behind_proxy(sign_9421(request(), components=URL_COMPONENTS), *xf), "ERR_SIGNATURE_MISMATCH"),
        bad("neg-trusted-proxy-only-its-own-element", "rfc9421", behind_proxy(sign_9421(request(), components=URL_COMPONENTS), *first_element), "ERR_SIGNATURE_MISMATCH", policy=TRUST),
        bad("neg-trusted-proxy-scheme-not-http", "rfc9421", behind_proxy(sign_9421(request(), components=URL_COMPONENTS), ("X-Forwarded-Proto", "ftp")), "ERR_MALFORMED_HEADER", policy=TRUST),
        bad("neg-trusted-proxy-host-not-a-host", "rfc9421", behind_proxy(sign_9421(request(), components=URL_COMPONENTS), ("X-Forwarded-Host", "api.example.com/evil")), "ERR_MALFORMED_HEADER", policy=TRUST),
    ]


def negative_cases() -> list:
    cases = []
    R = "rfc9421"

    def signed(**kw):
        return sign_9421(request(), **kw)

    cases.append(bad("neg-no-signature", R, request(), "ERR_MISSING_SIGNATURE"))
    cases.append(bad("neg-signature-without-input", R, drop_header(signed(), "Signature-Input"), "ERR_MISSING_HEADER"))
    cases.append(bad("neg-input-without-signature", R, drop_header(signed(), "Signature"), "ERR_MISSING_HEADER"))
    cases.append(bad("neg-input-unparsable", R, set_header(signed(), "Signature-Input", "sig1=("), "ERR_MALFORMED_SIGNATURE"))
    r = signed()
    inp = next(v for k, v in r["headers"] if k == "Signature-Input")
    cases.append(bad("neg-duplicate-label", R, set_header(r, "Signature-Input", inp + ", " + inp), "ERR_MALFORMED_SIGNATURE"))
    r = signed()
    cases.append(bad("neg-non-ascii-input", R, set_header(r, "Signature-Input", inp.replace("nonce-0001", "nonce-ü001")), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("neg-bad-base64", R, set_header(signed(), "Signature", "sig1=:not*base64:"), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("neg-label-mismatch", R, set_header(signed(), "Signature", "other=:AAAA:"), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("neg-signature-not-bytes", R, set_header(signed(), "Signature", 'sig1="abc"'), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("neg-input-not-inner-list", R, set_header(signed(), "Signature-Input", 'sig1="@method";created=1'), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("neg-component-twice", R, signed(components=("@method", "@method", "@authority", "@path", "@query")), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("neg-uppercase-field-name", R, signed(components=("@method", "@authority", "@path", "@query", "Content-Type")), "ERR_MALFORMED_SIGNATURE"))
    r = signed()
    cases.append(
        bad("neg-signature-params-covered", R, set_header(r, "Signature-Input", inp.replace('("@method"', '("@signature-params" "@method"')), "ERR_MALFORMED_SIGNATURE")
    )
    many = tuple(["@method", "@authority", "@path", "@query"] + [f"x-h{i}" for i in range(30)])
    r = request(headers=[[f"X-H{i}", "v"] for i in range(30)])
    cases.append(bad("neg-too-many-components", R, sign_9421(r, components=many), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("neg-header-too-large", R, signed(extra_params=';tag="' + "t" * 9000 + '"'), "ERR_HEADER_TOO_LARGE"))
    cases.append(bad("neg-label-not-accepted", R, signed(), "ERR_LABEL_NOT_ACCEPTED", policy={"accepted_labels": ["other"]}))
    cases.append(bad("neg-no-created", R, signed(created=None), "ERR_MISSING_PARAMETER"))
    cases.append(bad("neg-no-nonce", R, signed(nonce=None), "ERR_MISSING_PARAMETER"))
    cases.append(bad("neg-no-keyid", R, signed(keyid_param=False), "ERR_MISSING_PARAMETER", policy={"required_params": ["created", "nonce"]}))
    cases.append(bad("neg-tag-missing", R, signed(), "ERR_MISSING_PARAMETER", policy={"required_tag": "orders-api"}))
    cases.append(bad("neg-unknown-parameter", R, signed(extra_params=";foo=1"), "ERR_INVALID_PARAMETER"))
    r = signed()
    cases.append(bad("neg-created-not-integer", R, set_header(r, "Signature-Input", inp.replace(f"created={NOW}", f'created="{NOW}"')), "ERR_INVALID_PARAMETER"))
    cases.append(bad("neg-nonce-too-short", R, signed(nonce="abc"), "ERR_INVALID_PARAMETER"))
    cases.append(bad("neg-tag-mismatch", R, signed(extra_params=';tag="other-app"'), "ERR_INVALID_PARAMETER", policy={"required_tag": "orders-api"}))
    cases.append(bad("neg-expires-before-created", R, signed(extra_params=f";expires={NOW - 100}"), "ERR_INVALID_PARAMETER"))
    cases.append(bad("neg-required-component-missing", R, signed(components=("@method",)), "ERR_MISSING_COMPONENT"))
    r = sign_9421(request(headers=[["X-Request-Id", "r1"]]), components=("@method", "@authority", "@path", "@query", "x-request-id"))
    cases.append(bad("neg-covered-header-absent", R, drop_header(r, "X-Request-Id"), "ERR_COMPONENT_NOT_FOUND"))
    r = signed()
    cases.append(bad("neg-status-component", R, set_header(r, "Signature-Input", inp.replace('("@method"', '("@status" "@method"')), "ERR_UNSUPPORTED_COMPONENT"))
    r = signed()
    cases.append(bad("neg-req-flag", R, set_header(r, "Signature-Input", inp.replace('"@query"', '"@query" "content-type";req')), "ERR_UNSUPPORTED_COMPONENT"))
    r = signed()
    cases.append(bad("neg-unknown-derived", R, set_header(r, "Signature-Input", inp.replace('("@method"', '("@foo" "@method"')), "ERR_UNSUPPORTED_COMPONENT"))
    cases.append(bad("neg-unsupported-alg", R, signed(extra_params=';alg="rsa-pss-sha512"'), "ERR_UNSUPPORTED_ALGORITHM"))
    cases.append(bad("neg-unknown-key", R, signed(key_id="nobody"), "ERR_UNKNOWN_KEY"))
    cases.append(bad("neg-key-not-yet-valid", R, signed(), "ERR_KEY_NOT_YET_VALID", keys=[dict(KEYS[0], not_before=NOW + 100)]))
    cases.append(bad("neg-key-expired", R, signed(), "ERR_KEY_EXPIRED", keys=[dict(KEYS[0], not_after=NOW)]))
    cases.append(bad("neg-alg-mismatch", R, signed(extra_params=';alg="hmac-sha512"'), "ERR_ALGORITHM_MISMATCH"))
    cases.append(bad("neg-timestamp-expired", R, signed(created=NOW - 301), "ERR_TIMESTAMP_EXPIRED"))
    cases.append(bad("neg-timestamp-future", R, signed(created=NOW + 31), "ERR_TIMESTAMP_IN_FUTURE"))
    cases.append(bad("neg-signature-expired", R, signed(extra_params=f";expires={NOW}"), "ERR_SIGNATURE_EXPIRED"))
    r = signed()
    r["target"] = "/orders/other?id=7"
    cases.append(bad("neg-tampered-path", R, r, "ERR_SIGNATURE_MISMATCH"))
    r = signed()
    r["target"] = "/orders?id=8"
    cases.append(bad("neg-tampered-query", R, r, "ERR_SIGNATURE_MISMATCH"))
    r = signed()
    r["method"] = "PUT"
    cases.append(bad("neg-tampered-method", R, r, "ERR_SIGNATURE_MISMATCH"))
    r = signed()
    r["target"] = "https://evil.example.com/orders?id=7"
    cases.append(bad("neg-absolute-target-other-host", R, r, "ERR_MALFORMED_HEADER"))
    cases.append(bad("neg-tampered-host", R, set_header(signed(), "Host", "evil.example.com"), "ERR_SIGNATURE_MISMATCH"))
    cases.append(bad("neg-wrong-secret", R, signed(secret_override=OTHER), "ERR_SIGNATURE_MISMATCH"))
    cases.append(bad("neg-trailing-newline-base", R, signed(base_suffix="\n"), "ERR_SIGNATURE_MISMATCH"))
    # A signer that put the key id into the base without sf-string escapes signed another base.
    r = sign_9421(request(), key_id=ODD_ID)
    naive = r.pop("_base").replace(sf_string(ODD_ID), f'"{ODD_ID}"')
    assert sf_string(ODD_ID) != f'"{ODD_ID}"'
    r = set_header(r, "Signature", f"sig1=:{b64(mac(K3, 'sha256', naive.encode()))}:")
    cases.append(bad("neg-keyid-unescaped-in-base", R, r, "ERR_SIGNATURE_MISMATCH", keys=ODD_KEYS))
    cases.append(bad("neg-truncated-signature", R, set_header(signed(), "Signature", "sig1=:AAAAAAAAAAAAAAAAAAAAAA==:"), "ERR_SIGNATURE_MISMATCH"))
    cases.append(bad("neg-body-without-digest", R, signed(digest_algs=()), "ERR_DIGEST_REQUIRED"))
    r = request()
    r["headers"].append(["Content-Digest", "md5=:rL0Y20zC+Fzt72VPzMSk2A==:"])
    cases.append(bad("neg-digest-md5-only", R, sign_9421(r, components=("@method", "@authority", "@path", "@query", "content-digest")), "ERR_UNSUPPORTED_DIGEST"))
    r = request()
    r["headers"].append(["Content-Digest", "sha-256=:abc"])
    cases.append(bad("neg-digest-malformed", R, sign_9421(r, components=("@method", "@authority", "@path", "@query", "content-digest")), "ERR_MALFORMED_HEADER"))
    # Only the sha-512 member is covered: a sha-256 member added for a substituted body must not bind it.
    r = sign_9421(request(), components=("@method", "@authority", "@path", "@query", ("key", "content-digest", "sha-512")), digest_algs=("sha-512",))
    evil = b'{"amount": 99}'
    orig = next(v for k, v in r["headers"] if k == "Content-Digest")
    r = set_header(tamper_body(r, evil), "Content-Digest", orig + ", " + content_digest(evil, ("sha-256",)))
    cases.append(bad("neg-digest-member-substitution", R, r, "ERR_DIGEST_MISMATCH"))
    # The whole field is covered and carries both digests: each must match the body, whichever
    # is wrong and whichever comes first (a signer's wrong digest is not excused by a right one).
    body = base64.b64decode(request()["body_b64"])
    for wrong in ("sha-256", "sha-512"):
        for first in ("sha-256", "sha-512"):
            order = (first, "sha-512" if first == "sha-256" else "sha-256")
            members = [content_digest(b"other body" if alg == wrong else body, (alg,)) for alg in order]
            r = request(headers=[["Content-Digest", ", ".join(members)]])
            r = sign_9421(r, components=("@method", "@authority", "@path", "@query", "content-digest"))
            cases.append(bad(f"neg-digest-both-wrong-{wrong}-{first}-first", R, r, "ERR_DIGEST_MISMATCH"))
    cases.append(bad("neg-tampered-body", R, tamper_body(signed(), b'{"amount": 99}'), "ERR_DIGEST_MISMATCH"))
    cases.append(bad("neg-tampered-body-streamed", R, tamper_body(signed(), b'{"amount": 99}'), "ERR_DIGEST_MISMATCH", chunk_size=3))
    cases.append(bad("neg-content-length-over-limit", R, set_header(signed(), "Content-Length", "2000000"), "ERR_BODY_TOO_LARGE"))
    big = sign_9421(drop_header(request(body=b"z" * 5000), "Content-Length"))
    cases.append(bad("neg-streamed-over-limit", R, big, "ERR_BODY_TOO_LARGE", policy={"body_limit": 4096}, chunk_size=1024))
    cases.append(bad("neg-body-shorter-than-length", R, set_header(signed(), "Content-Length", "100"), "ERR_BODY_LENGTH_MISMATCH"))
    cases.append(bad("neg-body-longer-than-length", R, set_header(signed(), "Content-Length", "3"), "ERR_BODY_LENGTH_MISMATCH"))
    # Request intake (RFC 9112 section 6.1/6.3): framing the verifier cannot trust, a method that
    # is not a bounded token. Refused before the signature is parsed.
    cases.append(bad("neg-transfer-encoding-and-content-length", R, set_header(signed(), "Transfer-Encoding", "chunked"), "ERR_BAD_FRAMING"))
    for name, te in (("neg-transfer-encoding-gzip", "gzip"), ("neg-transfer-encoding-chunked-then-gzip", "chunked, gzip")):
        r = set_header(drop_header(request(), "Content-Length"), "Transfer-Encoding", te)
        cases.append(bad(name, R, sign_9421(r), "ERR_BAD_FRAMING"))
    r = signed()
    r["method"] = "P" * 9000
    cases.append(bad("neg-method-too-long", R, r, "ERR_HEADER_TOO_LARGE"))
    cases.append(bad("neg-method-not-a-token", R, sign_9421(request(method="GET /evil")), "ERR_MALFORMED_HEADER"))
    cases.append(bad("neg-content-length-garbage", R, set_header(signed(), "Content-Length", "12abc"), "ERR_MALFORMED_HEADER"))
    r = request(headers=[["X-Note", "a\u0001b"]])
    cases.append(bad("neg-control-char-in-covered-field", R, sign_9421(r, components=("@method", "@authority", "@path", "@query", "x-note")), "ERR_MALFORMED_HEADER"))
    cases.append(bad("neg-replay", R, signed(), "ERR_REPLAY", attempts=2))
    r1 = sign_9421(request(), nonce="first-nonce-0001")
    r1.pop("_base")
    cases.append(
        bad(
            "neg-store-quota-full",
            R,
            signed(nonce="second-nonce-001"),
            "ERR_REPLAY_STORE_FULL",
            policy={"store_capacity": 100, "store_per_key_quota": 1},
            before=[r1],
        )
    )
    short = [dict(KEYS[0], secret_b64=b64(secret("short", 16)))]
    cases.append(bad("neg-short-secret", R, signed(), "ERR_INVALID_CONFIG", keys=short))

    S = "simple"

    def ssigned(**kw):
        return sign_simple(request(), **kw)

    cases.append(bad("simple-neg-unsigned", S, request(), "ERR_MISSING_SIGNATURE"))
    cases.append(bad("simple-neg-no-timestamp", S, drop_header(ssigned(), "X-HMAC-Timestamp"), "ERR_MISSING_HEADER"))
    cases.append(bad("simple-neg-no-digest-header", S, drop_header(ssigned(), "X-HMAC-Content-SHA256"), "ERR_MISSING_HEADER"))
    cases.append(bad("simple-neg-timestamp-not-digits", S, set_header(ssigned(), "X-HMAC-Timestamp", "17e8"), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("simple-neg-digest-uppercase", S, set_header(ssigned(), "X-HMAC-Content-SHA256", hashlib.sha256(b'{"amount": 10}').hexdigest().upper()), "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("simple-neg-nonce-bad-chars", S, ssigned(nonce="bad nonce with spaces"), "ERR_MALFORMED_SIGNATURE"))
    # HG1's key id header has no space, quote or backslash, even for a key RFC 9421 accepts.
    cases.append(bad("simple-neg-key-id-with-space", S, sign_simple(request(), key_id=SPACE_ID), "ERR_MALFORMED_SIGNATURE", keys=ODD_KEYS))
    cases.append(bad("simple-neg-signature-not-hex", S, set_header(ssigned(), "X-HMAC-Signature", "xyz"), "ERR_MALFORMED_SIGNATURE"))
    r = ssigned()
    r["headers"].append(["X-HMAC-Nonce", "another-nonce-01"])
    cases.append(bad("simple-neg-repeated-header", S, r, "ERR_MALFORMED_SIGNATURE"))
    cases.append(bad("simple-neg-tampered-body", S, tamper_body(ssigned(), b'{"amount": 99}'), "ERR_DIGEST_MISMATCH"))
    r = ssigned()
    r["target"] = "/orders?id=8"
    cases.append(bad("simple-neg-tampered-query", S, r, "ERR_SIGNATURE_MISMATCH"))
    cases.append(bad("simple-neg-wrong-secret", S, ssigned(secret_override=OTHER), "ERR_SIGNATURE_MISMATCH"))
    cases.append(bad("simple-neg-unknown-key", S, ssigned(key_id="nobody"), "ERR_UNKNOWN_KEY"))
    cases.append(bad("simple-neg-expired", S, ssigned(timestamp=NOW - 301), "ERR_TIMESTAMP_EXPIRED"))
    cases.append(bad("simple-neg-replay", S, ssigned(), "ERR_REPLAY", attempts=2))
    cases.append(bad("simple-neg-transfer-encoding-and-content-length", S, set_header(ssigned(), "Transfer-Encoding", "chunked"), "ERR_BAD_FRAMING"))
    r = ssigned()
    r["method"] = "P" * 9000
    cases.append(bad("simple-neg-method-too-long", S, r, "ERR_HEADER_TOO_LARGE"))
    cases += url_scheme_negatives()
    return [c for c in cases if c is not None]


def simple_cases() -> list:
    cases = []
    n = "simple-nonce-0001"
    cases.append(ok("simple-post-json", "simple", sign_simple(request()), nonce=n))
    cases.append(ok("simple-get-empty-body", "simple", sign_simple(request("GET", "/orders?page=2&sort=-date", b"")), nonce=n))
    cases.append(ok("simple-sha512-key", "simple", sign_simple(request(), key_id="k2"), key_id="k2", subject="user:bob", nonce=n))
    r = sign_simple(request())
    sig = next(v for k, v in r["headers"] if k == "X-HMAC-Signature")
    cases.append(ok("simple-uppercase-hex-signature", "simple", set_header(r, "X-HMAC-Signature", sig.upper()), nonce=n))
    cases.append(ok("simple-streamed", "simple", sign_simple(request(body=bytes(range(256)) * 40)), nonce=n, chunk_size=1000))
    return cases


def hmac_cases() -> list:
    """RFC 4231 §4: cases 1-4 and 6-7 (case 5 is truncated output)."""
    tc = [
        ("rfc4231-1", "0b" * 20, b"Hi There"),
        ("rfc4231-2", b"Jefe".hex(), b"what do ya want for nothing?"),
        ("rfc4231-3", "aa" * 20, bytes([0xDD] * 50)),
        ("rfc4231-4", "0102030405060708090a0b0c0d0e0f10111213141516171819", bytes([0xCD] * 50)),
        ("rfc4231-6", "aa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First"),
        (
            "rfc4231-7",
            "aa" * 131,
            b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
        ),
    ]
    known = {
        ("rfc4231-6", "sha256"): "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ("rfc4231-7", "sha256"): "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    }
    cases = []
    for name, key_hex, data in tc:
        for alg in ("sha256", "sha512"):
            key = bytes.fromhex(key_hex)
            case = {"name": f"{name}-{alg}", "algorithm": f"hmac-{alg}", "key_hex": key_hex}
            if len(key) < 32:
                case["error"] = "ERR_INVALID_CONFIG"
            else:
                case["data_hex"] = data.hex()
                case["mac_hex"] = hmac.new(key, data, alg).hexdigest()
                if (name, alg) in known:
                    assert case["mac_hex"] == known[(name, alg)], name
            cases.append(case)
    return cases


def digest_cases() -> list:
    body = b'{"hello": "world"}'
    cases = [
        {"name": "rfc9530-d-sha256", "body_b64": b64(body), "algorithm": "sha-256", "header": "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"},
        {
            "name": "rfc9530-d-sha512",
            "body_b64": b64(body),
            "algorithm": "sha-512",
            "header": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        },
        {"name": "empty-body-sha256", "body_b64": "", "algorithm": "sha-256", "header": content_digest(b"")},
    ]
    for c in cases:
        assert content_digest(base64.b64decode(c["body_b64"]), (c["algorithm"],)) == c["header"], c["name"]
    return cases


def write(name: str, kind: str, description: str, cases: list) -> None:
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), f"duplicate case names in {name}"
    doc = {"kind": kind, "description": description, "cases": cases}
    (HERE / name).write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")


def main() -> None:
    write("rfc9421.json", "request", "RFC 9421 positives, including Appendix B.2.5 (hmac-sha256)", rfc9421_cases())
    write("simple.json", "request", "Simple header scheme positives (SPEC.md)", simple_cases())
    write("negative.json", "request", "Every error code a request can produce, both schemes", negative_cases())
    write("hmac.json", "hmac", "RFC 4231 HMAC-SHA256/512 test cases; keys under 32 bytes must be refused", hmac_cases())
    write("content_digest.json", "content-digest", "RFC 9530 Appendix D digests", digest_cases())


if __name__ == "__main__":
    main()
