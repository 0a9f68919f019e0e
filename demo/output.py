"""What the demo prints: the introduction, the table, the CLI's command, the core's ``explain``
for the tampered request, and the list of what went wrong."""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence

from cli_curl import CliRow, CliStep
from launch import Server
from processes import tail
from scenarios import Context, Scenario
from shared import NEW_KEY, OLD_KEY, ROOT, STRANGER_KEY, DemoError
from signers import JsSigner, PySigner
from verdicts import Cell, Expect
from webhooks import Checks, WebhookRow, short


def print_table(
    rows: list[Scenario],
    servers: list[Server],
    cells: dict[tuple[str, str], Cell],
    extras: Sequence[tuple[str, Sequence[CliRow | WebhookRow]]],
) -> None:
    """One table; narrower terminals get the codes without ``ERR_``, then no expected column.
    ``extras``: titled blocks of more rows (the CLI + curl step, the webhooks) in the same
    columns; a server without a cell in a row shows nothing there. A webhook row's cell holds its
    three checks (``Checks``), each under the row id plus the check's suffix."""

    def render(level: int) -> list[str]:
        def code(c: str | None) -> str:
            return (c[4:] if level and c and c.startswith("ERR_") else c) or ""

        def cell_text(cell: Cell) -> str:
            a = cell.answer
            if a is None:
                return "- not run"
            verdict = "no answer" if a.status is None else f"{a.status} {code(a.code)}".rstrip()
            return f"{'' if cell.ok else 'X '}{verdict} {cell.signer}"

        def checks_text(rid: str, parts: Checks, server: str) -> str:
            got = [cells.get((rid + suffix, server)) for suffix, _ in parts.parts]
            if any(c is None for c in got):
                return ""
            if all(c.answer is None for c in got if c is not None):
                return "- not run"
            texts = [short(c.answer.status, c.answer.code) if c and c.answer else "-" for c in got]
            ok = all(c is not None and c.ok for c in got)
            return f"{'' if ok else 'X '}{', '.join(texts)} {got[0].signer if got[0] else ''}"

        header = ["scenario", *(["expected"] if level < 2 else []), *(s.name for s in servers)]

        def line(rid: str, label: str, e: Expect | Checks) -> list[str]:
            if isinstance(e, Checks):
                return [
                    f"{rid:<3}{label}",
                    *([str(e)] if level < 2 else []),
                    *(checks_text(rid, e, s.name) for s in servers),
                ]
            return [
                f"{rid:<3}{label}",
                *([f"{e.status} {code(e.code)}".rstrip()] if level < 2 else []),
                *(cell_text(cells[rid, s.name]) if (rid, s.name) in cells else "" for s in servers),
            ]

        body = [line(rid, label, e) for rid, label, e, _ in rows]
        blocks = [(title, [line(*row) for row in more]) for title, more in extras]
        every = [header, *body, *(r for _, more in blocks for r in more)]
        widths = [max(len(r[k]) for r in every) for k in range(len(header))]

        def join(r: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()

        lines = [join(header), "  ".join("-" * w for w in widths), *map(join, body)]
        for title, more in blocks:
            lines += [title, *map(join, more)]
        return lines

    width = shutil.get_terminal_size((200, 24)).columns
    titles = {title for title, _ in extras}
    level = 0
    lines = render(level)
    while level < 2 and max(len(x) for x in lines if x not in titles) > width:
        level += 1
        lines = render(level)
    print("\n".join(lines))
    notes = ["codes without their ERR_ prefix"] if level else []
    notes += ["js / py: signed with the Node / Python binding's Signer"]
    if any(t.startswith("CLI") for t in titles):
        notes += ["in c rows, by the npm / pip package's hmac-guard CLI"]
    if any(t.startswith("webhooks") for t in titles):
        notes += ["in w rows, by its signWebhook / sign_webhook"]
    notes += ["X: not the expected verdict"]
    print(f"({'; '.join(notes)})")


def print_explain(
    servers: list[Server], contexts: dict[str, Context], signers: dict[str, PySigner | JsSigner]
) -> None:
    for s in servers:
        saved = contexts[s.name].saved.get("tampered")
        if saved is None:
            continue
        req, signer = saved
        try:
            text = signers[signer].explain([OLD_KEY], req)
        except DemoError as e:
            print(f"\nexplain failed: {e}")
            return
        api = {"js": "the Node binding's guard.explain()", "py": "the Python binding's Guard.explain()"}[
            signer
        ]
        print(f"\nexplain: scenario 4 as the {s.name} server saw it, from {api} (never shows a secret).")
        print('The client signed "@path": /orders; the request arrived at /refunds, so the MAC cannot match:')
        print("\n".join("  " + line for line in text.splitlines()))
        return


def print_cli(step: CliStep, servers: list[Server]) -> None:
    """The first command the CLI printed (it holds no secret: checked), and how it was made."""
    if step.shown is None:
        print("\nCLI + curl: no command to show (see the X lines below)")
        return
    argv, command = step.shown
    shown = shlex.join(os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in argv)
    target = next((s.name for s in servers if s.authority in command), "the first server")
    print(f"\nCLI + curl: for {target}, HMAC_GUARD_SECRET=<the key's secret> {shown} printed")
    print(
        "(the secret is in neither argv nor this output: checked), and sh -c ran it twice with the real curl:"
    )
    print("\n".join("  " + line for line in command.splitlines()))


def print_intro(servers: list[Server], url: str | None) -> None:
    for s in servers:
        argv = [os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in s.argv]
        print(f"  {s.name:<9} http://{s.authority}  {s.title}  ({' '.join(argv)} --port {s.port})")
    print(f"  store     {url or 'in memory, one per server process'}")
    print(f"  keys      old {OLD_KEY} (at start), new {NEW_KEY} (added in 8b), unknown {STRANGER_KEY}")
    print("  tampered  3: body changed after signing (qty 2 -> 200); 4: signed for /orders, sent to /refunds")
    print("  also      5: signed 10 min ago (window: 5 min); 7: 2 MiB sent chunked (limit: 1 MiB)")
    print("  webhooks  w1-w6: POST /hooks/<provider>, each provider's demo secret from keys.json\n")


def report(servers: list[Server], cells: dict[tuple[str, str], Cell]) -> int:
    """Prints what went wrong (servers that died, verdicts that differ); returns the count."""
    print()
    for s in servers:
        if s.down is not None:
            print(f"the {s.name} server (pid {s.proc.pid if s.proc else '?'}) {s.down}; its log ends:")
            print(tail(s.log))
    bad = [(rid, name, cell) for (rid, name), cell in cells.items() if not cell.ok]
    for rid, name, cell in bad:
        if cell.answer is not None:
            a = cell.answer
            got = "no answer" if a.status is None else f"{a.status} {a.code or ''}".rstrip()
            print(f"  X {rid} on {name}: got {got} -- {cell.problem}")
    for s in servers:
        skipped = [rid for rid, name, cell in bad if name == s.name and cell.answer is None]
        if skipped:
            print(f"  X {s.name}: {len(skipped)} scenarios not run ({', '.join(skipped)}): server down")
    return len(bad)
