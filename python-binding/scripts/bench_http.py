"""End-to-end throughput on 127.0.0.1: Flask under gunicorn (2 sync workers), the same view with no
auth, behind an idiomatic hand-written check (stdlib hmac + hashlib + compare_digest + a dict of
nonces, the simple scheme's canonical string) and behind hmac-guard (simple scheme), against one
server. Every route gets the same signed bytes, so the loader's work is equal.

    .venv/bin/python python-binding/scripts/bench_http.py [--rounds 6] [--secs 4] [--clients 8]
        [--slice 0.25] [--aa]

The loader opens one connection per request (gunicorn's sync workers close every connection)
and counts completed 200 responses; every signed request is unique (fresh nonce), signed before
it is timed so signing costs the loader nothing while measured. On Linux it also reports the
server's CPU time per request (user + system of the gunicorn processes, from /proc): on a shared
or busy machine the loader and other processes move requests/s around, much less the CPU each
request costs the server. With 2+ CPUs the server (master and workers) is pinned to CPU 0 and the
loader to CPU 1, so the two do not trade places.

Without --slice, whole rounds of --secs seconds alternate between the routes. This VM's speed
drifts 0.6-1.5x between neighbouring rounds of seconds, more than the differences measured, so
--slice S (seconds, e.g. 0.25) time-slices instead: the loader's clients all work on one route
for S seconds, let the requests in flight finish, move on to the next route, and cycle until
every route has --secs seconds of active time in the round (route order alternating by round);
all routes see the same moments of the machine. Requests/s, server CPU (the /proc deltas around
each slice, summed: ticks are 10 ms, too coarse for one slice) and the ratios to no auth are
taken per round, then the median. The A/A route /plain2 (default with --slice, --aa without) is
no auth again: its ratio to /plain is the harness's own noise floor.
"""

from __future__ import annotations

import argparse
import collections
import functools
import http.client
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
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

    @app.post("/plain2")
    def plain2():
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


Headers = list[tuple[str, str]]
ROUTES = {"/plain": "no auth", "/handwritten": "hand-written", "/signed": "hmac-guard"}
AA_ROUTE = {"/plain2": "no auth, A/A"}


@dataclass
class Tally:
    """One route's share of a round in sliced mode: 200s, other answers, seconds loaded, server CPU."""

    done: int = 0
    errors: int = 0
    active: float = 0.0
    cpu: float | None = 0.0  # None once /proc could not be read


def one_slice(port: int, path: str, secs: float, clients: int, pool: collections.deque[Headers]) -> Tally:
    """Loads `path` from `clients` threads for `secs` seconds, then waits for the requests in flight."""
    done = [0] * clients
    errors = [0] * clients
    start = time.monotonic()
    stop = start + secs

    def client(i: int) -> None:
        while time.monotonic() < stop:
            try:
                headers = pool.popleft()
            except IndexError:
                return
            try:
                ok = one(port, path, headers)
            except (OSError, http.client.HTTPException):
                ok = False
            if ok:
                done[i] += 1
            else:
                errors[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Tally(sum(done), sum(errors), time.monotonic() - start)


class SlicedLoader:
    """Sliced mode's loader: takes turns between routes, one slice each, from pre-signed requests."""

    def __init__(self, port: int, clients: int, slice_secs: float, signer: hg.Signer, master: int) -> None:
        self.port = port
        self.clients = clients
        self.slice = slice_secs
        self.signer = signer
        self.master = master  # gunicorn's pid, for server_cpu_secs
        self.pools: dict[str, collections.deque[Headers]] = {}
        self.peak = 3000.0  # req/s, raised to the fastest slice seen: sizes the pools
        self.ran_out = 0

    def stock(self, route: str, n: int) -> None:
        """Signs requests for `route` until `n` are ready (single use: each nonce is consumed)."""
        host = [("Host", f"127.0.0.1:{self.port}"), ("Content-Type", "application/octet-stream")]
        pool = self.pools.setdefault(route, collections.deque())
        pool.extend(host + self.signer.sign("POST", route, host, BODY) for _ in range(n - len(pool)))

    def round(self, order: list[str], secs: float) -> dict[str, Tally]:
        """Cycles through `order`, one slice per turn, until every route was loaded `secs` seconds."""
        self.pools = {}  # fresh signatures every round: timestamps stay well inside the window
        for route in order:
            self.stock(route, int(self.peak * (secs + 2 * self.slice) * 1.5) + self.clients)
        tallies = {route: Tally() for route in order}
        for turn in itertools.count():
            if all(t.active >= secs for t in tallies.values()):
                break
            route = order[turn % len(order)]
            self.stock(route, int(self.peak * self.slice * 3) + self.clients)  # a safety net, untimed
            before = server_cpu_secs(self.master)
            got = one_slice(self.port, route, self.slice, self.clients, self.pools[route])
            after = server_cpu_secs(self.master)
            t = tallies[route]
            t.done, t.errors, t.active = t.done + got.done, t.errors + got.errors, t.active + got.active
            t.cpu = None if t.cpu is None or before is None or after is None else t.cpu + after - before
            self.peak = max(self.peak, got.done / got.active)
            if not self.pools[route]:
                self.ran_out += 1
        return tallies


def pin_plan() -> tuple[int, int] | None:
    """(server's CPU, loader's CPU) when this process can pin to two CPUs (Linux), else None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else None


def start_server(tmp: Path, port: int, cpu: int | None) -> subprocess.Popen[bytes]:
    """gunicorn (2 sync workers) on `port`; pinned to `cpu` before exec, workers inherit it."""
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
    pin = None if cpu is None else functools.partial(os.sched_setaffinity, 0, {cpu})
    env = {**os.environ, "PYTHONPATH": str(tmp)}
    return subprocess.Popen([*argv, "bench_app:app"], cwd=tmp, env=env, preexec_fn=pin)


def span(xs: list[float]) -> str:
    return f"{min(xs):.3f}-{max(xs):.3f}"


def whole_rounds(
    args: argparse.Namespace, routes: dict[str, str], port: int, master: int, pinned: str
) -> None:
    """The original mode: alternating whole rounds of --secs seconds per route."""
    signer = hg.Signer("k1", SECRET, scheme="simple")
    round_(port, "/plain", 1, args.clients, signer)  # warm-up
    rates: dict[str, list[float]] = {r: [] for r in routes}
    cpu: dict[str, list[float]] = {r: [] for r in routes}
    for i in range(args.rounds):
        for route in routes if i % 2 == 0 else reversed(list(routes)):
            before = server_cpu_secs(master)
            rate, count = round_(port, route, args.secs, args.clients, signer)
            after = server_cpu_secs(master)
            rates[route].append(rate)
            if before is not None and after is not None and count:
                cpu[route].append((after - before) / count * 1e6)
    base = statistics.median(rates["/plain"])
    print(f"gunicorn -w 2, Flask, 1 KiB POST, {args.clients} clients,", end=" ")
    print(f"{args.rounds} alternating rounds of {args.secs}s, {pinned}")
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


def sliced(args: argparse.Namespace, routes: dict[str, str], port: int, master: int, pinned: str) -> None:
    """--slice mode: every route loaded in turns of --slice seconds within each round."""
    load_start = os.getloadavg()[0]
    loader = SlicedLoader(port, args.clients, args.slice, hg.Signer("k1", SECRET, scheme="simple"), master)
    order = list(routes)
    loader.round(order, max(0.5, args.slice))  # warm-up, every route; also sizes the pools
    loader.ran_out = 0
    rounds = [loader.round(order if i % 2 == 0 else order[::-1], args.secs) for i in range(args.rounds)]
    for route, label in routes.items():
        errors = sum(r[route].errors for r in rounds)
        if errors:
            print(f"{label}: {errors} failed or non-200 requests", file=sys.stderr)
    if loader.ran_out:
        print(f"the loader ran out of signed requests in {loader.ran_out} slices", file=sys.stderr)
    has_cpu = all(t.cpu is not None and t.done for r in rounds for t in r.values())
    print(
        f"gunicorn -w 2, Flask, 1 KiB POST, time-sliced: turns of {args.slice} s, {args.rounds} rounds x "
        f"{args.secs} s active per route (order alternating), {args.clients} clients, {pinned}, "
        f"load {os.getloadavg()[0]:.2f} (at start {load_start:.2f})"
    )
    for route, label in routes.items():
        rps = [r[route].done / r[route].active for r in rounds]
        line = f"  {label + ':':<14}{statistics.median(rps):6.0f} req/s"
        if has_cpu:
            cpu = [(r[route].cpu or 0.0) / r[route].done * 1e6 for r in rounds]
            busy = [(r[route].cpu or 0.0) / r[route].active for r in rounds]
            line += f", server CPU {statistics.median(cpu):6.1f} µs/req (busy {statistics.median(busy):4.0%})"
        if route != "/plain":
            vs = [r[route].done / r[route].active / (r["/plain"].done / r["/plain"].active) for r in rounds]
            line += f"   req/s ratio {statistics.median(vs):.3f} (rounds {span(vs)})"
            if has_cpu:
                base = [(r["/plain"].cpu or 0.0) / r["/plain"].done * 1e6 for r in rounds]
                cpu_vs = [b / c for b, c in zip(base, cpu)]
                extra = [c - b for b, c in zip(base, cpu)]
                line += f", CPU ratio {statistics.median(cpu_vs):.3f} (rounds {span(cpu_vs)})"
                line += f", {statistics.median(extra):+.1f} µs CPU/req"
        print(line)
    print("Ratios are per round against no auth of the same round, then the median. CPU ratio: no auth's")
    print("server CPU per request / the route's, the throughput ratio of a CPU-bound server. busy: server")
    print("CPU seconds / active seconds (pinned, 100% = its CPU saturated; lower = loader-bound).")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--secs", type=float, default=4)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--slice", type=float, default=0, help="seconds per turn; 0: whole rounds per route")
    ap.add_argument("--aa", action="store_true", help="add the A/A route /plain2 (always with --slice)")
    args = ap.parse_args()
    routes = {**ROUTES, **(AA_ROUTE if args.aa or args.slice > 0 else {})}
    tmp = Path(tempfile.mkdtemp())
    (tmp / "bench_app.py").write_text(APP)
    port = free_port()
    plan = pin_plan()
    proc = start_server(tmp, port, plan[0] if plan else None)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        pinned = "not pinned"
        if plan and os.sched_getaffinity(proc.pid) == {plan[0]}:
            os.sched_setaffinity(0, {plan[1]})  # before any thread: the client threads inherit it
            pinned = f"server on CPU {plan[0]} / loader on CPU {plan[1]}"
        if args.slice > 0:
            sliced(args, routes, port, proc.pid, pinned)
        else:
            whole_rounds(args, routes, port, proc.pid, pinned)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
