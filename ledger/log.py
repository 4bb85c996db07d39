"""The ledger: append signed entries, publish checkpoints, and serve proofs.

Integration is one function, `LedgerTransaction._flush`, run inside the append lock:
sequence numbers, hash links, tree nodes and the head row change together or not at all.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from nacl.signing import SigningKey
from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ledger import keys, merkle, rows, store
from ledger.canonical import Canonical, canonical_json
from ledger.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    parse_checkpoint,
    sign_checkpoint,
    verify_cosignature,
)
from ledger.entry import (
    GENESIS_PREV,
    Entry,
    parse_entry,
    sign_encoded_entry,
    sign_entry,
    utc_now,
)
from ledger.errors import InvalidInput, LedgerError, NotAllowed, NotFound
from ledger.note import format_vkey, parse_note

GENESIS_TYPE = "ledger.genesis"
ROTATION_TYPE = "ledger.key-rotation"
ROTATION_CONTEXT = b"tracespace/key-rotation/v1\n"
MAX_PAYLOAD_BYTES = 1 << 20


class Appended(NamedTuple):
    """Where an entry appended from an encoded payload landed (`append_encoded`)."""

    seq: int
    kid: str
    hash: bytes


@dataclass
class _Tip:
    size: int
    last_hash: str
    kid: str
    tree: merkle.CompactRange


class LedgerTransaction:
    """Appends made inside one database transaction; see `Ledger.transaction`."""

    def __init__(
        self, ledger: Ledger, driver: rows.Driver, tip: _Tip, conn: Connection | None = None
    ) -> None:
        self.ledger = ledger
        self._conn = conn
        self._driver = driver
        self._tip = tip
        self._key = ledger.signer
        self._kid = tip.kid
        self._entries: list[tuple[int, str, bytes, bytes]] = []
        self._nodes: list[tuple[int, bytes]] = []
        self._keys: list[tuple[str, bytes, int]] = []
        # One timestamp for the whole transaction: the moment it took the append lock.
        self._ts = utc_now()

    @property
    def size(self) -> int:
        return self._tip.size

    @property
    def driver(self) -> rows.Driver:
        """The driver connection of the transaction (`ledger.rows`), for fast bulk writes."""
        return self._driver

    @property
    def connection(self) -> Connection:
        """The SQLAlchemy connection of the transaction, for the caller's own writes."""
        if self._conn is None:
            raise LedgerError("this transaction has no SQLAlchemy connection; use transaction()")
        return self._conn

    def append(self, payload_type: str, payload: Any) -> Entry:
        tip = self._tip
        entry = sign_entry(
            self._key, tip.size, tip.last_hash, payload_type, payload, ts=self._ts, kid=self._kid
        )
        self._integrate(entry.type, entry.body)
        return entry

    def append_encoded(self, payload_type: str, payload: Canonical) -> Appended:
        """`append` for a payload encoded ahead with `ledger.canonical.encode` (perhaps in
        another process): the same entry bytes, without encoding the payload here."""
        tip = self._tip
        body, _ = sign_encoded_entry(
            self._key, tip.size, tip.last_hash, payload_type, payload, self._ts, self._kid
        )
        return Appended(tip.size, self._kid, self._integrate(payload_type, body))

    def _integrate(self, payload_type: str, body: bytes) -> bytes:
        """Chain, store and add to the tree the signed entry `body`; its hash."""
        if len(body) > MAX_PAYLOAD_BYTES:
            raise InvalidInput(f"entry is larger than {MAX_PAYLOAD_BYTES} bytes")
        tip = self._tip
        digest = hashlib.sha256(body).digest()
        self._entries.append((tip.size, payload_type, digest, body))
        for level, index, h in tip.tree.append(merkle.leaf_hash(body)):
            self._nodes.append((rows.node_key(level, index), h))
        tip.size += 1
        tip.last_hash = digest.hex()
        return digest

    def append_many(self, items: Iterable[tuple[str, Any]]) -> list[Entry]:
        return [self.append(t, p) for t, p in items]

    def rotate_key(self, new_key: SigningKey) -> Entry:
        """Hand signing over to `new_key`; the entry is signed by both keys."""
        new_public = keys.check_public_key(bytes(new_key.verify_key))
        new_b64 = base64.b64encode(new_public).decode()
        statement = rotation_statement(self._tip.size, self._tip.last_hash, self._tip.kid, new_b64)
        proof = base64.b64encode(new_key.sign(statement).signature).decode()
        new_kid = keys.public_key_id(new_public)
        entry = self.append(
            ROTATION_TYPE,
            {"v": 1, "new_kid": new_kid, "new_public_key": new_b64, "new_key_signature": proof},
        )
        self._key = new_key
        self._kid = self._tip.kid = new_kid
        self._keys.append((new_kid, new_public, entry.seq + 1))
        return entry

    def _flush(self) -> None:
        if self._keys:
            rows.insert_keys(self._driver, self._keys)
        head = (self._tip.size, self._tip.last_hash, self._tip.kid)
        rows.commit_append(self._driver, self._entries, self._nodes, head)


def rotation_statement(seq: int, prev: str, old_kid: str, new_public_key_b64: str) -> bytes:
    """What the new key signs: bound to the position, so it cannot be replayed elsewhere."""
    return ROTATION_CONTEXT + canonical_json(
        {"seq": seq, "prev": prev, "old_kid": old_kid, "new_public_key": new_public_key_b64}
    )


class Ledger:
    """One node's log. Thread-safe; several processes may share the database."""

    def __init__(self, engine: Engine, signer: SigningKey, origin: str) -> None:
        self.engine = engine
        self.signer = signer
        self.origin = origin
        self._lock = threading.Lock()
        self._tip: _Tip | None = None
        # The largest tree size seen: a log only grows, so proofs up to it need no head read.
        self._known_size = 0

    @classmethod
    def open(cls, url: str | Engine, signer: SigningKey, origin: str) -> Ledger:
        """Open (creating tables and the genesis entry if needed) the ledger at `url`."""
        engine = url if isinstance(url, Engine) else store.make_engine(url)
        store.create_tables(engine)
        ledger = cls(engine, signer, origin)
        ledger._ensure_genesis()
        return ledger

    # -- appending -------------------------------------------------------------

    def _ensure_genesis(self) -> None:
        public = bytes(self.signer.verify_key)
        kid = keys.public_key_id(public)
        try:
            with store.write_transaction(self.engine) as conn:
                driver = rows.of(conn)
                if rows.lock_head(driver) is not None:
                    return
                conn.execute(
                    insert(store.head_table).values(id=1, size=0, last_hash=GENESIS_PREV, kid=kid)
                )
                conn.execute(insert(store.key_table).values(kid=kid, public_key=public, from_seq=0))
                tx = LedgerTransaction(
                    self, driver, _Tip(0, GENESIS_PREV, kid, merkle.CompactRange())
                )
                tx.append(
                    GENESIS_TYPE,
                    {
                        "v": 1,
                        "origin": self.origin,
                        "public_key": base64.b64encode(public).decode(),
                    },
                )
                tx._flush()
        except IntegrityError:
            return  # another process created the genesis entry first

    def _load_tip(self, driver: rows.Driver) -> _Tip:
        row = rows.lock_head(driver)
        if row is None:
            raise LedgerError("the ledger has no head row (not initialised)")
        size, last_hash, kid = row
        cached = self._tip
        if cached is not None and cached.size == size and cached.last_hash == last_hash:
            return cached
        ids = merkle.CompactRange.nodes_for(size)
        nodes = self._read_nodes(driver, ids)
        tree = merkle.CompactRange(size, [nodes[n] for n in ids])
        return _Tip(size, last_hash, kid, tree)

    @contextmanager
    def transaction(self) -> Iterator[LedgerTransaction]:
        """Append entries atomically with the caller's own writes on `tx.connection`."""
        with self._lock, store.write_transaction(self.engine) as conn:
            tx = self._begin(rows.of(conn), conn)
            yield tx
            self._commit(tx)

    @contextmanager
    def driver_transaction(self) -> Iterator[LedgerTransaction]:
        """Like `transaction`, on a bare driver connection: the caller's own writes, if any,
        go through `tx.driver` (`ledger.rows`); `tx.connection` is not available."""
        with self._lock, rows.append_transaction(self.engine) as driver:
            tx = self._begin(driver, None)
            yield tx
            self._commit(tx)

    def _begin(self, driver: rows.Driver, conn: Connection | None) -> LedgerTransaction:
        tip = self._load_tip(driver)
        if tip.kid != keys.public_key_id(bytes(self.signer.verify_key)):
            raise NotAllowed("this node's key is not the ledger's current signing key")
        tree = merkle.CompactRange(tip.tree.size, list(tip.tree.hashes))
        self._tip = None  # until this commits, the cache may be stale
        return LedgerTransaction(self, driver, _Tip(tip.size, tip.last_hash, tip.kid, tree), conn)

    def _commit(self, tx: LedgerTransaction) -> None:
        tx._flush()
        self._tip = tx._tip
        self.signer = tx._key

    def append(self, payload_type: str, payload: Any) -> Entry:
        with self.driver_transaction() as tx:
            return tx.append(payload_type, payload)

    def append_many(self, items: Iterable[tuple[str, Any]]) -> list[Entry]:
        with self.driver_transaction() as tx:
            return tx.append_many(items)

    def rotate_key(self, new_key: SigningKey) -> Entry:
        with self.driver_transaction() as tx:
            return tx.rotate_key(new_key)

    # -- reading ---------------------------------------------------------------

    @property
    def size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(store.head_table.c.size)).scalar_one())

    def entry_bytes(self, seq: int) -> bytes:
        with self.engine.connect() as conn:
            body = conn.execute(
                select(store.entry_table.c.body).where(store.entry_table.c.seq == seq)
            ).scalar_one_or_none()
        if body is None:
            raise NotFound(f"no entry {seq}")
        return bytes(body)

    def entry(self, seq: int) -> Entry:
        return parse_entry(self.entry_bytes(seq))

    def entries_bytes(self, start: int, end: int) -> list[bytes]:
        """Entry bytes for seq in [start, end), in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(store.entry_table.c.body)
                .where(store.entry_table.c.seq >= start, store.entry_table.c.seq < end)
                .order_by(store.entry_table.c.seq)
            ).scalars()
            return [bytes(b) for b in rows]

    def seqs_of_types(self, types: Sequence[str], below: int) -> list[int]:
        et = store.entry_table
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(et.c.seq)
                .where(et.c.type.in_(list(types)), et.c.seq < below)
                .order_by(et.c.seq)
            ).scalars()
            return [int(s) for s in rows]

    def public_keys(self) -> list[tuple[str, bytes, int]]:
        """Key history as (kid, public key, first seq it signs)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(store.key_table).order_by(store.key_table.c.from_seq)).all()
        return [(r.kid, bytes(r.public_key), int(r.from_seq)) for r in rows]

    def vkey(self) -> str:
        """The C2SP note verifier key of the current signing key."""
        return format_vkey(self.origin, bytes(self.signer.verify_key))

    # -- tree and proofs -------------------------------------------------------

    @staticmethod
    def _read_nodes(
        driver: rows.Driver, ids: Sequence[merkle.NodeId]
    ) -> dict[merkle.NodeId, bytes]:
        if not ids:
            return {}
        wanted = {rows.node_key(level, index): (level, index) for level, index in ids}
        found = {wanted[key]: h for key, h in rows.read_nodes(driver, list(wanted)).items()}
        if len(found) != len(wanted):
            missing = sorted(set(wanted.values()) - set(found))
            raise LedgerError(f"tree nodes missing from storage: {missing[:4]}")
        return found

    def _hash_ranges(self, ranges: list[tuple[int, int]], size: int) -> list[bytes]:
        if size > self._known_size:
            with self.engine.connect() as conn:
                self._known_size = rows.head_size(rows.of(conn))
            if not 0 <= size <= self._known_size:
                raise InvalidInput(f"tree size {size} is outside 0..{self._known_size}")
        plan = [[rows.node_key(*n) for n in merkle.perfect_subtrees(s, e)] for s, e in ranges]
        wanted = [key for keys in plan for key in keys]
        found = rows.read_nodes_outside_transaction(self.engine, wanted)
        try:
            return [merkle.fold([found[key] for key in keys]) for keys in plan]
        except KeyError:
            missing = sorted(rows.node_position(k) for k in set(wanted) - set(found))
            raise LedgerError(f"tree nodes missing from storage: {missing[:4]}") from None

    def root(self, size: int) -> bytes:
        if size < 0:
            raise InvalidInput(f"tree size {size} is negative")
        if size == 0:
            return merkle.EMPTY_ROOT
        return self._hash_ranges([(0, size)], size)[0]

    def inclusion_proof(self, seq: int, size: int) -> list[bytes]:
        if not 0 <= seq < size:
            raise InvalidInput(f"entry {seq} is not in a tree of size {size}")
        return self._hash_ranges(merkle.inclusion_ranges(seq, size), size)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        if not 0 < first <= second:
            raise InvalidInput(f"no consistency proof from size {first} to size {second}")
        return self._hash_ranges(merkle.consistency_ranges(first, second), second)

    def range_proof(self, begin: int, end: int, size: int) -> list[bytes]:
        """Hashes that, with the leaves [begin, end), rebuild the root at `size`."""
        if not 0 <= begin < end <= size:
            raise InvalidInput(f"range [{begin}, {end}) is not inside a tree of size {size}")
        return self._hash_ranges(merkle.range_proof_ranges(begin, end, size), size)

    # -- checkpoints -----------------------------------------------------------

    def checkpoint(self) -> str:
        """The signed checkpoint of the current tree, published (stored) once per size."""
        with store.read_transaction(self.engine) as conn:
            size, kid = conn.execute(select(store.head_table.c.size, store.head_table.c.kid)).one()
            size = int(size)
            if kid != keys.public_key_id(bytes(self.signer.verify_key)):
                raise NotAllowed("this node's key was rotated out; restart it with the new key")
            note = conn.execute(
                select(store.checkpoint_table.c.note).where(store.checkpoint_table.c.size == size)
            ).scalar_one_or_none()
            if note is not None:
                return note
            ids = merkle.perfect_subtrees(0, size) if size else []
            nodes = self._read_nodes(rows.of(conn), ids)
        root = merkle.fold([nodes[n] for n in ids])
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.origin, self.signer)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(store.checkpoint_table).values(
                        size=size, root=root, note=note, created=utc_now()
                    )
                )
        except IntegrityError:
            pass  # published concurrently for the same size; ours is equally valid
        return note

    def add_cosignature(self, cosigned_note: str, witness: CosignatureVerifier) -> int:
        """Keep a witness's cosignature of one of our published checkpoints; returns its time."""
        note = parse_note(cosigned_note)
        cp = parse_checkpoint(note.text)
        with self.engine.connect() as conn:
            ours = conn.execute(
                select(store.checkpoint_table.c.note).where(
                    store.checkpoint_table.c.size == cp.size
                )
            ).scalar_one_or_none()
        if ours is None or parse_note(ours).text != note.text:
            raise NotFound(f"no published checkpoint of size {cp.size} with that root")
        timestamp = verify_cosignature(note, witness)
        line = next(
            s for s in note.signatures if (s.name, s.key_id) == (witness.name, witness.key_id)
        )
        ct = store.cosignature_table
        with self.engine.begin() as conn:
            conn.execute(delete(ct).where(ct.c.size == cp.size, ct.c.cosigner == witness.name))
            conn.execute(
                insert(ct).values(
                    size=cp.size, cosigner=witness.name, line=line.line(), timestamp=timestamp
                )
            )
        return timestamp

    def witnessed_checkpoint(self) -> str:
        """The latest checkpoint that witnesses cosigned, with every cosignature line."""
        ct = store.cosignature_table
        with self.engine.connect() as conn:
            size = conn.execute(select(func.max(ct.c.size))).scalar_one_or_none()
            if size is None:
                raise NotFound("no checkpoint has been cosigned yet")
            note = conn.execute(
                select(store.checkpoint_table.c.note).where(store.checkpoint_table.c.size == size)
            ).scalar_one()
            lines = conn.execute(select(ct.c.line).where(ct.c.size == size)).scalars().all()
        return note + "".join(lines)

    def published_checkpoints(self) -> list[tuple[int, bytes, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(store.checkpoint_table).order_by(store.checkpoint_table.c.size)
            ).all()
        return [(int(r.size), bytes(r.root), r.note) for r in rows]
