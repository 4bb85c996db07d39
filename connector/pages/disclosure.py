"""The public-access rule: which kinds of data an operator discloses on consumer pages.

A node shows nothing publicly by default. Its operator discloses whole kinds of data
(`events`, `footprints`, `quality`); every change is a `pages.disclosure` ledger entry written
in the same transaction as the row. A partner's events are shown only when that partner's
node discloses `events` itself (`GET /pages/disclosure` on its node).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlmodel import Field, SQLModel

from connector.node import Node
from ledger.entry import utc_now
from ledger.errors import InvalidInput

KINDS = ("events", "footprints", "quality")
ENTRY_TYPE = "pages.disclosure"


class PageDisclosure(SQLModel, table=True):
    """One kind of data and whether the operator shows it to the public."""

    __tablename__ = "page_disclosure"
    kind: str = Field(primary_key=True)
    public: bool = False
    ledger_seq: int = 0
    changed: str = ""


disclosure_table = PageDisclosure.__table__  # type: ignore[attr-defined]


def public_kinds(node: Node) -> frozenset[str]:
    """The kinds of data this node shows to anyone."""
    t = disclosure_table.c
    with node.engine.connect() as conn:
        rows = conn.execute(select(t.kind).where(t.public.is_(True))).scalars()
        return frozenset(str(kind) for kind in rows)


def disclosure_document(node: Node) -> dict[str, Any]:
    """The public description of the rule (format v1)."""
    kinds = public_kinds(node)
    return {"v": 1, "public": sorted(kinds), "private": sorted(set(KINDS) - kinds)}


def set_public(node: Node, public: Iterable[str]) -> int:
    """Disclose exactly the kinds in `public` (the others become private); returns the seq."""
    wanted = sorted(set(public))
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise InvalidInput(f"$.public: unknown kind(s) {unknown}; known: {list(KINDS)}")
    now = utc_now()
    with node.ledger.transaction() as tx:
        entry = tx.append(ENTRY_TYPE, {"v": 1, "public": wanted, "time": now})
        tx.connection.execute(disclosure_table.delete())
        tx.connection.execute(
            disclosure_table.insert(),
            [
                {"kind": k, "public": k in wanted, "ledger_seq": entry.seq, "changed": now}
                for k in KINDS
            ],
        )
    return entry.seq
