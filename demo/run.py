#!/usr/bin/env python3
"""The scripted client behind ``make demo`` and ``make test-demo``.

Starts the Express, Feathers, Flask (gunicorn, 1 worker), FastAPI (uvicorn), actix-web and axum
demo servers on 127.0.0.1 (free ports, each checked through its ``/health`` answer), runs every
scenario against each of them -- signing some requests with the Node binding's ``Signer``
(through ``demo/js_signer.js``) and the others with the Python binding's -- then the CLI + curl
step and the webhook deliveries of every provider preset, and prints one table, the core's
``explain`` output for the tampered request and a one-line summary. It stops every process
it started, on success, on error and on Ctrl-C, and exits 1 when a verdict differs from the
expected one (2 when the demo could not start).

    .venv/bin/python demo/run.py                    # replay store: memory, or HMAC_GUARD_REDIS_URL
    .venv/bin/python demo/run.py --redis-server     # a throwaway redis-server, then the Redis store
    .venv/bin/python demo/run.py --memory --tally   # what make test-demo runs (plus --redis-server)

This file is the entry point (arguments, the order of the steps, cleanup, exit code); each step
lives in its own module next to it: ``launch`` (the servers), ``redis_server``, ``signers``,
``scenarios``, ``cli_curl`` (the CLI + curl rows), ``webhooks`` (the webhook rows), ``output``
(table, explain, report), on top of ``http_client``, ``verdicts``, ``processes`` and ``shared``
(paths, keys, ``DemoError``).

DEMO ONLY: the keys are the public ones in demo/keys.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cli_curl import cli_and_curl
from launch import SERVERS, Server, start_servers
from output import print_cli, print_explain, print_intro, print_table, report
from processes import stop
from redis_server import redis_ping, start_redis
from scenarios import run_scenarios
from shared import ROOT, WEBHOOK_SECRETS, DemoError
from signers import JsSigner, PySigner
from webhooks import TITLE as WEBHOOK_TITLE
from webhooks import run_webhooks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    store = parser.add_mutually_exclusive_group()
    store.add_argument("--memory", action="store_true", help="ignore HMAC_GUARD_REDIS_URL: in-memory store")
    store.add_argument("--redis-server", action="store_true", help="start a throwaway redis-server, use it")
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated subset (default: all)")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait between scenarios")
    parser.add_argument("--tally", action="store_true", help="end with '# pass N' / '# fail M' lines")
    args = parser.parse_args()
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    if not names or any(n not in SERVERS for n in names):
        parser.error(f"--servers: choose among {', '.join(SERVERS)}")

    def interrupted(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signum)

    signal.signal(signal.SIGINT, interrupted)  # even when started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    (ROOT / "target" / "demo").mkdir(parents=True, exist_ok=True)
    logs = Path(tempfile.mkdtemp(prefix="run-", dir=ROOT / "target" / "demo"))
    env = dict(os.environ)
    started: list[subprocess.Popen[bytes]] = []
    servers: list[Server] = []
    js: JsSigner | None = None
    code = 2
    t0 = time.monotonic()
    try:
        if args.memory:
            env.pop("HMAC_GUARD_REDIS_URL", None)
        elif args.redis_server:
            redis, env["HMAC_GUARD_REDIS_URL"] = start_redis(logs, env)
            started.append(redis)
        url = env.get("HMAC_GUARD_REDIS_URL") or None
        if url and not redis_ping(url):
            raise DemoError(
                f"HMAC_GUARD_REDIS_URL={url}: nothing answers there (unset it for the in-memory store)"
            )
        store_name = "redis" if url else "memory"
        print(f"hmac-guard demo: starting {', '.join(names)} on 127.0.0.1 (replay store: {store_name})")
        js = JsSigner(logs / "js_signer.log", env)
        started.append(js.proc)
        servers = start_servers(names, logs, env, store_name)
        started += [s.proc for s in servers if s.proc is not None]
        print_intro(servers, url)

        signers: dict[str, PySigner | JsSigner] = {"py": PySigner(), "js": js}
        rows, cells, contexts = run_scenarios(servers, signers, args.delay)
        cli = cli_and_curl(servers, logs, env)
        title = (
            f"CLI + curl (key {', '.join(sorted(cli.keys)) or '-'}: the one loaded now; "
            "hmac-guard sign --curl, the printed command run by sh -c)"
        )
        hooks, hook_cells = run_webhooks(servers, signers, list(WEBHOOK_SECRETS), args.delay)
        cells.update(cli.cells)
        cells.update(hook_cells)
        print_table(rows, servers, cells, [(title, cli.rows), (WEBHOOK_TITLE, hooks)])
        print_cli(cli, servers)
        print_explain(servers, contexts, signers)

        bad = report(servers, cells)
        elapsed = time.monotonic() - t0
        what = f"{len(servers)} servers x {len(rows)} scenarios + {len(cli.cells)} CLI + curl"
        what += f" + {len(hook_cells)} webhook checks"
        what += f", replay store: {store_name}, {elapsed:.1f} s"
        if bad:
            print(
                f"FAILED: {bad} of {len(cells)} verdicts differ from the expected ones ({what}); logs: {logs}"
            )
        else:
            print(f"OK: all {len(cells)} verdicts as expected ({what})")
        if args.tally:
            print(f"# pass {len(cells) - bad}\n# fail {bad}")
        code = 1 if bad else 0
    except DemoError as e:
        print(f"\ndemo failed: {e}\nlogs: {logs}", file=sys.stderr)
        if args.tally:
            print("# pass 0\n# fail 1")
        code = 2
    except KeyboardInterrupt as e:
        signum = e.args[0] if e.args and isinstance(e.args[0], int) else signal.SIGINT
        print(f"\n{signal.Signals(signum).name}: stopping the servers", file=sys.stderr)
        code = 128 + signum
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # finish the cleanup even on a second Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if js is not None:
            js.close()
        leftovers = [p.pid for p in started if not stop(p)]
        if leftovers:
            print(f"could not stop processes {leftovers}", file=sys.stderr)
            code = code or 1
        if code == 0:
            shutil.rmtree(logs, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
