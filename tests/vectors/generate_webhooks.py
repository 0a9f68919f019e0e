#!/usr/bin/env python3
"""Writes tests/vectors/webhooks.json (kind "webhook", see README.md) with Python's standard
library only, independently of the Rust core.

Five presets: standard-webhooks, svix, stripe, github, slack, shopify's rules as the core
implements them (README.md, "kind webhook"). Published examples are embedded with the URL they
were read from, and this script asserts that its own HMAC computation reproduces each published
signature, so a mistyped published value fails loudly here. Stripe and Shopify publish no worked
example: their cases are derived from the documented algorithm and marked "derived": true.

Every case is also run through a small reference verifier below (the same rules, written out
again) so a vector whose expectation contradicts the rules cannot be written. Output is
deterministic. Run: python3 tests/vectors/generate_webhooks.py
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "webhooks.json"
TOLERANCE = 300
MAX_V1_ENTRIES = 8
MIN_KEY_LEN = {"standard-webhooks": 24, "svix": 24, "stripe": 24, "github": 8, "slack": 32,
               "shopify": 32}
NON_UTF8_BODY = b"\xff\xfe raw bytes \x80 end"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


# --- the signing rules, one function per preset ------------------------------------------------

SW_HEADERS = {"standard-webhooks": ("webhook-id", "webhook-timestamp", "webhook-signature"),
              "svix": ("svix-id", "svix-timestamp", "svix-signature")}


def key_of(preset: str, secret: str) -> bytes:
    if preset in SW_HEADERS:
        s = secret[len("whsec_"):] if secret.startswith("whsec_") else secret
        return base64.b64decode(s, validate=True)
    return secret.encode("utf-8")


def signed_bytes(preset: str, body: bytes, ts: int | str | None = None,
                 msg_id: str | None = None) -> bytes:
    if preset in SW_HEADERS:
        return f"{msg_id}.{ts}.".encode() + body
    if preset == "stripe":
        return f"{ts}.".encode() + body
    if preset == "slack":
        return f"v0:{ts}:".encode() + body
    return body  # github, shopify


def sw_sig(secret: str, msg_id: str, ts: int, body: bytes, preset="standard-webhooks") -> str:
    return "v1," + b64(mac(key_of(preset, secret), signed_bytes(preset, body, ts, msg_id)))


def stripe_v1(secret: str, ts: int, body: bytes) -> str:
    return mac(key_of("stripe", secret), signed_bytes("stripe", body, ts)).hex()


def github_sig(secret: str, body: bytes) -> str:
    return "sha256=" + mac(secret.encode(), body).hex()


def slack_sig(secret: str, ts: int | str, body: bytes) -> str:
    return "v0=" + mac(secret.encode(), signed_bytes("slack", body, ts)).hex()


def shopify_sig(secret: str, body: bytes) -> str:
    return b64(mac(secret.encode(), body))


# --- published examples: values as read from the sources, checked against our computation --------

def check_published(what: str, computed: str, published: str) -> None:
    if not hmac.compare_digest(computed, published):
        raise SystemExit(f"published example {what!r} not reproduced:\n  computed  {computed}\n"
                         f"  published {published}")


# Standard Webhooks reference libraries' signing test ("sign function works" / TestWebhookSign).
SW_SRC = ("https://github.com/standard-webhooks/standard-webhooks/blob/"
          "b2fa7b8719fb75d326b591077f5d1b385cfcdfae/libraries/javascript/src/webhook.test.ts "
          "(test \"sign function works\"; same values in libraries/go/webhook_test.go TestWebhookSign)")
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_PUBLISHED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
check_published("standard-webhooks", sw_sig(SW_SECRET, SW_ID, SW_TS, SW_BODY), SW_PUBLISHED)

# Svix's own library carries the same vector (svix-* headers in that test file).
SVIX_SRC = ("https://github.com/svix/svix-webhooks/blob/a5b9eca8e065d83481c2aad70cd04c11b0c40a06/"
            "javascript/src/webhook.test.ts (test \"sign function works\")")
check_published("svix", sw_sig(SW_SECRET, SW_ID, SW_TS, SW_BODY, "svix"), SW_PUBLISHED)

# GitHub docs, "Validating webhook deliveries" > "Testing the webhook payload validation".
GH_SRC = ("https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries "
          "(section \"Testing the webhook payload validation\")")
GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
GH_PUBLISHED = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
check_published("github docs", github_sig(GH_SECRET, GH_BODY), GH_PUBLISHED)

# octokit/webhooks-methods.js tests: secret "mysecret", payload JSON.stringify({foo: "bar"}).
OCTO_SRC = ("https://github.com/octokit/webhooks-methods.js/blob/"
            "da0cc1c471917c510e1cf6cf125ef2c7c177c82d/test/sign.test.ts and test/verify.test.ts")
OCTO_SECRET = "mysecret"
OCTO_BODY = b'{"foo":"bar"}'
OCTO_PUBLISHED = "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"
check_published("octokit foo/bar", github_sig(OCTO_SECRET, OCTO_BODY), OCTO_PUBLISHED)
# verify.test.ts, "(#71)": secret "development", toNormalizedJsonString(...) of two payloads
# (JSON.stringify, then \u escapes upper-cased). The bytes below are that output.
OCTO71_SECRET = "development"
OCTO71_BODY = ('{"foo":"Foo\\n\\u001B[34mbar: \u2665\u2665\u2665\u2665\u2665\u2665\u2665\u2665'
               '\\nthis-is-lost\\u001B[0m\\u001B[2K"}').encode("utf-8")
OCTO71_PUBLISHED = "sha256=afecc3caa27548bb90d51a50384cb2868b9a3327b4ad6a01c9bd4ed0f8b0b12c"
check_published("octokit #71 escapes", github_sig(OCTO71_SECRET, OCTO71_BODY), OCTO71_PUBLISHED)
OCTO71B_BODY = b'{"foo":"\\\\u001b"}'
OCTO71B_PUBLISHED = "sha256=6f8326efbacfbd04e870cea25b5652e635be8c9807f2fd5348ef60753c9e96ed"
check_published("octokit #71 escaped", github_sig(OCTO71_SECRET, OCTO71B_BODY), OCTO71B_PUBLISHED)

# Slack, "Verifying requests from Slack" walk-through (values as carried by Slack's own SDK test,
# which cites that page).
SLACK_SRC = ("https://docs.slack.dev/authentication/verifying-requests-from-slack/ (values read from "
             "https://github.com/slackapi/python-slack-sdk/blob/0756c47d234ec540b9106150d51ba3adb2c88b25/"
             "tests/slack_sdk/signature/test_signature_verifier.py, which cites that page)")
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TS = 1531420618
SLACK_BODY = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
              b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
              b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
              b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
              b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
SLACK_PUBLISHED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
check_published("slack", slack_sig(SLACK_SECRET, SLACK_TS, SLACK_BODY), SLACK_PUBLISHED)

# --- derived secrets (not from any provider; long enough for each preset's minimum) -------------

SW_SECRET_2 = "whsec_" + b64(hashlib.sha256(b"hmac-guard/standard-webhooks/2").digest())
SW_SECRET_3 = "whsec_" + b64(hashlib.sha256(b"hmac-guard/standard-webhooks/3").digest())
STRIPE_SECRET = "whsec_hmacguard_derived_stripe_secret_0001"
STRIPE_SECRET_2 = "whsec_hmacguard_derived_stripe_secret_0002"
STRIPE_SECRET_3 = "whsec_hmacguard_derived_stripe_secret_0003"
GH_SECRET_2 = "hmac-guard derived github secret 2"
SLACK_SECRET_2 = "hmacguard0derived0slack0secret02"
SLACK_SECRET_3 = "hmacguard0derived0slack0secret03"
SHOP_SECRET = "hmacguard_derived_shopify_secret_0001"
SHOP_SECRET_2 = "hmacguard_derived_shopify_secret_0002"
SHOP_SECRET_3 = "hmacguard_derived_shopify_secret_0003"

DERIVED_SRC = {
    "standard-webhooks": "derived: Standard Webhooks spec (spec/standard-webhooks.md), symmetric v1 "
                         "signatures over {id}.{timestamp}.{body}",
    "svix": "derived: Svix = the Standard Webhooks algorithm with svix-* headers "
            "(https://docs.svix.com/receiving/verifying-payloads/how-manual)",
    "stripe": "derived: Stripe's documented scheme (signed payload {t}.{body}, HMAC-SHA256 hex in v1=, "
              "key = the whsec_ endpoint secret string as shown); Stripe publishes no worked example",
    "github": "derived: GitHub docs algorithm (HMAC-SHA256 hex of the body, sha256= prefix)",
    "slack": "derived: Slack docs algorithm (v0:{timestamp}:{body}, HMAC-SHA256 hex, v0= prefix)",
    "shopify": "derived: Shopify's documented scheme (base64 HMAC-SHA256 of the raw body in "
               "X-Shopify-Hmac-Sha256, key = the app's client secret); Shopify publishes no worked example",
}

for p, secrets in {"standard-webhooks": [SW_SECRET, SW_SECRET_2, SW_SECRET_3],
                   "stripe": [STRIPE_SECRET, STRIPE_SECRET_2, STRIPE_SECRET_3],
                   "github": [GH_SECRET, OCTO_SECRET, GH_SECRET_2],
                   "slack": [SLACK_SECRET, SLACK_SECRET_2, SLACK_SECRET_3],
                   "shopify": [SHOP_SECRET, SHOP_SECRET_2, SHOP_SECRET_3]}.items():
    for s in secrets:
        assert len(key_of(p, s)) >= MIN_KEY_LEN[p], (p, s)


# --- a reference verifier: the rules once more, used to check every case's expectation ----------

class Fail(Exception):
    pass


def _json_obj(body: bytes):
    try:
        v = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return v if isinstance(v, dict) else None


def _str(v):
    return v if isinstance(v, str) else None


def _get(headers, name):
    vals = [v for k, v in headers if k.lower() == name.lower()]
    if len(vals) > 1:
        raise Fail("ERR_MALFORMED_SIGNATURE")
    return vals[0] if vals else None


def _ts(value: str) -> int:
    if not value or not value.isascii() or not value.isdigit():
        raise Fail("ERR_MALFORMED_SIGNATURE")
    return int(value)


def _window(ts: int, now: int) -> None:
    if now - ts > TOLERANCE:
        raise Fail("ERR_TIMESTAMP_EXPIRED")
    if ts - now > TOLERANCE:
        raise Fail("ERR_TIMESTAMP_IN_FUTURE")


def _match(secrets, candidates, compute):
    for i, s in enumerate(secrets):
        expected = compute(s)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return i
    raise Fail("ERR_SIGNATURE_MISMATCH")


def reference_verify(case: dict) -> dict:
    preset, secrets, now = case["preset"], case["secrets"], case["now"]
    headers, body = case["headers"], base64.b64decode(case["body_b64"])
    try:
        if preset in SW_HEADERS:
            h_id, h_ts, h_sig = SW_HEADERS[preset]
            if not any(k.lower() == h_sig for k, _ in headers):
                raise Fail("ERR_MISSING_SIGNATURE")
            sig, ts_s, msg_id = _get(headers, h_sig), _get(headers, h_ts), _get(headers, h_id)
            if ts_s is None or msg_id is None:
                raise Fail("ERR_MISSING_HEADER")
            ts = _ts(ts_s)
            cands = []
            for entry in sig.split(" "):
                if not entry:
                    continue
                if "," not in entry:
                    raise Fail("ERR_MALFORMED_SIGNATURE")
                version, value = entry.split(",", 1)
                if version == "v1":
                    cands.append(value.encode())
            cands = cands[:MAX_V1_ENTRIES]
            idx = _match(secrets, cands, lambda s: b64(mac(key_of(preset, s), signed_bytes(
                preset, body, ts_s, msg_id))).encode())
            _window(ts, now)
            obj = _json_obj(body)
            return {"ok": True, "secret_index": idx, "id": msg_id,
                    "type": _str(obj.get("type")) if obj else None}
        if preset == "stripe":
            sig = _get(headers, "Stripe-Signature")
            if sig is None:
                raise Fail("ERR_MISSING_SIGNATURE")
            items = [kv.split("=", 1) for kv in sig.split(",")]
            if any(len(kv) != 2 for kv in items):
                raise Fail("ERR_MALFORMED_SIGNATURE")
            ts_vals = [v for k, v in items if k == "t"]
            if len(ts_vals) != 1:
                raise Fail("ERR_MALFORMED_SIGNATURE")
            ts = _ts(ts_vals[0])
            cands = [v.encode() for k, v in items if k == "v1"]
            idx = _match(secrets, cands, lambda s: stripe_v1(s, ts_vals[0], body).encode())
            _window(ts, now)
            obj = _json_obj(body)
            return {"ok": True, "secret_index": idx,
                    "id": _str(obj.get("id")) if obj else None,
                    "type": _str(obj.get("type")) if obj else None}
        if preset == "github":
            sig = _get(headers, "X-Hub-Signature-256")
            if sig is None:
                raise Fail("ERR_MISSING_SIGNATURE")
            idx = _match(secrets, [sig.encode()], lambda s: github_sig(s, body).encode())
            return {"ok": True, "secret_index": idx, "id": _get(headers, "X-GitHub-Delivery"),
                    "type": _get(headers, "X-GitHub-Event")}
        if preset == "slack":
            sig = _get(headers, "X-Slack-Signature")
            if sig is None:
                raise Fail("ERR_MISSING_SIGNATURE")
            ts_s = _get(headers, "X-Slack-Request-Timestamp")
            if ts_s is None:
                raise Fail("ERR_MISSING_HEADER")
            ts = _ts(ts_s)
            idx = _match(secrets, [sig.encode()], lambda s: slack_sig(s, ts_s, body).encode())
            _window(ts, now)
            obj = _json_obj(body)
            ev_type = None
            if obj:
                ev = obj.get("event")
                ev_type = _str(ev.get("type")) if isinstance(ev, dict) else None
                if ev_type is None:
                    ev_type = _str(obj.get("type"))
            return {"ok": True, "secret_index": idx,
                    "id": _str(obj.get("event_id")) if obj else None, "type": ev_type}
        if preset == "shopify":
            sig = _get(headers, "X-Shopify-Hmac-Sha256")
            if sig is None:
                raise Fail("ERR_MISSING_SIGNATURE")
            idx = _match(secrets, [sig.encode()], lambda s: shopify_sig(s, body).encode())
            return {"ok": True, "secret_index": idx, "id": _get(headers, "X-Shopify-Webhook-Id"),
                    "type": _get(headers, "X-Shopify-Topic")}
        raise AssertionError(preset)
    except Fail as e:
        return {"error": e.args[0]}


# --- case building -------------------------------------------------------------------------------

CASES: list[dict] = []


def add(name, preset, secrets, now, headers, body, expect, signed=None, source=None, derived=True):
    case = {"name": name, "preset": preset,
            "source": source if source is not None else DERIVED_SRC[preset],
            "derived": derived, "secrets": list(secrets), "now": now,
            "headers": [list(h) for h in headers], "body_b64": b64(body), "expect": expect}
    if "ok" in expect:
        assert signed is not None, name
        case["signed_b64"] = b64(signed)
    got = reference_verify(case)
    assert got == expect, f"{name}: reference verifier says {got}, case expects {expect}"
    assert name not in {c["name"] for c in CASES}, name
    CASES.append(case)


def ok(idx, id_=None, type_=None):
    return {"ok": True, "secret_index": idx, "id": id_, "type": type_}


def err(code):
    return {"error": code}


def flip(body: bytes, at: int = -2) -> bytes:
    b = bytearray(body)
    b[at] ^= 0x01
    return bytes(b)


# --- standard-webhooks and svix ------------------------------------------------------------------

def sw_cases(p: str, src: str) -> None:
    h_id, h_ts, h_sig = SW_HEADERS[p]
    pub_signed = signed_bytes(p, SW_BODY, SW_TS, SW_ID)
    pub_h = [(h_id, SW_ID), (h_ts, str(SW_TS)), (h_sig, SW_PUBLISHED)]
    now = SW_TS + 5
    add(f"{p}-published", p, [SW_SECRET], now, pub_h, SW_BODY, ok(0, SW_ID), pub_signed,
        source=src, derived=False)
    if p == "svix":
        # Svix secrets are accepted without the whsec_ prefix too (key = base64 of the rest).
        add("svix-published-secret-without-prefix", p, [SW_SECRET[len("whsec_"):]], now, pub_h,
            SW_BODY, ok(0, SW_ID), pub_signed, source=src, derived=False)
        body = b'{"type":"invoice.paid","data":{"id":"inv_1"}}'
        ts, mid = 1700000000, "msg_2Svix0derived"
        add("svix-derived-json-type", p, [SW_SECRET_2], ts + 3,
            [(h_id, mid), (h_ts, str(ts)), (h_sig, sw_sig(SW_SECRET_2, mid, ts, body, p))], body,
            ok(0, mid, "invoice.paid"), signed_bytes(p, body, ts, mid))
        add("svix-body-flipped", p, [SW_SECRET], now, pub_h, flip(SW_BODY), err("ERR_SIGNATURE_MISMATCH"))
        add("svix-missing-id", p, [SW_SECRET], now, [pub_h[1], pub_h[2]], SW_BODY,
            err("ERR_MISSING_HEADER"))
        add("svix-expired", p, [SW_SECRET], SW_TS + TOLERANCE + 1, pub_h, SW_BODY,
            err("ERR_TIMESTAMP_EXPIRED"))
        add("svix-missing-timestamp", p, [SW_SECRET], now, [pub_h[0], pub_h[2]], SW_BODY,
            err("ERR_MISSING_HEADER"))
        add("svix-missing-signature", p, [SW_SECRET], now, pub_h[:2], SW_BODY, err("ERR_MISSING_SIGNATURE"))
        add("svix-signature-header-twice", p, [SW_SECRET], now, pub_h + [pub_h[2]], SW_BODY,
            err("ERR_MALFORMED_SIGNATURE"))
        add("svix-header-names-odd-case", p, [SW_SECRET], now,
            [("Svix-Id", SW_ID), ("SVIX-TIMESTAMP", str(SW_TS)), ("svix-Signature", SW_PUBLISHED)], SW_BODY,
            ok(0, SW_ID), pub_signed, source=src, derived=False)
        return

    # standard-webhooks: the full set
    body = b'{"type":"user.created","timestamp":"2023-11-14T22:13:20Z","data":{"id":"u_42"}}'
    ts, mid = 1700000000, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    h = lambda sig, t=ts, m=mid: [(h_id, m), (h_ts, str(t)), (h_sig, sig)]
    sig1 = sw_sig(SW_SECRET_2, mid, ts, body)
    signed = signed_bytes(p, body, ts, mid)
    add("sw-derived-json-type", p, [SW_SECRET_2], ts + 2, h(sig1), body, ok(0, mid, "user.created"), signed)
    add("sw-type-not-a-string", p, [SW_SECRET_2], ts + 2,
        h(sw_sig(SW_SECRET_2, mid, ts, b'{"type":7}')), b'{"type":7}', ok(0, mid, None),
        signed_bytes(p, b'{"type":7}', ts, mid))
    add("sw-rotation-second-secret", p, [SW_SECRET_3, SW_SECRET_2], ts + 2, h(sig1), body,
        ok(1, mid, "user.created"), signed)
    two = sw_sig(SW_SECRET, mid, ts, body) + " " + sw_sig(SW_SECRET_2, mid, ts, body)
    add("sw-two-signatures-new-secret-only", p, [SW_SECRET_2], ts + 2, h(two), body,
        ok(0, mid, "user.created"), signed)
    add("sw-two-signatures-old-secret-second", p, [SW_SECRET_3, SW_SECRET], ts + 2, h(two), body,
        ok(1, mid, "user.created"), signed)
    add("sw-v1a-entry-ignored-v1-valid", p, [SW_SECRET_2], ts + 2,
        h("v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== "
          + sig1), body, ok(0, mid, "user.created"), signed)
    decoys = " ".join(sw_sig(SW_SECRET_3, f"msg_decoy{i}", ts, body) for i in range(7))
    add("sw-eight-v1-entries-last-valid", p, [SW_SECRET_2], ts + 2, h(decoys + " " + sig1), body,
        ok(0, mid, "user.created"), signed)
    add("sw-body-flipped", p, [SW_SECRET_2], ts + 2, h(sig1), flip(body), err("ERR_SIGNATURE_MISMATCH"))
    add("sw-wrong-secret", p, [SW_SECRET_3], ts + 2, h(sig1), body, err("ERR_SIGNATURE_MISMATCH"))
    add("sw-id-not-the-signed-one", p, [SW_SECRET_2], ts + 2, h(sig1, m="msg_other"), body,
        err("ERR_SIGNATURE_MISMATCH"))
    nb_sig = sw_sig(SW_SECRET_2, mid, ts, NON_UTF8_BODY)
    add("sw-non-utf8-body", p, [SW_SECRET_2], ts + 2, h(nb_sig), NON_UTF8_BODY, ok(0, mid, None),
        signed_bytes(p, NON_UTF8_BODY, ts, mid))
    # the window: now = t + 300 passes, t + 301 is expired; t - 300 passes, t - 301 is in the future
    add("sw-at-past-tolerance", p, [SW_SECRET_2], ts + TOLERANCE, h(sig1), body,
        ok(0, mid, "user.created"), signed)
    add("sw-expired", p, [SW_SECRET_2], ts + TOLERANCE + 1, h(sig1), body, err("ERR_TIMESTAMP_EXPIRED"))
    add("sw-at-future-tolerance", p, [SW_SECRET_2], ts - TOLERANCE, h(sig1), body,
        ok(0, mid, "user.created"), signed)
    add("sw-in-future", p, [SW_SECRET_2], ts - TOLERANCE - 1, h(sig1), body, err("ERR_TIMESTAMP_IN_FUTURE"))
    add("sw-only-v1a", p, [SW_SECRET_2], ts + 2, h("v1a," + sig1[3:]), body, err("ERR_SIGNATURE_MISMATCH"))
    add("sw-other-version-v2", p, [SW_SECRET_2], ts + 2, h("v2," + sig1[3:]), body,
        err("ERR_SIGNATURE_MISMATCH"))
    add("sw-truncated", p, [SW_SECRET_2], ts + 2, h(sig1[:-6]), body, err("ERR_SIGNATURE_MISMATCH"))
    add("sw-not-base64", p, [SW_SECRET_2], ts + 2, h("v1,!!not*base64!!"), body,
        err("ERR_SIGNATURE_MISMATCH"))
    add("sw-entry-without-comma", p, [SW_SECRET_2], ts + 2, h("v1" + sig1[3:]), body,
        err("ERR_MALFORMED_SIGNATURE"))
    add("sw-timestamp-not-digits", p, [SW_SECRET_2], ts + 2, h(sig1, t="17000000x0"), body,
        err("ERR_MALFORMED_SIGNATURE"))
    add("sw-missing-signature", p, [SW_SECRET_2], ts + 2, h(sig1)[:2], body, err("ERR_MISSING_SIGNATURE"))
    add("sw-missing-timestamp", p, [SW_SECRET_2], ts + 2, [h(sig1)[0], h(sig1)[2]], body,
        err("ERR_MISSING_HEADER"))
    add("sw-missing-id", p, [SW_SECRET_2], ts + 2, h(sig1)[1:], body, err("ERR_MISSING_HEADER"))
    add("sw-signature-header-twice", p, [SW_SECRET_2], ts + 2, h(sig1) + [(h_sig, sig1)], body,
        err("ERR_MALFORMED_SIGNATURE"))
    add("sw-timestamp-header-twice", p, [SW_SECRET_2], ts + 2, h(sig1) + [(h_ts, str(ts + 1))], body,
        err("ERR_MALFORMED_SIGNATURE"))
    add("sw-header-names-odd-case", p, [SW_SECRET_2], ts + 2,
        [("Webhook-ID", mid), ("WEBHOOK-Timestamp", str(ts)), ("webhook-SIGNATURE", sig1)], body,
        ok(0, mid, "user.created"), signed)


sw_cases("standard-webhooks", SW_SRC)
sw_cases("svix", SVIX_SRC)

# --- stripe (derived: no published worked example) ----------------------------------------------

p = "stripe"
body = (b'{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","api_version":"2023-10-16",'
        b'"created":1700000000,"data":{"object":{"id":"pi_3NG8Dt2eZvKYlo2C0"}},'
        b'"livemode":false,"type":"payment_intent.succeeded"}')
ts = 1700000000
EVT, TYP = "evt_1NG8Du2eZvKYlo2CUI79vXWy", "payment_intent.succeeded"
v1 = stripe_v1(STRIPE_SECRET, ts, body)
signed = signed_bytes(p, body, ts)
hs = lambda v: [("Stripe-Signature", v)]
add("stripe-derived-event", p, [STRIPE_SECRET], ts + 4, hs(f"t={ts},v1={v1}"), body, ok(0, EVT, TYP), signed)
add("stripe-v0-entry-plus-valid-v1", p, [STRIPE_SECRET], ts + 4,
    hs(f"t={ts},v1={v1},v0={stripe_v1(STRIPE_SECRET_3, ts, body)}"), body, ok(0, EVT, TYP), signed)
add("stripe-rotation-second-secret", p, [STRIPE_SECRET_3, STRIPE_SECRET], ts + 4, hs(f"t={ts},v1={v1}"),
    body, ok(1, EVT, TYP), signed)
two = f"t={ts},v1={stripe_v1(STRIPE_SECRET_2, ts, body)},v1={v1}"
add("stripe-two-v1-new-secret-only", p, [STRIPE_SECRET], ts + 4, hs(two), body, ok(0, EVT, TYP), signed)
add("stripe-two-v1-old-secret-second", p, [STRIPE_SECRET_3, STRIPE_SECRET_2], ts + 4, hs(two), body,
    ok(1, EVT, TYP), signed)
add("stripe-no-id-no-type", p, [STRIPE_SECRET], ts + 4,
    hs(f"t={ts},v1={stripe_v1(STRIPE_SECRET, ts, b'[1,2]')}"), b"[1,2]", ok(0), signed_bytes(p, b"[1,2]", ts))
add("stripe-body-flipped", p, [STRIPE_SECRET], ts + 4, hs(f"t={ts},v1={v1}"), flip(body),
    err("ERR_SIGNATURE_MISMATCH"))
add("stripe-wrong-secret", p, [STRIPE_SECRET_2], ts + 4, hs(f"t={ts},v1={v1}"), body,
    err("ERR_SIGNATURE_MISMATCH"))
# A Stripe secret whose tail happens to be valid base64: the key is still the whole string.
add("stripe-whsec-secret-used-verbatim", p, [SW_SECRET], ts + 4,
    hs(f"t={ts},v1={stripe_v1(SW_SECRET, ts, body)}"), body, ok(0, EVT, TYP), signed)
add("stripe-secret-is-not-base64-decoded", p, [SW_SECRET], ts + 4,
    hs(f"t={ts},v1={mac(base64.b64decode(SW_SECRET[6:]), signed).hex()}"), body,
    err("ERR_SIGNATURE_MISMATCH"))
add("stripe-non-utf8-body", p, [STRIPE_SECRET], ts + 4,
    hs(f"t={ts},v1={stripe_v1(STRIPE_SECRET, ts, NON_UTF8_BODY)}"), NON_UTF8_BODY, ok(0),
    signed_bytes(p, NON_UTF8_BODY, ts))
add("stripe-at-past-tolerance", p, [STRIPE_SECRET], ts + TOLERANCE, hs(f"t={ts},v1={v1}"), body,
    ok(0, EVT, TYP), signed)
add("stripe-expired", p, [STRIPE_SECRET], ts + TOLERANCE + 1, hs(f"t={ts},v1={v1}"), body,
    err("ERR_TIMESTAMP_EXPIRED"))
add("stripe-at-future-tolerance", p, [STRIPE_SECRET], ts - TOLERANCE, hs(f"t={ts},v1={v1}"), body,
    ok(0, EVT, TYP), signed)
add("stripe-in-future", p, [STRIPE_SECRET], ts - TOLERANCE - 1, hs(f"t={ts},v1={v1}"), body,
    err("ERR_TIMESTAMP_IN_FUTURE"))
add("stripe-only-v0", p, [STRIPE_SECRET], ts + 4, hs(f"t={ts},v0={v1}"), body, err("ERR_SIGNATURE_MISMATCH"))
add("stripe-truncated", p, [STRIPE_SECRET], ts + 4, hs(f"t={ts},v1={v1[:-2]}"), body,
    err("ERR_SIGNATURE_MISMATCH"))
add("stripe-not-hex", p, [STRIPE_SECRET], ts + 4, hs(f"t={ts},v1={'z' * 64}"), body,
    err("ERR_SIGNATURE_MISMATCH"))
add("stripe-no-t", p, [STRIPE_SECRET], ts + 4, hs(f"v1={v1}"), body, err("ERR_MALFORMED_SIGNATURE"))
add("stripe-t-not-digits", p, [STRIPE_SECRET], ts + 4, hs(f"t=17000000x0,v1={v1}"), body,
    err("ERR_MALFORMED_SIGNATURE"))
add("stripe-missing-signature", p, [STRIPE_SECRET], ts + 4, [("Content-Type", "application/json")], body,
    err("ERR_MISSING_SIGNATURE"))
add("stripe-header-twice", p, [STRIPE_SECRET], ts + 4, hs(f"t={ts},v1={v1}") * 2, body,
    err("ERR_MALFORMED_SIGNATURE"))
add("stripe-header-name-odd-case", p, [STRIPE_SECRET], ts + 4, [("STRIPE-signature", f"t={ts},v1={v1}")],
    body, ok(0, EVT, TYP), signed)

# --- github ---------------------------------------------------------------------------------------

p = "github"
NOW = 1700000000
add("github-docs-published", p, [GH_SECRET], NOW, [("X-Hub-Signature-256", GH_PUBLISHED)], GH_BODY,
    ok(0), GH_BODY, source=GH_SRC, derived=False)
add("github-octokit-published", p, [OCTO_SECRET], NOW, [("x-hub-signature-256", OCTO_PUBLISHED)],
    OCTO_BODY, ok(0), OCTO_BODY, source=OCTO_SRC, derived=False)
add("github-octokit-published-unicode-escapes", p, [OCTO71_SECRET], NOW,
    [("X-Hub-Signature-256", OCTO71_PUBLISHED)], OCTO71_BODY, ok(0), OCTO71_BODY,
    source=OCTO_SRC + ' (test "(#71)", first payload)', derived=False)
add("github-octokit-published-escaped-backslash", p, [OCTO71_SECRET], NOW,
    [("X-Hub-Signature-256", OCTO71B_PUBLISHED)], OCTO71B_BODY, ok(0), OCTO71B_BODY,
    source=OCTO_SRC + ' (test "(#71)", escaped sequence payload)', derived=False)
body = b'{"action":"opened","number":7,"repository":{"full_name":"octo/hello"}}'
gsig = github_sig(GH_SECRET_2, body)
gh_h = [("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("X-Hub-Signature-256", gsig)]
add("github-derived-event-headers", p, [GH_SECRET_2], NOW, gh_h, body,
    ok(0, "72d3162e-cc78-11e3-81ab-4c9367dc0958", "pull_request"), body)
add("github-rotation-second-secret", p, [GH_SECRET, GH_SECRET_2], NOW, gh_h, body,
    ok(1, "72d3162e-cc78-11e3-81ab-4c9367dc0958", "pull_request"), body)
add("github-body-flipped", p, [GH_SECRET], NOW, [("X-Hub-Signature-256", GH_PUBLISHED)], flip(GH_BODY),
    err("ERR_SIGNATURE_MISMATCH"))
add("github-wrong-secret", p, [GH_SECRET_2], NOW, [("X-Hub-Signature-256", GH_PUBLISHED)], GH_BODY,
    err("ERR_SIGNATURE_MISMATCH"))
add("github-non-utf8-body", p, [GH_SECRET_2], NOW,
    [("X-Hub-Signature-256", github_sig(GH_SECRET_2, NON_UTF8_BODY))], NON_UTF8_BODY, ok(0), NON_UTF8_BODY)
sha1 = "sha1=" + hmac.new(GH_SECRET.encode(), GH_BODY, hashlib.sha1).hexdigest()
add("github-sha1-in-sha256-header", p, [GH_SECRET], NOW, [("X-Hub-Signature-256", sha1)], GH_BODY,
    err("ERR_SIGNATURE_MISMATCH"))
add("github-only-legacy-sha1-header", p, [GH_SECRET], NOW, [("X-Hub-Signature", sha1)], GH_BODY,
    err("ERR_MISSING_SIGNATURE"))
add("github-truncated", p, [GH_SECRET], NOW, [("X-Hub-Signature-256", GH_PUBLISHED[:-8])], GH_BODY,
    err("ERR_SIGNATURE_MISMATCH"))
add("github-not-hex", p, [GH_SECRET], NOW, [("X-Hub-Signature-256", "sha256=" + "g" * 64)], GH_BODY,
    err("ERR_SIGNATURE_MISMATCH"))
add("github-missing-signature", p, [GH_SECRET], NOW, [("X-GitHub-Event", "ping")], GH_BODY,
    err("ERR_MISSING_SIGNATURE"))
add("github-header-twice", p, [GH_SECRET], NOW,
    [("X-Hub-Signature-256", GH_PUBLISHED), ("x-hub-signature-256", GH_PUBLISHED)], GH_BODY,
    err("ERR_MALFORMED_SIGNATURE"))
add("github-header-name-odd-case", p, [GH_SECRET], NOW, [("x-HUB-Signature-256", GH_PUBLISHED)], GH_BODY,
    ok(0), GH_BODY)

# --- slack ---------------------------------------------------------------------------------------

p = "slack"
slack_h = lambda sig, t=SLACK_TS: [("X-Slack-Request-Timestamp", str(t)), ("X-Slack-Signature", sig)]
slack_signed = signed_bytes(p, SLACK_BODY, SLACK_TS)
add("slack-docs-published", p, [SLACK_SECRET], SLACK_TS + 5, slack_h(SLACK_PUBLISHED), SLACK_BODY,
    ok(0), slack_signed, source=SLACK_SRC, derived=False)
add("slack-published-rotation-second-secret", p, [SLACK_SECRET_2, SLACK_SECRET], SLACK_TS + 5,
    slack_h(SLACK_PUBLISHED), SLACK_BODY, ok(1), slack_signed, source=SLACK_SRC, derived=False)
ev_body = (b'{"token":"XXYYZZ","team_id":"T1DC2JH3J","api_app_id":"A2H9RFS1A","event":'
           b'{"type":"app_mention","user":"U2CERLKJA","text":"hi","ts":"1700000000.000100",'
           b'"channel":"C2147483705"},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1700000000}')
ts = 1700000000
esig = slack_sig(SLACK_SECRET_2, ts, ev_body)
add("slack-derived-events-api", p, [SLACK_SECRET_2], ts + 3, slack_h(esig, ts), ev_body,
    ok(0, "Ev08MFMKH6", "app_mention"), signed_bytes(p, ev_body, ts))
uv_body = b'{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}'
add("slack-derived-url-verification", p, [SLACK_SECRET_2], ts + 3,
    slack_h(slack_sig(SLACK_SECRET_2, ts, uv_body), ts), uv_body, ok(0, None, "url_verification"),
    signed_bytes(p, uv_body, ts))
add("slack-body-flipped", p, [SLACK_SECRET], SLACK_TS + 5, slack_h(SLACK_PUBLISHED), flip(SLACK_BODY),
    err("ERR_SIGNATURE_MISMATCH"))
add("slack-wrong-secret", p, [SLACK_SECRET_3], SLACK_TS + 5, slack_h(SLACK_PUBLISHED), SLACK_BODY,
    err("ERR_SIGNATURE_MISMATCH"))
add("slack-non-utf8-body", p, [SLACK_SECRET_2], ts + 3,
    slack_h(slack_sig(SLACK_SECRET_2, ts, NON_UTF8_BODY), ts), NON_UTF8_BODY, ok(0),
    signed_bytes(p, NON_UTF8_BODY, ts))
add("slack-at-past-tolerance", p, [SLACK_SECRET], SLACK_TS + TOLERANCE, slack_h(SLACK_PUBLISHED),
    SLACK_BODY, ok(0), slack_signed, source=SLACK_SRC, derived=False)
add("slack-expired", p, [SLACK_SECRET], SLACK_TS + TOLERANCE + 1, slack_h(SLACK_PUBLISHED), SLACK_BODY,
    err("ERR_TIMESTAMP_EXPIRED"), source=SLACK_SRC, derived=False)
add("slack-at-future-tolerance", p, [SLACK_SECRET], SLACK_TS - TOLERANCE, slack_h(SLACK_PUBLISHED),
    SLACK_BODY, ok(0), slack_signed, source=SLACK_SRC, derived=False)
add("slack-in-future", p, [SLACK_SECRET], SLACK_TS - TOLERANCE - 1, slack_h(SLACK_PUBLISHED), SLACK_BODY,
    err("ERR_TIMESTAMP_IN_FUTURE"), source=SLACK_SRC, derived=False)
add("slack-v1-prefix", p, [SLACK_SECRET], SLACK_TS + 5, slack_h("v1=" + SLACK_PUBLISHED[3:]), SLACK_BODY,
    err("ERR_SIGNATURE_MISMATCH"))
add("slack-truncated", p, [SLACK_SECRET], SLACK_TS + 5, slack_h(SLACK_PUBLISHED[:-10]), SLACK_BODY,
    err("ERR_SIGNATURE_MISMATCH"))
add("slack-timestamp-not-digits", p, [SLACK_SECRET], SLACK_TS + 5,
    [("X-Slack-Request-Timestamp", "1531420618.5"), ("X-Slack-Signature", SLACK_PUBLISHED)], SLACK_BODY,
    err("ERR_MALFORMED_SIGNATURE"))
add("slack-missing-signature", p, [SLACK_SECRET], SLACK_TS + 5, slack_h(SLACK_PUBLISHED)[:1], SLACK_BODY,
    err("ERR_MISSING_SIGNATURE"))
add("slack-missing-timestamp", p, [SLACK_SECRET], SLACK_TS + 5, slack_h(SLACK_PUBLISHED)[1:], SLACK_BODY,
    err("ERR_MISSING_HEADER"))
add("slack-signature-header-twice", p, [SLACK_SECRET], SLACK_TS + 5,
    slack_h(SLACK_PUBLISHED) + [("X-Slack-Signature", SLACK_PUBLISHED)], SLACK_BODY,
    err("ERR_MALFORMED_SIGNATURE"))
add("slack-header-names-odd-case", p, [SLACK_SECRET], SLACK_TS + 5,
    [("x-slack-request-TIMESTAMP", str(SLACK_TS)), ("X-SLACK-signature", SLACK_PUBLISHED)], SLACK_BODY,
    ok(0), slack_signed, source=SLACK_SRC, derived=False)

# --- shopify (derived: no published worked example) ---------------------------------------------

p = "shopify"
body = b'{"id":820982911946154508,"email":"jon@example.com","total_price":"199.00"}'
ssig = shopify_sig(SHOP_SECRET, body)
WID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
shop_h = lambda sig: [("X-Shopify-Topic", "orders/create"), ("X-Shopify-Hmac-Sha256", sig),
                      ("X-Shopify-Shop-Domain", "example.myshopify.com"), ("X-Shopify-Webhook-Id", WID)]
add("shopify-derived-order", p, [SHOP_SECRET], NOW, shop_h(ssig), body, ok(0, WID, "orders/create"), body)
add("shopify-only-signature-header", p, [SHOP_SECRET], NOW, [("X-Shopify-Hmac-Sha256", ssig)], body, ok(0),
    body)
add("shopify-rotation-second-secret", p, [SHOP_SECRET_2, SHOP_SECRET], NOW, shop_h(ssig), body,
    ok(1, WID, "orders/create"), body)
add("shopify-body-flipped", p, [SHOP_SECRET], NOW, shop_h(ssig), flip(body), err("ERR_SIGNATURE_MISMATCH"))
add("shopify-wrong-secret", p, [SHOP_SECRET_3], NOW, shop_h(ssig), body, err("ERR_SIGNATURE_MISMATCH"))
add("shopify-non-utf8-body", p, [SHOP_SECRET], NOW,
    [("X-Shopify-Hmac-Sha256", shopify_sig(SHOP_SECRET, NON_UTF8_BODY))], NON_UTF8_BODY, ok(0), NON_UTF8_BODY)
add("shopify-hex-instead-of-base64", p, [SHOP_SECRET], NOW,
    shop_h(mac(SHOP_SECRET.encode(), body).hex()), body, err("ERR_SIGNATURE_MISMATCH"))
add("shopify-truncated", p, [SHOP_SECRET], NOW, shop_h(ssig[:-4]), body, err("ERR_SIGNATURE_MISMATCH"))
add("shopify-not-base64", p, [SHOP_SECRET], NOW, shop_h("!!not*base64!!"), body, err("ERR_SIGNATURE_MISMATCH"))
add("shopify-missing-signature", p, [SHOP_SECRET], NOW, shop_h(ssig)[:1], body, err("ERR_MISSING_SIGNATURE"))
add("shopify-header-twice", p, [SHOP_SECRET], NOW, shop_h(ssig) + [("X-Shopify-Hmac-SHA256", ssig)], body,
    err("ERR_MALFORMED_SIGNATURE"))
add("shopify-header-names-odd-case", p, [SHOP_SECRET], NOW,
    [("x-shopify-topic", "orders/create"), ("X-SHOPIFY-HMAC-SHA256", ssig), ("x-Shopify-Webhook-ID", WID)],
    body, ok(0, WID, "orders/create"), body)

# --- write ---------------------------------------------------------------------------------------

doc = {"kind": "webhook",
       "description": "Webhook provider presets (standard-webhooks, svix, stripe, github, slack, shopify): "
                      "published examples plus cases derived from each documented algorithm",
       "cases": CASES}
OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")
counts: dict[str, int] = {}
for c in CASES:
    counts[c["preset"]] = counts.get(c["preset"], 0) + 1
print(f"{OUT.name}: {len(CASES)} cases (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")")
