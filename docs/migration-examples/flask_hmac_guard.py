"""AFTER: the same endpoint protected by hmac-guard (docs/migration.md, "Flask: the server")."""

import os

from flask import Flask, g, request

from hmac_guard.flask import HmacGuard

app = Flask(__name__)
app.config["HMAC_GUARD_SCHEME"] = "simple"  # the HG1 headers; leave it out for RFC 9421
app.config["HMAC_GUARD_KEYS"] = [
    {"id": "client-1", "secret": os.environ["HMAC_SECRET"], "subject": "user:42"},
]
hg = HmacGuard(app)


@app.post("/api/orders")
@hg.required  # right under the route decorator: it runs before anything reads the body
def create_order():
    return {"by": g.hmac.subject, "order": request.get_json()}
