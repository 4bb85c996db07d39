"""EPCIS capture: validate a whole document, then ledger and index every event in one transaction.

Each event becomes one signed ledger entry of type `epcis.event` whose payload is
`{"v": 1, "eventHash": ..., "context": <document @context>, "event": <event JSON>}`; the event
keeps its original JSON, with `eventID` set to its EPCIS Event Hash ID when the document gave
none. Capture is idempotent per Event Hash ID: an event whose hash is already stored (in an
earlier document or earlier in the same one) is not appended again; its existing sequence
number is returned with `"duplicate": true`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from connector.events.objects import unify
from connector.events.tables import (
    OPEN_END,
    OPEN_START,
    containment_table,
    event_table,
    object_table,
    party_table,
)
from connector.node import Node
from schemas.epcis import EPCISEvent, parse_document

EVENT_TYPE = "epcis.event"
PAYLOAD_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Captured:
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


def micros(moment: datetime) -> int:
    """An aware datetime as integer UTC microseconds since the epoch (the index time unit)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> str:
    return (_EPOCH + timedelta(microseconds=value)).isoformat().replace("+00:00", "Z")


def event_payload(event: EPCISEvent, context: Any) -> dict[str, Any]:
    """The ledger payload of one event (see the module docstring)."""
    body = dict(event.raw)
    if not event.declared_event_id:
        body["eventID"] = event.event_id
    return {"v": PAYLOAD_VERSION, "eventHash": event.event_id, "context": context, "event": body}


def capture_document(
    node: Node, document: Any, progress: Callable[[int], None] | None = None
) -> list[Captured]:
    """Validate `document` (InvalidRecord lists every problem, nothing is written), then
    append and index all its events atomically; results are in document order."""
    model = parse_document(document)
    context = document.get("@context")
    with node.ledger.transaction() as tx:
        conn = tx.connection
        hashes = list(dict.fromkeys(e.event_id for e in model.events))
        known = _known_hashes(conn, hashes)
        rows = _IndexRows()
        results: list[Captured] = []
        for done, event in enumerate(model.events, 1):
            previous = known.get(event.event_id)
            if previous is not None:
                results.append(Captured(previous[0], event.event_id, previous[1], True))
                continue
            payload = event_payload(event, context)
            entry = tx.append(EVENT_TYPE, payload)
            event_id = payload["event"]["eventID"]
            known[event.event_id] = (event_id, entry.seq)
            rows.add(event, event_id, entry.seq, entry.kid)
            results.append(Captured(event_id, event.event_id, entry.seq))
            if progress and done % 100 == 0:
                progress(done)
        rows.flush(conn)
        if progress:
            progress(len(model.events))
    return results


def _known_hashes(conn: Connection, hashes: list[str]) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    mark = _mark(conn)
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        rows = conn.exec_driver_sql(
            "SELECT event_hash, event_id, seq FROM epcis_event "
            f"WHERE event_hash IN ({', '.join([mark] * len(chunk))})",
            tuple(chunk),
        )
        found.update({h: (event_id, int(seq)) for h, event_id, seq in rows})
    return found


# The index rows are plain tuples written with the driver's executemany: per row, SQLAlchemy's
# statement and parameter handling would cost more than SQLite's insert itself.
_EVENT_COLUMNS = (
    "seq", "event_hash", "event_id", "event_type", "event_time", "action", "biz_step",
    "disposition", "read_point", "biz_location", "kid",
)  # fmt: skip
_OBJECT_COLUMNS = ("object_id", "seq", "role")
_PARTY_COLUMNS = ("seq", "kind", "sd_type", "value")


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _insert_rows(conn: Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if rows:
        marks = ", ".join([_mark(conn)] * len(columns))
        conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


class _IndexRows:
    """The index rows of a document's events, written together (one executemany per table)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.objects: list[tuple[str, int, str]] = []
        self.parties: list[tuple[int, str, str, str]] = []
        self.links: list[tuple[str, str, str | None, int, int]] = []

    def add(self, event: EPCISEvent, event_id: str, seq: int, kid: str) -> None:
        self.events.append(
            (
                seq, event.event_id, event_id, event.event_type, micros(event.event_time),
                event.action, event.biz_step, event.disposition, event.read_point,
                event.biz_location, kid,
            )
        )  # fmt: skip
        objects = dict.fromkeys((unify(ref.object_id), ref.role) for ref in event.objects())
        self.objects += [(o, seq, r) for o, r in objects]
        if event.sources or event.destinations:
            parties = dict.fromkeys(
                [("source", s.type, s.value) for s in event.sources]
                + [("destination", d.type, d.value) for d in event.destinations]
            )
            self.parties += [(seq, k, t, v) for k, t, v in parties]
        if getattr(event, "parent_id", None):  # only events with a parent state containment
            self.links += [
                (unify(link.source), unify(link.target), link.action, micros(link.time), seq)
                for link in event.object_links()
                if link.kind == "containment" and link.source is not None
            ]

    def flush(self, conn: Connection) -> None:
        _insert_rows(conn, event_table.name, _EVENT_COLUMNS, self.events)
        _insert_rows(conn, object_table.name, _OBJECT_COLUMNS, self.objects)
        _insert_rows(conn, party_table.name, _PARTY_COLUMNS, self.parties)
        if self.links:
            _Containment.load(conn, {(p, c) for p, c, *_ in self.links}).apply(conn, self.links)


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
    def load(cls, conn: Connection, pairs: set[tuple[str, str]]) -> _Containment:
        c = containment_table.c
        found: dict[tuple[str, str], list[_Interval]] = {pair: [] for pair in pairs}
        children = sorted({child for _, child in pairs})
        for start in range(0, len(children), 500):
            rows = conn.execute(
                select(c.id, c.parent, c.child, c.start, c.end, c.start_seq, c.end_seq)
                .where(c.child.in_(children[start : start + 500]))
                .order_by(c.id)
            )
            for row in rows:
                if (row.parent, row.child) in found:
                    interval = _Interval(row.id, row.start, row.end, row.start_seq, row.end_seq)
                    found[(row.parent, row.child)].append(interval)
        return cls(found)

    def apply(self, conn: Connection, links: list[tuple[str, str, str | None, int, int]]) -> None:
        for parent, child, action, at, seq in links:
            self._link(self.intervals[(parent, child)], action, at, seq)
        changed = [(pair, i) for pair, rows in self.intervals.items() for i in rows if i.changed]
        new = [
            {"parent": p, "child": ch, "start": i.start, "end": i.end,
             "start_seq": i.start_seq, "end_seq": i.end_seq}
            for (p, ch), i in changed if i.id is None
        ]  # fmt: skip
        updated = [
            {"row": i.id, "new_start": i.start, "new_end": i.end,
             "new_start_seq": i.start_seq, "new_end_seq": i.end_seq}
            for _, i in changed if i.id is not None
        ]  # fmt: skip
        if new:
            conn.execute(insert(containment_table), new)
        if updated:
            conn.execute(_UPDATE_INTERVAL, updated)

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


_c = containment_table.c
_UPDATE_INTERVAL = (
    update(containment_table)
    .where(_c.id == bindparam("row"))
    .values(
        start=bindparam("new_start"),
        end=bindparam("new_end"),
        start_seq=bindparam("new_start_seq"),
        end_seq=bindparam("new_end_seq"),
    )
)


def stored_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The EPCIS event JSON inside an `epcis.event` ledger payload."""
    return dict(payload["event"])
