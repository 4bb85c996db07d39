"""`tracespace peer ...`: the trust list of partner nodes."""

from __future__ import annotations

from typing import Annotated

import typer

from connector.cli.common import CliError, DirOption, console, one_line_errors, open_node
from connector.peers import (
    distrust_peer,
    fetch_did_document,
    peer_from_did_document,
    trust_peer,
    trusted_peers,
)
from ledger import keys

app = typer.Typer(help="Partner nodes this node trusts (DID documents).", no_args_is_help=True)


@app.command()
@one_line_errors
def add(
    url: Annotated[str, typer.Argument(help="Base URL of the partner node.")],
    yes: Annotated[bool, typer.Option("--yes", help="Trust without asking.")] = False,
    dir: DirOption = None,
) -> None:
    """Import a partner from its DID document, after the operator confirms its key.

    Example: tracespace peer add http://127.0.0.1:8082 --dir ./resin
    """
    node = open_node(dir)
    peer = peer_from_did_document(fetch_did_document(url), url)
    console.print(f"{peer.name}: {peer.did}\n  key id {keys.public_key_id(peer.public_key)}")
    if not yes and not typer.confirm("Trust this participant?", default=False):
        raise CliError("not trusted")
    trust_peer(node.engine, peer)
    console.print(f"trusted {peer.did}")


@app.command("list")
@one_line_errors
def list_(dir: DirOption = None) -> None:
    """List trusted partners. Example: tracespace peer list --dir ./resin"""
    for p in trusted_peers(open_node(dir).engine):
        console.print(f"{p.name}\t{p.did}\t{p.base_url}")


@app.command()
@one_line_errors
def remove(did: Annotated[str, typer.Argument()], dir: DirOption = None) -> None:
    """Remove a partner. Example: tracespace peer remove did:web:127.0.0.1%3A8082 --dir ./resin"""
    if not distrust_peer(open_node(dir).engine, did):
        raise CliError(f"{did} is not on the trust list")
    console.print(f"removed {did}")
