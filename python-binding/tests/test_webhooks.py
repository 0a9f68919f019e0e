"""Webhook presets through the public API, in process: every case of tests/vectors/webhooks.json
(one-shot and streamed; the bytes the MAC covers equal ``sign_webhook``'s), ``sign_webhook`` round
trips, ``Guard.rotate_secrets``, ``Guard.refusal``, the WSGI and ASGI receivers' settling of the
reservation, and no secret in any error or repr. (Real servers: test_webhook_servers.py.)
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import pytest
from webhook_common import PRESETS, SECRETS

import hmac_guard as hg
from hmac_guard import Guard, ManualClock, WebhookDelivery, sign_webhook
from hmac_guard.asgi import WEBHOOK_KEY as ASGI_WEBHOOK_KEY
from hmac_guard.asgi import webhook as asgi_webhook
from hmac_guard.wsgi import WEBHOOK_KEY
from hmac_guard.wsgi import webhook as wsgi_webhook

from conftest import VECTORS, load_json

CASES: list[dict[str, Any]] = load_json(VECTORS / "webhooks.json")["cases"]
# Where each preset carries its signed timestamp (the signer needs it to rebuild the signed bytes).
TIMESTAMP = {
    "standard-webhooks": "webhook-timestamp",
    "svix": "svix-timestamp",
    "slack": "x-slack-request-timestamp",
}


def _header(case: dict[str, Any], name: str) -> str | None:
    return next((v for n, v in case["headers"] if n.lower() == name), None)


def _timestamp(case: dict[str, Any]) -> int | None:
    if case["preset"] == "stripe":
        value = _header(case, "stripe-signature") or ""
        return int(next(p[2:] for p in value.split(",") if p.startswith("t=")))
    name = TIMESTAMP.get(case["preset"])
    return int(_header(case, name) or 0) if name else None


def _guard(case: dict[str, Any]) -> Guard:
    return Guard(scheme=case["preset"], secrets=case["secrets"], clock=ManualClock(case["now"]))


def _verify(guard: Guard, headers: list[Any], body: bytes, *, streamed: bool) -> hg.Verified:
    if not streamed:
        return guard.verify("POST", "/hooks", headers, body)
    v = guard.begin("POST", "/hooks", headers)
    half = len(body) // 2
    v.update(body[:half])
    v.update(body[half:])
    return v.finish()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case: dict[str, Any]) -> None:
    body = base64.b64decode(case["body_b64"])
    expect = case["expect"]
    headers = [tuple(h) for h in case["headers"]]
    for streamed in (False, True):
        guard = _guard(case)
        refused: hg.HmacGuardError | None = None
        try:
            verified = _verify(guard, headers, body, streamed=streamed)
        except hg.HmacGuardError as exc:
            refused = exc
        if refused is not None:
            assert "error" in expect, f"{case['name']}: refused with {refused.code}: {refused.reason}"
            assert refused.code == expect["error"], case["name"]
            assert isinstance(refused, hg.error_class(expect["error"]))
            assert guard.refusal(refused, True, True).status == refused.status
            continue
        assert "error" not in expect, f"{case['name']}: accepted, expected {expect.get('error')}"
        hook = verified.webhook
        assert hook is not None
        assert (hook.provider, hook.id, hook.type) == (case["preset"], expect["id"], expect["type"]), case[
            "name"
        ]
        assert verified.key_id == f"secret-{expect['secret_index']}"
        assert verified.replay_ticket is not None
    if "error" not in expect:
        signed = sign_webhook(
            case["preset"],
            secret=case["secrets"][expect["secret_index"]],
            body=body,
            timestamp=_timestamp(case),
            id=_header(case, "webhook-id") or _header(case, "svix-id"),
        )
        assert signed.signed == base64.b64decode(case["signed_b64"]), case["name"]


def test_the_vectors_cover_every_preset() -> None:
    assert {c["preset"] for c in CASES} == set(PRESETS)
    assert sum("error" not in c["expect"] for c in CASES) > 0


@pytest.mark.parametrize("preset", PRESETS)
def test_sign_webhook_round_trip(preset: str) -> None:
    body = b'{"id": "evt_round_trip", "event_id": "Ev1", "type": "t"}'
    signed = sign_webhook(preset, secrets=SECRETS[preset], body=body, timestamp=1_700_000_000, id="msg_rt")
    assert isinstance(signed.headers, dict)
    assert signed.headers
    assert signed.signed.endswith(body)
    guard = Guard(scheme=preset, secrets=SECRETS[preset][:1], clock=ManualClock(1_700_000_010))
    verified = guard.verify("POST", "/", list(signed.headers.items()), body)
    assert verified.key_id == "secret-0"
    assert verified.webhook is not None
    assert verified.webhook.provider == preset
    # A secret alone (str) signs the same as a list of one.
    one = sign_webhook(preset, secret=SECRETS[preset][0], body=body, timestamp=1_700_000_000, id="msg_rt")
    assert one.signed == signed.signed
    assert "secret" not in repr(signed).lower() or SECRETS[preset][0] not in repr(signed)
    assert all(s not in repr(signed) for s in SECRETS[preset])


@pytest.mark.parametrize("preset", PRESETS)
def test_rotate_secrets(preset: str) -> None:
    old, new = SECRETS[preset]
    clock = ManualClock(1_700_000_000)
    guard = Guard(scheme=preset, secrets=[old], clock=clock)

    def deliver(secret: str, n: int) -> hg.Verified:
        body = json.dumps({"id": f"evt_{preset}_{n}", "event_id": f"Ev{n}", "type": "t", "n": n}).encode()
        signed = sign_webhook(preset, secret=secret, body=body, timestamp=1_700_000_000, id=f"msg_{n}")
        return guard.verify("POST", "/", list(signed.headers.items()), body)

    assert deliver(old, 1).key_id == "secret-0"
    guard.rotate_secrets([old, new])
    assert deliver(new, 2).key_id == "secret-1"
    guard.rotate_secrets([new])
    with pytest.raises(hg.SignatureMismatchError):
        deliver(old, 3)
    assert deliver(new, 4).key_id == "secret-0"
    with pytest.raises(hg.ConfigError) as bad:
        guard.rotate_secrets(["tiny"])
    assert "tiny" not in str(bad.value)
    assert "tiny" not in repr(bad.value)
    assert deliver(new, 5).key_id == "secret-0"  # a refused rotation changes nothing


def test_rotate_secrets_needs_a_webhook_guard() -> None:
    with pytest.raises(hg.ConfigError):
        Guard(keys=[{"id": "k", "secret": b"k" * 32}]).rotate_secrets(["x" * 40])


def test_options_are_the_cores() -> None:
    # Options a preset does not use, a bad name, a short secret: refused by the core.
    with pytest.raises(hg.ConfigError):
        Guard(scheme="stripe", secrets=SECRETS["stripe"], keys=[{"id": "k", "secret": b"k" * 32}])
    with pytest.raises(hg.ConfigError):
        Guard(scheme="paypal", secrets=["x" * 40])
    with pytest.raises(hg.ConfigError) as short:
        Guard(scheme="slack", secrets=["my-very-secret"])
    assert "my-very-secret" not in str(short.value)
    with pytest.raises(hg.ConfigError):
        Guard(scheme="github", secrets=SECRETS["github"], tolerance_secs=10)  # github signs no timestamp
    guard = Guard(scheme="github", secrets=SECRETS["github"], dedupe_secs=600)
    assert guard.settings["webhook.dedupe_secs"] == 600
    assert all(s not in repr(guard) for s in SECRETS["github"])


def test_sign_webhook_arguments() -> None:
    with pytest.raises(hg.ConfigError):
        sign_webhook("paypal", secret="x" * 40, body=b"")  # type: ignore[arg-type]
    with pytest.raises(hg.ConfigError):
        sign_webhook("github", body=b"")
    with pytest.raises(hg.ConfigError):
        sign_webhook("github", secret="a" * 10, secrets=["b" * 10], body=b"")
    with pytest.raises(hg.ConfigError) as short:
        sign_webhook("slack", secret="tiny-secret-value", body=b"")
    assert "tiny-secret-value" not in str(short.value)
    with pytest.raises(TypeError):
        sign_webhook("github", secret="a" * 10, body="text")  # type: ignore[arg-type]
    assert sign_webhook("github", secret="a" * 10, body=bytearray(b"x")).signed == b"x"


def test_refusal_is_the_cores() -> None:
    preset = "stripe"
    guard = Guard(scheme=preset, secrets=SECRETS[preset])
    body = b'{"id": "evt_refusal", "type": "t"}'
    headers = list(sign_webhook(preset, secret=SECRETS[preset][0], body=body).headers.items())
    verified = guard.verify("POST", "/", headers, body)
    with pytest.raises(hg.DeliveryInProgressError) as in_flight:
        guard.verify("POST", "/", headers, body)
    refusal = guard.refusal(in_flight.value, True, True)
    assert (refusal.status, refusal.close) == (409, False)
    assert refusal.retry_after == guard.settings["policy.reserve_hold_secs"]
    assert ("Retry-After", str(refusal.retry_after)) in refusal.headers()
    assert json.loads(refusal.body)["error"]["code"] == "ERR_DELIVERY_IN_PROGRESS"
    assert verified.replay_ticket is not None
    verified.replay_ticket.commit()
    with pytest.raises(hg.DuplicateDeliveryError) as duplicate:
        guard.verify("POST", "/", headers, body)
    assert isinstance(duplicate.value, hg.DeliveryError)
    refusal = guard.refusal(duplicate.value, True, False)
    assert (refusal.status, refusal.retry_after, refusal.close) == (200, None, True)
    assert ("Connection", "close") in refusal.headers()
    assert refusal.content_type.startswith("application/json")


def _environ(preset: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def test_wsgi_receiver_settles_the_reservation() -> None:
    preset = "github"
    seen: list[WebhookDelivery] = []
    answer = {"status": "200 OK", "raise": False}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(environ[WEBHOOK_KEY])
        start_response(answer["status"], [("Content-Type", "text/plain")])
        if answer["raise"]:
            raise RuntimeError("handler failed")
        return [b"done"]

    receiver = wsgi_webhook(preset, secrets=SECRETS[preset])(app)
    body = b"\xff binary \x00 body"
    headers = sign_webhook(preset, secret=SECRETS[preset][0], body=body).headers

    def call() -> tuple[str, bytes]:
        started: list[str] = []
        result = receiver(_environ(preset, body, headers), lambda s, h, e=None: started.append(s))
        try:
            data = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        return started[0], data

    answer["status"] = "503 Service Unavailable"
    assert call()[0].startswith("503")
    assert len(seen) == 1
    answer["status"], answer["raise"] = "200 OK", True
    with pytest.raises(RuntimeError):
        call()
    assert len(seen) == 2  # released again
    answer["raise"] = False
    assert call() == ("200 OK", b"done")
    assert len(seen) == 3
    status, data = call()
    assert status.startswith("200")
    assert json.loads(data)["error"]["code"] == "ERR_DUPLICATE_DELIVERY"
    assert len(seen) == 3
    assert seen[0].body == body
    assert seen[0].payload is None
    assert seen[0].provider == preset
    assert receiver.guard.scheme == preset  # type: ignore[attr-defined]
    # A client gone mid-response (the server closes the iterable early): released.
    body2 = b"second delivery"
    headers2 = sign_webhook(preset, secret=SECRETS[preset][0], body=body2).headers
    result = receiver(_environ(preset, body2, headers2), lambda s, h, e=None: None)
    result.close()  # type: ignore[attr-defined]
    started: list[str] = []
    b"".join(receiver(_environ(preset, body2, headers2), lambda s, h, e=None: started.append(s)))
    assert started == ["200 OK"]
    assert len(seen) == 5


class ClientGone(OSError):
    """What a server raises from ``send`` once the client is gone."""


def test_asgi_receiver_settles_the_reservation() -> None:
    preset = "standard-webhooks"
    seen: list[WebhookDelivery] = []
    mode = {"status": 200, "gone": False}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope[ASGI_WEBHOOK_KEY])
        assert (await receive())["body"] == seen[-1].body
        await send({"type": "http.response.start", "status": mode["status"], "headers": []})
        await send({"type": "http.response.body", "body": b"o", "more_body": True})
        await send({"type": "http.response.body", "body": b"k"})

    receiver = asgi_webhook(preset, secrets=SECRETS[preset])(app)
    body = b'{"type": "invoice.paid", "n": 1}'
    signed = sign_webhook(preset, secret=SECRETS[preset][1], body=body, id="msg_asgi")
    raw = [(n.encode(), v.encode()) for n, v in signed.headers.items()]
    scope = {"type": "http", "method": "POST", "path": "/hooks", "headers": raw, "query_string": b""}

    async def call() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if mode["gone"] and message.get("more_body"):
                raise ClientGone("client gone")
            sent.append(message)

        await receiver(dict(scope), receive, send)
        return sent

    async def run() -> None:
        mode["status"] = 500
        assert (await call())[0]["status"] == 500
        mode["status"], mode["gone"] = 200, True
        with pytest.raises(ClientGone):
            await call()
        mode["gone"] = False
        assert (await call())[0]["status"] == 200
        duplicate = await call()
        assert duplicate[0]["status"] == 200
        assert len(seen) == 3
        assert json.loads(duplicate[1]["body"])["error"]["code"] == "ERR_DUPLICATE_DELIVERY"

    asyncio.run(run())
    assert seen[0].secret_id == "secret-1"
    assert seen[0].payload == {"type": "invoice.paid", "n": 1}
    assert (seen[0].type, seen[0].id, seen[0].dedupe) == ("invoice.paid", "msg_asgi", "signed-id")


def test_receivers_take_a_guard_or_options_not_both() -> None:
    guard = Guard(scheme="github", secrets=SECRETS["github"])
    with pytest.raises(TypeError):
        wsgi_webhook("github", guard=guard)
    assert wsgi_webhook(guard=guard)(lambda e, s: []).guard is guard  # type: ignore[attr-defined]
    assert guard.webhook_preset() == "github"


def test_receivers_refuse_a_guard_of_signed_requests() -> None:
    signed_requests = Guard(keys=[{"id": "k", "secret": b"k" * 32}])
    for make in (wsgi_webhook, asgi_webhook):
        with pytest.raises(hg.ConfigError) as refused:
            make(guard=signed_requests)
        assert "webhook preset" in refused.value.reason


def test_no_secret_in_a_delivery_repr() -> None:
    guard = Guard(scheme="slack", secrets=SECRETS["slack"])
    body = b'{"event_id": "Ev42", "type": "event_callback", "event": {"type": "app_mention"}}'
    signed = sign_webhook("slack", secret=SECRETS["slack"][0], body=body)
    verified = guard.verify("POST", "/", list(signed.headers.items()), body)
    from hmac_guard._webhook import delivery_of

    delivery = delivery_of(verified, body)
    assert (delivery.type, delivery.id, delivery.dedupe) == ("app_mention", "Ev42", "body-id")
    for text in (repr(delivery), repr(verified), repr(verified.webhook), repr(guard)):
        assert all(s not in text for s in SECRETS["slack"]), text


def test_fastapi_receiver_runs_a_plain_def_in_the_thread_pool() -> None:
    import threading

    import httpx
    from fastapi import FastAPI

    from hmac_guard.fastapi import webhook as fastapi_webhook

    threads: list[str] = []
    app = FastAPI()

    @app.post("/hooks/shopify")
    @fastapi_webhook("shopify", secrets=SECRETS["shopify"])
    def on_shopify(delivery: WebhookDelivery) -> dict[str, Any]:
        threads.append(threading.current_thread().name)
        return {"type": delivery.type, "payload": delivery.payload}

    body = b'{"id": 820982911946154508, "total_price": "199.00"}'
    headers = {**sign_webhook("shopify", secret=SECRETS["shopify"][0], body=body).headers}
    headers["X-Shopify-Topic"] = "orders/create"

    async def send_twice() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.post("/hooks/shopify", content=body, headers=headers) for _ in range(2)]

    first, again = asyncio.run(send_twice())
    assert first.status_code == 200, first.text
    assert first.json() == {
        "type": "orders/create",
        "payload": {"id": 820982911946154508, "total_price": "199.00"},
    }
    assert again.status_code == 200
    assert again.json()["error"]["code"] == "ERR_DUPLICATE_DELIVERY"
    assert len(threads) == 1
    assert threads[0] != threading.main_thread().name
