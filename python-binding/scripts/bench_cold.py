"""One verification with cold caches, as in a busy server, against the same call in a hot loop.

    .venv/bin/python python-binding/scripts/bench_cold.py [--mb 16] [--n 2000]

Between two requests a server runs hundreds of µs of other code (the WSGI server, Flask, the
interpreter's own bookkeeping) that evicts the verifier's code and data from the L1/L2 caches;
bench.py times calls in a tight loop, where everything stays hot. Here one byte per cache line of
an `--mb` MiB buffer is written (a strided slice assignment, in C) before every timed call. The
contenders - hmac-guard (simple scheme), the hand-written stdlib verifier of bench.py, and
hashlib.sha256 of the same 1 KiB body for scale - are interleaved call by call; each request is
signed beforehand with its own nonce. Reported: medians per call, cold and hot. The Node and Rust
figures for the same effect are in docs/benchmarks.md ("End to end, resolved").
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time
from collections.abc import Callable

from bench import SECRET, HandWritten, requests_for

import hmac_guard as hg

BODY = bytes(range(256)) * 4  # 1 KiB
LINE = 64


def contenders(n: int) -> dict[str, Callable[[int], object]]:
    simple = requests_for("simple", n, BODY)
    as_dicts = [{k.lower(): v for k, v in h} for h in requests_for("simple", n, BODY)]
    guard = hg.Guard(scheme="simple", keys=[{"id": "k1", "secret": SECRET}])
    hand = HandWritten()
    return {
        "hmac-guard verify (simple)": lambda i: guard.verify("POST", "/orders?id=7", simple[i], BODY),
        "hand-written (stdlib)": lambda i: hand.verify("POST", "/orders?id=7", as_dicts[i], BODY),
        "hashlib.sha256 of the body": lambda i: hashlib.sha256(BODY).digest(),
    }


def run(n: int, sweep: Callable[[], None] | None) -> dict[str, float]:
    fns = contenders(n)
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        for k in range(len(names)):
            name = names[(i + k) % len(names)]
            if sweep is not None:
                sweep()
            start = time.perf_counter_ns()
            fns[name](i)
            times[name].append((time.perf_counter_ns() - start) / 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=16)
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    buf = bytearray(args.mb << 20)
    lines = len(buf) // LINE
    ticks = [bytes([b]) * lines for b in (1, 2)]
    flip = [0]

    def sweep() -> None:
        # A different value each time, so every line is written, not just read.
        flip[0] ^= 1
        buf[::LINE] = ticks[flip[0]]

    run(min(args.n, 300), None)  # warm-up
    hot = run(args.n, None)
    cold = run(args.n, sweep)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"hmac-guard {hg.__version__}, {args.mb} MiB swept before every cold call,", end=" ")
    print(f"{args.n} calls each, load {load:.1f}")
    for name in hot:
        print(f"  {name:28s} cold {cold[name]:7.2f} µs   hot {hot[name]:6.2f} µs")


if __name__ == "__main__":
    main()
