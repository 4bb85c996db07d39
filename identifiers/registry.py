"""The persistent handle registry: records, GS1 link sets and their ledger history.

Storage (tables created with the ledger's, see `connector/tables.py`):

- `id_handle`: one row per handle, keyed by the normalised `prefix/suffix`. The values are
  one JSON list in the row, because a record is always read and written whole: a lookup is
  one primary-key read, whatever the number of handles. `gs1` holds the Digital Link path of
  the record's TS_GS1 value (key and qualifiers, e.g. `/01/09506000134376/10/L1/21/S9`) and is
  indexed, so the GS1 resolver finds the handle of one serial among millions with one B-tree
  lookup (no scan of a GTIN's serials).
- `id_handle_change`: (handle, ledger seq) for every change, so the history of one identifier
  is an index range scan and every state comes with the ledger entry that proves it.
- `gs1_linkset`: operator-managed link sets keyed by their anchor path
  (`/01/{gtin}[/22/..][/10/{lot}][/21/{serial}]`); a request reads at most one row per
  qualifier level with one `IN (...)` query.

Every change appends to the ledger in the same database transaction as the rows
(`Ledger.transaction()`): a rejected change writes neither. Ledger payloads (all `"v": 1`):

- `id.handle` — `{"op": "create"|"update"|"delete", "handle", "record" (HandleRecord.to_dict()
  or null after a delete), "actor"}`: one entry per single change;
- `id.handle-batch` — `{"op": "create", "actor", "batch", "shared": [values], "own": {"index":
  {"URL": 1, "TS_GS1": 3}, "ttl", "timestamp"}, "items": [{"handle", "TS_GS1", "URL"?}]}`: bulk
  registration writes one entry per chunk of up to `BULK_CHUNK` handles. The record of each
  handle is exactly the `shared` values plus one string value per item field, at the index
  `own.index` gives, with `own.ttl`, `own.timestamp` and default permissions. So every
  identifier's creation is auditable and provable through that one entry, at a fraction of
  the signing and hashing cost of one entry per handle;
- `gs1.linkset` — `{"op": "put"|"delete", "anchor", "linkset"}`.

Permissions: the node's operator acts as `300:0.na/<prefix>` for handles under a prefix the
node homes, and as `300:0.na/0.na` (the node's naming-authority administrator) for `0.na/...`
delegation records. Changes are checked against the HS_ADMIN values of the record (creation
against the `0.na/<prefix>` record), so a record whose HS_ADMIN values exclude the operator
cannot be changed by it. The `0.na/<prefix>` records of homed prefixes are derived from the
configuration until the operator stores one.

Reads go through an in-process LRU cache of decoded records by handle (misses too). On SQLite
the cache is coherent: before using it, a lookup asks its connection for `PRAGMA data_version`,
which changes whenever any other connection (this process or another, such as the CLI next to a
running server) commits; on a change the handles listed in `id_handle_change` since the last
seen ledger seq are dropped (the whole cache after a bulk registration), so entries need no
expiry. On other databases entries expire after `cache_seconds` (default 1 s), which bounds how
long another process's write stays invisible; this process's own writes drop their handles at
once everywhere. `cache_seconds=0` turns the cache off.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Index, delete, insert, select, update
from sqlmodel import BigInteger, Column, Field, SQLModel, Text

from identifiers.admin import (
    ALL_PERMISSIONS,
    DEFAULT_PERMISSIONS,
    AdminGrant,
    AdminIdentity,
    authorise_change,
)
from identifiers.canonical import gs1_to_handle
from identifiers.digital_link import SERIAL, DigitalLink
from identifiers.errors import IdentifierError, InvalidGs1, InvalidValue, NotAllowed, NotFound
from identifiers.gs1_ai import validate_ai_value
from identifiers.handle import Handle
from identifiers.linkset import LinkSet
from identifiers.record import (
    DEFAULT_TTL,
    HS_ADMIN,
    HS_ALIAS,
    HS_SITE,
    TS_CLASS,
    TS_GS1,
    URL,
    HandleRecord,
    HandleValue,
    Permissions,
    check_http_url,
    follow_aliases,
    format_timestamp,
)
from ledger.log import Ledger, LedgerTransaction

PAYLOAD_VERSION = 1
HANDLE_ENTRY = "id.handle"
BATCH_ENTRY = "id.handle-batch"
LINKSET_ENTRY = "gs1.linkset"
NA_PREFIX = "0.na"
NODE_ADMIN = AdminIdentity(300, Handle(NA_PREFIX, NA_PREFIX))
BULK_CHUNK = 1000
OWN_INDEX = {URL: 1, TS_GS1: 3}  # where bulk registration puts each serial's own values
DEFAULT_CACHE_SECONDS = 1.0
DEFAULT_CACHE_SIZE = 200_000
CACHE_DROP_LIMIT = 1000  # more changed handles than this since the last check: clear all
_ALIAS_SUBTYPE = HS_ALIAS + "."


class HandleExists(IdentifierError):
    """The handle to create is already registered (Handle response code 101)."""

    response_code = 101


class HandleRow(SQLModel, table=True):
    """The current record of one handle."""

    __tablename__ = "id_handle"
    handle: str = Field(primary_key=True, max_length=1024)
    prefix: str = Field(index=True, max_length=255)
    gs1: str | None = Field(default=None, max_length=1024)
    data: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of values
    ledger_seq: int = Field(sa_column=Column(BigInteger, nullable=False))

    __table_args__ = (Index("ix_id_handle_gs1", "gs1"),)


class HandleChange(SQLModel, table=True):
    """Which ledger entries changed a handle (its auditable history)."""

    __tablename__ = "id_handle_change"
    handle: str = Field(primary_key=True, max_length=1024)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class Gs1LinkSetRow(SQLModel, table=True):
    """An operator-managed GS1 link set, in the GS1 Resolver data-entry format."""

    __tablename__ = "gs1_linkset"
    anchor: str = Field(primary_key=True, max_length=1024)
    data: str = Field(sa_column=Column(Text, nullable=False))
    ledger_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


handle_table = HandleRow.__table__
change_table = HandleChange.__table__
linkset_table = Gs1LinkSetRow.__table__


def prefix_admin(prefix: str) -> AdminIdentity:
    """The administrator identity of a prefix, `300:0.na/<prefix>`."""
    return AdminIdentity(300, Handle(NA_PREFIX, prefix))


@dataclass(frozen=True, slots=True)
class Change:
    """A committed change: what happened to which handle, and the ledger entry proving it."""

    handle: Handle
    op: str
    seq: int
    record: HandleRecord | None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One state of a handle as recorded in the ledger (record None after a delete)."""

    seq: int
    ts: str
    op: str
    record: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Delegation:
    """Who answers for a prefix: this node (`url` None) or the node at `url`, per the
    `0.na/<via>` record (`via` is the prefix itself or its longest delegated ancestor)."""

    prefix: str
    via: str
    url: str | None
    ttl: int


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk registration created."""

    batch: Handle
    count: int
    seqs: tuple[int, ...]


# -- value (de)serialisation ------------------------------------------------------------------


_PERMISSION_FLAGS = ("admin_read", "admin_write", "pub_read", "pub_write")
_PERMISSIONS = {bits: Permissions(*(bool(bits >> n & 1) for n in range(4))) for bits in range(16)}
_TIMESTAMPS: dict[str, datetime] = {}


def _permission_bits(permissions: Permissions) -> int:
    flags = permissions.to_dict()
    return sum(1 << n for n, name in enumerate(_PERMISSION_FLAGS) if flags[name])


def _stored_value(value: HandleValue) -> list[Any]:
    """The compact row form of a value: [index, type, format, value, ttl, timestamp,
    permission bits (admin_read=1, admin_write=2, pub_read=4, pub_write=8), references]."""
    return [
        value.index,
        value.type,
        value.format,
        value.value,
        value.ttl,
        format_timestamp(value.timestamp),
        _permission_bits(value.permissions),
        [str(ref) for ref in value.references],
    ]


def _stored_from_dict(data: dict[str, Any]) -> list[Any]:
    """The compact row form of a value given in its plain-JSON (ledger) form."""
    return [
        data["index"],
        data["type"],
        data["data"]["format"],
        data["data"]["value"],
        data["ttl"],
        data["timestamp"],
        _permission_bits(Permissions(**data["permissions"])),
        list(data["references"]),
    ]


def _timestamp(text: str) -> datetime:
    moment = _TIMESTAMPS.get(text)
    if moment is None:
        if len(_TIMESTAMPS) > 4096:
            _TIMESTAMPS.clear()
        moment = _TIMESTAMPS[text] = datetime.fromisoformat(text)
    return moment


def _value_from_stored(item: list[Any]) -> HandleValue:
    """Rebuild a value from its row form (validated when it was written)."""
    index, value_type, data_format, value, ttl, stamp, bits, refs = item
    return HandleValue(
        index,
        value_type,
        data_format,
        value,
        ttl,
        _timestamp(stamp),
        tuple(AdminIdentity.parse(ref) for ref in refs) if refs else (),
        _PERMISSIONS[bits],
    )


def record_from_stored(handle: Handle, values_json: str) -> HandleRecord:
    """Rebuild a record from its row; values are stored sorted with unique indices, so the
    record's own checks are skipped on this hot path."""
    record = object.__new__(HandleRecord)
    object.__setattr__(record, "handle", handle)
    values = tuple([_value_from_stored(item) for item in json.loads(values_json)])
    object.__setattr__(record, "values", values)
    return record


def has_alias(record: HandleRecord) -> bool:
    """Whether the record has an HS_ALIAS value (or a sub-type of it)."""
    for value in record.values:
        value_type = value.type
        if value_type == HS_ALIAS or value_type.startswith(_ALIAS_SUBTYPE):
            return True
    return False


def _values_json(record: HandleRecord) -> str:
    return json.dumps([_stored_value(v) for v in record.values], separators=(",", ":"))


def gs1_path(record: HandleRecord) -> str | None:
    """The Digital Link path (key and qualifiers) of the record's TS_GS1 value, if any."""
    value = record.first(TS_GS1)
    return DigitalLink.parse(value.value).path() if value is not None else None


def site_url(record: HandleRecord) -> str | None:
    """Where a `0.na/<prefix>` record says the prefix is homed: its first URL value, else
    the `url` of an HS_SITE value in `site` format."""
    url = record.first(URL)
    if url is not None:
        return str(url.value)
    for value in record.by_type(HS_SITE):
        if value.format == "site" and isinstance(value.value.get("url"), str):
            return check_http_url(value.value["url"])
    return None


def ancestors(prefix: str) -> list[str]:
    """The prefix and its dotted ancestors, longest first: `88.100.1`, `88.100`, `88`."""
    parts = prefix.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _admin_value(admin: AdminIdentity, permissions: Any, when: datetime) -> HandleValue:
    return HandleValue.make(100, HS_ADMIN, AdminGrant(admin, permissions).to_data(), timestamp=when)


# -- the registry -------------------------------------------------------------------------------


class _Cache:
    """A thread-safe LRU of handle → (expiry, record or None); with `coherent`, entries do not
    expire (the reader's change checks keep them right)."""

    def __init__(self, size: int, seconds: float, coherent: bool = False) -> None:
        self.size = size
        self.seconds = seconds
        self.coherent = coherent
        self.generation = 0  # bumped by every drop/clear: a read older than that is not stored
        self._items: OrderedDict[str, tuple[float, HandleRecord | None]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def get(self, key: str) -> tuple[bool, HandleRecord | None]:
        with self._lock:
            item = self._items.get(key)
            if item is None or (not self.coherent and item[0] < time.monotonic()):
                return False, None
            self._items.move_to_end(key)
            return True, item[1]

    def put(self, key: str, record: HandleRecord | None, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return  # a change was seen while this record was read: it may be stale
            self._items[key] = (time.monotonic() + self.seconds, record)
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def drop(self, keys: Iterable[str]) -> None:
        with self._lock:
            self.generation += 1
            for key in keys:
                self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._items.clear()


class _Reader:
    """Reads of `id_handle` on one raw DB-API connection per thread, in autocommit: a lookup
    is one prepared statement, without the pool, BEGIN and ROLLBACK round that an SQLAlchemy
    connection adds (which cost more than the indexed read itself).

    On SQLite it also tells what changed since the last call (`changed`): `PRAGMA
    data_version` moves when another connection commits, and `id_handle_change` lists the
    handles each ledger entry changed."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self.marker = marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.sql = f"SELECT data FROM id_handle WHERE handle = {marker}"
        self._changes_sql = (
            f"SELECT handle, seq FROM id_handle_change WHERE seq > {marker} "
            f"ORDER BY seq LIMIT {CACHE_DROP_LIMIT + 1}"
        )
        self._local = threading.local()
        self._lock = threading.Lock()
        self.seen_seq: int | None = None  # newest change already applied to the cache

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            proxied = self.engine.raw_connection()
            proxied.detach()  # owned by this thread from now on, not returned to the pool
            conn = proxied.dbapi_connection
            if not self.sqlite:
                conn.autocommit = True
            self._local.conn = conn
            self._local.version = None
        return conn

    def data(self, handle: str) -> str | None:
        conn = self._connection()
        if self.sqlite:  # sqlite3 keeps the prepared statement in its cache
            row = conn.execute(self.sql, (handle,)).fetchone()
        else:
            cursor = conn.cursor()
            try:
                cursor.execute(self.sql, (handle,))
                row = cursor.fetchone()
            finally:
                cursor.close()
        return None if row is None else row[0]

    def changed(self) -> list[str] | None:
        """SQLite only: the handles changed since the previous call ([] when nothing was
        committed), or None when too many changed to list (drop everything)."""
        conn = self._connection()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._local.version:
            return []
        with self._lock:
            if self.seen_seq is None:
                row = conn.execute("SELECT max(seq) FROM id_handle_change").fetchone()
                self.seen_seq = row[0] or 0
                self._local.version = version
                return None
            rows = conn.execute(self._changes_sql, (self.seen_seq,)).fetchall()
            self._local.version = version
            if len(rows) > CACHE_DROP_LIMIT:
                row = conn.execute("SELECT max(seq) FROM id_handle_change").fetchone()
                self.seen_seq = max(self.seen_seq, row[0] or 0)
                return None
            if rows:
                self.seen_seq = max(self.seen_seq, rows[-1][1])
            return [handle for handle, _seq in rows]

    def by_gs1(self, paths: Sequence[str]) -> list[tuple[str, str, str]]:
        """(handle, gs1 path, data) of the rows whose `gs1` is one of `paths`."""
        marks = ", ".join([self.marker] * len(paths))
        cursor = self._connection().cursor()
        try:
            cursor.execute(
                f"SELECT handle, gs1, data FROM id_handle WHERE gs1 IN ({marks})", tuple(paths)
            )
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()


class Registry:
    """The handles, delegations and GS1 link sets a node holds, over its ledger database."""

    def __init__(
        self,
        ledger: Ledger,
        homed: Sequence[str],
        *,
        public_url: str = "",
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.ledger = ledger
        self.homed = tuple(Handle.of(p, "x").prefix for p in homed)
        self.public_url = public_url.rstrip("/")
        self._reader = _Reader(ledger.engine)
        self._cache = _Cache(cache_size, cache_seconds, coherent=self._reader.sqlite)
        self._select_one = select(handle_table.c.data).where(
            handle_table.c.handle == _bind_handle()
        )

    # -- reading -------------------------------------------------------------------------

    def homes(self, prefix: str) -> bool:
        return prefix.lower() in self.homed

    def _synthesised(self, handle: Handle) -> HandleRecord | None:
        """The configured `0.na/<prefix>` record of a homed prefix, or `0.na/0.na`."""
        if handle.prefix != NA_PREFIX:
            return None
        when = datetime(2000, 1, 1, tzinfo=UTC)
        if handle.suffix.lower() == NA_PREFIX:
            return HandleRecord(handle, (_admin_value(NODE_ADMIN, ALL_PERMISSIONS, when),))
        prefix = handle.suffix.lower()
        if prefix not in self.homed:
            return None
        values = [_admin_value(prefix_admin(prefix), ALL_PERMISSIONS, when)]
        if self.public_url:
            values.append(HandleValue.make(1, URL, self.public_url, timestamp=when))
        return HandleRecord(handle, tuple(values))

    def _read(self, conn: Connection, handle: Handle) -> HandleRecord | None:
        values = conn.execute(self._select_one, {"handle": str(handle)}).scalar_one_or_none()
        if values is None:
            return self._synthesised(handle)
        return record_from_stored(handle, values)

    def get(self, handle: Handle) -> HandleRecord | None:
        """The stored record of `handle` (aliases not followed), or None."""
        key = str(handle)
        cache = self._cache
        if not cache.enabled:
            data = self._reader.data(key)
            return self._synthesised(handle) if data is None else record_from_stored(handle, data)
        if cache.coherent:
            changed = self._reader.changed()
            if changed is None:
                cache.clear()
            elif changed:
                cache.drop(changed)
        hit, record = cache.get(key)
        if hit:
            return record
        generation = cache.generation
        data = self._reader.data(key)
        record = self._synthesised(handle) if data is None else record_from_stored(handle, data)
        cache.put(key, record, generation)
        return record

    def resolve(self, handle: Handle) -> HandleRecord | None:
        """`get`, following HS_ALIAS values within this registry (loop-protected)."""
        record = self.get(handle)
        if record is None or not has_alias(record):
            return record
        return follow_aliases(handle, self.get)

    def delegation(self, prefix: str) -> Delegation | None:
        """Who answers for `prefix` as far as this node knows: itself when it homes the prefix
        or its longest homed ancestor (authoritative, possibly "not found"), else the node a
        stored `0.na/<prefix or ancestor>` record names; None when this node knows nothing."""
        prefix = prefix.lower()
        candidates = ancestors(prefix)
        names = [f"{NA_PREFIX}/{p}" for p in candidates]
        with self.ledger.engine.connect() as conn:
            rows = dict(
                conn.execute(
                    select(handle_table.c.handle, handle_table.c.data).where(
                        handle_table.c.handle.in_(names)
                    )
                ).all()
            )
        for candidate, name in zip(candidates, names, strict=True):
            if candidate in self.homed:
                return Delegation(prefix, candidate, None, 0)
            if name in rows:
                record = record_from_stored(Handle(NA_PREFIX, candidate), rows[name])
                url = site_url(record)
                if url is not None and url.rstrip("/") != self.public_url:
                    ttl = min((v.ttl for v in record.values), default=0)
                    return Delegation(prefix, candidate, url.rstrip("/"), ttl)
        return None

    def gs1_record(self, link: DigitalLink) -> HandleRecord | None:
        """The handle whose TS_GS1 key is `link` or, failing that, its nearest ancestor
        (the lot's handle for a serial nobody registered), or None."""
        paths = _qualifier_paths(link)
        by_path = {gs1: (handle, data) for handle, gs1, data in self._reader.by_gs1(paths)}
        for path in paths:
            found = by_path.get(path)
            if found is not None:
                return record_from_stored(Handle.parse(found[0]), found[1])
        return None

    def linksets(self, link: DigitalLink) -> list[LinkSet]:
        """The operator's link sets anchored at `link`'s key or one of its qualifier levels."""
        paths = _qualifier_paths(link)
        with self.ledger.engine.connect() as conn:
            rows = conn.execute(
                select(linkset_table.c.data).where(linkset_table.c.anchor.in_(paths))
            ).scalars()
            return [LinkSet.from_resolver_entry(json.loads(data)) for data in rows]

    def all_linksets(self) -> list[dict[str, Any]]:
        with self.ledger.engine.connect() as conn:
            rows = conn.execute(select(linkset_table.c.data).order_by(linkset_table.c.anchor))
            return [json.loads(data) for data in rows.scalars()]

    def count(self, prefix: str | None = None) -> int:
        from sqlalchemy import func

        query = select(func.count()).select_from(handle_table)
        if prefix is not None:
            query = query.where(handle_table.c.prefix == prefix.lower())
        with self.ledger.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def history(self, handle: Handle) -> list[HistoryItem]:
        """Every recorded state of `handle`, oldest first, with the ledger entry of each."""
        with self.ledger.engine.connect() as conn:
            seqs = conn.execute(
                select(change_table.c.seq)
                .where(change_table.c.handle == str(handle))
                .order_by(change_table.c.seq)
            ).scalars()
            seqs = list(seqs)
        items = []
        for seq in seqs:
            entry = self.ledger.entry(seq)
            items.append(HistoryItem(seq, entry.ts, *_state_in(entry.payload, handle)))
        return items

    # -- writing ---------------------------------------------------------------------------

    def _actors(self, handle: Handle) -> list[AdminIdentity]:
        if handle.prefix == NA_PREFIX:
            return [NODE_ADMIN, prefix_admin(handle.suffix.lower())]
        return [prefix_admin(handle.prefix)]

    def _check_homed(self, handle: Handle) -> None:
        if handle.prefix != NA_PREFIX and handle.prefix not in self.homed:
            homes = ", ".join(self.homed) or "no prefix"
            raise NotAllowed(f"prefix {handle.prefix} is not homed on this node (it homes {homes})")

    def _authorise(
        self, conn: Connection, before: HandleRecord | None, after: HandleRecord | None
    ) -> AdminIdentity:
        handle = (after or before).handle  # type: ignore[union-attr]
        prefix_record = None
        if before is None:
            prefix_record = self._read(conn, handle.prefix_handle)

        def lookup(name: Handle) -> HandleRecord | None:
            return self._read(conn, name)

        refusal: NotAllowed | None = None
        for actor in self._actors(handle):
            try:
                authorise_change(before, after, actor, prefix_record=prefix_record, lookup=lookup)
                return actor
            except NotAllowed as exc:
                refusal = refusal or exc
        assert refusal is not None
        raise refusal

    def _with_default_admin(self, record: HandleRecord) -> HandleRecord:
        if record.first(HS_ADMIN) is not None:
            return record
        if record.handle.prefix == NA_PREFIX:
            admin, permissions = NODE_ADMIN, ALL_PERMISSIONS
        else:
            admin, permissions = prefix_admin(record.handle.prefix), DEFAULT_PERMISSIONS
        index = record.next_index(HS_ADMIN)
        grant = AdminGrant(admin, permissions).to_data()
        return record.with_value(HandleValue.make(index, HS_ADMIN, grant))

    def _change(
        self,
        handle: Handle,
        compute: Callable[[HandleRecord | None], HandleRecord | None],
        op: str,
    ) -> Change:
        self._check_homed(handle)
        with self.ledger.transaction() as tx:
            conn = tx.connection
            stored = conn.execute(self._select_one, {"handle": str(handle)}).scalar_one_or_none()
            before = (
                record_from_stored(handle, stored)
                if stored is not None
                else self._synthesised(handle)
            )
            after = compute(before)
            if op == "put":
                op = "create" if before is None else "update"
            if after is not None and after.handle != handle:
                raise InvalidValue(f"record names {after.handle}, not {handle}", "$.handle")
            if after is not None and before is None:
                after = self._with_default_admin(after)
            actor = self._authorise(conn, before, after)
            if after is not None:
                gs1 = gs1_path(after)  # validated already; also catches a hand-built record
            payload = {
                "v": PAYLOAD_VERSION,
                "op": op,
                "handle": str(handle),
                "record": after.to_dict() if after is not None else None,
                "actor": str(actor),
            }
            entry = tx.append(HANDLE_ENTRY, payload)
            if after is None:
                conn.execute(delete(handle_table).where(handle_table.c.handle == str(handle)))
            elif stored is None:
                conn.execute(
                    insert(handle_table).values(
                        handle=str(handle),
                        prefix=handle.prefix,
                        gs1=gs1,
                        data=_values_json(after),
                        ledger_seq=entry.seq,
                    )
                )
            else:
                conn.execute(
                    update(handle_table)
                    .where(handle_table.c.handle == str(handle))
                    .values(gs1=gs1, data=_values_json(after), ledger_seq=entry.seq)
                )
            conn.execute(insert(change_table).values(handle=str(handle), seq=entry.seq))
        self._cache.drop([str(handle)])
        return Change(handle, op, entry.seq, after)

    def create(self, record: HandleRecord, *, overwrite: bool = False) -> Change:
        """Register `record` (an HS_ADMIN value for the prefix administrator is added when it
        has none); with `overwrite`, replace an existing record instead of refusing."""

        if overwrite:
            return self.put(record)

        def compute(before: HandleRecord | None) -> HandleRecord:
            if before is not None:
                raise HandleExists(f"handle {record.handle} already exists")
            return record

        return self._change(record.handle, compute, "create")

    def put(self, record: HandleRecord) -> Change:
        """Create `record`, or replace the existing record of its handle."""
        return self._change(record.handle, lambda _before: record, "put")

    def set_values(self, handle: Handle, values: Iterable[HandleValue]) -> Change:
        """Add values, replacing any value at the same index."""
        values = list(values)

        def compute(before: HandleRecord | None) -> HandleRecord:
            if before is None:
                raise NotFound(f"handle {handle} does not exist")
            record = before
            for value in values:
                record = record.with_value(value)
            return record

        return self._change(handle, compute, "update")

    def remove_values(self, handle: Handle, indices: Iterable[int]) -> Change:
        indices = list(indices)

        def compute(before: HandleRecord | None) -> HandleRecord:
            if before is None:
                raise NotFound(f"handle {handle} does not exist")
            return before.without(*indices)

        return self._change(handle, compute, "update")

    def delete(self, handle: Handle) -> Change:
        def compute(before: HandleRecord | None) -> None:
            if before is None:
                raise NotFound(f"handle {handle} does not exist")
            return None

        return self._change(handle, compute, "delete")

    def get_uncached(self, handle: Handle) -> HandleRecord | None:
        with self.ledger.engine.connect() as conn:
            return self._read(conn, handle)

    def invalidate(self) -> None:
        self._cache.clear()

    # -- bulk --------------------------------------------------------------------------------

    def register_serials(
        self,
        batch: DigitalLink,
        serials: Iterable[str],
        *,
        prefix: str | None = None,
        url_template: str | None = None,
        object_class: str = "part",
        progress: Callable[[int], None] | None = None,
        chunk: int = BULK_CHUNK,
    ) -> BulkResult:
        """Register one handle per serial of `batch` (a GTIN, optionally with CPV and lot),
        and the batch's own handle if missing, in one transaction: all or nothing.

        Each serial's handle is `gs1_to_handle(batch + serial, prefix)` with TS_CLASS
        `object_class`, TS_GS1 (its Digital Link), the prefix administrator's HS_ADMIN and,
        with `url_template`, a URL value where `{serial}` is replaced by the serial.
        """
        if batch.key_ai != "01" or batch.serial is not None or batch.attributes:
            raise InvalidGs1("a batch is a GTIN (01) with optional CPV (22) and lot (10) only")
        prefix = (prefix or (self.homed[0] if self.homed else "")).lower()
        if not prefix:
            raise NotAllowed("this node homes no prefix to register handles under")
        batch_handle = gs1_to_handle(batch, prefix)
        self._check_homed(batch_handle)
        if url_template is not None:
            check_http_url(url_template.replace("{serial}", "0"), "$.url")
        when = datetime.now(UTC).replace(microsecond=0)
        stamp = format_timestamp(when)
        actor = prefix_admin(prefix)
        shared = [
            _admin_value(actor, DEFAULT_PERMISSIONS, when).to_dict(),
            HandleValue.make(2, TS_CLASS, object_class, timestamp=when).to_dict(),
        ]
        shared_rows = [_stored_from_dict(v) for v in shared]
        seen: set[str] = set()
        seqs: list[int] = []
        done = 0
        with self.ledger.transaction() as tx:
            conn = tx.connection
            prefix_record = self._read(conn, Handle(NA_PREFIX, prefix))
            probe = HandleRecord(Handle.of(prefix, "probe"))
            authorise_change(None, probe, actor, prefix_record=prefix_record)
            if self._read(conn, batch_handle) is None:
                batch_record = HandleRecord(
                    batch_handle,
                    (
                        _admin_value(actor, DEFAULT_PERMISSIONS, when),
                        HandleValue.make(2, TS_CLASS, "batch", timestamp=when),
                        HandleValue.make(3, TS_GS1, batch.uri(), timestamp=when),
                    ),
                )
                seqs.append(self._insert_one(tx, batch_record, actor))
            for items in _chunks(serials, chunk):
                rows, payload_items = [], []
                for serial in items:
                    if serial in seen:
                        raise InvalidGs1(f"serial {serial!r} is listed twice")
                    seen.add(serial)
                    try:
                        validate_ai_value(SERIAL, serial)
                    except InvalidGs1 as exc:
                        raise InvalidGs1(f"serial {serial!r}: {exc.reason}") from exc
                    link = replace(batch, qualifiers=(*batch.qualifiers, (SERIAL, serial)))
                    handle = str(gs1_to_handle(link, prefix))
                    item = {"handle": handle, TS_GS1: link.uri()}
                    if url_template is not None:
                        item[URL] = url_template.replace("{serial}", serial)
                    own = [
                        [OWN_INDEX[name], name, "string", value, DEFAULT_TTL, stamp, 7, []]
                        for name, value in item.items()
                        if name != "handle"
                    ]
                    payload_items.append(item)
                    rows.append(
                        {
                            "handle": handle,
                            "prefix": prefix,
                            "gs1": link.path(),
                            "data": json.dumps(
                                sorted([*shared_rows, *own], key=_first), separators=(",", ":")
                            ),
                        }
                    )
                existing = conn.execute(
                    select(handle_table.c.handle).where(
                        handle_table.c.handle.in_([r["handle"] for r in rows])
                    )
                ).first()
                if existing is not None:
                    raise HandleExists(f"handle {existing[0]} already exists")
                entry = tx.append(
                    BATCH_ENTRY,
                    {
                        "v": PAYLOAD_VERSION,
                        "op": "create",
                        "actor": str(actor),
                        "batch": str(batch_handle),
                        "shared": shared,
                        "own": {"index": OWN_INDEX, "ttl": DEFAULT_TTL, "timestamp": stamp},
                        "items": payload_items,
                    },
                )
                for row in rows:
                    row["ledger_seq"] = entry.seq
                conn.execute(insert(handle_table), rows)
                conn.execute(
                    insert(change_table), [{"handle": r["handle"], "seq": entry.seq} for r in rows]
                )
                seqs.append(entry.seq)
                done += len(rows)
                if progress is not None:
                    progress(done)
        self._cache.clear()
        return BulkResult(batch_handle, done, tuple(seqs))

    def _insert_one(self, tx: LedgerTransaction, record: HandleRecord, actor: AdminIdentity) -> int:
        payload = {
            "v": PAYLOAD_VERSION,
            "op": "create",
            "handle": str(record.handle),
            "record": record.to_dict(),
            "actor": str(actor),
        }
        entry = tx.append(HANDLE_ENTRY, payload)
        tx.connection.execute(
            insert(handle_table).values(
                handle=str(record.handle),
                prefix=record.handle.prefix,
                gs1=gs1_path(record),
                data=_values_json(record),
                ledger_seq=entry.seq,
            )
        )
        tx.connection.execute(insert(change_table).values(handle=str(record.handle), seq=entry.seq))
        return entry.seq

    # -- GS1 link sets -------------------------------------------------------------------------

    def put_linkset(self, entry: dict[str, Any]) -> tuple[str, int]:
        """Store an operator link set given in the GS1 Resolver data-entry format
        (`anchor`, `defaultLinktype`, `itemDescription`, `links[{linktype, href, title,
        hreflang, type}]`); returns (anchor path, ledger seq)."""
        linkset = LinkSet.from_resolver_entry(entry)
        if not linkset.links:
            raise InvalidValue("a link set needs at least one link", "$.links")
        for number, link in enumerate(linkset.links):
            check_http_url(link.href.replace("{", "").replace("}", ""), f"$.links[{number}].href")
        anchor = DigitalLink.parse(entry["anchor"]).without_attributes().path()
        data = {
            "anchor": anchor,
            "defaultLinktype": linkset.default_link_type,
            "itemDescription": linkset.item_description,
            "links": [
                {
                    "linktype": link.link_type,
                    "href": link.href,
                    "title": link.title,
                    "hreflang": list(link.languages),
                    **({"type": link.media_type} if link.media_type else {}),
                }
                for link in linkset.links
            ],
        }
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        with self.ledger.transaction() as tx:
            conn = tx.connection
            payload = {"v": PAYLOAD_VERSION, "op": "put", "anchor": anchor, "linkset": data}
            seq = tx.append(LINKSET_ENTRY, payload).seq
            exists = conn.execute(
                select(linkset_table.c.anchor).where(linkset_table.c.anchor == anchor)
            ).first()
            if exists:
                conn.execute(
                    update(linkset_table)
                    .where(linkset_table.c.anchor == anchor)
                    .values(data=text, ledger_seq=seq)
                )
            else:
                conn.execute(insert(linkset_table).values(anchor=anchor, data=text, ledger_seq=seq))
        return anchor, seq

    def delete_linkset(self, anchor: str) -> int:
        path = DigitalLink.parse(anchor).without_attributes().path()
        with self.ledger.transaction() as tx:
            conn = tx.connection
            gone = conn.execute(delete(linkset_table).where(linkset_table.c.anchor == path))
            if gone.rowcount == 0:
                raise NotFound(f"no link set anchored at {path}")
            payload = {"v": PAYLOAD_VERSION, "op": "delete", "anchor": path, "linkset": None}
            return tx.append(LINKSET_ENTRY, payload).seq


def _bind_handle() -> Any:
    from sqlalchemy import bindparam

    return bindparam("handle")


def _raw_value(index: int, value_type: str, value: str, stamp: str) -> dict[str, Any]:
    """A string value in stored form (the caller has validated it)."""
    return {
        "index": index,
        "type": value_type,
        "data": {"format": "string", "value": value},
        "ttl": 86400,
        "timestamp": stamp,
        "references": [],
        "permissions": Permissions().to_dict(),
    }


def _first(item: list[Any]) -> Any:
    return item[0]


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _qualifier_paths(link: DigitalLink) -> list[str]:
    """The link's path and its shorter qualifier levels, most specific first."""
    base = link.without_attributes()
    return [
        replace(base, qualifiers=base.qualifiers[:depth]).path()
        for depth in range(len(base.qualifiers), -1, -1)
    ]


def _state_in(payload: dict[str, Any], handle: Handle) -> tuple[str, dict[str, Any] | None]:
    """(op, record) that a ledger payload recorded for `handle`."""
    if "items" in payload:
        own = payload["own"]
        for item in payload["items"]:
            if item["handle"] == str(handle):
                values = [*payload["shared"]]
                for name, value in item.items():
                    if name != "handle":
                        values.append(
                            {
                                "index": own["index"][name],
                                "type": name,
                                "data": {"format": "string", "value": value},
                                "ttl": own["ttl"],
                                "timestamp": own["timestamp"],
                                "references": [],
                                "permissions": Permissions().to_dict(),
                            }
                        )
                values.sort(key=lambda v: v["index"])
                return payload["op"], {"v": 1, "handle": str(handle), "values": values}
        raise NotFound(f"ledger entry does not mention {handle}")
    return payload["op"], payload["record"]
