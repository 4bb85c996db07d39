"""Access by a partner outside a transfer: which agreements cover it and whether they permit it now.

A partner reads footprints, quality records or EPCIS events straight from the provider's
routes (`/records/shared`, `/3/footprints`, `/epcis/events`, `/trace`) only under an agreement
this node signed as provider: active (FINALIZED, not revoked), on an asset of the matching kind
whose source covers the item, with a policy that permits the access *now* (the same request
the data plane builds: count of permitted accesses so far, time since the agreement, declared
purpose, recipient, vouched roles and credentials, classification). Each decision is one
`dsp.access` ledger entry per agreement considered (`transfer: null`, `channel` naming the
route), or one entry with `agreement: null` when the partner holds none; permitted ones count
toward `count` constraints exactly like data-plane pulls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from connector.dsp.dataplane import _policy
from connector.dsp.errors import AccessDenied
from connector.dsp.offers import partner_request
from connector.dsp.records import dump, load, record, utc_now
from connector.dsp.tables import access_table, agreement_table, asset_table
from connector.node import Node
from policies import RequestError, evaluate
from policies.literals import parse_datetime

FOOTPRINTS = "footprints"
QUALITY = "quality-records"
EVENTS = "epcis-events"
KINDS = (FOOTPRINTS, QUALITY, EVENTS)
RECORD_KINDS = {"pact.footprint": FOOTPRINTS, "quality.record": QUALITY}
NO_AGREEMENT = ""
"""`dsp_access.agreement_id` of a refusal for want of any agreement (the ledger says null)."""


@dataclass(frozen=True)
class Covered:
    """One agreement that permitted the access, and the asset source that bounds it."""

    agreement: str
    asset: str
    source: Mapping[str, Any]


@dataclass
class Access:
    """The decision on one access by `peer` to asset `kind`: what is covered, what failed."""

    peer: str
    kind: str
    purpose: str | None
    covered: list[Covered] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    matcher: Callable[[Mapping[str, Any], int], bool] | None = None
    _seen: dict[int, bool] = field(default_factory=dict, repr=False)

    @property
    def permitted(self) -> bool:
        return bool(self.covered)

    def covers_record(self, record: Any) -> bool:
        """Whether a permitted agreement's asset covers this stored record."""
        return any(record_in_source(c.source, record) for c in self.covered)

    def covers_event(self, seq: int) -> bool:
        """Whether a permitted agreement's asset query matches the event at ledger `seq`."""
        if seq not in self._seen:
            match = self.matcher
            self._seen[seq] = any(
                not c.source.get("query") or (match is not None and match(c.source, seq))
                for c in self.covered
            )
        return self._seen[seq]

    def denied(self) -> AccessDenied:
        """The AccessDenied naming every failed constraint (403 on operator-facing routes)."""
        text = "; ".join(str(f.get("message")) for f in self.failures) or "no agreement covers it"
        return AccessDenied(f"{self.peer} may not read {self.kind}: {text}", self.failures)


def record_in_source(source: Mapping[str, Any], record: Any) -> bool:
    """An asset of footprints/quality records covers our own issued records (deprecated ones
    too: PACT lists them), narrowed by its `ids`, `product_ids` and `subjects` (batch or
    serial ids) lists."""
    if getattr(record, "direction", "issued") != "issued":
        return False
    ids = set(source.get("ids") or ())
    products = set(source.get("product_ids") or ())
    subjects = set(source.get("subjects") or ())
    return (
        (not ids or record.id in ids)
        and (not products or bool(products & set(record.product_ids)))
        and (not subjects or bool(subjects & set(record.subjects)))
    )


def _reason(message: str, kind: str = "agreement") -> dict[str, Any]:
    return {"kind": kind, "path": "$", "message": message}


def _candidates(conn: Connection, peer: str, kind: str) -> list[Any]:
    a, s = agreement_table.c, asset_table.c
    return conn.execute(
        select(agreement_table, s.kind, s.source, s.classification)
        .join(asset_table, s.id == a.asset_id)
        .where(a.role == "provider", a.consumer_did == peer, s.kind == kind)
        .where(a.state.in_(("active", "revoked")))
        .order_by(a.created, a.id)
    ).all()


def authorize(
    node: Node,
    peer: str,
    kind: str,
    *,
    purpose: str | None = None,
    channel: str,
    covers: Callable[[Mapping[str, Any]], bool] | None = None,
    matcher: Callable[[Mapping[str, Any], int], bool] | None = None,
    now: datetime | None = None,
) -> Access:
    """Decide (and ledger) one access by `peer` to asset `kind` through `channel`.

    `covers(source)` narrows the agreements considered to assets covering one addressed item
    (a record by id); without it every agreement on `kind` is considered (lists, queries).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    now = now or datetime.now(UTC)
    access = Access(peer, kind, purpose or None, matcher=matcher)
    with node.ledger.transaction() as tx:
        conn = tx.connection
        rows = [
            r for r in _candidates(conn, peer, kind) if covers is None or covers(load(r.source))
        ]
        if not rows:
            message = f"no agreement with {peer} covers {kind}" + (" (this item)" if covers else "")
            access.failures.append(_reason(message))
            seq = _log(tx, conn, NO_AGREEMENT, None, peer, purpose, 0, channel, access.failures)
            access.seqs.append(seq)
            return access
        for row in rows:
            count = conn.execute(
                select(func.count())
                .select_from(access_table)
                .where(access_table.c.agreement_id == row.id, access_table.c.permitted)
            ).scalar_one()
            failures = _evaluate(conn, row, peer, purpose, int(count), now)
            seq = _log(tx, conn, row.id, row.asset_id, peer, purpose, int(count), channel, failures)
            access.seqs.append(seq)
            if failures:
                access.failures.extend({**f, "agreement": row.id} for f in failures)
            else:
                access.covered.append(Covered(row.id, row.asset_id, load(row.source)))
    return access


def _evaluate(
    conn: Connection, row: Any, peer: str, purpose: str | None, count: int, now: datetime
) -> list[dict[str, Any]]:
    if row.state != "active":
        return [_reason(f"agreement {row.id} is {row.state}: {row.reason or ''}".strip(" :"))]
    body = load(row.body)
    try:
        request = partner_request(
            conn,
            peer,
            target=row.asset_id,
            purpose=purpose or None,
            classification_level=row.classification,
            now=now,
            agreement_start=parse_datetime(body["timestamp"]),
            access_count=count,
        )
    except RequestError as exc:
        return [_reason(str(exc), "request")]
    return [r.to_json() for r in evaluate(_policy(row.id, row.body), request).reasons]


def _log(
    tx: Any,
    conn: Connection,
    agreement: str,
    asset: str | None,
    peer: str,
    purpose: str | None,
    count: int,
    channel: str,
    failures: list[dict[str, Any]],
) -> int:
    permitted = not failures
    seq = record(
        tx,
        "dsp.access",
        {
            "agreement": agreement or None,
            "transfer": None,
            "channel": channel,
            "consumer": peer,
            "asset": asset,
            "purpose": purpose,
            "count_before": count,
            "permitted": permitted,
            "reasons": failures,
        },
    )
    conn.execute(
        insert(access_table).values(
            agreement_id=agreement,
            transfer_id=f"direct:{channel}",
            at=utc_now(),
            permitted=permitted,
            purpose=purpose,
            reasons=dump(failures),
            ledger_seq=seq,
        )
    )
    return seq


def holders(node: Node, kind: str) -> set[str]:
    """The partners holding an active agreement on an asset of `kind` (e.g. to notify them)."""
    a, s = agreement_table.c, asset_table.c
    with node.engine.connect() as conn:
        found: Iterable[str] = conn.execute(
            select(a.consumer_did)
            .join(asset_table, s.id == a.asset_id)
            .where(a.role == "provider", a.state == "active", s.kind == kind)
        ).scalars()
        return set(found)
