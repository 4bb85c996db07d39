"""The DSP package's errors, by meaning: invalid message, not found, illegal transition."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.errors import InvalidInput, NotAllowed, NotFound


class DspError(Exception):
    """Base of the errors this package raises on purpose."""


class InvalidMessage(DspError, InvalidInput):
    """A DSP message or management request is malformed; `problems` holds JSON paths."""

    def __init__(self, problems: Iterable[tuple[str, str]] | str, path: str = "$") -> None:
        if isinstance(problems, str):
            problems = [(path, problems)]
        self.problems = list(problems)
        super().__init__("; ".join(f"{where}: {message}" for where, message in self.problems))


class ProcessNotFound(DspError, NotFound):
    """No such negotiation or transfer process, or it belongs to another participant."""


class IllegalTransition(DspError, InvalidInput):
    """The message is not allowed in the process's current state (DSP: 400 with an error)."""

    def __init__(self, state: str, message: str) -> None:
        self.state = state
        super().__init__(f"{message} is not allowed in state {state}")


class AccessDenied(DspError, NotAllowed):
    """The data plane refuses an access; `reasons` lists every failed constraint as JSON."""

    def __init__(self, message: str, reasons: list[dict[str, object]] | None = None) -> None:
        self.reasons = reasons or []
        super().__init__(message)
