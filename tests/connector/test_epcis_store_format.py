"""Store format 2: EPCIS events are found by an integer key; a format-1 database migrates."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
    text,
)
from sqlalchemy.schema import CreateIndex, CreateTable

from connector.events import example as ex
from connector.events.access import SELF
from connector.events.capture import capture_document
from connector.events.prepare import Run, prepare_run
from connector.events.query import event_by_id
from connector.events.tables import event_key, event_table
from connector.node import Node, init_node
from ledger import store


def _format1_event_table() -> Table:
    """`epcis_event` as format 1 laid it out: a unique index on the Event Hash ID text."""
    row_key = BigInteger().with_variant(Integer(), "sqlite")
    table = Table(
        "epcis_event",
        MetaData(),
        Column("seq", row_key, primary_key=True, autoincrement=False),
        Column("event_hash", String(200), nullable=False, unique=True),
        Column("event_id", String(2000), nullable=False),
        Column("event_type", String(32), nullable=False),
        Column("event_time", BigInteger, nullable=False),
        Column("action", String(16)),
        Column("biz_step", String(500)),
        Column("disposition", String(500)),
        Column("read_point", String(2000)),
        Column("biz_location", String(2000)),
        Column("kid", String(100), nullable=False),
    )
    Index("ix_epcis_event_event_type", table.c.event_type)
    Index("ix_epcis_event_event_time", table.c.event_time)
    return table


def _back_to_format1(node: Node) -> None:
    old = _format1_event_table()
    columns = ", ".join(c.name for c in old.columns)
    with node.engine.begin() as conn:
        conn.execute(text("ALTER TABLE epcis_event RENAME TO epcis_event_now"))
        for index in inspect(conn).get_indexes("epcis_event_now"):
            conn.execute(text(f'DROP INDEX "{index["name"]}"'))
        conn.execute(CreateTable(old))
        for index in old.indexes:
            conn.execute(CreateIndex(index))
        conn.execute(
            text(f"INSERT INTO epcis_event ({columns}) SELECT {columns} FROM epcis_event_now")
        )
        conn.execute(text("DROP TABLE epcis_event_now"))
        conn.execute(text("UPDATE tracespace_format SET version = 1"))


def test_a_format1_database_is_migrated_and_its_events_stay_found(
    tmp_path: Path, database_url: str
) -> None:
    node = init_node(tmp_path / "n", "plant", [], port=9, database_url=database_url)
    document = ex.document(ex.shipped_items("A", 30))
    first = capture_document(node, document)
    _back_to_format1(node)
    node.close()

    node = Node.open(tmp_path / "n")
    try:
        with node.engine.connect() as conn:
            version = conn.execute(text("SELECT version FROM tracespace_format")).scalar_one()
            keys = conn.execute(select(event_table.c.event_hash, event_table.c.event_key)).all()
            found = inspect(conn)
            indexes = {ix["name"] for ix in found.get_indexes("epcis_event")}
            uniques = found.get_unique_constraints("epcis_event")
        assert version == store.STORE_FORMAT == 2
        assert sorted(keys) == sorted((c.event_hash, event_key(c.event_hash)) for c in first)
        assert "ix_epcis_event_event_key" in indexes
        assert not [u for u in uniques if u["column_names"] == ["event_hash"]]

        again = capture_document(node, document)  # the same events: found, not appended
        assert [(c.seq, c.duplicate) for c in again] == [(c.seq, True) for c in first]
        assert event_by_id(node, first[7].event_id, SELF).seq == first[7].seq
        more = capture_document(node, ex.document(ex.shipped_items("B", 5)))
        assert [c.seq for c in more] == list(range(first[-1].seq + 1, first[-1].seq + 6))
        assert not any(c.duplicate for c in more)
    finally:
        node.close()


def test_an_event_key_collision_still_tells_events_apart(operator_node) -> None:
    """Two Event Hash IDs under one key (made here by hand): lookups compare the hash text."""
    node, _ = operator_node
    (stored,) = capture_document(node, ex.document(ex.shipped_items("C", 1)))
    other = ex.document(ex.shipped_items("D", 1))
    (prepared,) = prepare_run(Run(other, 0)).events
    with node.engine.begin() as conn:
        conn.execute(
            text("UPDATE epcis_event SET event_key = :k WHERE seq = :s"),
            {"k": event_key(prepared.event_hash), "s": stored.seq},
        )
    (captured,) = capture_document(node, other)
    assert not captured.duplicate and captured.seq == stored.seq + 1
    assert event_by_id(node, prepared.event_hash, SELF).seq == captured.seq
