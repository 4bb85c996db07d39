"""Ledger tables and the database engine for SQLite (embedded) and PostgreSQL.

The tables are SQLModel classes; the hot paths use SQLAlchemy Core on their tables.
`write_transaction` is the one place that takes the append lock: `BEGIN IMMEDIATE` on
SQLite (one writer per database file, across processes), a row lock on the head row on
PostgreSQL. Everything that must be atomic with an append (identifier records, captured
events) runs inside that same transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import BigInteger, Column, Field, Integer, SQLModel

LEVEL_BITS = 6  # levels 0..63
COPY_THRESHOLD = 64  # PostgreSQL: COPY pays off for batches, plain inserts for a few rows


def node_key(level: int, index: int) -> int:
    """One integer key per perfect subtree, so a proof is one `IN (...)` lookup.

    The key leads with the subtree's last leaf, so the nodes one append completes (a leaf
    and its newly finished ancestors) sit side by side in the index: a commit writes one
    index page for them instead of one per level, and the nodes completed by a run of
    leaves form one key range.
    """
    return ((((index + 1) << level) - 1) << LEVEL_BITS) | level


def node_position(key: int) -> tuple[int, int]:
    """`(level, index)` of a node key: the inverse of `node_key`."""
    level = key & ((1 << LEVEL_BITS) - 1)
    return level, (((key >> LEVEL_BITS) + 1) >> level) - 1


def nodes_completed_by(start: int, end: int) -> tuple[int, int]:
    """Key range `[low, high)` of the nodes completed by appending leaves `[start, end)`."""
    return start << LEVEL_BITS, end << LEVEL_BITS


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


entry_table = LedgerEntry.__table__
node_table = LedgerNode.__table__
head_table = LedgerHead.__table__
key_table = LedgerKey.__table__
checkpoint_table = LedgerCheckpoint.__table__
witness_table = WitnessState.__table__
cosignature_table = LedgerCosignature.__table__


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite: WAL, full fsync on commit, and a long busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

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
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            _driver_execute(conn, f"BEGIN {mode}")

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
    """Create missing tables, one process at a time (several may open a new database)."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK})
        SQLModel.metadata.create_all(conn)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the ledger's append lock until it commits or rolls back."""
    if is_sqlite(engine):
        with engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn
    else:
        # PostgreSQL: the caller takes the lock by reading the head row with `lock_head`.
        with engine.begin() as conn:
            yield conn


def lock_head(conn: Connection) -> tuple[int, str, str] | None:
    """Read the head row (size, last hash, key id), locking it until the transaction ends.

    This and the other hot-path helpers below run plain statements on the driver's own
    cursor: appends are the hot path, and SQLAlchemy's per-statement machinery would cost
    more than the statements themselves. Driver errors still surface as SQLAlchemy's.
    """
    lock = " FOR UPDATE" if _is_postgres(conn) else ""
    rows = _driver_execute(conn, f"SELECT size, last_hash, kid FROM ledger_head WHERE id = 1{lock}")
    return (int(rows[0][0]), rows[0][1], rows[0][2]) if rows else None


def head_size(conn: Connection) -> int:
    """The tree size, read with a plain statement (proofs are a hot path)."""
    return int(_driver_execute(conn, "SELECT size FROM ledger_head WHERE id = 1")[0][0])


def read_nodes(conn: Connection, keys: list[int]) -> dict[int, bytes]:
    """Stored tree node hashes by node key, in one round trip."""
    rows = _driver_execute(conn, *_select_nodes(conn.dialect.name, keys))
    return {int(key): bytes(h) for key, h in rows}


def _select_nodes(dialect_name: str, keys: list[int]) -> tuple[str, tuple]:
    if dialect_name == "postgresql":
        return "SELECT id, hash FROM ledger_node WHERE id = ANY(%s)", (keys,)
    marks = ",".join("?" * len(keys))
    return f"SELECT id, hash FROM ledger_node WHERE id IN ({marks})", tuple(keys)


def read_nodes_outside_transaction(engine: Engine, keys: list[int]) -> dict[int, bytes]:
    """`read_nodes` on a pooled driver connection, for one-query reads (proofs).

    Stored nodes never change, so no snapshot is needed; this skips building a SQLAlchemy
    Connection, which costs more than the query on a warm cache.
    """
    if not keys:
        return {}
    rows = _read_outside_transaction(engine, *_select_nodes(engine.dialect.name, keys))
    return {int(key): bytes(h) for key, h in rows}


def read_node_range_outside_transaction(engine: Engine, low: int, high: int) -> dict[int, bytes]:
    """Stored nodes with keys in `[low, high)` (see `nodes_completed_by`)."""
    mark = "%s" if engine.dialect.name == "postgresql" else "?"
    statement = f"SELECT id, hash FROM ledger_node WHERE id >= {mark} AND id < {mark}"
    return {int(k): bytes(h) for k, h in _read_outside_transaction(engine, statement, (low, high))}


def read_entries_outside_transaction(
    engine: Engine, start: int, end: int
) -> list[tuple[int, bytes, bytes]]:
    """`(seq, body, hash)` of the stored entries with seq in `[start, end)`, in order."""
    mark = "%s" if engine.dialect.name == "postgresql" else "?"
    statement = (
        f"SELECT seq, body, hash FROM ledger_entry WHERE seq >= {mark} AND seq < {mark}"
        " ORDER BY seq"
    )
    rows = _read_outside_transaction(engine, statement, (start, end))
    return [(int(seq), bytes(body), bytes(digest)) for seq, body, digest in rows]


def _read_outside_transaction(engine: Engine, statement: str, params: tuple) -> list[tuple]:
    raw = engine.raw_connection()
    try:
        with _driver_errors(engine.dialect, statement):
            cursor = raw.cursor()
            try:
                cursor.execute(statement, params)
                return cursor.fetchall()
            finally:
                cursor.close()
    finally:
        raw.close()  # back to the pool, which ends any implicit transaction


def commit_append(
    conn: Connection,
    entries: list[tuple[int, str, bytes, bytes]],
    nodes: list[tuple[int, bytes]],
    head: tuple[int, str, str],
) -> None:
    """Write appended entries, their new tree nodes and the new head, and commit.

    This ends the transaction that `write_transaction` opened: the context manager's own
    commit then finds nothing left to do. On PostgreSQL the statements and the COMMIT go out
    in one pipeline (one round trip, not four); large batches go through COPY, which a
    pipeline cannot carry.
    """
    raw = conn.connection.dbapi_connection
    if not _is_postgres(conn):
        _insert_rows(conn, "ledger_entry", ENTRY_COLUMNS, entries)
        _insert_rows(conn, "ledger_node", NODE_COLUMNS, nodes)
        _driver_execute(conn, UPDATE_HEAD.replace("%s", "?"), head)
        with _driver_errors(conn.dialect, "COMMIT"):
            raw.commit()
        return
    if len(entries) >= COPY_THRESHOLD:
        _copy_rows(conn, "ledger_entry", ENTRY_COLUMNS, entries)
        _copy_rows(conn, "ledger_node", NODE_COLUMNS, nodes)
        entries, nodes = [], []
    statement = "INSERT ledger rows; UPDATE ledger_head; COMMIT"
    with _driver_errors(conn.dialect, statement), raw.pipeline(), raw.cursor() as cur:
        if entries:
            cur.executemany(_insert_sql("ledger_entry", ENTRY_COLUMNS, "%s"), entries)
        if nodes:
            cur.executemany(_insert_sql("ledger_node", NODE_COLUMNS, "%s"), nodes)
        cur.execute(UPDATE_HEAD, head)
        cur.execute("COMMIT")


ENTRY_COLUMNS = ("seq", "type", "hash", "body")
NODE_COLUMNS = ("id", "hash")
UPDATE_HEAD = "UPDATE ledger_head SET size = %s, last_hash = %s, kid = %s WHERE id = 1"


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"


def _insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if rows:
        _driver_execute(conn, _insert_sql(table, columns, "?"), rows, many=True)


def _copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    with _driver_errors(conn.dialect, f"COPY {table}"):
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)


@contextmanager
def _driver_errors(dialect: Dialect, statement: str) -> Iterator[None]:
    """Re-raise driver errors as SQLAlchemy's (OperationalError, IntegrityError, ...)."""
    dbapi_error = dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error, dialect=dialect) from exc


def _driver_execute(
    conn: Connection, statement: str, params: Any = (), *, many: bool = False
) -> list[tuple]:
    with _driver_errors(conn.dialect, statement):
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot (one transaction), so multi-query reads are consistent."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
