"""The `tracespace` command line: one typer app with a sub-app per domain."""

from __future__ import annotations

import typer

from connector.cli import ledger, node, peer

app = typer.Typer(
    name="tracespace",
    help="tracespace: a data space connector node with a verifiable traceability ledger.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
node.register(app)
app.add_typer(ledger.app, name="ledger")
app.add_typer(peer.app, name="peer")


def main() -> None:
    app()
