"""Redis Sentinel and Redis Cluster behind a real Flask app under gunicorn (4 workers), against
topologies started here with plain `redis-server` (no redis-cli): 500 concurrent copies of one
signed request → exactly one accepted; Sentinel: the master killed (SIGKILL) under a light steady
load → 503 ERR_REPLAY_STORE_UNAVAILABLE during the switch, 2xx again on the promoted replica within
30 s, no replay accepted across the failover; Cluster: one master killed → fresh requests are 2xx
or 503, nothing else."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import hmac_guard as hg

from common import SECRET
from redis_server import Redis
from servers import Server, error_code, free_port, gunicorn_argv, request, serve

BODY = b'{"amount": 10}'
TARGET = "/echo?x=1"
FAILOVER_BOUND = 30.0  # seconds from SIGKILL of the master to 2xx again


class Node(Redis):
    """A redis-server with extra arguments, killed with SIGKILL when asked to."""

    def __init__(self, *extra: str) -> None:
        super().__init__()
        self.extra = list(extra)

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.dir), *self.extra]
        self._spawn(argv)

    def _spawn(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            assert self.proc.poll() is None, f"redis-server exited at startup: {argv}"
            try:
                if self.command("PING") == "PONG":
                    return
            except (OSError, AssertionError):
                pass
            assert time.monotonic() < deadline, f"redis-server on {self.port} did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sentinel(Node):
    """`redis-server <conf> --sentinel` watching one master (quorum 1, down after 500 ms)."""

    def __init__(self, master_name: str, master_port: int) -> None:
        super().__init__()
        self.master_name = master_name
        self.master_port = master_port

    def start(self) -> None:
        conf = Path(self.dir) / "sentinel.conf"
        conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\nsentinel resolve-hostnames no\n"
            f"sentinel monitor {self.master_name} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {self.master_name} 500\n"
            f"sentinel failover-timeout {self.master_name} 5000\n",
            encoding="utf-8",
        )
        self._spawn([self.binary, str(conf), "--sentinel"])


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is a valid, free port too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _wait(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, AssertionError):
            pass
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.1)


def _signed(server: Server) -> list[tuple[str, str]]:
    head = [("Host", server.host), ("Content-Type", "application/json")]
    return head + hg.Signer("k1", SECRET).sign("POST", TARGET, head, BODY)


def _post(server: Server, headers: list[tuple[str, str]], timeout: float = 30) -> tuple[int, str | None]:
    status, _, data = request(server, "POST", TARGET, headers, BODY, timeout=timeout)
    return status, error_code(data)


def _storm(server: Server, n: int = 500) -> tuple[list[tuple[str, str]], list[tuple[int, str | None]]]:
    """n concurrent copies of one signed request; its headers and every (status, error code)."""
    headers = _signed(server)
    barrier = threading.Barrier(n, timeout=60)

    def fire(_: int) -> tuple[int, str | None]:
        barrier.wait()
        return _post(server, headers, timeout=90)

    with ThreadPoolExecutor(n) as pool:
        return headers, list(pool.map(fire, range(n)))


def _assert_exactly_one(results: list[tuple[int, str | None]]) -> None:
    accepted = [r for r in results if 200 <= r[0] < 300]
    assert len(accepted) == 1, sorted(set(results))
    rest = [r for r in results if not 200 <= r[0] < 300]
    assert set(rest) == {(401, "ERR_REPLAY")}, sorted(set(results))


def _app_env(url: str) -> dict[str, str]:
    return {"HMAC_GUARD_TEST_REDIS_URL": url, "HMAC_GUARD_TEST_REDIS_PREFIX": f"hg-topo-{uuid.uuid4().hex}"}


def _gunicorn(port: int) -> list[str]:
    return gunicorn_argv(port, 4, "flask_app:app", "--backlog", "1024", "--log-level", "warning")


@pytest.fixture
def sentinel_setup() -> Iterator[tuple[Node, Node, Sentinel]]:
    started: list[Node] = []
    try:
        master = Node()
        started.append(master)
        master.start()
        replica = Node("--replicaof", "127.0.0.1", str(master.port))
        started.append(replica)
        replica.start()
        sentinel = Sentinel("hgmaster", master.port)
        started.append(sentinel)
        sentinel.start()
        _wait(
            "the replica in sync", lambda: "master_link_status:up" in replica.command("INFO", "replication")
        )
        _wait(
            "the sentinel knows the replica",
            lambda: len(sentinel.command("SENTINEL", "REPLICAS", "hgmaster")) == 1,
        )
        yield master, replica, sentinel
    finally:
        for node in reversed(started):
            node.cleanup()


def test_sentinel_gunicorn_500_copies_one_wins_and_a_master_failover_fails_closed_then_recovers(
    sentinel_setup: tuple[Node, Node, Sentinel],
) -> None:
    master, replica, sentinel = sentinel_setup
    port = free_port()
    url = f"redis+sentinel://127.0.0.1:{sentinel.port}/hgmaster"
    with serve("gunicorn-sentinel", _gunicorn(port), port, env=_app_env(url)) as s:
        first = _signed(s)
        assert _post(s, first)[0] == 200
        assert master.command("DBSIZE") >= 1, "the claim went to the master the sentinel names"

        storm, results = _storm(s)
        _assert_exactly_one(results)

        # Let the replica catch up, then kill the master under a light steady load.
        assert master.command("WAIT", "1", "5000") == 1
        stop = threading.Event()
        seen: list[tuple[float, int, str | None]] = []
        lock = threading.Lock()

        def load() -> None:
            while not stop.is_set():
                status, code = _post(s, _signed(s), timeout=30)
                with lock:
                    seen.append((time.monotonic(), status, code))
                time.sleep(0.05)

        killed = time.monotonic()
        master.kill()
        threads = [threading.Thread(target=load, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            # 2xx again, and steadily so: ten 2xx in a row after the first.
            def recovered() -> bool:
                with lock:
                    tail = [status for _, status, _ in seen[-10:]]
                return len(tail) == 10 and all(200 <= st < 300 for st in tail)

            _wait("2xx again after the failover", recovered, timeout=FAILOVER_BOUND + 10)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        first_ok = min(at for at, status, _ in seen if 200 <= status < 300)
        failover = first_ok - killed
        refused = [(status, code) for _, status, code in seen if not 200 <= status < 300]
        print(
            f"sentinel failover: first 2xx {failover:.2f} s after SIGKILL of the master, {len(refused)} x 503"
        )
        assert failover <= FAILOVER_BOUND, f"failover took {failover:.2f} s"
        assert refused, "requests during the switch were refused"
        assert set(refused) == {(503, "ERR_REPLAY_STORE_UNAVAILABLE")}, sorted(set(refused))
        assert "master" in str(replica.command("ROLE")[0]), "the replica was promoted"
        assert replica.command("DBSIZE") >= 1

        # Accepted before the failover, never accepted again after it (on any worker).
        for headers in (first, storm):
            for _ in range(12):
                status, code = _post(s, headers)
                assert not 200 <= status < 300, "a replay accepted across the failover"
                assert (status, code) in {(401, "ERR_REPLAY"), (503, "ERR_REPLAY_STORE_UNAVAILABLE")}, code
        # And the service goes on: a fresh request is accepted.
        assert _post(s, _signed(s))[0] == 200


@pytest.fixture
def cluster_nodes() -> Iterator[list[Node]]:
    nodes: list[Node] = []
    try:
        for _ in range(3):
            node = Node(
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                "1000",
                "--cluster-require-full-coverage",
                "no",
            )
            node.port = _cluster_port()
            nodes.append(node)
            node.extra += ["--cluster-config-file", str(Path(node.dir) / f"nodes-{node.port}.conf")]
            node.start()
        for node, (lo, hi) in zip(nodes, [(0, 5460), (5461, 10922), (10923, 16383)]):
            assert node.command("CLUSTER", "ADDSLOTSRANGE", str(lo), str(hi)) == "OK"
        for node in nodes[1:]:
            assert nodes[0].command("CLUSTER", "MEET", "127.0.0.1", str(node.port)) == "OK"

        def formed() -> bool:
            infos = [str(n.command("CLUSTER", "INFO")) for n in nodes]
            return all("cluster_state:ok" in i and "cluster_known_nodes:3" in i for i in infos)

        _wait("the cluster formed", formed, timeout=30)
        yield nodes
    finally:
        for node in reversed(nodes):
            node.cleanup()


def test_cluster_gunicorn_500_copies_one_wins_and_a_dead_master_gives_2xx_or_503_only(
    cluster_nodes: list[Node],
) -> None:
    seeds = ",".join(f"127.0.0.1:{n.port}" for n in cluster_nodes[:2])  # the two that stay up
    port = free_port()
    with serve("gunicorn-cluster", _gunicorn(port), port, env=_app_env(f"redis+cluster://{seeds}")) as s:
        for _ in range(60):
            assert _post(s, _signed(s))[0] == 200
        sizes = [n.command("DBSIZE") for n in cluster_nodes]
        assert all(size > 0 for size in sizes), f"claims reach every master: {sizes}"

        _, results = _storm(s)
        _assert_exactly_one(results)

        cluster_nodes[2].kill()
        with ThreadPoolExecutor(4) as pool:
            fresh = list(pool.map(lambda _: _post(s, _signed(s)), range(150)))
        ok = [r for r in fresh if 200 <= r[0] < 300]
        refused = [r for r in fresh if not 200 <= r[0] < 300]
        print(f"cluster with one master dead: {len(ok)} x 2xx, {len(refused)} x 503")
        assert set(refused) == {(503, "ERR_REPLAY_STORE_UNAVAILABLE")}, sorted(set(refused))
        # Both seen: the dead master's slots fail closed, the other two masters' slots go on.
        assert len(ok) > 30, f"accepted {len(ok)}, refused {len(refused)}"
        assert len(refused) > 10, f"accepted {len(ok)}, refused {len(refused)}"
