"""`tracespace id ...`: create, show, change and delete handles, bulk-register serials, QR codes,
GS1 link sets and prefix delegations, on the node folder's registry (every change is a ledger
entry)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from connector.cli.common import (
    CliError,
    DirOption,
    console,
    one_line_errors,
    open_node,
    progress_bar,
)
from connector.node import Node
from connector.routers.identifiers import GS1_KEYS, serial_range
from identifiers.digital_link import DigitalLink
from identifiers.errors import IdentifierError
from identifiers.handle import Handle, parse_handle_reference
from identifiers.qr import qr_code, qr_content
from identifiers.record import TS_CLASS, TS_GS1, URL, HandleRecord, parse_value_assignment
from identifiers.registry import NA_PREFIX, Registry
from identifiers.rest import parse_indices, rest_response

app = typer.Typer(help="Handles, GS1 keys, QR codes and prefix delegations.", no_args_is_help=True)
F = TypeVar("F", bound=Callable[..., Any])

ValueOption = Annotated[
    list[str],
    typer.Option("--value", help="[INDEX:]TYPE=VALUE, e.g. TS_CLASS=batch (repeatable)."),
]


def identifier_errors(func: F) -> F:
    """Report identifier errors (bad input, not found, refused, conflicts) as one line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except IdentifierError as exc:
            raise CliError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def open_registry(folder: Path | None) -> tuple[Node, Registry]:
    node = open_node(folder)
    registry = Registry(
        node.ledger, node.config.prefixes, public_url=node.config.public_url, cache_seconds=0
    )
    return node, registry


def with_assignments(record: HandleRecord, assignments: list[str]) -> HandleRecord:
    for text in assignments:
        index, value_type, data_format, value = parse_value_assignment(text)
        if index is not None:
            from identifiers.record import HandleValue

            record = record.with_value(
                HandleValue.make(index, value_type, value, data_format=data_format)
            )
        else:
            record = record.add(value_type, value, data_format=data_format)
    return record


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False))


@app.command()
@one_line_errors
@identifier_errors
def create(
    handle: Annotated[str, typer.Argument(help="The handle, PREFIX/SUFFIX.")],
    url: Annotated[str | None, typer.Option(help="URL value (index 1).")] = None,
    value: ValueOption = [],  # noqa: B006 - typer needs a literal default
    gs1: Annotated[
        str | None, typer.Option("--gs1", help="The object's GS1 Digital Link (TS_GS1).")
    ] = None,
    object_class: Annotated[
        str | None, typer.Option("--class", help="Object class (TS_CLASS): part, batch, ...")
    ] = None,
    dir: DirOption = None,
) -> None:
    """Register a handle; prints the ledger sequence number of the change.

    Example: tracespace id create 88.100.1/batch-42 --dir ./resin --url https://x.example/b42
    --gs1 https://id.gs1.org/01/09506000134376/10/B42 --value TS_CLASS=batch
    """
    name = parse_handle_reference(handle)
    record = HandleRecord(name)
    if url is not None:
        record = record.add(URL, url)
    if object_class is not None:
        record = record.add(TS_CLASS, object_class)
    if gs1 is not None:
        record = record.add(TS_GS1, gs1)
    record = with_assignments(record, value)
    node, registry = open_registry(dir)
    try:
        change = registry.create(record)
    finally:
        node.close()
    console.print(f"created {name} (ledger seq {change.seq})")


@app.command()
@one_line_errors
@identifier_errors
def show(
    handle: Annotated[str, typer.Argument(help="The handle, PREFIX/SUFFIX.")],
    type: Annotated[list[str], typer.Option("--type", help="Only these types.")] = [],  # noqa: B006
    index: Annotated[list[str], typer.Option("--index", help="Only these indices.")] = [],  # noqa: B006
    public: Annotated[bool, typer.Option(help="Show only public-read values.")] = False,
    dir: DirOption = None,
) -> None:
    """Print a handle's record as Handle.net REST JSON (all values: you are the operator).

    Example: tracespace id show 88.100.1/batch-42 --dir ./resin
    """
    name = parse_handle_reference(handle)
    node, registry = open_registry(dir)
    try:
        record = registry.resolve(name)
    finally:
        node.close()
    response = rest_response(
        record, str(name), types=type, indices=parse_indices(index), public=public
    )
    print_json(response.body)
    if response.status != 200:
        raise typer.Exit(1)


@app.command("set")
@one_line_errors
@identifier_errors
def set_values(
    handle: Annotated[str, typer.Argument(help="The handle, PREFIX/SUFFIX.")],
    value: ValueOption = [],  # noqa: B006
    url: Annotated[str | None, typer.Option(help="Set the URL value (index 1).")] = None,
    dir: DirOption = None,
) -> None:
    """Add or replace values (an INDEX: prefix replaces the value at that index).

    Example: tracespace id set 88.100.1/batch-42 --value 1:URL=https://x.example/new --dir ./resin
    """
    if not value and url is None:
        raise CliError("nothing to set: give --value or --url")
    name = parse_handle_reference(handle)
    node, registry = open_registry(dir)
    try:
        before = registry.get(name)
        if before is None:
            raise CliError(f"handle {name} does not exist")
        assignments = ([f"1:URL={url}"] if url is not None else []) + value
        after = with_assignments(before, assignments)
        changed = [v for v in after.values if before.by_index(v.index) != v]
        change = registry.set_values(name, changed)
    finally:
        node.close()
    console.print(f"updated {name} (ledger seq {change.seq})")


@app.command()
@one_line_errors
@identifier_errors
def delete(
    handle: Annotated[str, typer.Argument(help="The handle, PREFIX/SUFFIX.")],
    index: Annotated[
        list[str], typer.Option("--index", help="Remove only these values (repeatable).")
    ] = [],  # noqa: B006
    dir: DirOption = None,
) -> None:
    """Delete a handle, or some of its values.

    Example: tracespace id delete 88.100.1/batch-42 --dir ./resin
    """
    name = parse_handle_reference(handle)
    indices = parse_indices(index)
    node, registry = open_registry(dir)
    try:
        change = registry.remove_values(name, indices) if indices else registry.delete(name)
    finally:
        node.close()
    console.print(f"{'updated' if indices else 'deleted'} {name} (ledger seq {change.seq})")


@app.command()
@one_line_errors
@identifier_errors
def history(
    handle: Annotated[str, typer.Argument(help="The handle, PREFIX/SUFFIX.")],
    dir: DirOption = None,
) -> None:
    """Print every recorded state of a handle with the ledger entry proving it.

    Example: tracespace id history 88.100.1/batch-42 --dir ./resin
    """
    name = parse_handle_reference(handle)
    node, registry = open_registry(dir)
    try:
        items = registry.history(name)
    finally:
        node.close()
    if not items:
        raise CliError(f"no history for {name}")
    print_json([{"seq": i.seq, "ts": i.ts, "op": i.op, "record": i.record} for i in items])


@app.command()
@one_line_errors
@identifier_errors
def bulk(
    batch: Annotated[
        str, typer.Argument(help="The batch as a Digital Link: /01/{gtin}[/22/..]/10/{lot}.")
    ],
    count: Annotated[int, typer.Option(help="Number of serials in the range.")] = 0,
    start: Annotated[int, typer.Option("--from", help="First serial number.")] = 1,
    width: Annotated[int, typer.Option(help="Zero-pad serial numbers to this width.")] = 0,
    serial_prefix: Annotated[str, typer.Option(help="Text before each serial number.")] = "",
    file: Annotated[
        Path | None, typer.Option(help="File with one serial per line (instead of a range).")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="URL template for each serial, with {serial}.")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option(help="Handle prefix (default: the node's first).")
    ] = None,
    dir: DirOption = None,
) -> None:
    """Register one handle per serial of a production run, in one transaction.

    Example: tracespace id bulk /01/09506000134376/10/B42 --count 100000 --width 6 --dir ./resin
    """
    if file is not None:
        serials = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
        serials = [s for s in serials if s]
    elif count > 0:
        serials = serial_range(start, count, width, serial_prefix)
    else:
        raise CliError("give --count N (a range) or --file FILE")
    link = DigitalLink.parse(batch)
    node, registry = open_registry(dir)
    try:
        with progress_bar("registering", len(serials)) as advance:
            result = registry.register_serials(
                link, serials, prefix=prefix, url_template=url, progress=advance
            )
    finally:
        node.close()
    console.print(
        f"registered {result.count} serials under {result.batch} "
        f"(ledger seq {result.seqs[0]}..{result.seqs[-1]})"
    )


@app.command()
@one_line_errors
@identifier_errors
def qr(
    ref: Annotated[str, typer.Argument(help="A handle, or a GS1 Digital Link URI or path.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output file: .svg or .png.")],
    scale: Annotated[int, typer.Option(help="Pixels per module.")] = 4,
    dir: DirOption = None,
) -> None:
    """Write the QR code of an object: its Digital Link (GS1-keyed) or handle proxy URL.

    Example: tracespace id qr 88.100.1/batch-42 -o batch-42.svg --dir ./resin
    """
    kind = out.suffix.lower().lstrip(".")
    if kind not in ("svg", "png"):
        raise CliError(f"{out}: the output file must end in .svg or .png")
    node, registry = open_registry(dir)
    try:
        base = node.config.public_url
        target: DigitalLink | Handle
        if ref.startswith("/") or (
            ref.lower().startswith(("http://", "https://"))
            and any(f"/{ai}/" in ref for ai in GS1_KEYS)
        ):
            target = DigitalLink.parse(ref)
        else:
            target = parse_handle_reference(ref)
            record = registry.get(target)
            if record is not None and record.first(TS_GS1) is not None:
                target = DigitalLink.parse(record.first(TS_GS1).value)
    finally:
        node.close()
    content = qr_content(target, proxy_base=base, gs1_base=base)
    out.write_bytes(qr_code(content, kind, scale=scale))  # type: ignore[arg-type]
    console.print(f"wrote {out}: {content}")


@app.command()
@one_line_errors
@identifier_errors
def link(
    anchor: Annotated[
        str | None, typer.Argument(help="Digital Link path, e.g. /01/{gtin}/10/{lot}.")
    ] = None,
    add: Annotated[
        list[str], typer.Option("--add", help="LINKTYPE=HREF, e.g. gs1:pip=https://... .")
    ] = [],  # noqa: B006
    default: Annotated[str | None, typer.Option(help="The default link type.")] = None,
    title: Annotated[str, typer.Option(help="Title of the added links.")] = "",
    lang: Annotated[list[str], typer.Option(help="hreflang of the added links.")] = [],  # noqa: B006
    remove: Annotated[bool, typer.Option(help="Remove the anchor's link set.")] = False,
    dir: DirOption = None,
) -> None:
    """Manage GS1 resolver links: list them (no anchor), set an anchor's links, or remove them.

    Example: tracespace id link /01/09506000134376 --add gs1:pip=https://x.example/p --dir ./resin
    """
    node, registry = open_registry(dir)
    try:
        if anchor is None:
            print_json(registry.all_linksets())
            return
        if remove:
            seq = registry.delete_linkset(anchor)
            console.print(f"removed the links of {anchor} (ledger seq {seq})")
            return
        if not add:
            raise CliError("give --add LINKTYPE=HREF (repeatable), or --remove")
        links = []
        for item in add:
            link_type, equals, href = item.partition("=")
            if not equals or not link_type or not href:
                raise CliError(f"--add {item!r}: expected LINKTYPE=HREF")
            links.append({"linktype": link_type, "href": href, "title": title, "hreflang": lang})
        entry = {
            "anchor": anchor,
            "defaultLinktype": default or links[0]["linktype"],
            "links": links,
        }
        path, seq = registry.put_linkset(entry)
    finally:
        node.close()
    console.print(f"set {len(links)} links on {path} (ledger seq {seq})")


@app.command()
@one_line_errors
@identifier_errors
def delegate(
    prefix: Annotated[str, typer.Argument(help="The prefix to delegate, e.g. 88.100.1.")],
    url: Annotated[str, typer.Argument(help="Base URL of the node that homes it.")],
    ttl: Annotated[
        int, typer.Option(help="How long resolvers may cache the delegation (s).")
    ] = 86400,
    dir: DirOption = None,
) -> None:
    """Record (in `0.na/PREFIX`) which node homes a prefix, for resolvers walking the tree.

    Example: tracespace id delegate 88.100.1 http://enterprise.example:8083 --dir ./secondary
    """
    from identifiers.record import HandleValue

    name = Handle.of(NA_PREFIX, prefix.lower())
    Handle.of(prefix, "x")  # the delegated prefix itself must be valid
    node, registry = open_registry(dir)
    try:
        before = registry.get(name)
        value = HandleValue.make(1, URL, url.rstrip("/"), ttl=ttl)
        if before is None:
            change = registry.create(HandleRecord(name, (value,)))
        else:
            change = registry.set_values(name, [value])
    finally:
        node.close()
    console.print(f"{name} -> {url} (ledger seq {change.seq})")
