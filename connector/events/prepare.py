"""Capture preparation: everything a captured event needs that does not touch the database.

Validation (schema, formats, contexts, CBV terms), the Event Hash ID, the event model, the
event's canonical ledger payload and its index rows are pure work on JSON. `prepare_run`
does them for a run of consecutive events of one document, so a capture can prepare the
next run in a helper process while it appends the current one (`connector.events.pipeline`).
A run is checked as the document holding only those events, which is the same check: the
EPCIS schema puts no constraint on the event list as a whole. Problems are reported with
their paths in the whole document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import orjson

from connector.events.objects import unify
from connector.events.tables import event_key, micros
from ledger.canonical import Canonical, encode
from schemas.epcis import EPCISEvent, parse_document
from schemas.errors import InvalidRecord, Problem

PAYLOAD_VERSION = 1

_RUN_PATH = re.compile(r"^\$\.epcisBody\.eventList\[(\d+)\]")
_LONG_DIGITS = re.compile(rb"[0-9]{19}")


class InvalidJSON(ValueError):
    """The bytes are not JSON (the message says where)."""


def read_json(text: bytes) -> Any:
    """`text` as JSON, exactly as `json.loads` reads it (InvalidJSON if it cannot).

    orjson reads the usual document several times faster. What it refuses and `json.loads`
    accepts (NaN, lone surrogates, a BOM, very deep nesting) goes to `json.loads`, which
    stays the judge; so does any text with a run of 19 or more digits, because orjson reads
    an integer past 64 bits as a float (and such runs are where float parsers may differ).
    """
    if not _LONG_DIGITS.search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJSON(str(exc)) from None
    except RecursionError:
        raise InvalidJSON("the document is nested too deeply") from None


class PreparedEvent(NamedTuple):
    """One valid event, ready to be ledgered and indexed.

    `payload` is the canonical JSON of its ledger payload (`ledger_payload`). `row` is the
    event's index row without its ledger position: (event_key, event_hash, event_id,
    event_type, event_time, action, biz_step, disposition, read_point, biz_location).
    `objects` are (object id, role); `parties` (kind, type, value); `links` the containment
    links it states (parent, child, action, time). Times are UTC epoch microseconds.
    """

    event_hash: str
    declared_event_id: str | None
    payload: Canonical
    row: tuple[Any, ...]
    objects: tuple[tuple[str, str], ...]
    parties: tuple[tuple[str, str, str], ...]
    links: tuple[tuple[str, str, str | None, int], ...]

    @property
    def event_key(self) -> int:
        """The event's index key (`tables.event_key` of its hash), the row's first value."""
        return self.row[0]

    @property
    def event_id(self) -> str:
        """The id the event is stored under: the one it declares, else its Event Hash ID."""
        return self.declared_event_id or self.event_hash


class PreparedRun(NamedTuple):
    """The outcome of `prepare_run`: the events in order, or every problem of the run."""

    events: tuple[PreparedEvent, ...]
    problems: tuple[Problem, ...] = ()


class Run(NamedTuple):
    """A document cut down to some of its events, and where those start in the whole one."""

    document: Any
    offset: int


def runs(document: Any, first: int = 10, size: int = 25) -> Iterator[Run]:
    """Cut an EPCISDocument into runs of consecutive events: `first` events, then `size`.

    A short first run is ready soon; the others are long enough that handing one over costs
    little per event, and short enough that the appends rarely wait for the next. A
    document of another shape (a single `event`, a query document, not an object at all)
    is one run, as is one whose events fit in the first run.
    """
    body = document.get("epcisBody") if isinstance(document, dict) else None
    events = body.get("eventList") if isinstance(body, dict) else None
    if not isinstance(events, list) or set(body) != {"eventList"} or len(events) <= first:
        yield Run(document, 0)
        return
    start, length = 0, first
    while start < len(events):
        part = {**document, "epcisBody": {"eventList": events[start : start + length]}}
        yield Run(part, start)
        start += length
        length = size


def ledger_payload(
    raw: Mapping[str, Any], event_hash: str, declared_id: str | None, context: Any
) -> dict[str, Any]:
    """The ledger payload of one event: `{"v": 1, "eventHash", "context", "event"}`.

    The event keeps its JSON as sent, with `eventID` set to its Event Hash ID when it
    declared none; `context` is the document's `@context`.
    """
    body = dict(raw)
    if not declared_id:
        body["eventID"] = event_hash
    return {"v": PAYLOAD_VERSION, "eventHash": event_hash, "context": context, "event": body}


def prepare_run(run: Run) -> PreparedRun:
    """Validate and prepare the events of `run` (see the module docstring)."""
    try:
        model = parse_document(run.document)
    except InvalidRecord as exc:
        return PreparedRun((), tuple(_shift(exc.problems, run.offset)))
    context = run.document.get("@context")
    return PreparedRun(tuple(_prepared(event, context) for event in model.events))


def _shift(problems: list[Problem], offset: int) -> Iterator[Problem]:
    for path, message in problems:
        if offset:
            path = _RUN_PATH.sub(
                lambda m: f"$.epcisBody.eventList[{int(m.group(1)) + offset}]", path, count=1
            )
        yield path, message


def _prepared(event: EPCISEvent, context: Any) -> PreparedEvent:
    event_id = event.declared_event_id or event.event_id
    payload = encode(ledger_payload(event.raw, event.event_id, event.declared_event_id, context))
    row = (
        event_key(event.event_id), event.event_id, event_id, event.event_type,
        micros(event.event_time), event.action, event.biz_step, event.disposition,
        event.read_point, event.biz_location,
    )  # fmt: skip
    objects = tuple(dict.fromkeys((unify(ref.object_id), ref.role) for ref in event.objects()))
    parties: tuple[tuple[str, str, str], ...] = ()
    if event.sources or event.destinations:
        parties = tuple(
            dict.fromkeys(
                [("source", s.type, s.value) for s in event.sources]
                + [("destination", d.type, d.value) for d in event.destinations]
            )
        )
    links: tuple[tuple[str, str, str | None, int], ...] = ()
    if getattr(event, "parent_id", None):  # only events with a parent state containment
        links = tuple(
            (unify(link.source), unify(link.target), link.action, micros(link.time))
            for link in event.object_links()
            if link.kind == "containment" and link.source is not None
        )
    return PreparedEvent(
        event.event_id, event.declared_event_id, payload, row, objects, parties, links
    )
