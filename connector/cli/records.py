"""`tracespace footprint ...` and `tracespace quality ...`: sign, verify and manage records."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from connector.cli.common import CliError, DirOption, console, err_console, one_line_errors
from connector.cli.common import open_node as _open_node
from connector.node import Node
from connector.records import bom, exchange, footprints, pact_auth, quality, sharing
from connector.records.signing import (
    Resolver,
    did_document_resolver,
    did_web_resolver,
    key_resolver,
    load_json,
    node_url_resolver,
    parse_key,
    verify_document,
)
from connector.records.store import StoredRecord, get_record, list_records
from ledger.errors import InvalidInput, NotAllowed, NotFound
from schemas.errors import RecordError

footprint_app = typer.Typer(
    help="PACT carbon footprints: sign, verify, import, BOM roll-up.", no_args_is_help=True
)
quality_app = typer.Typer(
    help="Quality records: inspections, CoAs, notifications.", no_args_is_help=True
)
bom_app = typer.Typer(
    help="Bills of materials and the footprints computed from them.", no_args_is_help=True
)
client_app = typer.Typer(help="OAuth2 clients of the node's PACT API.", no_args_is_help=True)
share_app = typer.Typer(
    help="Operator overrides: partners receiving records outside any agreement.",
    no_args_is_help=True,
)
footprint_app.add_typer(bom_app, name="bom")
footprint_app.add_typer(client_app, name="client")
footprint_app.add_typer(share_app, name="share")

FileArg = Annotated[Path, typer.Argument(help="A JSON file.", exists=True, dir_okay=False)]
KeyOption = Annotated[
    str | None, typer.Option("--key", help="Issuer public key: Multikey z6Mk... or a note vkey.")
]
DidDocOption = Annotated[
    Path | None, typer.Option("--did-document", help="The issuer's DID document (JSON file).")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="Issuer node URL: resolve via its /.well-known/did.json."),
]


def register(app: typer.Typer) -> None:
    """Add the `footprint` and `quality` sub-apps to the main CLI."""
    app.add_typer(footprint_app, name="footprint")
    app.add_typer(quality_app, name="quality")


def _guard(func: Callable[..., Any]) -> Callable[..., Any]:
    """Record-library and node errors become one-line CLI errors."""

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (RecordError, InvalidInput, NotFound, NotAllowed) as exc:
            raise CliError(str(exc)) from None

    return one_line_errors(wrapped)


def _open(folder: Path | None) -> Node:
    return _open_node(folder)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _resolver(key: str | None, did_document: Path | None, url: str | None) -> Resolver:
    given = [x for x in (key, did_document, url) if x]
    if len(given) > 1:
        raise CliError("give at most one of --key, --did-document, --url")
    if key:
        return key_resolver(parse_key(key))
    if did_document:
        return did_document_resolver(load_json(did_document))
    if url:
        return node_url_resolver(url)
    return did_web_resolver


def _summary_line(r: StoredRecord) -> str:
    status = r.status or "-"
    return f"{r.id}\t{r.direction}\t{r.record_type}\tv{r.version}\t{status}\tseq {r.ledger_seq}"


# -- footprint -----------------------------------------------------------------------------


@footprint_app.command("sign")
@_guard
def footprint_sign(
    file: FileArg,
    subject: Annotated[
        list[str] | None, typer.Option("--subject", help="Batch or serial id (repeatable).")
    ] = None,
    dir: DirOption = None,
) -> None:
    """Validate a footprint (v2 is converted), sign it with the node key, ledger it, print it.

    Example: tracespace footprint sign pcf.json --dir ./supplier --subject 88.100.1/batch-42
    """
    record, warnings = footprints.issue(_open(dir), load_json(file), subject or [])
    for w in warnings:
        err_console.print(f"warning: {w.path}: {w.message}", highlight=False)
    err_console.print(f"ledgered at seq {record.ledger_seq}, hash {record.digest}")
    _print_json(record.document)


@footprint_app.command("verify")
@_guard
def footprint_verify(
    file: FileArg, key: KeyOption = None, did_document: DidDocOption = None, url: UrlOption = None
) -> None:
    """Check a signed footprint's proof and validate it; exit 0 only when both pass.

    Without an option the key is resolved from the issuer's did:web DID document.
    Example: tracespace footprint verify signed.json --url http://127.0.0.1:8081
    """
    document = load_json(file)
    result = verify_document(document, _resolver(key, did_document, url))
    footprints.prepare(document)
    for proof in result.proofs:
        console.print(f"ok: {proof.cryptosuite} by {proof.verification_method}")


@footprint_app.command("import")
@_guard
def footprint_import(
    file: FileArg,
    key: KeyOption = None,
    did_document: DidDocOption = None,
    url: UrlOption = None,
    dir: DirOption = None,
) -> None:
    """Store a supplier's signed footprint as received (verified first), then recalculate BOMs.

    Example: tracespace footprint import supplier-pcf.json --url http://127.0.0.1:8081 --dir ./oem
    """
    node = _open(dir)
    document = load_json(file)
    record = footprints.receive(node, document, _resolver(key, did_document, url), received_from="")
    console.print(f"received {record.id} (seq {record.ledger_seq})")
    for new in bom.recalculate_for(node, record.product_ids):
        console.print(f"recalculated: published {new.id} (seq {new.ledger_seq})")


@footprint_app.command("list")
@_guard
def footprint_list(dir: DirOption = None) -> None:
    """List footprints held by the node. Example: tracespace footprint list --dir ./oem"""
    for r in list_records(_open(dir), footprints.KIND):
        console.print(_summary_line(r), highlight=False)


@footprint_app.command("show")
@_guard
def footprint_show(record_id: Annotated[str, typer.Argument()], dir: DirOption = None) -> None:
    """Print one stored footprint with its proof.

    Example: tracespace footprint show ID --dir ./oem
    """
    _print_json(get_record(_open(dir), record_id, footprints.KIND).document)


@footprint_app.command("pull")
@_guard
def footprint_pull(
    peer: Annotated[str, typer.Argument(help="Partner DID.")], dir: DirOption = None
) -> None:
    """Pull the footprints a trusted partner shares with us (verified, ledgered, BOMs redone).

    Example: tracespace footprint pull did:web:127.0.0.1%3A8081 --dir ./oem
    """
    _pull(dir, peer, footprints.KIND)


def _pull(dir: Path | None, peer: str, kind: str) -> None:
    node = _open(dir)
    report = exchange.pull(node, exchange.find_trusted(node, peer), kind)
    for r in report.received:
        console.print(f"received {r.id} (seq {r.ledger_seq})")
    for r in report.recalculated:
        console.print(f"recalculated: published {r.id} (seq {r.ledger_seq})")
    console.print(f"{len(report.received)} new, {len(report.already_held)} already held")


# -- footprint bom -------------------------------------------------------------------------


@bom_app.command("set")
@_guard
def bom_set(key: Annotated[str, typer.Argument()], file: FileArg, dir: DirOption = None) -> None:
    """Create or replace a BOM definition (JSON, "v": 1).

    Example: tracespace footprint bom set bracket-kit bom.json --dir ./oem
    """
    bom.save_bom(_open(dir), key, load_json(file))
    console.print(f"saved BOM {key}")


@bom_app.command("show")
@_guard
def bom_show(key: Annotated[str, typer.Argument()], dir: DirOption = None) -> None:
    """Print a BOM definition. Example: tracespace footprint bom show bracket-kit --dir ./oem"""
    definition, current = bom.load_bom(_open(dir), key)
    _print_json({"key": key, "definition": definition, "currentFootprint": current or None})


@bom_app.command("list")
@_guard
def bom_list(dir: DirOption = None) -> None:
    """List BOMs. Example: tracespace footprint bom list --dir ./oem"""
    for item in bom.list_boms(_open(dir)):
        console.print(f"{item['key']}\t{item['currentFootprint'] or '-'}", highlight=False)


@bom_app.command("calculate")
@_guard
def bom_calculate(key: Annotated[str, typer.Argument()], dir: DirOption = None) -> None:
    """Roll up a BOM from the latest supplier footprints and publish the result.

    Example: tracespace footprint bom calculate bracket-kit --dir ./oem
    """
    record = bom.calculate(_open(dir), key)
    err_console.print(f"published {record.id} (seq {record.ledger_seq})")
    _print_json(record.document)


# -- footprint client / share --------------------------------------------------------------


@client_app.command("add")
@_guard
def client_add(
    name: Annotated[str, typer.Argument()],
    source: Annotated[list[str], typer.Option("--source", help="CloudEvents source it may use.")],
    partner: Annotated[str, typer.Option(help="DID the client speaks for.")] = "",
    callback: Annotated[str, typer.Option(help="Its events URL for answers.")] = "",
    dir: DirOption = None,
) -> None:
    """Register a PACT API client; prints its id and secret once.

    Example: tracespace footprint client add acme --source https://pact.acme.example --dir ./s
    """
    client, secret = pact_auth.register_client(_open(dir), name, source, partner, callback)
    console.print(f"client_id     {client.client_id}\nclient_secret {secret}")


@client_app.command("list")
@_guard
def client_list(dir: DirOption = None) -> None:
    """List PACT clients. Example: tracespace footprint client list --dir ./supplier"""
    for c in pact_auth.list_clients(_open(dir)):
        console.print(f"{c.client_id}\t{c.name}\t{' '.join(c.sources)}", highlight=False)


@client_app.command("remove")
@_guard
def client_remove(client_id: Annotated[str, typer.Argument()], dir: DirOption = None) -> None:
    """Remove a PACT client. Example: tracespace footprint client remove ID --dir ./supplier"""
    pact_auth.remove_client(_open(dir), client_id)
    console.print(f"removed {client_id}")


KindOption = Annotated[str, typer.Option("--kind", help="pact.footprint or quality.record")]


@share_app.command("add")
@_guard
def share_add(
    partner: Annotated[str, typer.Argument(help="Peer DID or pact-client:ID.")],
    kind: KindOption = footprints.KIND,
    dir: DirOption = None,
) -> None:
    """Operator override: a partner receives all our records of one kind outside any
    agreement, with no policy check (for PACT clients without a DID; peers use agreements).

    Example: tracespace footprint share add did:web:127.0.0.1%3A8082 --kind quality.record
    """
    sharing.grant(_open(dir), partner, kind)
    console.print(f"{partner} may receive {kind}")


@share_app.command("list")
@_guard
def share_list(dir: DirOption = None) -> None:
    """List the operator overrides. Example: tracespace footprint share list --dir ./supplier"""
    for partner, kind in sharing.grants(_open(dir).engine):
        console.print(f"{partner}\t{kind}", highlight=False)


@share_app.command("remove")
@_guard
def share_remove(
    partner: Annotated[str, typer.Argument()],
    kind: KindOption = footprints.KIND,
    dir: DirOption = None,
) -> None:
    """Remove an operator override.

    Example: tracespace footprint share remove did:web:x --kind pact.footprint
    """
    sharing.revoke(_open(dir), partner, kind)
    console.print(f"{partner} may no longer receive {kind}")


# -- quality -------------------------------------------------------------------------------


@quality_app.command("sign")
@_guard
def quality_sign(file: FileArg, dir: DirOption = None) -> None:
    """Validate a quality record, sign it with the node key, ledger it and print it.

    Example: tracespace quality sign coa.json --dir ./supplier
    """
    record = quality.issue(_open(dir), load_json(file))
    err_console.print(f"ledgered at seq {record.ledger_seq}, hash {record.digest}")
    _print_json(record.document)


@quality_app.command("verify")
@_guard
def quality_verify(
    file: FileArg, key: KeyOption = None, did_document: DidDocOption = None, url: UrlOption = None
) -> None:
    """Check a signed quality record's proof and validate it; exit 0 only when both pass.

    Example: tracespace quality verify signed-coa.json --key z6Mk...
    """
    document = load_json(file)
    result = verify_document(document, _resolver(key, did_document, url))
    quality.prepare(document)
    for proof in result.proofs:
        console.print(f"ok: {proof.cryptosuite} by {proof.verification_method}")


@quality_app.command("list")
@_guard
def quality_list(dir: DirOption = None) -> None:
    """List quality records. Example: tracespace quality list --dir ./oem"""
    for r in list_records(_open(dir), quality.KIND):
        console.print(_summary_line(r) + "\t" + " ".join(r.subjects), highlight=False)


@quality_app.command("show")
@_guard
def quality_show(record_id: Annotated[str, typer.Argument()], dir: DirOption = None) -> None:
    """Print one stored quality record. Example: tracespace quality show ID --dir ./oem"""
    _print_json(get_record(_open(dir), record_id, quality.KIND).document)


@quality_app.command("pull")
@_guard
def quality_pull(
    peer: Annotated[str, typer.Argument(help="Partner DID.")], dir: DirOption = None
) -> None:
    """Pull the quality records a trusted partner shares with us.

    Example: tracespace quality pull did:web:127.0.0.1%3A8081 --dir ./oem
    """
    _pull(dir, peer, quality.KIND)
