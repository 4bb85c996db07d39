"""The `tracespace` command line: one typer app with a sub-app per domain."""

from __future__ import annotations

import typer

from connector.cli import contracts as contracts_cli
from connector.cli import events as events_cli
from connector.cli import identifiers as identifiers_cli
from connector.cli import ledger, node, peer
from connector.cli import records as records_cli

app = typer.Typer(
    name="tracespace",
    help="tracespace: a data space connector node with a verifiable traceability ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
node.register(app)
events_cli.register(app)
records_cli.register(app)
app.add_typer(ledger.app, name="ledger")
app.add_typer(peer.app, name="peer")
app.add_typer(contracts_cli.app, name="contract")
app.add_typer(identifiers_cli.app, name="id")


def main() -> None:
    app()
