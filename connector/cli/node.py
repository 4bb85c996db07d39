"""Node lifecycle commands: `init`, `serve` and `demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connector import heap
from connector.cli.common import DirOption, console, one_line_errors, open_node
from connector.config import ROLES, node_dir
from connector.node import init_node


@one_line_errors
def init(
    name: Annotated[str, typer.Option(help="Node name: a-z, 0-9 and '-'.")],
    prefix: Annotated[
        list[str], typer.Option(help="Identifier prefix this node homes (repeatable).")
    ] = [],  # noqa: B006 - typer needs a literal default
    gs1_prefix: Annotated[
        list[str], typer.Option(help="GS1 company prefix this node owns (repeatable).")
    ] = [],  # noqa: B006
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")] = "enterprise",
    port: Annotated[int, typer.Option(help="Port `serve` listens on.")] = 8080,
    database_url: Annotated[
        str, typer.Option(help="SQLAlchemy URL; default: SQLite in the node folder.")
    ] = "",
    parent: Annotated[str, typer.Option(help="URL of the parent resolution node.")] = "",
    public_url: Annotated[str, typer.Option(help="URL partners reach this node at.")] = "",
    dir: DirOption = None,
) -> None:
    """Create a node folder: config, Ed25519 key, operator token and ledger.

    Example: tracespace init --dir ./resin --name resin-plant --prefix 88.100.1
    """
    folder = node_dir(dir)
    node = init_node(
        folder,
        name,
        [p.lower() for p in prefix],
        gs1_company_prefixes=gs1_prefix,
        role=role,
        port=port,
        database_url=database_url,
        parent_url=parent,
        public_url=public_url,
    )
    console.print(f"created node [bold]{name}[/] in {folder}")
    console.print(f"  verifier key: {node.vkey}")
    console.print(f"  operator token: {node.config.token_path} (mode 0600)")
    node.close()


@one_line_errors
def serve(
    dir: DirOption = None,
    port: Annotated[int | None, typer.Option(help="Port (default: from tracespace.toml).")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    capture_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            envvar="TRACESPACE_CAPTURE_WORKERS",
            help="Helper processes that prepare captured EPCIS events while the node "
            "appends (default: 1 on a machine with 2 or more cores, else 0).",
        ),
    ] = None,
) -> None:
    """Run the node's HTTP API.

    Example: tracespace serve --dir ./resin --port 8081
    """
    import uvicorn

    from connector.app import create_app
    from connector.events.pipeline import default_workers

    node = open_node(dir)
    workers = default_workers() if capture_workers is None else capture_workers
    app = create_app(node, capture_workers=workers)
    heap.settle()  # what is loaded now lives as long as the process (see connector.heap)
    uvicorn.run(
        app,
        host=host,
        port=port or node.config.port,
        log_level="warning",
        access_log=False,
    )


@one_line_errors
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's nodes and files.")
    ] = Path("demo-output"),
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the network up until Ctrl-C.")
    ] = False,
) -> None:
    """Run the demo: a multi-party textile supply chain on real nodes on loopback.

    Example: tracespace demo --out /tmp/tracespace-demo --keep-running
    """
    from connector.demo import run_demo

    run_demo(out, keep_running=keep_running)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(serve)
    app.command()(demo)
