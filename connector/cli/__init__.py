"""The `tracespace` command line: one typer app with a sub-app per domain."""

from __future__ import annotations

import sys

import typer
from typer._click import exceptions as click  # typer vendors click; these are its errors

from connector.cli import audit as audit_cli
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
audit_cli.register(app)
app.add_typer(ledger.app, name="ledger")
app.add_typer(peer.app, name="peer")
app.add_typer(contracts_cli.app, name="contract")
app.add_typer(identifiers_cli.app, name="id")


def main() -> None:
    """Run the CLI; usage errors are one line on stderr with exit code 2, never a box."""
    try:
        code = app(standalone_mode=False)
    except click.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(2)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "tracespace"
        print(f"error: {exc.format_message()} (see '{where} --help')", file=sys.stderr)
        sys.exit(2)
    except click.ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
