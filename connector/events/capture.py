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

from sqlalchemy import Connection, and_, insert, select, update

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
from schemas.epcis import EPCISEvent, ObjectLink, parse_document

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
            _index(conn, event, event_id, entry.seq, entry.kid)
            results.append(Captured(event_id, event.event_id, entry.seq))
            if progress and done % 100 == 0:
                progress(done)
        if progress:
            progress(len(model.events))
    return results


def _known_hashes(conn: Connection, hashes: list[str]) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    t = event_table.c
    for start in range(0, len(hashes), 500):
        rows = conn.execute(
            select(t.event_hash, t.event_id, t.seq).where(
                t.event_hash.in_(hashes[start : start + 500])
            )
        )
        found.update({r.event_hash: (r.event_id, int(r.seq)) for r in rows})
    return found


def _index(conn: Connection, event: EPCISEvent, event_id: str, seq: int, kid: str) -> None:
    conn.execute(
        insert(event_table).values(
            seq=seq,
            event_hash=event.event_id,
            event_id=event_id,
            event_type=event.event_type,
            event_time=micros(event.event_time),
            action=event.action,
            biz_step=event.biz_step,
            disposition=event.disposition,
            read_point=event.read_point,
            biz_location=event.biz_location,
            kid=kid,
        )
    )
    objects = list(dict.fromkeys((unify(ref.object_id), ref.role) for ref in event.objects()))
    if objects:
        conn.execute(
            insert(object_table),
            [{"object_id": o, "seq": seq, "role": r} for o, r in objects],
        )
    parties = list(
        dict.fromkeys(
            [("source", s.type, s.value) for s in event.sources]
            + [("destination", d.type, d.value) for d in event.destinations]
        )
    )
    if parties:
        conn.execute(
            insert(party_table),
            [{"seq": seq, "kind": k, "sd_type": t, "value": v} for k, t, v in parties],
        )
    for link in event.object_links():
        if link.kind == "containment" and link.source is not None:
            _contain(conn, link, seq)


def _contain(conn: Connection, link: ObjectLink, seq: int) -> None:
    """Open, close or witness the interval during which `link.source` contained `link.target`.

    Events may arrive out of time order: a DELETE seen first opens an interval with an
    unknown start (OPEN_START) that a later ADD completes.
    """
    c = containment_table.c
    parent, child = unify(link.source or ""), unify(link.target)
    pair = and_(c.parent == parent, c.child == child)
    at = micros(link.time)
    if link.action == "ADD":
        early = conn.execute(
            select(c.id).where(pair, c.start == OPEN_START, c.end >= at).limit(1)
        ).scalar()
        if early is not None:
            conn.execute(
                update(containment_table).where(c.id == early).values(start=at, start_seq=seq)
            )
            return
        if conn.execute(select(c.id).where(pair, c.end == OPEN_END).limit(1)).first():
            return  # already packed: a repeated ADD changes nothing
        conn.execute(
            insert(containment_table).values(
                parent=parent, child=child, start=at, end=OPEN_END, start_seq=seq
            )
        )
    elif link.action == "DELETE":
        open_row = conn.execute(
            select(c.id).where(pair, c.start <= at, c.end == OPEN_END).order_by(c.start.desc())
        ).scalar()
        if open_row is not None:
            conn.execute(
                update(containment_table).where(c.id == open_row).values(end=at, end_seq=seq)
            )
        else:
            conn.execute(
                insert(containment_table).values(
                    parent=parent, child=child, start=OPEN_START, end=at, end_seq=seq
                )
            )
    else:  # OBSERVE (or no action): witnessed at one instant, unless already known then
        covering = conn.execute(
            select(c.id).where(pair, c.start <= at, c.end > at).limit(1)
        ).first()
        if covering is None:
            conn.execute(
                insert(containment_table).values(
                    parent=parent,
                    child=child,
                    start=at,
                    end=at + 1,
                    start_seq=seq,
                    end_seq=seq,
                )
            )


def stored_event(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The EPCIS event JSON inside an `epcis.event` ledger payload."""
    return dict(payload["event"])
