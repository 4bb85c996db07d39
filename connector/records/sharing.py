"""Who may receive which records: an operator allow-list, the seam to replace by agreements.

Until contract agreements exist, a partner (a peer DID, or `pact-client:ID` for a PACT
client without one) receives a record only when the pair (partner, record kind) is listed.
`may_share` is the one question every provider route asks.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select

from connector.node import Node
from connector.records.store import KINDS, StoredRecord
from connector.records.tables import share_table
from ledger.entry import utc_now
from ledger.errors import InvalidInput, NotFound

CLIENT_PREFIX = "pact-client:"


def _check(partner: str, kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    if not (partner.startswith("did:") or partner.startswith(CLIENT_PREFIX)):
        raise InvalidInput(f"partner {partner!r} must be a DID or {CLIENT_PREFIX}CLIENT_ID")


def grant(node: Node, partner: str, kind: str) -> None:
    """Allow `partner` to receive records of `kind` (ledgered as `records.share-grant`)."""
    _check(partner, kind)
    with node.ledger.transaction() as tx:
        conn = tx.connection
        conn.execute(
            delete(share_table).where(share_table.c.partner == partner, share_table.c.kind == kind)
        )
        conn.execute(insert(share_table).values(partner=partner, kind=kind, added=utc_now()))
        tx.append("records.share-grant", {"v": 1, "partner": partner, "kind": kind})


def revoke(node: Node, partner: str, kind: str) -> None:
    with node.ledger.transaction() as tx:
        gone = tx.connection.execute(
            delete(share_table).where(share_table.c.partner == partner, share_table.c.kind == kind)
        ).rowcount
        if not gone:
            raise NotFound(f"{partner} is not allowed {kind}")
        tx.append("records.share-revoke", {"v": 1, "partner": partner, "kind": kind})


def grants(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(share_table).order_by(share_table.c.partner)).all()
    return [(r.partner, r.kind) for r in rows]


def may_share(engine: Engine, partner: str, record: StoredRecord) -> bool:
    """True when `partner` may receive `record`: our own issued records on the allow-list."""
    if record.direction != "issued" or not partner:
        return False
    with engine.connect() as conn:
        row = conn.execute(
            select(share_table.c.partner).where(
                share_table.c.partner == partner, share_table.c.kind == record.kind
            )
        ).first()
    return row is not None
