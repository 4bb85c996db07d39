"""The exception hierarchy shared by every record library under `schemas/`."""

from __future__ import annotations

from collections.abc import Iterable

Problem = tuple[str, str]
"""A `(json_path, message)` pair; paths use JSONPath notation rooted at `$`."""


class RecordError(Exception):
    """Base of every error raised by `schemas/`: catch this to handle them all."""


class InvalidRecord(RecordError):
    """The input is not an acceptable record; `problems` says where and why."""

    def __init__(self, problems: Iterable[Problem] | str, path: str = "$") -> None:
        if isinstance(problems, str):
            problems = [(path, problems)]
        self.problems: list[Problem] = list(problems) or [(path, "invalid record")]
        super().__init__("; ".join(f"{where}: {message}" for where, message in self.problems))

    @property
    def paths(self) -> list[str]:
        """The JSON paths of all problems, in report order."""
        return [where for where, _ in self.problems]


class JsonLdError(InvalidRecord):
    """JSON-LD processing refused the input (unknown context, hostile shape, bad syntax)."""


class RecordNotFound(RecordError):
    """Something the record refers to (a context, a verification method) cannot be found."""


class ContextIntegrityError(RecordError):
    """A bundled JSON-LD context file no longer matches its pinned SHA-256: installation fault."""


class ProofError(RecordError):
    """A Data Integrity proof cannot be created or does not verify.

    `reason` is a stable machine-readable code: `malformed-proof`, `unsupported-cryptosuite`,
    `unknown-verification-method`, `context-mismatch`, `signature-mismatch`, `missing-proof`,
    `invalid-key`.
    """

    def __init__(self, reason: str, message: str, path: str = "$.proof") -> None:
        self.reason = reason
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message} [{reason}]")


def json_path(parent: str, key: str | int) -> str:
    """Extend a JSONPath with an object key or array index, quoting keys that need it."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if key.isidentifier():
        return f"{parent}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{parent}['{escaped}']"
