"""The EPCIS index tables kept next to the ledger: events, objects, containment, parties, receipts.

The ledger entry (`epcis.event`) is the record; these rows are an index written in the same
transaction, so a query or a trace never parses entries. Times are UTC epoch microseconds.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Index, inspect, text
from sqlmodel import BigInteger, Column, Field, SQLModel

from ledger import store
from ledger.store import row_key_column

OPEN_START = -(1 << 62)
"""Start of a containment interval whose ADD was never seen (packed elsewhere)."""
OPEN_END = 1 << 62
"""End of a containment interval that is still open (not yet unpacked)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def event_key(event_hash: str) -> int:
    """The index key of an Event Hash ID: the first 8 bytes of its SHA-256, as a signed int.

    Events are found by this key (then compared on `event_hash`) rather than through a
    unique index on the 80-character hash text: both are random keys, so a capture writes
    about one index page per event either way, but this index is several times denser, so
    far fewer pages are written per commit.
    """
    return int.from_bytes(hashlib.sha256(event_hash.encode()).digest()[:8], "big", signed=True)


def micros(moment: datetime) -> int:
    """An aware datetime as integer UTC microseconds since the epoch (the index time unit)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> str:
    return (_EPOCH + timedelta(microseconds=value)).isoformat().replace("+00:00", "Z")


def _partial_index(name: str, column: str, condition: str) -> Index:
    """An index of the rows where `condition` holds (SQLite and PostgreSQL both have them)."""
    return Index(name, column, sqlite_where=text(condition), postgresql_where=text(condition))


class EpcisEvent(SQLModel, table=True):
    """One captured event: its ledger entry and the fields queries filter on.

    Every query parameter has an index. Optional fields are indexed only where they are set
    (a query compares them with a value, which never matches NULL), and `event_id` only
    where it differs from `event_hash`: an event without a declared eventID is stored under
    its Event Hash ID, which `event_key` finds (`event_key()`). An Event Hash ID is stored
    once: capture looks it up under the append lock before it appends.
    """

    __tablename__ = "epcis_event"
    __table_args__ = (
        _partial_index("ix_epcis_event_declared_id", "event_id", "event_id <> event_hash"),
        _partial_index("ix_epcis_event_biz_step", "biz_step", "biz_step IS NOT NULL"),
        _partial_index("ix_epcis_event_disposition", "disposition", "disposition IS NOT NULL"),
        _partial_index("ix_epcis_event_read_point", "read_point", "read_point IS NOT NULL"),
        _partial_index("ix_epcis_event_biz_location", "biz_location", "biz_location IS NOT NULL"),
    )
    seq: int = Field(sa_column=row_key_column())
    event_key: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    event_hash: str = Field(max_length=200)
    event_id: str = Field(max_length=2000)
    event_type: str = Field(index=True, max_length=32)
    event_time: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    action: str | None = Field(default=None, max_length=16)
    biz_step: str | None = Field(default=None, max_length=500)
    disposition: str | None = Field(default=None, max_length=500)
    read_point: str | None = Field(default=None, max_length=2000)
    biz_location: str | None = Field(default=None, max_length=2000)
    kid: str = Field(max_length=100)


class EpcisObject(SQLModel, table=True):
    """An object an event names, by canonical id and role (epc, parent, child, input, ...).

    On SQLite the table is its primary-key B-tree (WITHOUT ROWID): a rowid table would keep
    the same rows twice, in the table and in the primary-key index.
    """

    __tablename__ = "epcis_object"
    __table_args__ = (Index("ix_epcis_object_seq", "seq"), {"sqlite_with_rowid": False})
    object_id: str = Field(primary_key=True, max_length=2000)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    role: str = Field(primary_key=True, max_length=32)


class EpcisContainment(SQLModel, table=True):
    """`parent` contained `child` during [start, end) (aggregation, association, transaction)."""

    __tablename__ = "epcis_containment"
    __table_args__ = (
        Index("ix_epcis_containment_child", "child", "start"),
        Index("ix_epcis_containment_parent", "parent", "start"),
    )
    id: int | None = Field(default=None, primary_key=True)
    parent: str = Field(max_length=2000)
    child: str = Field(max_length=2000)
    start: int = Field(sa_column=Column(BigInteger, nullable=False))
    end: int = Field(sa_column=Column(BigInteger, nullable=False))
    start_seq: int | None = Field(default=None, sa_column=Column(BigInteger))
    end_seq: int | None = Field(default=None, sa_column=Column(BigInteger))


class EpcisParty(SQLModel, table=True):
    """A source or destination an event names (CBV short type, e.g. owning_party)."""

    __tablename__ = "epcis_party"
    __table_args__ = {"sqlite_with_rowid": False}
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(primary_key=True, max_length=16)
    sd_type: str = Field(primary_key=True, max_length=500)
    value: str = Field(primary_key=True, max_length=2000)


class EpcisReceipt(SQLModel, table=True):
    """A countersignature (receipt) this node holds: as receiver or as shipper."""

    __tablename__ = "epcis_receipt"
    event_id: str = Field(primary_key=True, max_length=2000)
    partner: str = Field(primary_key=True, max_length=500)
    role: str = Field(primary_key=True, max_length=16)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    partner_seq: int | None = Field(default=None, sa_column=Column(BigInteger))


event_table = EpcisEvent.__table__
object_table = EpcisObject.__table__
containment_table = EpcisContainment.__table__
party_table = EpcisParty.__table__
receipt_table = EpcisReceipt.__table__


def _find_events_by_key(conn: Connection) -> None:
    """Store format 1 -> 2: `epcis_event` gains `event_key` (indexed) and loses the unique
    index on `event_hash` (see `event_key`)."""
    found = inspect(conn)
    if not found.has_table(event_table.name):
        return
    if "event_key" in {column["name"] for column in found.get_columns(event_table.name)}:
        return  # made by this release already (create_all ran before the migration)
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE epcis_event ADD COLUMN event_key BIGINT"))
        conn.execute(
            text(
                "UPDATE epcis_event SET event_key = ('x' || left(encode(sha256("
                "convert_to(event_hash, 'UTF8')), 'hex'), 16))::bit(64)::bigint"
            )
        )
        conn.execute(text("ALTER TABLE epcis_event ALTER COLUMN event_key SET NOT NULL"))
        for unique in found.get_unique_constraints(event_table.name):
            if unique["column_names"] == ["event_hash"]:
                conn.execute(text(f'ALTER TABLE epcis_event DROP CONSTRAINT "{unique["name"]}"'))
        conn.execute(text("CREATE INDEX ix_epcis_event_event_key ON epcis_event (event_key)"))
        return
    # SQLite cannot drop a table's UNIQUE constraint: build the table anew and copy the rows.
    conn.execute(text("ALTER TABLE epcis_event RENAME TO epcis_event_format1"))
    for index in inspect(conn).get_indexes("epcis_event_format1"):  # names free for the new
        conn.execute(text(f'DROP INDEX "{index["name"]}"'))
    event_table.create(conn)
    conn.connection.dbapi_connection.create_function(
        "tracespace_event_key", 1, event_key, deterministic=True
    )
    columns = [c.name for c in event_table.columns if c.name != "event_key"]
    listed = ", ".join(columns)
    conn.execute(
        text(
            f"INSERT INTO epcis_event (event_key, {listed}) "
            f"SELECT tracespace_event_key(event_hash), {listed} FROM epcis_event_format1"
        )
    )
    conn.execute(text("DROP TABLE epcis_event_format1"))


store.MIGRATIONS[1] = _find_events_by_key
