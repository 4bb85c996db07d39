"""The policies package's exception hierarchy, so callers can catch failures by meaning."""

from __future__ import annotations

from collections.abc import Iterable

Problem = tuple[str, str]
"""A `(json_path, message)` pair; paths use JSONPath notation rooted at `$`."""


class OdrlError(Exception):
    """Base of every error the policies package raises on purpose."""


class PolicyError(OdrlError, ValueError):
    """A policy document is invalid; `problems` lists every `(json_path, message)` found."""

    def __init__(self, problems: Iterable[Problem] | str, path: str = "$") -> None:
        if isinstance(problems, str):
            problems = [(path, problems)]
        self.problems: list[Problem] = list(problems) or [(path, "invalid policy")]
        super().__init__("; ".join(f"{where}: {message}" for where, message in self.problems))

    @property
    def paths(self) -> list[str]:
        """The JSON paths of all problems, in report order."""
        return [where for where, _ in self.problems]


class RequestError(OdrlError, ValueError):
    """An access request carries a value of the wrong type (e.g. an unknown classification)."""


def json_path(parent: str, key: str | int) -> str:
    """Extend a JSONPath with an object key or array index, quoting keys that need it."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if key.isidentifier():
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{parent}['{escaped}']"
