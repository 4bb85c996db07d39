"""Row and ledger plumbing shared by the DSP modules: JSON text, ids, times, ledger records."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update

from ledger.entry import utc_now
from ledger.log import LedgerTransaction

__all__ = ["dump", "load", "new_pid", "now_iso", "utc_now"]


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def new_pid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def ordered_id() -> str:
    """An id whose text order is creation order (outbox delivery order)."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


def now_iso() -> str:
    """The current UTC time in the xsd:dateTime form DSP agreements use (seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_row(conn: Connection, table: Table, **where: Any) -> Any:
    query = select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    return conn.execute(query).first()


def set_row(conn: Connection, table: Table, key: str, **values: Any) -> None:
    conn.execute(update(table).where(table.c.id == key).values(**values))


def add_history(row: Any, state: str, event: str, reason: str | None = None) -> str:
    history = load(row.history) if row is not None else []
    item = {"at": utc_now(), "state": state, "event": event}
    if reason:
        item["reason"] = reason
    history.append(item)
    return dump(history)


def record(tx: LedgerTransaction, payload_type: str, payload: dict[str, Any]) -> int:
    """Append a versioned DSP payload to the ledger in `tx`; returns its sequence number."""
    return tx.append(payload_type, {"v": 1, **payload}).seq
