"""Stored records: each issued or received record is one row plus one ledger entry, atomically."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from connector.node import Node
from connector.records.signing import digest
from connector.records.tables import record_table
from ledger.entry import utc_now
from ledger.errors import InvalidInput, NotFound

KINDS = ("pact.footprint", "quality.record")
DIRECTIONS = ("issued", "received")


@dataclass(frozen=True)
class StoredRecord:
    """A record as the node holds it: the signed document and where it sits in the ledger."""

    id: str
    kind: str
    direction: str
    record_type: str
    issuer: str
    received_from: str
    digest: str
    ledger_seq: int
    version: int
    status: str
    superseded_by: str
    subjects: tuple[str, ...]
    product_ids: tuple[str, ...]
    document: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """The record's metadata without its document (listing form, format v1)."""
        return {
            "v": 1,
            "id": self.id,
            "kind": self.kind,
            "direction": self.direction,
            "type": self.record_type,
            "issuer": self.issuer,
            "receivedFrom": self.received_from or None,
            "hash": self.digest,
            "ledgerSeq": self.ledger_seq,
            "version": self.version,
            "status": self.status,
            "subjects": list(self.subjects),
        }


def _from_row(row: Any) -> StoredRecord:
    return StoredRecord(
        id=row.id,
        kind=row.kind,
        direction=row.direction,
        record_type=row.record_type,
        issuer=row.issuer,
        received_from=row.received_from,
        digest=row.digest,
        ledger_seq=int(row.ledger_seq),
        version=int(row.version),
        status=row.status,
        superseded_by=row.superseded_by,
        subjects=tuple(json.loads(row.subjects)),
        product_ids=tuple(json.loads(row.product_ids)),
        document=json.loads(row.document),
    )


def save_record(
    node: Node,
    *,
    kind: str,
    direction: str,
    record_type: str,
    document: dict[str, Any],
    issuer: str,
    subjects: list[str],
    product_ids: list[str] | None = None,
    received_from: str = "",
    version: int = 1,
    supersedes: list[str] | None = None,
    ledger_extra: dict[str, Any] | None = None,
    conn_hook: Any = None,
) -> StoredRecord:
    """Insert the record and ledger it (payload type = `kind`) in one transaction.

    `supersedes` lists earlier records (precedingPfIds) that become Deprecated.
    `conn_hook(connection, record)` may add further writes to the same transaction.
    """
    if kind not in KINDS or direction not in DIRECTIONS:
        raise InvalidInput(f"unknown record kind {kind!r} or direction {direction!r}")
    record_id = str(document.get("id", ""))
    if not record_id:
        raise InvalidInput("$.id: a record needs an id")
    hash_hex = digest(document)
    lowered = sorted({p.lower() for p in product_ids or []})
    payload: dict[str, Any] = {
        "v": 1,
        "direction": direction,
        "id": record_id,
        "type": record_type,
        "hash": hash_hex,
        "issuer": issuer,
        "subjects": list(subjects),
    }
    if received_from:
        payload["from"] = received_from
    if ledger_extra:
        payload.update(ledger_extra)
    with node.ledger.transaction() as tx:
        conn = tx.connection
        if conn.execute(select(record_table.c.id).where(record_table.c.id == record_id)).first():
            raise InvalidInput(f"$.id: a record {record_id} is already stored on this node")
        entry = tx.append(kind, payload)
        values = {
            "id": record_id,
            "kind": kind,
            "direction": direction,
            "record_type": record_type,
            "issuer": issuer,
            "received_from": received_from,
            "digest": hash_hex,
            "ledger_seq": entry.seq,
            "version": version,
            "status": str(document.get("status", "Active")) if kind == "pact.footprint" else "",
            "superseded_by": "",
            "subjects": json.dumps(list(subjects)),
            "product_ids": json.dumps(lowered),
            "document": json.dumps(document, ensure_ascii=False),
            "stored": utc_now(),
        }
        conn.execute(record_table.insert().values(**values))
        if supersedes:
            conn.execute(
                update(record_table)
                .where(record_table.c.id.in_(supersedes), record_table.c.direction == direction)
                .values(status="Deprecated", superseded_by=record_id)
            )
        record = _from_row(_Row(values))
        if conn_hook is not None:
            conn_hook(conn, record)
    return record


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def get_record(node: Node, record_id: str, kind: str | None = None) -> StoredRecord:
    query = select(record_table).where(record_table.c.id == record_id)
    if kind:
        query = query.where(record_table.c.kind == kind)
    with node.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"no record {record_id}")
    return _from_row(row)


def find_record(conn: Connection, record_id: str) -> StoredRecord | None:
    row = conn.execute(select(record_table).where(record_table.c.id == record_id)).first()
    return _from_row(row) if row else None


def list_records(
    node: Node, kind: str | None = None, direction: str | None = None
) -> list[StoredRecord]:
    """Records in storage order (ledger sequence)."""
    query = select(record_table).order_by(record_table.c.ledger_seq)
    if kind:
        query = query.where(record_table.c.kind == kind)
    if direction:
        query = query.where(record_table.c.direction == direction)
    with node.engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(query).all()]


def chain_version(node: Node, preceding: list[str], direction: str) -> int:
    """1 + the highest version among the preceding records held here (1 when none)."""
    if not preceding:
        return 1
    with node.engine.connect() as conn:
        rows = conn.execute(
            select(record_table.c.version).where(
                record_table.c.id.in_(preceding), record_table.c.direction == direction
            )
        ).scalars()
        versions = [int(v) for v in rows]
    return 1 + max(versions, default=0)
