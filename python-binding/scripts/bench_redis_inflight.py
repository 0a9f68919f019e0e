"""Redis claims with 64 requests in flight: the ASGI path (``await verification.finish_async()``
on one event loop) against the blocking path (``guard.verify`` on 64 threads, the GIL released
while the store answers); claims per second and latency p50 / p99, rounds alternating.

    .venv/bin/python python-binding/scripts/bench_redis_inflight.py [--n 20000] [--rounds 3]

Starts its own redis-server on 127.0.0.1 (no persistence) and stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import tempfile
import time

from bench_redis import BODY, SECRET, free_port, signed, start_redis

import hmac_guard as hg

IN_FLIGHT = 64
URL = "/orders?id=7"


def report(name: str, n: int, took: float, latencies: list[float]) -> None:
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1e6
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e6
    print(f"  {name:28} {n / took:9.0f} claims/s   p50 {p50:7.0f} us   p99 {p99:7.0f} us")


async def run_async(guard: hg.Guard, requests: list[list[tuple[str, str]]]) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def one(headers: list[tuple[str, str]]) -> None:
        t = time.perf_counter()
        v = guard.begin("POST", URL, headers)
        v.update(BODY)
        await v.finish_async()
        latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    for i in range(0, len(requests), IN_FLIGHT):
        await asyncio.gather(*(one(h) for h in requests[i : i + IN_FLIGHT]))
    return time.perf_counter() - start, latencies


def run_blocking(guard: hg.Guard, requests: list[list[tuple[str, str]]]) -> tuple[float, list[float]]:
    def one(headers: list[tuple[str, str]]) -> float:
        t = time.perf_counter()
        guard.verify("POST", URL, headers, BODY)
        return time.perf_counter() - t

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(IN_FLIGHT) as pool:
        latencies = list(pool.map(one, requests))
    return time.perf_counter() - start, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = start_redis(port, workdir)
        try:
            guard = hg.Guard(keys=[{"id": "k1", "secret": SECRET}], redis_url=f"redis://127.0.0.1:{port}/0")
            guard.verify("POST", URL, signed(1)[0], BODY)  # connect, write the data-loss marker
            for r in range(args.rounds):
                print(f"round {r} ({args.n} requests, {IN_FLIGHT} in flight)")
                took, lat = asyncio.run(run_async(guard, signed(args.n)))
                report("await finish_async (ASGI)", args.n, took, lat)
                took, lat = run_blocking(guard, signed(args.n))
                report("verify on 64 threads (WSGI)", args.n, took, lat)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
