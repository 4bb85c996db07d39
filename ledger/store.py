"""Ledger tables and the database engine for SQLite (embedded) and PostgreSQL.

The tables are SQLModel classes; the hot paths (`rows`) run plain statements on them.
The append lock is `BEGIN IMMEDIATE` on SQLite (one writer per database file, across
processes) and a row lock on the head row on PostgreSQL. `write_transaction` takes it for
appends that must be atomic with other writes (identifier records, captured events), which
run on the same SQLAlchemy connection; `rows.append_transaction` takes it for bare appends.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlmodel import BigInteger, Column, Field, Integer, SQLModel

from ledger import rows
from ledger.errors import LedgerError

STORE_FORMAT = 2
"""The layout of a node's database: every package's tables, keys and indexes. A change of
shape bumps it and adds the step from the previous format to `MIGRATIONS`."""

Migration = Callable[[Connection], None]
MIGRATIONS: dict[int, Migration] = {}
"""Format N -> N + 1, each run inside the transaction that opens an older database. A
package registers the steps for its own tables when it is imported (the node imports them
all: `connector.tables`); a step must do nothing where its tables are not there yet.

1 -> 2: EPCIS events are found by an integer key (`connector.events.tables`)."""

# A 64-bit key that, on SQLite, is declared INTEGER so that it becomes the table's rowid:
# one B-tree per table instead of a table plus a separate primary-key index.
RowKey = BigInteger().with_variant(Integer(), "sqlite")


def row_key_column() -> Column:
    """A caller-assigned (not auto-incremented) 64-bit primary key column."""
    return Column(RowKey, primary_key=True, autoincrement=False)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    seq: int = Field(sa_column=row_key_column())
    type: str = Field(index=True, max_length=128)
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerNode(SQLModel, table=True):
    __tablename__ = "ledger_node"
    id: int = Field(sa_column=row_key_column())
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerHead(SQLModel, table=True):
    """A single row: the tree size, the hash of the last entry and the signing key id."""

    __tablename__ = "ledger_head"
    id: int = Field(default=1, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_hash: str
    kid: str


class LedgerKey(SQLModel, table=True):
    """Key history, derived from genesis and rotation entries (verification re-derives it)."""

    __tablename__ = "ledger_key"
    kid: str = Field(primary_key=True)
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    from_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class LedgerCheckpoint(SQLModel, table=True):
    """Every checkpoint the node has published, so later truncation is detectable."""

    __tablename__ = "ledger_checkpoint"
    size: int = Field(sa_column=row_key_column())
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    note: str
    created: str


class LedgerCosignature(SQLModel, table=True):
    """Witness cosignature lines collected for the node's own published checkpoints."""

    __tablename__ = "ledger_cosignature"
    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    cosigner: str = Field(primary_key=True)
    line: str
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))


class WitnessState(SQLModel, table=True):
    """The last checkpoint of each peer log this node has cosigned or seen."""

    __tablename__ = "ledger_witness_state"
    origin: str = Field(primary_key=True)
    vkey: str
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class StoreFormat(SQLModel, table=True):
    """One row: the format (`STORE_FORMAT`) of this database's layout."""

    __tablename__ = "tracespace_format"
    id: int = Field(default=1, primary_key=True)
    version: int


entry_table = LedgerEntry.__table__
node_table = LedgerNode.__table__
head_table = LedgerHead.__table__
key_table = LedgerKey.__table__
checkpoint_table = LedgerCheckpoint.__table__
witness_table = WitnessState.__table__
cosignature_table = LedgerCosignature.__table__
format_table = StoreFormat.__table__


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite: WAL, full fsync on commit, and a long busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # LIFO: the connection used last is handed out again, its page cache still warm
        # (round-robin checkouts started each transaction on a cache another had made stale).
        engine = create_engine(
            url, connect_args={"timeout": 60, "check_same_thread": False}, pool_use_lifo=True
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" hook issue BEGIN
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=60000")
            _switch_to_wal(cur)
            # FULL: a commit that returned survives power loss, not only a process crash.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            # Random lookups (proofs, identifiers) over large files: read through the OS page
            # cache via mmap, and keep a larger private cache per connection.
            cur.execute("PRAGMA mmap_size=1073741824")
            cur.execute("PRAGMA cache_size=-32768")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # `write_transaction` has already begun with BEGIN IMMEDIATE (the append lock).
            if not conn.connection.dbapi_connection.in_transaction:
                rows.execute(rows.of(conn), "BEGIN DEFERRED")

        return engine
    # No pre-ping: it costs a round trip per checkout; a connection found dead raises once
    # (a 503 at the edge) and SQLAlchemy then invalidates the pool.
    return create_engine(url, pool_size=10, max_overflow=20)


SCHEMA_LOCK = 0x7472616365  # any constant: serialises schema creation across processes


def _switch_to_wal(cursor: Any) -> None:
    # Turning a new file to WAL takes an exclusive lock, and SQLite does not always call the
    # busy handler for it: when several processes open a fresh database at once, retry.
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(min(0.01 * (attempt + 1), 0.2))


def create_tables(engine: Engine) -> None:
    """Create missing tables and bring the layout to `STORE_FORMAT`, one process at a time
    (several may open a new database). A database of a newer format is refused."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
        existed = inspect(conn).has_table(head_table.name)
        SQLModel.metadata.create_all(conn)
        _settle_format(conn, existed)


def _settle_format(conn: Connection, existed: bool) -> None:
    found = conn.execute(select(format_table.c.version)).scalar_one_or_none()
    if found is None:
        if existed:  # made before the format was recorded: format 1 unless pre-release
            _refuse_pre_release_layout(conn)
        conn.execute(insert(format_table).values(id=1, version=STORE_FORMAT))
        return
    if found > STORE_FORMAT:
        raise LedgerError(
            f"this database has format {found}, written by a newer tracespace; this release "
            f"reads format {STORE_FORMAT} and older: upgrade tracespace"
        )
    for version in range(found, STORE_FORMAT):
        if version not in MIGRATIONS:
            raise LedgerError(
                f"this database has format {found}; the step from format {version} is not "
                "loaded here: open it with the tracespace node (tracespace serve) first"
            )
        MIGRATIONS[version](conn)
    if found != STORE_FORMAT:
        conn.execute(update(format_table).values(version=STORE_FORMAT))


def _refuse_pre_release_layout(conn: Connection) -> None:
    """Refuse tree nodes keyed the pre-release way, `(level << 48) | index`.

    Key 1 is leaf 1 in that layout and no node in this one (a level-1 node ends on an odd
    leaf), so one lookup tells them apart; without this, proofs would fail much later.
    """
    if conn.execute(select(node_table.c.id).where(node_table.c.id == 1)).first():
        raise LedgerError(
            "this ledger's tree nodes use the pre-release key layout; export what you need "
            "and create the node again (tracespace init)"
        )


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the ledger's append lock until it commits or rolls back."""
    if is_sqlite(engine):
        with engine.connect() as conn:
            rows.execute(rows.of(conn), "BEGIN IMMEDIATE")  # the append lock
            with conn.begin():
                yield conn
    else:
        # PostgreSQL: the caller takes the lock by reading the head row with `lock_head`.
        with engine.begin() as conn:
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot (one transaction), so multi-query reads are consistent."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
