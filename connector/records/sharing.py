"""Who may receive which records: partners under DSP agreements, plus an operator override.

A partner (a peer DID, or a PACT client acting for one) receives our issued records only
under an agreement this node signed as provider on a `footprints` or `quality-records` asset
whose source covers the record and whose policy permits the access now
(`connector.dsp.grants`; every decision is a `dsp.access` ledger entry).

The operator override is a standing grant outside any agreement: a pair (partner, record
kind) the operator lists (ledgered `records.share-grant` / `records.share-revoke`). It exists
for PACT API clients, which have no DID and cannot negotiate; it bypasses policies, so use
it for nothing an agreement can express. Every route asks `decide` (one decision per
request) or `may_share` (one record).
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from connector.dsp import grants as agreements
from connector.node import Node
from connector.records.store import KINDS, StoredRecord
from connector.records.tables import share_table
from ledger.entry import utc_now
from ledger.errors import InvalidInput, NotFound

CLIENT_PREFIX = "pact-client:"
OVERRIDE = "override"
"""`Covered.agreement` of an access the operator override granted."""


def _check(partner: str, kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    if not (partner.startswith("did:") or partner.startswith(CLIENT_PREFIX)):
        raise InvalidInput(f"partner {partner!r} must be a DID or {CLIENT_PREFIX}CLIENT_ID")


def grant(node: Node, partner: str, kind: str) -> None:
    """Operator override: `partner` receives all our records of `kind`, outside any agreement
    (ledgered as `records.share-grant`)."""
    _check(partner, kind)
    with node.ledger.transaction() as tx:
        conn = tx.connection
        conn.execute(
            delete(share_table).where(share_table.c.partner == partner, share_table.c.kind == kind)
        )
        conn.execute(insert(share_table).values(partner=partner, kind=kind, added=utc_now()))
        tx.append("records.share-grant", {"v": 1, "partner": partner, "kind": kind})


def revoke(node: Node, partner: str, kind: str) -> None:
    """Withdraw an operator override (ledgered as `records.share-revoke`)."""
    with node.ledger.transaction() as tx:
        gone = tx.connection.execute(
            delete(share_table).where(share_table.c.partner == partner, share_table.c.kind == kind)
        ).rowcount
        if not gone:
            raise NotFound(f"{partner} has no override for {kind}")
        tx.append("records.share-revoke", {"v": 1, "partner": partner, "kind": kind})


def grants(engine: Engine) -> list[tuple[str, str]]:
    """The operator overrides, as (partner, record kind) pairs."""
    with engine.connect() as conn:
        rows = conn.execute(select(share_table).order_by(share_table.c.partner)).all()
    return [(r.partner, r.kind) for r in rows]


def _overridden(engine: Engine, partner: str, kind: str) -> bool:
    with engine.connect() as conn:
        row = conn.execute(
            select(share_table.c.partner).where(
                share_table.c.partner == partner, share_table.c.kind == kind
            )
        ).first()
    return row is not None


def decide(
    node: Node,
    partner: str,
    kind: str,
    *,
    purpose: str | None = None,
    channel: str = "records",
    record: StoredRecord | None = None,
) -> agreements.Access:
    """The decision on one access by `partner` to our records of `kind` (or one `record`).

    Agreement decisions are ledgered as `dsp.access`; an override is not (the caller's own
    `records.exchange` entry records what was handed over).
    """
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    asset_kind = agreements.RECORD_KINDS[kind]
    if partner and _overridden(node.engine, partner, kind):
        access = agreements.Access(partner, asset_kind, purpose)
        access.covered.append(agreements.Covered(OVERRIDE, "", {}))
        return access
    if not partner:
        access = agreements.Access(partner, asset_kind, purpose)
        access.failures.append({"kind": "agreement", "path": "$", "message": "no partner"})
        return access
    covers = None
    if record is not None:
        covers = lambda source: agreements.record_in_source(source, record)  # noqa: E731
    return agreements.authorize(
        node, partner, asset_kind, purpose=purpose, channel=channel, covers=covers
    )


def may_share(
    node: Node,
    partner: str,
    record: StoredRecord,
    *,
    purpose: str | None = None,
    channel: str = "records",
) -> bool:
    """True when `partner` may receive `record` now (one ledgered decision)."""
    if record.direction != "issued":
        return False
    access = decide(node, partner, record.kind, purpose=purpose, channel=channel, record=record)
    return access.covers_record(record)


def recipients(node: Node, kind: str) -> set[str]:
    """Partners that may receive records of `kind`: overrides and agreement holders."""
    overrides = {p for p, k in grants(node.engine) if k == kind}
    return overrides | agreements.holders(node, agreements.RECORD_KINDS[kind])
