"""End-to-end throughput on 127.0.0.1: Flask under gunicorn (2 sync workers), the same view with no
auth, behind an idiomatic hand-written check (stdlib hmac + hashlib + compare_digest + a dict of
nonces, the simple scheme's canonical string) and behind hmac-guard (simple scheme), alternating
rounds against one server. Every route gets the same signed bytes, so the loader's work is equal.

    .venv/bin/python python-binding/scripts/bench_http.py [--rounds 6] [--secs 4] [--clients 8]

The loader opens one connection per request (gunicorn's sync workers close every connection)
and counts completed 200 responses; every signed request is unique (fresh nonce), signed before
the round starts so signing costs the loader nothing during the round. On Linux it also reports
the server's CPU time per request (user + system of the gunicorn processes, from /proc): on a
shared or busy machine the loader and other processes move requests/s around, much less the CPU
each request costs the server.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import hmac_guard as hg

SECRET = b"bench-http-secret-0123456789abcdef"
BODY = bytes(range(256)) * 4  # 1 KiB

APP = textwrap.dedent(
    """
    import hashlib
    import hmac as std_hmac
    import time

    from flask import Flask, abort, request
    from hmac_guard.flask import HmacGuard

    SECRET = b"bench-http-secret-0123456789abcdef"
    app = Flask(__name__)
    app.config["HMAC_GUARD_KEYS"] = [{"id": "k1", "secret": SECRET}]
    app.config["HMAC_GUARD_SCHEME"] = "simple"
    hmac = HmacGuard(app)
    seen = {}

    @app.post("/plain")
    def plain():
        return {"n": len(request.get_data())}

    @app.post("/handwritten")
    def handwritten():
        h = request.headers
        key_id, ts, nonce = h.get("X-HMAC-Key-Id"), h.get("X-HMAC-Timestamp"), h.get("X-HMAC-Nonce")
        digest, sig = h.get("X-HMAC-Content-SHA256"), h.get("X-HMAC-Signature")
        if not (key_id and ts and nonce and digest and sig) or key_id != "k1":
            abort(401)
        now = int(time.time())
        if not (now - int(ts) <= 300 and int(ts) - now <= 30):
            abort(401)
        path = request.full_path if request.query_string else request.path
        canonical = "\\n".join(["HG1", request.method, path, ts, nonce, key_id, digest])
        mac = std_hmac.new(SECRET, canonical.encode(), hashlib.sha256).hexdigest()
        if not std_hmac.compare_digest(mac, sig):
            abort(401)
        body = request.get_data()
        if not std_hmac.compare_digest(hashlib.sha256(body).hexdigest(), digest):
            abort(401)
        if (key_id, nonce) in seen:
            abort(401)
        seen[(key_id, nonce)] = int(ts) + 331
        return {"n": len(body)}

    @app.post("/signed")
    @hmac.required
    def signed():
        return {"n": len(request.get_data())}
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one(port: int, path: str, headers: list[tuple[str, str]]) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(BODY)))
        conn.endheaders(BODY)
        resp = conn.getresponse()
        resp.read()
        return resp.status == 200
    finally:
        conn.close()


def server_cpu_secs(master: int) -> float | None:
    """User + system CPU seconds of the gunicorn master and its workers (Linux /proc), or None."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    try:
        pids = [master]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == master:  # ppid
                    pids.append(int(entry.name))
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return total / ticks


def round_(port: int, path: str, secs: float, clients: int, signer: hg.Signer) -> tuple[float, int]:
    host = [("Host", f"127.0.0.1:{port}"), ("Content-Type", "application/octet-stream")]
    per_client = int(3000 * secs) // clients + 1
    work = [[host + signer.sign("POST", path, host, BODY) for _ in range(per_client)] for _ in range(clients)]
    done = [0] * clients
    stop = time.monotonic() + secs

    def client(i: int) -> None:
        for headers in work[i]:
            if time.monotonic() >= stop:
                return
            if one(port, path, headers):
                done[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - start), sum(done)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--secs", type=float, default=4)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    (tmp / "bench_app.py").write_text(APP)
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--no-control-socket",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen([*argv, "bench_app:app"], cwd=tmp, env={**os.environ, "PYTHONPATH": str(tmp)})
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        signer = hg.Signer("k1", SECRET, scheme="simple")
        round_(port, "/plain", 1, args.clients, signer)  # warm-up
        routes = {"/plain": "no auth", "/handwritten": "hand-written", "/signed": "hmac-guard"}
        rates: dict[str, list[float]] = {r: [] for r in routes}
        cpu: dict[str, list[float]] = {r: [] for r in routes}
        for i in range(args.rounds):
            for route in routes if i % 2 == 0 else reversed(list(routes)):
                before = server_cpu_secs(proc.pid)
                rate, count = round_(port, route, args.secs, args.clients, signer)
                after = server_cpu_secs(proc.pid)
                rates[route].append(rate)
                if before is not None and after is not None and count:
                    cpu[route].append((after - before) / count * 1e6)
        base = statistics.median(rates["/plain"])
        print(f"gunicorn -w 2, Flask, 1 KiB POST, {args.clients} clients,", end=" ")
        print(f"{args.rounds} alternating rounds of {args.secs}s")
        for route, label in routes.items():
            m = statistics.median(rates[route])
            rounds = ", ".join(f"{x:.0f}" for x in rates[route])
            print(f"  {label:<13}{m:8.0f} req/s  ratio {m / base:.3f}  (rounds: {rounds})")
        if all(cpu.values()):
            base_cpu = statistics.median(cpu["/plain"])
            print("server CPU per request, median of rounds (ratio: no auth's / the route's, i.e. the")
            print("throughput ratio of a CPU-bound server):")
            for route, label in routes.items():
                c = statistics.median(cpu[route])
                print(f"  {label:<13}{c:8.1f} µs  +{c - base_cpu:5.1f} µs  ratio {base_cpu / c:.3f}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
