"""Micro-benchmarks of the Python binding against an idiomatic hand-written stdlib verifier.

    .venv/bin/python python-binding/scripts/bench.py [--n 50000] [--rounds 7]

Build the extension with --release first (scripts/ci.sh does). Rounds alternate between the
contenders; the median per-verification time of each is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import time
from collections.abc import Callable
from typing import Any, Literal

import hmac_guard as hg

SECRET = b"bench-secret-0123456789abcdef-0123456789"
NOW = int(time.time())


class HandWritten:
    """Timestamp window + HMAC-SHA256 over the same canonical string (the simple scheme's) with the
    body's SHA-256 + compare_digest + a dict nonce cache."""

    def __init__(self) -> None:
        self.keys = {"k1": SECRET}
        self.nonces: dict[str, int] = {}

    def verify(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        key_id = headers["x-hmac-key-id"]
        ts = headers["x-hmac-timestamp"]
        nonce = headers["x-hmac-nonce"]
        secret = self.keys[key_id]
        now = int(time.time())
        if not -30 <= now - int(ts) <= 300:
            raise ValueError("window")
        body_hash = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(body_hash, headers["x-hmac-content-sha256"]):
            raise ValueError("digest")
        canonical = "\n".join(("HG1", method, target, ts, nonce, key_id, body_hash))
        expected = hmac.new(secret, canonical.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers["x-hmac-signature"]):
            raise ValueError("signature")
        if nonce in self.nonces:
            raise ValueError("replay")
        self.nonces[nonce] = now


def requests_for(scheme: Literal["rfc9421", "simple"], n: int, body: bytes) -> list[list[tuple[str, str]]]:
    signer = hg.Signer("k1", SECRET, scheme=scheme)
    head = [("Host", "api.example.com"), ("Content-Type", "application/json")]
    return [head + signer.sign("POST", "/orders?id=7", head, body) for _ in range(n)]


def timed(fn: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / n * 1e6


def loop(verify: Callable[..., object], requests: list[Any], body: bytes) -> Callable[[], None]:
    def run() -> None:
        for headers in requests:
            verify("POST", "/orders?id=7", headers, body)

    return run


def bench_verify(body_len: int, n: int, rounds: int) -> dict[str, float]:
    body = bytes(range(256)) * (body_len // 256)
    names = ("hand-written (stdlib)", "hmac-guard simple", "hmac-guard rfc9421")
    results: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        simple = requests_for("simple", n, body)
        rfc = requests_for("rfc9421", n, body)
        as_dicts = [{k.lower(): v for k, v in h} for h in simple]
        g_simple = hg.Guard(scheme="simple", keys=[{"id": "k1", "secret": SECRET}])
        g_rfc = hg.Guard(keys=[{"id": "k1", "secret": SECRET}])
        results[names[0]].append(timed(loop(HandWritten().verify, as_dicts, body), n))
        results[names[1]].append(timed(loop(g_simple.verify, simple, body), n))
        results[names[2]].append(timed(loop(g_rfc.verify, rfc, body), n))
    return {k: statistics.median(v) for k, v in results.items()}


def bench_sha256(body_len: int, n: int, rounds: int) -> float:
    body = bytes(range(256)) * (body_len // 256)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            hashlib.sha256(body).digest()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    print(f"hmac-guard {hg.__version__}, {args.rounds} alternating rounds, medians (µs per verification)\n")
    for size, n in ((1024, args.n), (64 * 1024, max(args.n // 20, 500))):
        res = bench_verify(size, n, args.rounds)
        sha = bench_sha256(size, n, args.rounds)
        print(f"body {size // 1024} KiB ({n} requests per round):")
        base = res["hand-written (stdlib)"]
        for name, us in res.items():
            shown = size >= 64 * 1024 and name != "hand-written (stdlib)"
            of_sha = f"   ({us / sha:.3f} of hashlib alone)" if shown else ""
            print(f"  {name:24s} {us:8.2f} µs   {base / us:5.2f}x vs hand-written{of_sha}")
        print(f"  {'hashlib.sha256(body)':24s} {sha:8.2f} µs   (hashing alone)\n")


if __name__ == "__main__":
    main()
