"""The identifiers package's exception hierarchy, so callers can catch failures by meaning."""

from __future__ import annotations


class IdentifierError(Exception):
    """Base class of every error the identifiers package raises on purpose.

    `reason` is the human-readable cause; `path` is a JSON path (e.g. `$.values[2].index`)
    or another locator of the bad part of the input, or None.
    """

    def __init__(self, reason: str, path: str | None = None) -> None:
        self.reason = reason
        self.path = path
        super().__init__(reason if path is None else f"{path}: {reason}")


class InvalidIdentifier(IdentifierError, ValueError):
    """Input is malformed: a bad handle, handle value, GS1 string or EPC URN."""


class InvalidHandle(InvalidIdentifier):
    """A handle name breaks the RFC 3650/3651 syntax (or this package's length limits)."""


class InvalidValue(InvalidIdentifier):
    """A handle value or record is malformed or fails its type's validation."""


class InvalidGs1(InvalidIdentifier):
    """A GS1 key, AI value, Digital Link URI or EPC URN is malformed."""


class NotFound(IdentifierError, LookupError):
    """A handle, value, link or alias target does not exist."""


class NotAllowed(IdentifierError, PermissionError):
    """The acting administrator lacks the HS_ADMIN permission an operation needs."""


class AliasLoop(IdentifierError):
    """HS_ALIAS values form a cycle or a chain longer than the hop limit."""
