"""DURING THE TRANSITION: hmac-guard for clients that sign with it, the old check for the others
until a deadline (docs/migration.md, "Rolling out"). check_python.py exercises it."""

import functools
import logging
import os
import time
from datetime import datetime, timezone

from flask import Flask, g, request

from flask_handwritten import legacy_verify
from hmac_guard import HmacGuardError
from hmac_guard.flask import HmacGuard, verify_current_request

app = Flask(__name__)
app.config["HMAC_GUARD_SCHEME"] = "simple"
app.config["HMAC_GUARD_KEYS"] = [{"id": "client-1", "secret": os.environ["HMAC_SECRET"], "subject": "user:42"}]
hg = HmacGuard(app)
log = logging.getLogger(__name__)

LEGACY_UNTIL = datetime(2027, 6, 30, tzinfo=timezone.utc).timestamp()  # the deadline you announced


def signed_or_legacy(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            g.user = verify_current_request().subject  # signed for hmac-guard: verified or refused
        except HmacGuardError as exc:
            if exc.code != "ERR_MISSING_SIGNATURE" or time.time() >= LEGACY_UNTIL:
                raise  # answered as JSON by the extension's error handler
            log.warning("legacy signature from %s", request.remote_addr)  # who still has to migrate
            g.user = legacy_verify()  # unchanged and mandatory for these requests
        return view(*args, **kwargs)

    return wrapper


@app.post("/api/orders")
@signed_or_legacy
def create_order():
    return {"by": g.user, "order": request.get_json()}
