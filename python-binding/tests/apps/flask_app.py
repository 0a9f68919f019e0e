"""The Flask test app (served by gunicorn in the tests)."""

from __future__ import annotations

import os

from flask import Blueprint, Flask, g, request

from hmac_guard.flask import HmacGuard, verify_current_request

from common import BODY_LIMIT, EXPOSE_REASONS, KEYS, describe

app = Flask(__name__)
app.config.update(
    HMAC_GUARD_KEYS=KEYS,
    HMAC_GUARD_BODY_LIMIT=BODY_LIMIT,
    HMAC_GUARD_SCHEME=os.environ.get("HMAC_GUARD_TEST_SCHEME", "rfc9421"),
    HMAC_GUARD_EXPOSE_REASONS=EXPOSE_REASONS,
)
if os.environ.get("HMAC_GUARD_TEST_REDIS_URL"):
    app.config["HMAC_GUARD_REDIS_URL"] = os.environ["HMAC_GUARD_TEST_REDIS_URL"]
    app.config["HMAC_GUARD_REDIS_PREFIX"] = os.environ["HMAC_GUARD_TEST_REDIS_PREFIX"]
hmac = HmacGuard(app)


@app.get("/health")
def health() -> dict[str, object]:
    return {"ok": True, "pid": os.getpid()}


@app.route("/echo", methods=["GET", "POST", "PUT", "DELETE"])
@hmac.required
def echo() -> dict[str, object]:
    out = describe(g.hmac, request.get_data())
    if request.mimetype == "application/x-www-form-urlencoded":
        out["form"] = request.form.to_dict(flat=False)
    if request.is_json:
        out["json"] = request.get_json()
    return out


@app.post("/read-first")
def read_first() -> dict[str, object]:
    """Reads the body before verifying it: a 500 ERR_INVALID_STATE."""
    request.get_data()
    verify_current_request()
    return {"verified": True}


api = Blueprint("api", __name__, url_prefix="/api")
hmac.protect(api)


@api.route("/items", methods=["GET", "POST"])
def items() -> dict[str, object]:
    return describe(g.hmac, request.get_data())


@api.get("/open")
@hmac.exempt
def open_view() -> dict[str, object]:
    return {"open": True}


app.register_blueprint(api)
