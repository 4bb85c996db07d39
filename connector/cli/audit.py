"""`tracespace audit`: the regulator's cross-node verification of one item's or lot's chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from connector.audit.report import write_report
from connector.audit.state import load_state, save_state
from connector.audit.verify import run_audit
from connector.cli.common import DirOption, console, fail, one_line_errors, open_node
from connector.config import node_dir
from connector.events.access import SELF
from connector.events.objects import object_key
from connector.events.trace import TraceRequest, trace
from connector.peers import did_for_url, node_did
from identifiers.errors import InvalidIdentifier


def _http_fetch(url: str, key: str, depth: int, folder: Path | None) -> Any:
    token_file = node_dir(folder) / "operator.token"
    headers = {}
    if token_file.exists():
        headers["Authorization"] = f"Bearer {token_file.read_text('utf-8').strip()}"

    def fetch(direction: str) -> dict[str, Any]:
        response = httpx.get(
            f"{url.rstrip('/')}/trace/{quote(key, safe='')}",
            params={"direction": direction, "depth": depth},
            headers=headers,
            timeout=60,
        )
        if response.status_code >= 400:
            fail(f"{url} answered {response.status_code} to the trace: {response.text[:200]}")
        return response.json()

    return fetch


@one_line_errors
def audit(
    start: Annotated[str, typer.Option("--from", help="Item or lot id.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.json, report.html.")],
    dir: DirOption = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Start at this running node over HTTP.")
    ] = None,
    depth: Annotated[int, typer.Option(help="Hops to follow each way.", min=0, max=25)] = 10,
) -> None:
    """Walk the chain of an item or lot across nodes (trace upstream and downstream) and check
    every entry signature, every inclusion proof, checkpoint consistency against the ones seen
    before (kept in OUT/checkpoints.json) and every receipt. Exit 0 when all pass, 1 when any
    fails, 2 on bad input.

    Example: tracespace audit --from urn:epc:id:sgtin:4055555.033333.1001 --dir brand --out au
    """
    try:
        key = object_key(start)
    except (InvalidIdentifier, ValueError) as exc:
        fail(f"--from: {exc}")
    if url:
        fetch = _http_fetch(url, key, depth, dir)
        start_did, start_url = did_for_url(url.rstrip("/")), url.rstrip("/")
    else:
        node = open_node(dir)
        start_did, start_url = node_did(node), node.config.public_url

        def fetch(direction: str) -> dict[str, Any]:
            return trace(node, TraceRequest(key, direction, depth), SELF)

    state = load_state(out)
    report = run_audit(key, start_did, start_url, fetch, state)
    save_state(out, state)
    data, page = write_report(out, report)
    counts = ", ".join(f"{n} {check}" for check, n in report["verified"].items())
    console.print(f"verified: {counts or 'nothing'}", highlight=False)
    for failure in report["failures"]:
        console.print(
            f"[red]FAILED[/] {failure['check']} at {failure['node']} seq {failure['seq']}: "
            f"{failure['reason']}",
            highlight=False,
        )
    console.print(f"report: {data} {page}", highlight=False)
    if not report["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
