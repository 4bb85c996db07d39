"""`tracespace events capture|countersign`, `tracespace trace` and `tracespace recall`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer

from connector.cli.common import (
    CliError,
    DirOption,
    console,
    one_line_errors,
    open_node,
    progress_bar,
)
from connector.config import node_dir
from connector.events.access import SELF
from connector.events.capture import capture_document
from connector.events.errors import EventError
from connector.events.objects import object_key
from connector.events.recall import recall as recall_object
from connector.events.receipts import countersign as countersign_event
from connector.events.trace import DEFAULT_DEPTH, TraceRequest
from connector.events.trace import trace as trace_object
from schemas.epcis import iter_events, validate_document
from schemas.errors import InvalidRecord

app = typer.Typer(
    help="EPCIS 2.0 events: capture into the ledger, countersign.", no_args_is_help=True
)


def _load(path: Path) -> Any:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        validate_document(document)
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not JSON: {exc.msg} (line {exc.lineno})") from None
    except InvalidRecord as exc:
        where, message = exc.problems[0]
        raise CliError(
            f"{path}: {len(exc.problems)} problem(s), nothing captured; first: {where}: {message}"
        ) from None
    return document


@app.command()
@one_line_errors
def capture(
    files: Annotated[list[Path], typer.Argument(help="EPCISDocument JSON(-LD) files.")],
    dir: DirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the HTTP response body.")] = False,
) -> None:
    """Capture EPCIS documents into the node's ledger (each file all or nothing).

    Every file is validated before anything is written. With --json prints
    {"events": [{"eventID", "eventHash", "seq", "duplicate"}]} for all files, in order.

    Example: tracespace events capture --dir ./resin shipments.jsonld --json
    """
    documents = [_load(path) for path in files]
    total = sum(1 for doc in documents for _ in iter_events(doc))
    node = open_node(dir)
    results = []
    try:
        with progress_bar("capturing", total) as advance:
            for document in documents:
                base = len(results)
                results += capture_document(node, document, lambda n, b=base: advance(b + n))
    finally:
        node.close()
    if as_json:
        console.print_json(json.dumps({"events": [r.to_json() for r in results]}))
        return
    new = sum(1 for r in results if not r.duplicate)
    seqs = [r.seq for r in results]
    span = f" at seq {min(seqs)}..{max(seqs)}" if seqs else ""
    console.print(f"captured {new} event(s), {len(results) - new} already present{span}")


@app.command("countersign")
@one_line_errors
def countersign(
    event_id: Annotated[str, typer.Argument(help="The partner's event id (hash id or eventID).")],
    partner: Annotated[str, typer.Option("--from", help="The shipper: its DID or URL.")],
    dir: DirOption = None,
) -> None:
    """Countersign a partner's shipping event: receipt on both ledgers.

    Example: tracespace events countersign 'ni:///sha-256;ab12...' --from did:web:mill --dir ./shop
    """
    node = open_node(dir)
    try:
        result = _guard(lambda: countersign_event(node, event_id, partner))
    finally:
        node.close()
    console.print_json(json.dumps(result))
    if not result["delivered"]:
        raise CliError(f"receipt ledgered here but not delivered: {result.get('reason')}")


def _guard(call: Any) -> Any:
    try:
        return call()
    except EventError as exc:
        raise CliError(str(exc)) from None


def _remote(url: str, route: str, object_id: str, params: dict[str, Any], dir: Path | None) -> Any:
    token = (node_dir(dir) / "operator.token").read_text(encoding="utf-8").strip()
    response = httpx.get(
        f"{url.rstrip('/')}/{route}/{quote(object_id, safe='')}",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    if response.status_code != 200:
        detail = response.json().get("detail", "") if response.content else ""
        raise CliError(f"{route} failed: HTTP {response.status_code} {detail}")
    return response.json()


UrlOption = Annotated[
    str | None, typer.Option("--url", help="Ask this running node over HTTP instead of --dir.")
]
DepthOption = Annotated[int, typer.Option("--depth", help="Hops to follow.")]


def trace(
    object_id: Annotated[str, typer.Argument(help="EPC URN, GS1 Digital Link or handle.")],
    direction: Annotated[
        str, typer.Option("--direction", help="upstream (origin) or downstream (fate).")
    ] = "upstream",
    depth: DepthOption = DEFAULT_DEPTH,
    url: UrlOption = None,
    dir: DirOption = None,
) -> None:
    """Print the provenance graph of an object, following partner nodes.

    Example: tracespace trace 'urn:epc:id:sgtin:4012345.011111.1001' --dir ./garments
    """
    if url:
        console.print_json(
            json.dumps(
                _remote(url, "trace", object_id, {"direction": direction, "depth": depth}, dir)
            )
        )
        return
    node = open_node(dir)
    try:
        request = TraceRequest(object_key(object_id), direction, depth)
        result = _guard(lambda: trace_object(node, request, SELF))
    finally:
        node.close()
    console.print_json(json.dumps(result))


def recall(
    object_id: Annotated[str, typer.Argument(help="EPC URN, GS1 Digital Link or handle.")],
    depth: DepthOption = DEFAULT_DEPTH,
    url: UrlOption = None,
    dir: DirOption = None,
) -> None:
    """List every lot, carton, serial and party downstream of an object, with last locations.

    Example: tracespace recall 'urn:epc:class:lgtin:4012345.099999.RESIN-7' --dir ./resin
    """
    if url:
        console.print_json(json.dumps(_remote(url, "recall", object_id, {"depth": depth}, dir)))
        return
    node = open_node(dir)
    try:
        request = TraceRequest(object_key(object_id), "downstream", depth)
        result = _guard(lambda: recall_object(node, request, SELF))
    finally:
        node.close()
    console.print_json(json.dumps(result))


def register(root: typer.Typer) -> None:
    """Mount `events` as a sub-app and `trace`/`recall` as top-level commands."""
    root.add_typer(app, name="events")
    root.command("trace")(one_line_errors(trace))
    root.command("recall")(one_line_errors(recall))
