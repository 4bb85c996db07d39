"""Errors of the events package, grouped by meaning so HTTP and CLI map them once."""

from __future__ import annotations

from ledger.errors import InvalidInput, NotAllowed, NotFound


class EventError(Exception):
    """Base of every error raised on purpose by `connector.events`."""


class InvalidQuery(EventError, InvalidInput):
    """A query, trace or recall request is malformed or exceeds a documented limit."""


class EventNotFound(EventError, NotFound):
    """No event with that id (or no object with that id) is known here."""


class ReadNotAllowed(EventError, NotAllowed):
    """The caller may not read this event (see `connector.events.access.may_read`)."""


class PartnerError(EventError):
    """A partner node could not be reached, refused, or sent data that does not verify."""
