"""The Ledger API on SQLite and PostgreSQL: appends, transactions, proofs, keys and checkpoints.

Roots and proofs are checked against an independent recursive RFC 9162 reference written
here (section 2.1 definitions over the raw leaf bytes) and against pymerkle's tree, so these
tests never trust `ledger.merkle` to check itself.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json

import pytest
import rfc8785
from nacl.signing import SigningKey
from pymerkle import InmemoryTree
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from ledger import keys, merkle, store
from ledger.canonical import canonical_json, encode
from ledger.checkpoint import open_checkpoint
from ledger.entry import GENESIS_PREV, parse_entry, verify_entry_signature
from ledger.errors import InvalidInput, LedgerError, NotAllowed, VerificationError
from ledger.keyschedule import KEY_ENTRY_TYPES, KeySchedule
from ledger.log import GENESIS_TYPE, MAX_PAYLOAD_BYTES, ROTATION_TYPE, Ledger
from ledger.note import format_vkey
from ledger.verify import VerifyReport, verify_database

ORIGIN = "example.org/tracespace-test"


# -- independent RFC 9162 reference (section 2.1), over the leaf bytes -------------------


class Rfc9162:
    """MTH, PATH and PROOF exactly as RFC 9162 2.1 defines them, memoised per range."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.leaves = leaves

    @staticmethod
    def _k(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    @functools.cache  # noqa: B019 - one short-lived instance per test
    def mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return hashlib.sha256(b"\x00" + self.leaves[start]).digest()
        k = self._k(n)
        return hashlib.sha256(
            b"\x01" + self.mth(start, start + k) + self.mth(start + k, end)
        ).digest()

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = self._k(n)
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self._subproof(m, 0, n, True)

    def _subproof(self, m: int, start: int, end: int, b: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if b else [self.mth(start, end)]
        k = self._k(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, b), self.mth(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self.mth(start, start + k)]


def pymerkle_root(leaves: list[bytes]) -> bytes:
    # pymerkle 7 with its default security mode hashes leaves as SHA-256(0x00 || data)
    # and nodes as SHA-256(0x01 || left || right), i.e. RFC 9162.
    tree = InmemoryTree(algorithm="sha256")
    for leaf in leaves:
        tree.append_entry(leaf)
    return tree.get_root()


# -- fixtures and small helpers ----------------------------------------------------------


@pytest.fixture
def signer() -> SigningKey:
    return keys.generate()


@pytest.fixture
def ledger(database_url: str, signer: SigningKey):
    lg = Ledger.open(database_url, signer, ORIGIN)
    yield lg
    lg.engine.dispose()


def verify(url: str) -> VerifyReport:
    return verify_database(url)


def count_rows(lg: Ledger, table) -> int:
    with lg.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def snapshot(lg: Ledger) -> tuple:
    """Everything an append may touch: head row and row counts of every ledger table."""
    with lg.engine.connect() as conn:
        head = tuple(conn.execute(select(store.head_table)).one())
    counts = tuple(
        count_rows(lg, t)
        for t in (store.entry_table, store.node_table, store.key_table, store.checkpoint_table)
    )
    return head, counts


# -- genesis, append, append_many ------------------------------------------------------


def test_open_creates_one_genesis_entry(ledger: Ledger, database_url: str, signer: SigningKey):
    assert ledger.size == 1
    genesis = ledger.entry(0)
    assert genesis.type == GENESIS_TYPE
    assert genesis.prev == GENESIS_PREV
    assert genesis.payload["origin"] == ORIGIN
    assert base64.b64decode(genesis.payload["public_key"]) == bytes(signer.verify_key)
    verify_entry_signature(genesis.body, bytes(signer.verify_key))
    again = Ledger.open(database_url, signer, ORIGIN)  # reopening adds nothing
    try:
        assert again.size == 1
        assert again.entry_bytes(0) == genesis.body
    finally:
        again.engine.dispose()


def test_append_chains_signs_and_stores_the_hashed_bytes(ledger: Ledger, signer: SigningKey):
    payload = {"lot": "L-42", "qty": 12.5, "text": "Grüße ✓ \U0001f600", "nested": [1, {"b": None}]}
    first = ledger.append("trace.event", payload)
    second = ledger.append("trace.event", [1, 2, 3])
    assert (first.seq, second.seq) == (1, 2)
    assert ledger.size == 3
    assert first.prev == hashlib.sha256(ledger.entry_bytes(0)).hexdigest()
    assert second.prev == hashlib.sha256(first.body).hexdigest()
    for e in (first, second):
        stored = ledger.entry_bytes(e.seq)
        # "Leaf bytes": the stored bytes are the returned entry's bytes, its canonical JSON
        # (checked with the rfc8785 reference), and what the hash and the leaf are made of.
        assert stored == e.body
        assert stored == rfc8785.dumps(json.loads(stored))
        assert stored == canonical_json(e.to_json())
        assert e.hash == hashlib.sha256(stored).digest()
        assert parse_entry(stored) == e
        verify_entry_signature(stored, bytes(signer.verify_key))
    assert json.loads(ledger.entry_bytes(1))["payload"] == payload


def test_append_many_assigns_consecutive_seqs(ledger: Ledger, database_url: str):
    entries = ledger.append_many([("batch.item", {"i": i}) for i in range(25)])
    assert [e.seq for e in entries] == list(range(1, 26))
    assert ledger.size == 26
    assert ledger.entries_bytes(1, 26) == [e.body for e in entries]
    for before, after in itertools.pairwise(entries):
        assert after.prev == before.hash.hex()
    assert verify(database_url).ok


def test_append_encoded_writes_the_bytes_append_writes(ledger: Ledger, database_url: str):
    """A payload encoded ahead (`canonical.encode`) gives the very entry `append` gives."""
    payloads = [
        {"lot": "L-42", "qty": 12.5, "text": "Grüße ✓ \U0001f600", "nested": [1, {"b": None}]},
        [1, 2, 3],
        "\ue000 sorts differently in UTF-16 \U0001f600",
        {"b": 1, "a": {"z": [], "é": 2**53 - 1}},
    ]
    moment = "2026-12-07T00:00:00.000001Z"  # one time for both transactions
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx._ts = moment
        plain = [tx.append("trace.event", payload).body for payload in payloads]
        raise RuntimeError("rolled back: the encoded ones take the same places")
    with ledger.transaction() as tx:
        tx._ts = moment
        appended = [tx.append_encoded("trace.event", encode(p)) for p in payloads]
    assert ledger.entries_bytes(1, 1 + len(payloads)) == plain
    assert [a.seq for a in appended] == [1, 2, 3, 4]
    assert [a.hash for a in appended] == [hashlib.sha256(body).digest() for body in plain]
    assert verify(database_url).ok


def test_append_encoded_takes_only_canonical_bytes(ledger: Ledger):
    before = snapshot(ledger)
    with pytest.raises(TypeError), ledger.transaction() as tx:
        tx.append_encoded("trace.event", b'{"b":1,"a":2}')  # type: ignore[arg-type]
    with pytest.raises(InvalidInput), ledger.transaction() as tx:
        tx.append_encoded("Bad Type", encode({"a": 1}))
    assert snapshot(ledger) == before


def test_append_many_of_nothing_writes_nothing(ledger: Ledger):
    before = snapshot(ledger)
    assert ledger.append_many([]) == []
    assert snapshot(ledger) == before


def test_failed_transaction_writes_nothing(ledger: Ledger, database_url: str):
    ledger.append("a.b", {"n": 0})
    before = snapshot(ledger)
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.append("a.b", {"n": 1})
        tx.append_many([("a.b", {"n": 2}), ("a.b", {"n": 3})])
        assert tx.size == 5
        raise RuntimeError("caller changed its mind")
    assert snapshot(ledger) == before
    assert ledger.size == 2
    # The same object keeps working, from the right position, with a valid chain.
    nxt = ledger.append("a.b", {"n": 4})
    assert nxt.seq == 2
    assert nxt.prev == hashlib.sha256(ledger.entry_bytes(1)).hexdigest()
    assert verify(database_url).ok


def test_transaction_is_atomic_with_the_callers_own_writes(ledger: Ledger):
    meta = MetaData()
    record = Table(
        "test_app_record",
        meta,
        Column("id", Integer, primary_key=True),
        Column("seq", Integer, nullable=False),
        Column("note", String(50)),
    )
    meta.create_all(ledger.engine)
    with pytest.raises(ValueError), ledger.transaction() as tx:
        e = tx.append("app.thing", {"x": 1})
        tx.connection.execute(insert(record).values(seq=e.seq, note="rolled back"))
        raise ValueError("abort")
    assert count_rows(ledger, record) == 0
    assert ledger.size == 1
    with ledger.transaction() as tx:
        e = tx.append("app.thing", {"x": 2})
        tx.connection.execute(insert(record).values(seq=e.seq, note="kept"))
    with ledger.engine.connect() as conn:
        assert conn.execute(select(record.c.seq, record.c.note)).all() == [(1, "kept")]
    assert ledger.entry(1).payload == {"x": 2}


# -- payload and type validation -----------------------------------------------------------


BAD_TYPES = ["", "Trace.Event", "has space", "-leading", ".dot", "x" * 129, "é", "a\nb", None, 5]
GOOD_TYPES = ["a", "x" * 128, "epcis:object-event/v2", "0.b_c-d"]
NON_JSON = [float("nan"), float("inf"), {"big": 2**53}, {"neg": -(2**60)}, {1, 2}, b"raw", object()]


def test_payload_types_are_validated_and_nothing_written_on_refusal(ledger: Ledger):
    before = snapshot(ledger)
    for payload_type in BAD_TYPES:
        with pytest.raises(InvalidInput):
            ledger.append(payload_type, {"ok": True})
        with pytest.raises(InvalidInput):
            ledger.append_many([("fine.type", {}), (payload_type, {})])
    assert snapshot(ledger) == before
    for payload_type in GOOD_TYPES:
        assert ledger.append(payload_type, {}).type == payload_type


def test_non_json_payload_is_refused_and_nothing_written(ledger: Ledger):
    before = snapshot(ledger)
    for payload in NON_JSON:
        with pytest.raises(InvalidInput):
            ledger.append("t.x", payload)
        with pytest.raises(InvalidInput):
            ledger.append_many([("t.x", {"fine": 1}), ("t.x", payload)])
    assert snapshot(ledger) == before


def test_oversize_payload_is_refused_and_nothing_written(ledger: Ledger):
    before = snapshot(ledger)
    with pytest.raises(InvalidInput):
        ledger.append("blob.big", "x" * MAX_PAYLOAD_BYTES)
    # Also when it is the last item of a batch: the whole batch is refused.
    with pytest.raises(InvalidInput):
        ledger.append_many([("blob.small", "x"), ("blob.big", {"data": "y" * MAX_PAYLOAD_BYTES})])
    assert snapshot(ledger) == before
    just_fits = ledger.append("blob.ok", "z" * (MAX_PAYLOAD_BYTES - 1000))
    assert len(ledger.entry_bytes(just_fits.seq)) <= MAX_PAYLOAD_BYTES


# -- tree, roots and proofs ----------------------------------------------------------------

N = 37
PROOF_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, N]


@pytest.fixture
def grown(ledger: Ledger) -> tuple[Ledger, Rfc9162]:
    # Mix single appends and batches so nodes are written by both paths.
    for i in range(5):
        ledger.append("tree.leaf", {"i": i})
    ledger.append_many([("tree.leaf", {"i": i}) for i in range(5, 30)])
    for i in range(30, N - 1):
        ledger.append("tree.leaf", {"i": i, "s": "é" * i})
    assert ledger.size == N
    return ledger, Rfc9162(ledger.entries_bytes(0, N))


def test_roots_match_rfc9162_reference_and_pymerkle(grown: tuple[Ledger, Rfc9162]):
    ledger, ref = grown
    assert ledger.root(0) == hashlib.sha256(b"").digest()
    for size in range(1, N + 1):
        expected = ref.mth(0, size)
        assert ledger.root(size) == expected, size
        assert pymerkle_root(ref.leaves[:size]) == expected, size


def test_inclusion_proofs_match_reference_and_verify(grown: tuple[Ledger, Rfc9162]):
    ledger, ref = grown
    for size in PROOF_SIZES:
        root = ref.mth(0, size)
        for seq in range(size):
            proof = ledger.inclusion_proof(seq, size)
            assert proof == ref.path(seq, 0, size), (seq, size)
            merkle.verify_inclusion(merkle.leaf_hash(ref.leaves[seq]), seq, size, proof, root)
            if proof:  # a wrong leaf or a flipped proof hash must not verify
                with pytest.raises(VerificationError):
                    merkle.verify_inclusion(
                        merkle.leaf_hash(ref.leaves[seq] + b" "), seq, size, proof, root
                    )
                bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
                with pytest.raises(VerificationError):
                    merkle.verify_inclusion(merkle.leaf_hash(ref.leaves[seq]), seq, size, bad, root)


def test_consistency_proofs_match_reference_and_verify(grown: tuple[Ledger, Rfc9162]):
    ledger, ref = grown
    for second in PROOF_SIZES:
        for first in range(1, second + 1):
            proof = ledger.consistency_proof(first, second)
            assert proof == ref.proof(first, second), (first, second)
            merkle.verify_consistency(first, second, proof, ref.mth(0, first), ref.mth(0, second))
            if first < second:
                other = ref.mth(0, first - 1) if first > 1 else hashlib.sha256(b"x").digest()
                with pytest.raises(VerificationError):
                    merkle.verify_consistency(first, second, proof, other, ref.mth(0, second))


def test_range_proofs_rebuild_the_root(grown: tuple[Ledger, Rfc9162]):
    ledger, ref = grown
    for begin, end, size in [(0, 1, 1), (0, N, N), (3, 9, 17), (16, 17, 33), (5, 36, N)]:
        proof = ledger.range_proof(begin, end, size)
        leaves = [merkle.leaf_hash(b) for b in ref.leaves[begin:end]]
        assert merkle.root_from_range(begin, size, leaves, proof) == ref.mth(0, size)


IMPOSSIBLE = [
    ("inclusion_proof", (0, 0)),
    ("inclusion_proof", (-1, 3)),
    ("inclusion_proof", (3, 3)),
    ("inclusion_proof", (0, N + 1)),
    ("consistency_proof", (0, 3)),
    ("consistency_proof", (4, 3)),
    ("consistency_proof", (2, N + 1)),
    ("range_proof", (3, 3, 5)),
    ("range_proof", (0, N + 1, N + 1)),
    ("root", (N + 1,)),
    ("root", (-1,)),
]


def test_impossible_proof_requests_are_invalid_input(grown: tuple[Ledger, Rfc9162]):
    ledger, _ = grown
    for call, args in IMPOSSIBLE:
        with pytest.raises(InvalidInput):
            getattr(ledger, call)(*args)


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_is_signed_and_stored_once_per_size(grown: tuple[Ledger, Rfc9162]):
    ledger, ref = grown
    note = ledger.checkpoint()
    cp, _ = open_checkpoint(note, ledger.vkey(), origin=ORIGIN)
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, N, ref.mth(0, N))
    assert ledger.checkpoint() == note
    published = ledger.published_checkpoints()
    assert published == [(N, ref.mth(0, N), note)]
    ledger.append("tree.leaf", {"after": True})
    note2 = ledger.checkpoint()
    assert ledger.checkpoint() == note2
    sizes = [s for s, _, _ in ledger.published_checkpoints()]
    assert sizes == [N, N + 1]


def test_checkpoint_from_two_ledger_objects_is_stored_once(
    ledger: Ledger, database_url: str, signer: SigningKey
):
    other = Ledger.open(database_url, signer, ORIGIN)
    try:
        ledger.append("a.b", {})
        assert ledger.checkpoint() == other.checkpoint()
        assert len(other.published_checkpoints()) == 1
    finally:
        other.engine.dispose()


# -- key rotation ----------------------------------------------------------------------------


def test_key_rotation_hands_signing_to_the_new_key(
    ledger: Ledger, database_url: str, signer: SigningKey
):
    old_public = bytes(signer.verify_key)
    old_kid = keys.public_key_id(old_public)
    ledger.append("a.b", {"n": 1})
    stale = Ledger.open(database_url, signer, ORIGIN)  # another holder of the old key
    new_key = keys.generate()
    new_public = bytes(new_key.verify_key)
    new_kid = keys.public_key_id(new_public)

    rotation = ledger.rotate_key(new_key)
    assert rotation.type == ROTATION_TYPE
    assert rotation.kid == old_kid  # signed by the old key ...
    verify_entry_signature(rotation.body, old_public)
    assert rotation.payload["new_kid"] == new_kid  # ... and vouched for by the new one
    assert base64.b64decode(rotation.payload["new_public_key"]) == new_public

    after = ledger.append_many([("a.b", {"n": i}) for i in range(3)])
    for e in after:
        assert e.kid == new_kid
        verify_entry_signature(e.body, new_public)
        with pytest.raises(VerificationError):
            verify_entry_signature(e.body, old_public)

    assert ledger.public_keys() == [
        (old_kid, old_public, 0),
        (new_kid, new_public, rotation.seq + 1),
    ]
    key_bodies = [(s, ledger.entry_bytes(s)) for s in ledger.seqs_of_types(KEY_ENTRY_TYPES, 99)]
    schedule = KeySchedule.from_entries(key_bodies)
    assert schedule.starts == [0, rotation.seq + 1]
    assert schedule.key_for(rotation.seq) == (old_kid, old_public)
    assert schedule.key_for(rotation.seq + 1) == (new_kid, new_public)

    # The checkpoint is now signed by the new key only.
    note = ledger.checkpoint()
    assert ledger.vkey() == format_vkey(ORIGIN, new_public)
    open_checkpoint(note, ledger.vkey())
    with pytest.raises(LedgerError):
        open_checkpoint(note, format_vkey(ORIGIN, old_public))

    # Holders of the old key can no longer append, and nothing is written when they try.
    before = snapshot(ledger)
    with pytest.raises(NotAllowed):
        stale.append("a.b", {"n": "old"})
    reopened_old = Ledger.open(database_url, signer, ORIGIN)
    with pytest.raises(NotAllowed):
        reopened_old.append_many([("a.b", {"n": "old"})])
    assert snapshot(ledger) == before
    # A fresh object with the new key continues the same chain.
    reopened_new = Ledger.open(database_url, new_key, ORIGIN)
    assert reopened_new.append("a.b", {"n": "new"}).seq == ledger.size - 1
    for lg in (stale, reopened_old, reopened_new):
        lg.engine.dispose()
    report = verify(database_url)
    assert report.ok, report.to_json()
    assert [k["kid"] for k in report.keys] == [old_kid, new_kid]


def test_two_rotations_and_a_rotation_rolled_back(ledger: Ledger, database_url: str):
    k2, k3 = keys.generate(), keys.generate()
    with pytest.raises(RuntimeError), ledger.transaction() as tx:
        tx.rotate_key(k2)
        raise RuntimeError("abort")
    assert len(ledger.public_keys()) == 1
    assert ledger.append("a.b", {}).kid == keys.public_key_id(bytes(ledger.signer.verify_key))
    ledger.rotate_key(k2)
    ledger.append("a.b", {})
    ledger.rotate_key(k3)
    last = ledger.append("a.b", {})
    assert last.kid == keys.public_key_id(bytes(k3.verify_key))
    assert [k for k, _, _ in ledger.public_keys()][1:] == [
        keys.public_key_id(bytes(k2.verify_key)),
        keys.public_key_id(bytes(k3.verify_key)),
    ]
    ledger.checkpoint()
    assert verify(database_url).ok


def test_a_stale_ledger_object_does_not_publish_with_a_retired_key(
    ledger: Ledger, database_url: str, signer: SigningKey
):
    # E.g. `tracespace serve` keeps running while `tracespace ledger rotate-key` runs.
    stale = Ledger.open(database_url, signer, ORIGIN)
    try:
        new_key = keys.generate()
        ledger.rotate_key(new_key)
        ledger.append("a.b", {"after": "rotation"})
        try:
            note = stale.checkpoint()
        except NotAllowed:
            pass  # refusing is fine
        else:
            open_checkpoint(note, format_vkey(ORIGIN, bytes(new_key.verify_key)))
        report = verify(database_url)
        assert report.ok, report.to_json()
    finally:
        stale.engine.dispose()
