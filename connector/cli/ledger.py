"""`tracespace ledger ...`: append, verify, export, prove, checkpoint, rotate-key, cosign."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

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
from ledger import keys
from ledger.bundle import export_bundle, verify_bundle
from ledger.entry import check_type
from ledger.errors import VerificationError
from ledger.tlog_proof import TlogProof, format_tlog_proof
from ledger.verify import verify_database

app = typer.Typer(help="The node's signed, append-only ledger.", no_args_is_help=True)
BATCH = 1000


@app.command()
@one_line_errors
def append(
    type: Annotated[str, typer.Option("--type", help="Payload type, e.g. note.memo.")],
    file: Annotated[
        str, typer.Argument(help="JSON-lines file of payloads, or '-' for stdin.")
    ] = "-",
    dir: DirOption = None,
) -> None:
    """Append one signed entry per JSON line; prints the last sequence number.

    All lines are checked before anything is written: a bad line writes nothing.

    Example: echo '{"batch": "42"}' | tracespace ledger append --type note.memo --dir ./resin
    """
    check_type(type)
    stream = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115
    with stream:
        payloads = []
        for number, line in enumerate(stream, 1):
            if line.strip():
                try:
                    payloads.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise CliError(f"line {number}: not JSON: {exc.msg}") from None
    if not payloads:
        raise CliError("no payloads given")
    node = open_node(dir)
    last = None
    with progress_bar("appending", len(payloads)) as advance, node.ledger.transaction() as tx:
        for i, payload in enumerate(payloads):
            last = tx.append(type, payload)
            if i % BATCH == 0:
                advance(i)
    console.print(last.seq if last else "")


@app.command()
@one_line_errors
def verify(
    bundle: Annotated[Path | None, typer.Argument(help="An audit bundle file to verify.")] = None,
    key: Annotated[str | None, typer.Option(help="The node's verifier key (for a bundle).")] = None,
    db: Annotated[str | None, typer.Option(help="Database URL to verify directly.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    dir: DirOption = None,
) -> None:
    """Verify every signature, hash link and checkpoint; exit 1 at the first bad entry.

    Examples: tracespace ledger verify --dir ./resin
              tracespace ledger verify bundle.json --key "$(curl -s http://node/ledger/key)"
    """
    if bundle is not None:
        if not key:
            raise CliError("verifying a bundle needs --key VKEY (from GET /ledger/key)")
        try:
            document = json.loads(bundle.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CliError(f"{bundle}: not JSON: {exc.msg}") from None
        try:
            result = verify_bundle(document, key.strip()).to_json()
        except VerificationError as err:
            _report_failure(err.seq, err.reason, as_json)
            return
        _print(
            result,
            as_json,
            f"bundle OK: entries {result['from']}..{result['to']} "
            f"proven in the checkpoint of size {result['checkpoint_size']}",
        )
        return
    if db is None:
        node = open_node(dir)
        db = node.config.database
        node.close()
    with progress_bar("verifying", None) as advance:
        report = verify_database(db, progress=advance)
    if report.error is not None:
        _report_failure(report.error.seq, report.error.reason, as_json, report.to_json())
        return
    _print(
        report.to_json(),
        as_json,
        f"ledger OK: {report.entries_checked} entries, "
        f"{report.checkpoints_checked} checkpoints, {len(report.keys)} key(s)",
    )


def _print(result: dict, as_json: bool, line: str) -> None:
    console.print_json(data=result) if as_json else console.print(line)


def _report_failure(seq: int | None, reason: str, as_json: bool, data: dict | None = None) -> None:
    if as_json:
        console.print_json(
            data=data or {"v": 1, "ok": False, "first_bad_seq": seq, "reason": reason}
        )
    else:
        where = f"entry {seq}" if seq is not None else "ledger"
        typer.echo(f"FAILED at {where}: {reason}", err=True)
    raise typer.Exit(1)


@app.command()
@one_line_errors
def export(
    output: Annotated[Path, typer.Option("-o", "--output", help="Bundle file to write.")],
    start: Annotated[int, typer.Option("--from", help="First sequence number.")] = 0,
    end: Annotated[int | None, typer.Option("--to", help="Last sequence number.")] = None,
    dir: DirOption = None,
) -> None:
    """Write a self-contained audit bundle that verifies offline with the node's key.

    Example: tracespace ledger export --from 0 --to 99 -o audit.json --dir ./resin
    """
    node = open_node(dir)
    with progress_bar("exporting", None) as advance:
        bundle = export_bundle(node.ledger, start, end, progress=advance)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    tmp.replace(output)
    console.print(f"wrote {output}: entries {bundle['from']}..{bundle['to']}")


@app.command()
@one_line_errors
def checkpoint(dir: DirOption = None) -> None:
    """Print the latest signed checkpoint (C2SP signed note).

    Example: tracespace ledger checkpoint --dir ./resin
    """
    typer.echo(open_node(dir).ledger.checkpoint(), nl=False)


@app.command()
@one_line_errors
def prove(
    seq: Annotated[int, typer.Argument(help="Sequence number of the entry.")],
    dir: DirOption = None,
) -> None:
    """Print a C2SP tlog-proof of an entry's inclusion in the latest checkpoint.

    Example: tracespace ledger prove 42 --dir ./resin > entry42.proof
    """
    ledger = open_node(dir).ledger
    note = ledger.checkpoint()
    size = int(note.split("\n")[1])
    path = tuple(ledger.inclusion_proof(seq, size))
    typer.echo(format_tlog_proof(TlogProof(index=seq, proof=path, checkpoint=note)), nl=False)


@app.command("rotate-key")
@one_line_errors
def rotate_key(dir: DirOption = None) -> None:
    """Replace the node key: the rotation entry is signed by the old and the new key.

    Example: tracespace ledger rotate-key --dir ./resin
    """
    node = open_node(dir)
    new_key = keys.generate()
    backup = node.config.key_path.with_suffix(".key.new")
    keys.save_signing_key(backup, new_key)  # keep it safe before the log depends on it
    entry = node.ledger.rotate_key(new_key)
    old = node.config.key_path.with_suffix(f".key.retired-{entry.seq}")
    node.config.key_path.rename(old)
    backup.rename(node.config.key_path)
    console.print(f"rotated at entry {entry.seq}; new verifier key: {node.ledger.vkey()}")
    console.print(f"old key kept in {old}")


@app.command()
@one_line_errors
def cosign(
    peer: Annotated[str, typer.Argument(help="Base URL of the peer node.")],
    send: Annotated[
        bool, typer.Option(help="Hand the cosignature back to the peer (it must trust us).")
    ] = True,
    dir: DirOption = None,
) -> None:
    """Witness a peer: check its checkpoint is consistent with the last one seen, cosign it.

    Example: tracespace ledger cosign http://127.0.0.1:8082 --dir ./regulator
    """
    from connector.witness import send_cosignature, witness_peer

    node = open_node(dir)
    with httpx.Client(base_url=peer.rstrip("/"), timeout=10) as client:
        cosigned = witness_peer(node, client)
    typer.echo(cosigned, nl=False)
    if send:
        send_cosignature(node, peer, cosigned)
