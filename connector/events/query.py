"""EPCIS 2.0 event queries over the index: filters, keyset pagination, query documents."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, select

from connector.events.access import Caller, check_permitted, may_read
from connector.events.errors import EventNotFound, InvalidQuery
from connector.events.objects import object_key
from connector.events.tables import event_key, event_table, micros, object_table
from connector.node import Node
from ledger import store
from ledger.entry import utc_now
from schemas.epcis.contexts import EPCIS_CONTEXT_URL
from schemas.epcis.vocabulary import BIZ_STEP, DISPOSITION

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000
EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)
TRACESPACE_NS = "https://w3id.org/tracespace/epcis#"
LEDGER_KEY = "tracespace:ledger"
"""The extension member each returned event carries: `{seq, signer, entryHash}`."""

# MATCH_* parameter -> object roles it compares (EPCIS 2.0 section 8.2.7.1).
MATCH_ROLES: dict[str, tuple[str, ...]] = {
    "MATCH_epc": ("epc", "child"),
    "MATCH_anyEPC": ("epc", "child", "parent", "input", "output"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_epcClass": ("quantity", "childQuantity"),
    "MATCH_anyEPCClass": ("quantity", "childQuantity", "inputQuantity", "outputQuantity"),
}
EQ_COLUMNS = {
    "EQ_bizStep": "biz_step",
    "EQ_disposition": "disposition",
    "EQ_bizLocation": "biz_location",
    "EQ_readPoint": "read_point",
}


@dataclass
class EventQuery:
    """A SimpleEventQuery subset; list values match any of their members."""

    event_types: list[str] = field(default_factory=list)
    ge_time: int | None = None
    lt_time: int | None = None
    equals: dict[str, list[str]] = field(default_factory=dict)
    matches: dict[str, list[str]] = field(default_factory=dict)
    per_page: int = DEFAULT_PER_PAGE
    after: int = -1

    @classmethod
    def from_params(cls, params: Iterable[tuple[str, str]]) -> EventQuery:
        """Build from URL parameters (repeated or `|`-separated values); InvalidQuery if bad."""
        query = cls()
        for name, raw in params:
            values = [v for v in raw.split("|") if v]
            if name == "eventType":
                bad = [v for v in values if v not in EVENT_TYPES]
                if bad:
                    raise InvalidQuery(f"eventType: {bad[0]!r} is not one of {EVENT_TYPES}")
                query.event_types += values
            elif name in ("GE_eventTime", "LT_eventTime"):
                moment = _time(name, raw)
                if name == "GE_eventTime":
                    query.ge_time = moment
                else:
                    query.lt_time = moment
            elif name in EQ_COLUMNS:
                query.equals.setdefault(name, []).extend(_eq_values(name, values))
            elif name in MATCH_ROLES:
                query.matches.setdefault(name, []).extend(_canonical(name, values))
            elif name == "perPage":
                if not raw.isdigit() or not 1 <= int(raw) <= MAX_PER_PAGE:
                    raise InvalidQuery(f"perPage must be an integer in 1..{MAX_PER_PAGE}")
                query.per_page = int(raw)
            elif name == "nextPageToken":
                query.after = decode_token(raw)
            else:
                raise InvalidQuery(f"unsupported query parameter {name!r}")
        return query


def _time(name: str, raw: str) -> int:
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "+").upper())
    except ValueError:
        raise InvalidQuery(f"{name}: {raw!r} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        raise InvalidQuery(f"{name}: {raw!r} has no time zone offset")
    return micros(moment)


def _eq_values(name: str, values: list[str]) -> list[str]:
    if name == "EQ_bizStep":
        return [BIZ_STEP.normalise(v) or v for v in values]
    if name == "EQ_disposition":
        return [DISPOSITION.normalise(v) or v for v in values]
    return values


def _canonical(name: str, values: list[str]) -> list[str]:
    try:
        return [object_key(value) for value in values]
    except InvalidQuery as exc:
        raise InvalidQuery(f"{name}: {exc}") from None


def encode_token(after: int) -> str:
    raw = json.dumps({"v": 1, "after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = data["after"]
        if data.get("v") != 1 or not isinstance(after, int):
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidQuery("nextPageToken is not a token this node issued") from None


@dataclass
class StoredEvent:
    """A captured event with its ledger facts."""

    seq: int
    kid: str
    event: dict[str, Any]
    context: Any
    entry: dict[str, Any]
    entry_hash: str

    def annotated(self) -> dict[str, Any]:
        """The event JSON with its ledger sequence number, signer and entry hash attached."""
        out = dict(self.event)
        out[LEDGER_KEY] = {"seq": self.seq, "signer": self.kid, "entryHash": self.entry_hash}
        return out


def load_events(conn: Connection, seqs: Sequence[int]) -> list[StoredEvent]:
    """The stored events at `seqs`, in the order given."""
    if not seqs:
        return []
    t = store.entry_table.c
    found: dict[int, StoredEvent] = {}
    for start in range(0, len(seqs), 500):
        rows = conn.execute(
            select(t.seq, t.body, t.hash).where(t.seq.in_(list(seqs[start : start + 500])))
        )
        for row in rows:
            entry = json.loads(bytes(row.body))
            payload = entry["payload"]
            found[int(row.seq)] = StoredEvent(
                int(row.seq),
                entry["kid"],
                payload["event"],
                payload.get("context"),
                entry,
                bytes(row.hash).hex(),
            )
    return [found[s] for s in seqs if s in found]


def run_query(
    node: Node, query: EventQuery, caller: Caller
) -> tuple[list[StoredEvent], int | None]:
    """One page of matching events in ledger order and the `after` of the next page (or None)."""
    check_permitted(caller)
    e = event_table.c
    stmt = _filtered(select(e.seq).where(e.seq > query.after), query)
    stmt = stmt.order_by(e.seq).limit(query.per_page + 1)
    with store.read_transaction(node.engine) as conn:
        seqs = [int(s) for s in conn.execute(stmt).scalars()]
        more = len(seqs) > query.per_page
        seqs = seqs[: query.per_page]
        events = [ev for ev in load_events(conn, seqs) if may_read(caller, ev)]
    return events, (seqs[-1] if more else None)


def matches_query(node: Node, params: dict[str, str], seq: int) -> bool:
    """Whether the event at ledger `seq` satisfies the EPCIS query `params` (an asset's)."""
    e = event_table.c
    query = EventQuery.from_params(params.items())
    stmt = _filtered(select(e.seq).where(e.seq == seq), query)
    with node.engine.connect() as conn:
        return conn.execute(stmt).first() is not None


def _filtered(stmt: Any, query: EventQuery) -> Any:
    e = event_table.c
    if query.event_types:
        stmt = stmt.where(e.event_type.in_(query.event_types))
    if query.ge_time is not None:
        stmt = stmt.where(e.event_time >= query.ge_time)
    if query.lt_time is not None:
        stmt = stmt.where(e.event_time < query.lt_time)
    for name, values in query.equals.items():
        stmt = stmt.where(getattr(e, EQ_COLUMNS[name]).in_(values))
    o = object_table.c
    for name, ids in query.matches.items():
        stmt = stmt.where(
            exists().where(o.seq == e.seq, o.object_id.in_(ids), o.role.in_(MATCH_ROLES[name]))
        )
    return stmt


def event_by_id(node: Node, event_id: str, caller: Caller) -> StoredEvent:
    """The event whose Event Hash ID or declared eventID is `event_id` (earliest if several)."""
    e = event_table.c
    with store.read_transaction(node.engine) as conn:
        # Each side of the OR has an index: event_key, and the declared-id index (whose own
        # condition the second side repeats, so that it serves it).
        hashed = (e.event_key == event_key(event_id)) & (e.event_hash == event_id)
        declared = (e.event_id == event_id) & (e.event_id != e.event_hash)
        seq = conn.execute(select(e.seq).where(hashed | declared).order_by(e.seq).limit(1)).scalar()
        events = load_events(conn, [int(seq)]) if seq is not None else []
    if not events or not may_read(caller, events[0]):
        raise EventNotFound(f"no event {event_id!r} here")
    return events[0]


def query_document(events: Sequence[StoredEvent], query_name: str = "SimpleEventQuery") -> dict:
    """An EPCISQueryDocument holding `events` (with their capture contexts' namespaces)."""
    namespaces: dict[str, Any] = {"tracespace": TRACESPACE_NS}
    for ev in events:
        contexts = ev.context if isinstance(ev.context, list) else [ev.context]
        for ctx in contexts:
            if isinstance(ctx, dict):
                for prefix, iri in ctx.items():
                    namespaces.setdefault(prefix, iri)
    return {
        "@context": [EPCIS_CONTEXT_URL, namespaces],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": utc_now(),
        "epcisBody": {
            "queryResults": {
                "queryName": query_name,
                "resultsBody": {"eventList": [ev.annotated() for ev in events]},
            }
        },
    }
