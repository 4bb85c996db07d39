"""Ledger rows on the hot path: node keys, and appends and reads on the driver's connection.

Appends, proofs and verification run plain statements on the driver's own connection
(sqlite3 or psycopg) instead of SQLAlchemy's, whose per-statement machinery costs more than
the statements. `store` declares the same tables; driver errors still surface as
SQLAlchemy's exceptions (OperationalError, IntegrityError, ...), so callers catch one kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

LEVEL_BITS = 6  # levels 0..63
COPY_THRESHOLD = 64  # PostgreSQL: COPY pays off for batches, plain inserts for a few rows
ENTRY_COLUMNS = ("seq", "type", "hash", "body")
NODE_COLUMNS = ("id", "hash")
KEY_COLUMNS = ("kid", "public_key", "from_seq")
UPDATE_HEAD = "UPDATE ledger_head SET size = %s, last_hash = %s, kid = %s WHERE id = 1"
SELECT_HEAD = "SELECT size, last_hash, kid FROM ledger_head WHERE id = 1"


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


class Driver(NamedTuple):
    """A driver connection in an open transaction, and what to know about it."""

    dialect: Dialect
    connection: Any  # sqlite3.Connection or psycopg.Connection
    begins_with_lock: bool = False  # PostgreSQL: the locking read sends BEGIN itself

    @property
    def postgres(self) -> bool:
        return self.dialect.name == "postgresql"


def of(conn: Connection) -> Driver:
    """The driver connection under a SQLAlchemy connection (same transaction)."""
    return Driver(conn.dialect, conn.connection.dbapi_connection)


@contextmanager
def append_transaction(engine: Engine) -> Iterator[Driver]:
    """The append lock on a pooled driver connection, for appends that write nothing else.

    `commit_append` ends the transaction; an exception rolls it back. On SQLite this is
    `BEGIN IMMEDIATE`. On PostgreSQL the connection runs in autocommit mode for the
    duration, so that `BEGIN` travels in one round trip with the locking read of the head
    row instead of one of its own.
    """
    pooled = _checkout(engine)
    raw = pooled.dbapi_connection
    driver = Driver(engine.dialect, raw, begins_with_lock=engine.dialect.name == "postgresql")
    try:
        if driver.postgres:
            raw.autocommit = True
        else:
            execute(driver, "BEGIN IMMEDIATE")
        yield driver
    except BaseException:
        with suppress(Exception):
            if driver.postgres:
                raw.execute("ROLLBACK")
            else:
                raw.rollback()
        raise
    finally:
        if driver.postgres:
            with suppress(Exception):
                raw.autocommit = False
        pooled.close()


def lock_head(driver: Driver) -> tuple[int, str, str] | None:
    """Read the head row (size, last hash, key id), locking it until the transaction ends."""
    if not driver.postgres:
        found = execute(driver, SELECT_HEAD)
    elif driver.begins_with_lock:
        statement = f"BEGIN; {SELECT_HEAD} FOR UPDATE"
        with driver_errors(driver.dialect, statement), driver.connection.cursor() as cur:
            cur.execute(statement)  # no parameters: simple protocol, both in one message
            cur.nextset()
            found = cur.fetchall()
    else:
        found = execute(driver, f"{SELECT_HEAD} FOR UPDATE")
    return (int(found[0][0]), found[0][1], found[0][2]) if found else None


def head_size(driver: Driver) -> int:
    """The tree size, read with a plain statement (proofs are a hot path)."""
    return int(execute(driver, "SELECT size FROM ledger_head WHERE id = 1")[0][0])


def read_nodes(driver: Driver, keys: list[int]) -> dict[int, bytes]:
    """Stored tree node hashes by node key, in one round trip."""
    return {int(k): bytes(h) for k, h in execute(driver, *_select_nodes(driver.dialect, keys))}


def insert_keys(driver: Driver, keys: list[tuple[str, bytes, int]]) -> None:
    """Record signing keys as `(kid, public key, first seq)` (after a rotation)."""
    _insert_rows(driver, "ledger_key", KEY_COLUMNS, keys)


def commit_append(
    driver: Driver,
    entries: list[tuple[int, str, bytes, bytes]],
    nodes: list[tuple[int, bytes]],
    head: tuple[int, str, str],
) -> None:
    """Write appended entries, their new tree nodes and the new head, and commit.

    This ends the open transaction; a SQLAlchemy transaction around it then finds nothing
    left to commit. On PostgreSQL the statements and the COMMIT go out in one pipeline (one
    round trip, not four); large batches go through COPY first, which a pipeline cannot carry.
    """
    raw = driver.connection
    if not driver.postgres:
        _insert_rows(driver, "ledger_entry", ENTRY_COLUMNS, entries)
        _insert_rows(driver, "ledger_node", NODE_COLUMNS, nodes)
        execute(driver, UPDATE_HEAD.replace("%s", "?"), head)
        with driver_errors(driver.dialect, "COMMIT"):
            raw.commit()
        return
    if len(entries) >= COPY_THRESHOLD:
        _copy_rows(driver, "ledger_entry", ENTRY_COLUMNS, entries)
        _copy_rows(driver, "ledger_node", NODE_COLUMNS, nodes)
        entries, nodes = [], []
    statement = "INSERT ledger rows; UPDATE ledger_head; COMMIT"
    with driver_errors(driver.dialect, statement), raw.pipeline(), raw.cursor() as cur:
        if entries:
            cur.executemany(_insert_sql("ledger_entry", ENTRY_COLUMNS, "%s"), entries)
        if nodes:
            cur.executemany(_insert_sql("ledger_node", NODE_COLUMNS, "%s"), nodes)
        cur.execute(UPDATE_HEAD, head)
        cur.execute("COMMIT")


# -- reads outside a transaction (stored entries and nodes never change) ----------------------


def read_nodes_outside_transaction(engine: Engine, keys: list[int]) -> dict[int, bytes]:
    """`read_nodes` on a pooled connection, for one-query reads (proofs)."""
    if not keys:
        return {}
    found = _read_outside_transaction(engine, *_select_nodes(engine.dialect, keys))
    return {int(k): bytes(h) for k, h in found}


def read_node_levels_outside_transaction(
    engine: Engine, low: int, high: int, top_level: int
) -> list[tuple[int, bytes]]:
    """`(key, hash)` of stored nodes with keys in `[low, high)` and level up to `top_level`,
    ordered by level, then position (see `nodes_completed_by`)."""
    mark = _mark(engine.dialect)
    level = f"(id & {(1 << LEVEL_BITS) - 1})"
    statement = (
        f"SELECT id, hash FROM ledger_node WHERE id >= {mark} AND id < {mark}"
        f" AND {level} <= {mark} ORDER BY {level}, id"
    )
    # Both drivers already return int and bytes for these columns.
    return _read_outside_transaction(engine, statement, (low, high, top_level))


def read_entries_outside_transaction(
    engine: Engine, start: int, end: int
) -> list[tuple[int, bytes, bytes]]:
    """`(seq, body, hash)` of the stored entries with seq in `[start, end)`, in order."""
    mark = _mark(engine.dialect)
    statement = (
        f"SELECT seq, body, hash FROM ledger_entry WHERE seq >= {mark} AND seq < {mark}"
        " ORDER BY seq"
    )
    return _read_outside_transaction(engine, statement, (start, end))  # int, bytes, bytes


def _read_outside_transaction(engine: Engine, statement: str, params: tuple) -> list[tuple]:
    pooled = _checkout(engine)
    try:
        return execute(Driver(engine.dialect, pooled.dbapi_connection), statement, params)
    finally:
        pooled.close()  # back to the pool, which ends any implicit transaction


def _checkout(engine: Engine) -> Any:
    """A pooled driver connection; a failure to connect surfaces as SQLAlchemy's error."""
    with driver_errors(engine.dialect, "connect"):
        return engine.raw_connection()


# -- statements ---------------------------------------------------------------------------------


@contextmanager
def driver_errors(dialect: Dialect, statement: str) -> Iterator[None]:
    """Re-raise driver errors as SQLAlchemy's (OperationalError, IntegrityError, ...)."""
    dbapi_error = dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi_error, dialect=dialect) from exc


def execute(driver: Driver, statement: str, params: Any = (), *, many: bool = False) -> list[tuple]:
    """Run one statement (or one per row of `params` with `many`); return its rows."""
    with driver_errors(driver.dialect, statement):
        cursor = driver.connection.cursor()
        try:
            if many:
                cursor.executemany(statement, params)
            else:
                cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()


def _mark(dialect: Dialect) -> str:
    return "%s" if dialect.name == "postgresql" else "?"


def _select_nodes(dialect: Dialect, keys: list[int]) -> tuple[str, tuple]:
    if dialect.name == "postgresql":
        return "SELECT id, hash FROM ledger_node WHERE id = ANY(%s)", (keys,)
    marks = ",".join("?" * len(keys))
    return f"SELECT id, hash FROM ledger_node WHERE id IN ({marks})", tuple(keys)


def _insert_sql(table: str, columns: Sequence[str], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(mark for _ in columns)})"


def _insert_rows(driver: Driver, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if rows:
        execute(driver, _insert_sql(table, columns, _mark(driver.dialect)), rows, many=True)


def insert_rows(driver: Driver, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert `rows` (tuples in `columns` order) into `table` in the open transaction: one
    executemany, or COPY on PostgreSQL for a batch large enough to pay for it."""
    if driver.postgres and len(rows) >= COPY_THRESHOLD:
        _copy_rows(driver, table, columns, rows)
    else:
        _insert_rows(driver, table, columns, rows)


def placeholder(driver: Driver) -> str:
    """The driver's parameter mark: `?` (sqlite3) or `%s` (psycopg)."""
    return _mark(driver.dialect)


def _copy_rows(driver: Driver, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with (
        driver_errors(driver.dialect, copy_sql),
        driver.connection.cursor() as cur,
        cur.copy(copy_sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)
