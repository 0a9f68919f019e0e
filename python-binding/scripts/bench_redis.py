"""Verification throughput with the Redis replay store vs the in-memory store, in one run.

    .venv/bin/python python-binding/scripts/bench_redis.py [--n 20000] [--rounds 5]

Starts its own redis-server on 127.0.0.1 (a free port, no persistence) and stops it at the end.
Rounds alternate between the two guards; medians are reported. Each Redis verification is one
round trip (`SET NX PX`), made with the GIL released.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

import hmac_guard as hg

SECRET = b"bench-secret-0123456789abcdef-0123456789"
HEAD = [("Host", "api.example.com"), ("Content-Type", "application/json")]
BODY = b'{"order": 42, "items": [1, 2, 3]}' * 30  # ~1 KiB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(port: int, workdir: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is required (make redis-server installs it)")
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        workdir,
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit("redis-server did not start")


def signed(n: int) -> list[list[tuple[str, str]]]:
    signer = hg.Signer("k1", SECRET)
    return [HEAD + signer.sign("POST", "/orders?id=7", HEAD, BODY) for _ in range(n)]


def run(guard: hg.Guard, requests: list[list[tuple[str, str]]]) -> float:
    start = time.perf_counter()
    for headers in requests:
        guard.verify("POST", "/orders?id=7", headers, BODY)
    return (time.perf_counter() - start) / len(requests)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    keys = [{"id": "k1", "secret": SECRET}]
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = start_redis(port, workdir)
        try:
            memory = hg.Guard(keys=keys)
            redis = hg.Guard(keys=keys, redis_url=f"redis://127.0.0.1:{port}/0")
            times: dict[str, list[float]] = {"memory": [], "redis": []}
            for _ in range(args.rounds):
                times["memory"].append(run(memory, signed(args.n)))
                times["redis"].append(run(redis, signed(args.n)))
        finally:
            proc.terminate()
            proc.wait(10)
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(f"{name:6}  {t * 1e6:8.2f} us/verification  {1 / t:10.0f} verifications/s")
    print(
        f"redis / memory time: {med['redis'] / med['memory']:.2f}x"
        f"  (n={args.n}, rounds={args.rounds}, one thread)"
    )


if __name__ == "__main__":
    main()
