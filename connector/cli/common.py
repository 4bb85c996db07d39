"""Shared CLI plumbing: the --dir option, one-line errors, and rich progress bars."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.exc import SQLAlchemyError

from connector.config import ConfigError, node_dir
from connector.node import Node
from ledger.errors import LedgerError

console = Console(soft_wrap=True)
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="Node folder (default: $TRACESPACE_HOME, then '.')."),
]


class CliError(Exception):
    """An error to show the user as one line, then exit non-zero."""


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def one_line_errors(func: F) -> F:
    """Turn expected failures into `error: ...` on stderr and exit code 2, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (CliError, ConfigError, LedgerError, OSError, ValueError) as exc:
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except httpx.HTTPError as exc:
            fail(f"network: {exc}")
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            fail(f"database: {type(cause).__name__}: {str(cause).splitlines()[0]}")
        except KeyboardInterrupt:
            fail("interrupted", 130)

    return wrapper  # type: ignore[return-value]


def open_node(folder: Path | None) -> Node:
    return Node.open(node_dir(folder))


@contextmanager
def progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (hidden when not a terminal); yields `set_done(n)`."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    with progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)
