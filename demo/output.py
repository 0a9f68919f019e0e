"""What the demo prints: the introduction, the table, the CLI's command, the core's ``explain``
for the tampered request, and the list of what went wrong."""

from __future__ import annotations

import os
import shlex
import shutil

from cli_curl import CliRow, CliStep
from launch import Server
from processes import tail
from scenarios import Context, Scenario
from shared import NEW_KEY, OLD_KEY, ROOT, STRANGER_KEY, DemoError
from signers import JsSigner, PySigner
from verdicts import Cell, Expect


def print_table(
    rows: list[Scenario],
    servers: list[Server],
    cells: dict[tuple[str, str], Cell],
    extra: tuple[str, list[CliRow]] | None = None,
) -> None:
    """One table; narrower terminals get the codes without ``ERR_``, then no expected column.
    ``extra``: a titled block of more rows (the CLI + curl step) in the same columns; a server
    without a cell in a row shows nothing there."""

    def render(level: int) -> list[str]:
        def code(c: str | None) -> str:
            return (c[4:] if level and c and c.startswith("ERR_") else c) or ""

        def cell_text(cell: Cell) -> str:
            a = cell.answer
            if a is None:
                return "- not run"
            verdict = "no answer" if a.status is None else f"{a.status} {code(a.code)}".rstrip()
            return f"{'' if cell.ok else 'X '}{verdict} {cell.signer}"

        header = ["scenario", *(["expected"] if level < 2 else []), *(s.name for s in servers)]

        def line(rid: str, label: str, e: Expect) -> list[str]:
            return [
                f"{rid:<3}{label}",
                *([f"{e.status} {code(e.code)}".rstrip()] if level < 2 else []),
                *(cell_text(cells[rid, s.name]) if (rid, s.name) in cells else "" for s in servers),
            ]

        body = [line(rid, label, e) for rid, label, e, _ in rows]
        more = [line(*row) for row in extra[1]] if extra else []
        widths = [max(len(r[k]) for r in [header, *body, *more]) for k in range(len(header))]

        def join(r: list[str]) -> str:
            return "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()

        lines = [join(header), "  ".join("-" * w for w in widths), *map(join, body)]
        if extra:
            lines += [extra[0], *map(join, more)]
        return lines

    width = shutil.get_terminal_size((200, 24)).columns
    level = 0
    lines = render(level)
    while level < 2 and max(len(x) for x in lines if not extra or x != extra[0]) > width:
        level += 1
        lines = render(level)
    print("\n".join(lines))
    notes = ["codes without their ERR_ prefix"] if level else []
    notes += ["js / py: signed with the Node / Python binding's Signer"]
    notes += ["in c rows, by the npm / pip package's hmac-guard CLI"] if extra else []
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
    print("  also      5: signed 10 min ago (window: 5 min); 7: 2 MiB sent chunked (limit: 1 MiB)\n")


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
