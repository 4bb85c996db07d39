"""EPCIS capture: validate a whole document, then ledger and index every event in one transaction.

Each event becomes one signed ledger entry of type `epcis.event` whose payload is
`{"v": 1, "eventHash": ..., "context": <document @context>, "event": <event JSON>}`; the event
keeps its original JSON, with `eventID` set to its EPCIS Event Hash ID when the document gave
none. Capture is idempotent per Event Hash ID: an event whose hash is already stored (in an
earlier document or earlier in the same one) is not appended again; its existing sequence
number is returned with `"duplicate": true`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from typing import Any, NamedTuple

from connector.events.pipeline import PreparedPart, Preparer
from connector.events.prepare import PreparedEvent, ledger_payload
from connector.events.tables import (
    OPEN_END,
    OPEN_START,
    containment_table,
    event_table,
    object_table,
    party_table,
)
from connector.node import Node
from ledger import rows
from schemas.epcis import EPCISEvent

EVENT_TYPE = "epcis.event"


class Captured(NamedTuple):
    """Where one event of a captured document ended up."""

    event_id: str
    event_hash: str
    seq: int
    duplicate: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "eventID": self.event_id,
            "eventHash": self.event_hash,
            "seq": self.seq,
            "duplicate": self.duplicate,
        }


def event_payload(event: EPCISEvent, context: Any) -> dict[str, Any]:
    """The ledger payload of one event (see the module docstring)."""
    return ledger_payload(event.raw, event.event_id, event.declared_event_id, context)


def capture_document(
    node: Node,
    document: Any,
    progress: Callable[[int], None] | None = None,
    preparer: Preparer | None = None,
    text: bytes | None = None,
) -> list[Captured]:
    """Validate `document` (InvalidRecord lists every problem, nothing is written), then
    append and index all its events atomically; results are in document order.

    `preparer` prepares the events (in helper processes when it has workers) while this
    thread appends; without one they are prepared here, first. `text`, when given, is the
    JSON `document` was read from (`prepare.read_json`): a helper reads it again itself,
    which costs less than sending it the parsed events.
    """
    parts = (preparer or _INLINE).parts(document, text)
    with closing(parts):  # hands the helper back even when the capture fails half-way
        return _capture(node, parts, progress)


def _capture(
    node: Node,
    parts: Iterator[PreparedPart],
    progress: Callable[[int], None] | None,
) -> list[Captured]:
    first = next(parts, None)  # before taking the append lock: a bad start costs no wait
    results: list[Captured] = []
    with node.ledger.driver_transaction() as tx:
        driver = tx.driver
        known: dict[str, tuple[str, int]] = {}
        index = _IndexRows()
        for part in itertools.chain([first] if first else [], parts):
            fresh = [p.event_key for p in part if p.event_hash not in known]
            known.update(_stored_under(driver, list(dict.fromkeys(fresh))))
            for prepared in part:
                previous = known.get(prepared.event_hash)
                if previous is not None:
                    results.append(Captured(previous[0], prepared.event_hash, previous[1], True))
                    continue
                entry = tx.append_encoded(EVENT_TYPE, prepared.payload)
                known[prepared.event_hash] = (prepared.event_id, entry.seq)
                index.add(prepared, entry.seq, entry.kid)
                results.append(Captured(prepared.event_id, prepared.event_hash, entry.seq))
            index.flush(driver)  # run by run: the helper prepares the next run meanwhile
            if progress:
                progress(len(results))
    return results


_INLINE = Preparer(workers=0)


def _stored_under(driver: rows.Driver, keys: list[int]) -> dict[str, tuple[str, int]]:
    """The stored events under event `keys`: (event id, seq) by Event Hash ID."""
    found: dict[str, tuple[str, int]] = {}
    mark = rows.placeholder(driver)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            (h, (event_id, int(seq)))
            for h, event_id, seq in rows.execute(
                driver,
                "SELECT event_hash, event_id, seq FROM epcis_event "
                f"WHERE event_key IN ({', '.join([mark] * len(chunk))})",
                tuple(chunk),
            )
        )
    return found


# The index rows are plain tuples written on the driver's connection: per row, SQLAlchemy's
# statement and parameter handling would cost more than the database's insert itself.
_EVENT_COLUMNS = (
    "seq", "event_key", "event_hash", "event_id", "event_type", "event_time", "action", "biz_step",
    "disposition", "read_point", "biz_location", "kid",
)  # fmt: skip
_OBJECT_COLUMNS = ("object_id", "seq", "role")
_PARTY_COLUMNS = ("seq", "kind", "sd_type", "value")
_CONTAINMENT = containment_table.name
_END = '"end"'  # a reserved word in SQL: quoted (the same in SQLite and PostgreSQL)
_CONTAINMENT_COLUMNS = ("parent", "child", "start", _END, "start_seq", "end_seq")


class _IndexRows:
    """The index rows of a run of events, written together (one executemany per table)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.objects: list[tuple[str, int, str]] = []
        self.parties: list[tuple[int, str, str, str]] = []
        self.links: list[_Link] = []

    def add(self, prepared: PreparedEvent, seq: int, kid: str) -> None:
        self.events.append((seq, *prepared.row, kid))
        self.objects += [(o, seq, r) for o, r in prepared.objects]
        self.parties += [(seq, k, t, v) for k, t, v in prepared.parties]
        self.links += [(p, c, action, at, seq) for p, c, action, at in prepared.links]

    def flush(self, driver: rows.Driver) -> None:
        """Write the rows added since the last flush."""
        rows.insert_rows(driver, event_table.name, _EVENT_COLUMNS, self.events)
        rows.insert_rows(driver, object_table.name, _OBJECT_COLUMNS, self.objects)
        rows.insert_rows(driver, party_table.name, _PARTY_COLUMNS, self.parties)
        if self.links:
            pairs = {(p, c) for p, c, *_ in self.links}
            _Containment.load(driver, pairs).apply(driver, self.links)
        self.events, self.objects, self.parties, self.links = [], [], [], []


_Link = tuple[str, str, str | None, int, int]
"""A containment link: (parent, child, action, time, seq)."""


@dataclass
class _Interval:
    id: int | None
    start: int
    end: int
    start_seq: int | None = None
    end_seq: int | None = None
    changed: bool = False


class _Containment:
    """The containment intervals of some (parent, child) pairs, changed in memory link by link
    (in document order, each seeing what the ones before it did), then written back at once.

    Events may arrive out of time order: a DELETE seen first opens an interval with an
    unknown start (OPEN_START) that a later ADD completes.
    """

    def __init__(self, intervals: dict[tuple[str, str], list[_Interval]]) -> None:
        self.intervals = intervals

    @classmethod
    def load(cls, driver: rows.Driver, pairs: set[tuple[str, str]]) -> _Containment:
        found: dict[tuple[str, str], list[_Interval]] = {pair: [] for pair in pairs}
        children = sorted({child for _, child in pairs})
        mark = rows.placeholder(driver)
        for start in range(0, len(children), 500):
            chunk = children[start : start + 500]
            stored = rows.execute(
                driver,
                f"SELECT id, parent, child, start, {_END}, start_seq, end_seq FROM {_CONTAINMENT} "
                f"WHERE child IN ({', '.join([mark] * len(chunk))}) ORDER BY id",
                tuple(chunk),
            )
            for row_id, parent, child, begin, end, start_seq, end_seq in stored:
                if (parent, child) in found:
                    interval = _Interval(row_id, begin, end, start_seq, end_seq)
                    found[(parent, child)].append(interval)
        return cls(found)

    def apply(
        self, driver: rows.Driver, links: list[tuple[str, str, str | None, int, int]]
    ) -> None:
        for parent, child, action, at, seq in links:
            self._link(self.intervals[(parent, child)], action, at, seq)
        changed = [(pair, i) for pair, rows in self.intervals.items() for i in rows if i.changed]
        new = [
            (p, ch, i.start, i.end, i.start_seq, i.end_seq)
            for (p, ch), i in changed if i.id is None
        ]  # fmt: skip
        updated = [
            (i.start, i.end, i.start_seq, i.end_seq, i.id) for _, i in changed if i.id is not None
        ]
        rows.insert_rows(driver, _CONTAINMENT, _CONTAINMENT_COLUMNS, new)
        if updated:
            mark = rows.placeholder(driver)
            rows.execute(
                driver,
                f"UPDATE {_CONTAINMENT} SET start = {mark}, {_END} = {mark}, "
                f"start_seq = {mark}, end_seq = {mark} WHERE id = {mark}",
                updated,
                many=True,
            )

    @staticmethod
    def _link(rows: list[_Interval], action: str | None, at: int, seq: int) -> None:
        if action == "ADD":
            early = next((i for i in rows if i.start == OPEN_START and i.end >= at), None)
            if early is not None:
                early.start, early.start_seq, early.changed = at, seq, True
            elif not any(i.end == OPEN_END for i in rows):  # a repeated ADD changes nothing
                rows.append(_Interval(None, at, OPEN_END, start_seq=seq, changed=True))
        elif action == "DELETE":
            open_rows = [i for i in rows if i.start <= at and i.end == OPEN_END]
            if open_rows:
                last = max(open_rows, key=lambda i: i.start)
                last.end, last.end_seq, last.changed = at, seq, True
            else:
                rows.append(_Interval(None, OPEN_START, at, end_seq=seq, changed=True))
        elif not any(i.start <= at < i.end for i in rows):
            # OBSERVE (or no action): witnessed at one instant, unless already known then
            rows.append(_Interval(None, at, at + 1, seq, seq, changed=True))


def stored_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The EPCIS event JSON inside an `epcis.event` ledger payload."""
    return dict(payload["event"])
