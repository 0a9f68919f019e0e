"""AFTER, client side: the requests / httpx auth classes (docs/migration.md, "Clients")."""

import os

import httpx
import requests

from hmac_guard.client import HttpxAuth, RequestsAuth

auth = RequestsAuth("client-1", os.environ["HMAC_SECRET"], scheme="simple")


def create_order(base_url, order):
    return requests.post(f"{base_url}/api/orders", json=order, auth=auth)


client = httpx.Client(auth=HttpxAuth("client-1", os.environ["HMAC_SECRET"], scheme="simple"))
