"""Tampering with the ledger database by SQL, and split views: each must be caught.

Every test really changes rows of `ledger_entry`, `ledger_node`, `ledger_checkpoint` or
`ledger_head` with SQL and then asks `verify_database` (or the CLI) for the first bad
sequence number. The split-view tests serve two diverging trees under one key and origin
and check that a witness and a client's consistency check catch it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Engine, MetaData, Table, insert, select, text
from typer.testing import CliRunner

from connector.cli import app as cli_app
from connector.node import init_node
from ledger import keys, merkle, rows, store
from ledger.canonical import canonical_json
from ledger.checkpoint import (
    Checkpoint,
    MemoryWitnessState,
    Witness,
    open_checkpoint,
    sign_checkpoint,
    verify_cosignature,
)
from ledger.entry import SIGNING_CONTEXT, sign_entry
from ledger.errors import InvalidInput, ProofError, VerificationError
from ledger.log import ROTATION_TYPE, Ledger
from ledger.verify import VerifyReport, verify_database

ORIGIN = "example.org/tamper-test"
CHECKPOINT_SIZE = 10
SIZE = 14


def verify(url: str) -> VerifyReport:
    return verify_database(url)


LEDGER_TABLES = ["ledger_entry", "ledger_node", "ledger_head", "ledger_key", "ledger_checkpoint"]


class Log:
    """A ledger of SIZE entries with a published checkpoint at CHECKPOINT_SIZE.

    It is built once per backend; `restore` puts every ledger table back to that pristine
    state before each test, which is much cheaper than a new database per mutation.
    """

    def __init__(self, url: str, signer: SigningKey) -> None:
        self.url = url
        self.signer = signer
        self.ledger = Ledger.open(url, signer, ORIGIN)
        self.ledger.append_many(
            [("lot.event", {"n": i, "text": f"lot-{i}"}) for i in range(1, CHECKPOINT_SIZE)]
        )
        self.checkpoint = self.ledger.checkpoint()
        self.ledger.append_many(
            [("lot.event", {"n": i, "text": f"lot-{i}"}) for i in range(CHECKPOINT_SIZE, SIZE)]
        )
        assert self.ledger.size == SIZE
        meta = MetaData()
        with self.engine.connect() as conn:
            self._tables = [Table(name, meta, autoload_with=conn) for name in LEDGER_TABLES]
            self._pristine = {
                t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in self._tables
            }

    def restore(self) -> None:
        with self.engine.begin() as conn:
            for table in self._tables:
                conn.execute(table.delete())
                conn.execute(insert(table), self._pristine[table.name])
        # A fresh object: a test may have rotated the key of the previous one.
        self.ledger = Ledger(self.engine, self.signer, ORIGIN)
        assert verify(self.url).ok

    @property
    def engine(self) -> Engine:
        return self.ledger.engine

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement), params)

    def body(self, seq: int) -> bytes:
        return self.ledger.entry_bytes(seq)

    def set_body(self, seq: int, body: bytes, *, rehash: bool = True) -> None:
        """Replace an entry's bytes; a careful attacker also fixes the stored hash column."""
        if rehash:
            self.sql(
                "UPDATE ledger_entry SET body = :b, hash = :h WHERE seq = :s",
                b=body,
                h=hashlib.sha256(body).digest(),
                s=seq,
            )
        else:
            self.sql("UPDATE ledger_entry SET body = :b WHERE seq = :s", b=body, s=seq)

    def expect_failure(self, seqs: set[int] | int, *words: str) -> VerifyReport:
        report = verify(self.url)
        assert not report.ok, "tampering was not detected"
        wanted = {seqs} if isinstance(seqs, int) else seqs
        assert report.error.seq in wanted, report.to_json()
        for word in words:
            assert word in report.error.reason.lower(), report.to_json()
        data = report.to_json()
        assert data["ok"] is False
        assert data["first_bad_seq"] == report.error.seq
        return report


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def pristine_log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One database per backend for this module, created here and dropped at the end."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('tamper') / 'ledger.db'}"
        built = Log(url, keys.generate())
        yield built
        built.engine.dispose()
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(request.getfixturevalue("pg_server"))
    name = f"tracespace_tamper_{uuid.uuid4().hex[:12]}"
    params = {"host": admin.host, "port": admin.port or 5432, "user": admin.username}
    with psycopg.connect(dbname=admin.database, autocommit=True, **params) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        built = Log(admin.set(database=name).render_as_string(hide_password=False), keys.generate())
        yield built
        built.engine.dispose()
    finally:
        with psycopg.connect(dbname=admin.database, autocommit=True, **params) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def log(pristine_log: Log) -> Log:
    pristine_log.restore()
    return pristine_log


# -- entries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rehash", [False, True], ids=["body-only", "body-and-hash"])
def test_flip_one_payload_byte(log: Log, rehash: bool):
    body = bytearray(log.body(5))
    at = body.index(b"lot-5")
    body[at] ^= 0x20  # 'l' -> 'L'
    log.set_body(5, bytes(body), rehash=rehash)
    log.expect_failure(5, "signature")


def test_stored_hash_column_changed(log: Log):
    log.sql("UPDATE ledger_entry SET hash = :h WHERE seq = 6", h=b"\x00" * 32)
    log.expect_failure(6, "hash")


def test_delete_a_row_in_the_middle(log: Log):
    log.sql("DELETE FROM ledger_entry WHERE seq = 5")
    log.expect_failure(5, "missing")


def test_delete_a_row_and_close_the_gap(log: Log):
    log.sql("DELETE FROM ledger_entry WHERE seq = 5")
    for seq in range(6, SIZE):
        log.sql("UPDATE ledger_entry SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    log.sql("UPDATE ledger_head SET size = :n", n=SIZE - 1)
    log.expect_failure(5, "seq 6")


def test_delete_the_last_row(log: Log):
    log.sql("DELETE FROM ledger_entry WHERE seq = :s", s=SIZE - 1)
    log.expect_failure(SIZE - 1, "missing")


def test_swap_the_bodies_of_two_rows(log: Log):
    four, seven = log.body(4), log.body(7)
    log.set_body(4, seven)
    log.set_body(7, four)
    log.expect_failure(4, "claims seq 7")


def test_swap_two_rows_by_sequence_number(log: Log):
    log.sql("UPDATE ledger_entry SET seq = -1 WHERE seq = 3")
    log.sql("UPDATE ledger_entry SET seq = 3 WHERE seq = 8")
    log.sql("UPDATE ledger_entry SET seq = 8 WHERE seq = -1")
    log.expect_failure(3, "claims seq 8")


def test_replace_a_signature_with_another_valid_one(log: Log):
    # The signature of entry 6 is a genuine signature by the same key, on other bytes.
    sig5 = json.loads(log.body(5))["sig"]
    sig6 = json.loads(log.body(6))["sig"]
    log.set_body(5, log.body(5).replace(sig5.encode(), sig6.encode()))
    log.expect_failure(5, "signature")


def test_replace_a_signature_with_random_bytes(log: Log):
    sig5 = json.loads(log.body(5))["sig"]
    fake = base64.b64encode(hashlib.sha512(b"forged").digest()).decode()
    log.set_body(5, log.body(5).replace(sig5.encode(), fake.encode()))
    log.expect_failure(5, "signature")


def test_entry_re_signed_by_another_key(log: Log):
    original = json.loads(log.body(5))
    attacker = keys.generate()
    forged = sign_entry(
        attacker,
        5,
        original["prev"],
        original["type"],
        {"n": 5, "text": "forged"},
        ts=original["ts"],
    )
    log.set_body(5, forged.body)
    log.expect_failure(5, "key")


def test_entry_signed_by_another_key_claiming_the_real_kid(log: Log):
    original = json.loads(log.body(5))
    attacker = keys.generate()
    unsigned = {k: v for k, v in original.items() if k != "sig"}
    unsigned["payload"] = {"n": 5, "text": "forged"}
    sig = attacker.sign(SIGNING_CONTEXT + canonical_json(unsigned)).signature
    log.set_body(5, canonical_json({**unsigned, "sig": base64.b64encode(sig).decode()}))
    log.expect_failure(5, "signature")


def test_rotation_forged_by_a_holder_of_the_old_key_only(log: Log):
    # An insider with the old key appends a rotation to a key whose owner never signed it.
    rotation = log.ledger.rotate_key(keys.generate())
    log.ledger.append("lot.event", {"n": "after"})
    obj = json.loads(log.body(rotation.seq))
    payload = dict(obj["payload"])
    payload["new_key_signature"] = base64.b64encode(b"\x01" * 64).decode()
    forged = sign_entry(log.signer, rotation.seq, obj["prev"], ROTATION_TYPE, payload, obj["ts"])
    log.set_body(rotation.seq, forged.body)
    log.expect_failure(rotation.seq, "rotation")


# -- tail, checkpoints, tree nodes and head -----------------------------------------------------


def _truncate(log: Log, keep: int) -> None:
    last_hash = hashlib.sha256(log.body(keep - 1)).hexdigest()
    log.sql("DELETE FROM ledger_entry WHERE seq >= :k", k=keep)
    log.sql("UPDATE ledger_head SET size = :k, last_hash = :h", k=keep, h=last_hash)
    with log.engine.connect() as conn:
        ids = conn.execute(select(store.node_table.c.id)).scalars().all()
    for node_id in ids:
        level, index = rows.node_position(node_id)
        if (index + 1) << level > keep:
            log.sql("DELETE FROM ledger_node WHERE id = :i", i=node_id)


def test_truncate_the_tail_behind_a_published_checkpoint(log: Log):
    _truncate(log, 8)
    log.expect_failure(8, "missing")


def test_truncate_and_rewrite_the_tail_behind_a_published_checkpoint(log: Log):
    # The rewritten entries are genuinely signed and chained; only the published
    # checkpoint at size 10 shows that history changed.
    _truncate(log, 8)
    rewriter = Ledger.open(log.url, log.signer, ORIGIN)
    rewriter.append_many([("lot.event", {"n": i, "text": "rewritten"}) for i in range(8, SIZE)])
    rewriter.engine.dispose()
    log.expect_failure(CHECKPOINT_SIZE, "checkpoint")


def test_checkpoint_root_changed(log: Log):
    log.sql("UPDATE ledger_checkpoint SET root = :r WHERE size = :s", r=b"\x07" * 32, s=10)
    log.expect_failure(CHECKPOINT_SIZE, "checkpoint")


def test_checkpoint_note_re_signed_by_another_key(log: Log):
    cp, _ = open_checkpoint(log.checkpoint, log.ledger.vkey())
    forged = sign_checkpoint(cp, ORIGIN, keys.generate())
    log.sql("UPDATE ledger_checkpoint SET note = :n WHERE size = :s", n=forged, s=10)
    log.expect_failure(CHECKPOINT_SIZE, "checkpoint")


def test_checkpoint_note_for_another_root(log: Log):
    forged = sign_checkpoint(Checkpoint(ORIGIN, CHECKPOINT_SIZE, b"\x09" * 32), ORIGIN, log.signer)
    log.sql("UPDATE ledger_checkpoint SET note = :n WHERE size = :s", n=forged, s=10)
    log.expect_failure(CHECKPOINT_SIZE, "checkpoint")


@pytest.mark.parametrize(
    ("level", "index"),
    [(0, 3), (3, 0), (1, 4), (2, 2)],
    ids=["leaf-3", "subtree-0-8", "subtree-8-10", "subtree-8-12"],
)
def test_tamper_a_tree_node(log: Log, level: int, index: int):
    # A wrong stored node makes the node serve proofs that do not verify. The first bad
    # sequence number is one of the leaves under the tampered node.
    log.sql(
        "UPDATE ledger_node SET hash = :h WHERE id = :i",
        h=b"\x05" * 32,
        i=rows.node_key(level, index),
    )
    log.expect_failure(set(range(index << level, (index + 1) << level)), "node")


def test_delete_a_tree_node(log: Log):
    log.sql("DELETE FROM ledger_node WHERE id = :i", i=rows.node_key(1, 4))
    log.expect_failure({8, 9}, "node")


def test_head_size_lowered(log: Log):
    log.sql("UPDATE ledger_head SET size = :n", n=SIZE - 2)
    log.expect_failure(SIZE - 2, "head")


def test_head_size_raised(log: Log):
    log.sql("UPDATE ledger_head SET size = :n", n=SIZE + 3)
    log.expect_failure(SIZE, "missing")


def test_head_last_hash_changed(log: Log):
    # The next append would link to this hash and fork the chain.
    log.sql("UPDATE ledger_head SET last_hash = :h", h="ab" * 32)
    log.expect_failure({SIZE - 1, SIZE}, "head")


def test_verify_reads_the_database_it_is_given(log: Log, tmp_path: Path):
    """Verifying a pristine copy first must not make a tampered database pass."""
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    copy_database(log.engine, copy_url)
    assert verify(log.url).ok
    with store.make_engine(copy_url).begin() as conn:
        conn.execute(text("DELETE FROM ledger_entry WHERE seq = 5"))
    report = verify_database(copy_url)  # no cache reset here on purpose
    assert not report.ok
    assert report.error.seq == 5


# -- the CLI -----------------------------------------------------------------------------------


def test_cli_verify_reports_the_first_bad_seq(database_url: str, tmp_path: Path):
    folder = tmp_path / "node"
    node = init_node(folder, "tamper-node", [], database_url=database_url)
    node.ledger.append_many([("lot.event", {"n": i, "text": f"lot-{i}"}) for i in range(1, 9)])
    node.ledger.checkpoint()
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["ledger", "verify", "--dir", str(folder)])
    assert ok.exit_code == 0, ok.output
    assert "ledger OK" in ok.output

    body = bytearray(node.ledger.entry_bytes(5))
    body[body.index(b"lot-5")] ^= 0x20
    with node.ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entry SET body = :b WHERE seq = 5"), {"b": bytes(body)})
    node.close()

    bad = runner.invoke(cli_app, ["ledger", "verify", "--dir", str(folder)])
    assert bad.exit_code == 1, bad.output
    assert "entry 5" in bad.output
    assert "Traceback" not in bad.output
    as_json = runner.invoke(cli_app, ["ledger", "verify", "--db", database_url, "--json"])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert (data["ok"], data["first_bad_seq"]) == (False, 5)
    assert "signature" in data["reason"]


# -- split view --------------------------------------------------------------------------------


def copy_database(source: Engine, target_url: str) -> None:
    """Clone every ledger table into a new database (the operator forks its own log)."""
    target = store.make_engine(target_url)
    store.create_tables(target)
    meta = MetaData()
    names = ["ledger_entry", "ledger_node", "ledger_head", "ledger_key", "ledger_checkpoint"]
    with source.connect() as src, target.begin() as dst:
        for name in names:
            table = Table(name, meta, autoload_with=src)
            rows = [dict(r._mapping) for r in src.execute(select(table))]
            if rows:
                dst.execute(insert(table), rows)
    target.dispose()


@pytest.fixture
def two_views(database_url: str, tmp_path: Path):
    """View A (on the backend under test) and view B (a clone) that diverge after size 6."""
    signer = keys.generate()
    a = Ledger.open(database_url, signer, ORIGIN)
    a.append_many([("lot.event", {"n": i}) for i in range(1, 6)])
    common = a.checkpoint()
    b_url = f"sqlite:///{tmp_path / 'view-b.db'}"
    copy_database(a.engine, b_url)
    b = Ledger.open(b_url, signer, ORIGIN)
    assert b.checkpoint() == common
    a.append_many([("lot.event", {"n": i, "view": "A"}) for i in range(6, 11)])
    b.append_many([("lot.event", {"n": i, "view": "B"}) for i in range(6, 11)])
    b.append("lot.event", {"n": 11, "view": "B"})
    # Each view is, on its own, a perfectly valid log.
    assert verify(database_url).ok
    assert verify(b_url).ok
    yield a, b, common
    a.engine.dispose()
    b.engine.dispose()


def test_split_view_is_refused_by_a_witness(two_views):
    a, b, common = two_views
    witness = Witness("witness.example", keys.generate(), MemoryWitnessState())
    vkey = a.vkey()
    assert vkey == b.vkey()
    witness.cosign_if_consistent(common, vkey, [])
    note_a = a.checkpoint()
    cosigned_a = witness.cosign_if_consistent(note_a, vkey, a.consistency_proof(6, a.size))
    verify_cosignature(cosigned_a, witness.vkey())

    # B grows past A: B's own proof from A's size cannot link A's root to B's root.
    note_b = b.checkpoint()
    cp_a, _ = open_checkpoint(note_a, vkey)
    with pytest.raises(ProofError):
        witness.cosign_if_consistent(note_b, vkey, b.consistency_proof(cp_a.size, b.size))
    # Neither can A's proof, nor an empty or made-up one.
    for proof in ([], [b"\x00" * 32], a.consistency_proof(6, a.size)):
        with pytest.raises(VerificationError):
            witness.cosign_if_consistent(note_b, vkey, proof)

    # B at the very size A was cosigned at: same size, different root.
    note_b_same = sign_checkpoint(
        Checkpoint(ORIGIN, cp_a.size, b.root(cp_a.size)), ORIGIN, b.signer
    )
    with pytest.raises(VerificationError, match="root differs"):
        witness.cosign_if_consistent(note_b_same, vkey, [])
    # The witness state still holds view A, and A keeps being cosigned as it grows.
    a.append("lot.event", {"n": 11, "view": "A"})
    witness.cosign_if_consistent(a.checkpoint(), vkey, a.consistency_proof(cp_a.size, a.size))
    # A client that demands the witness's cosignature never accepts B's checkpoint.
    with pytest.raises(VerificationError):
        verify_cosignature(note_b, witness.vkey())


def test_split_view_fails_a_clients_consistency_check(two_views):
    a, b, _ = two_views
    vkey = a.vkey()
    cp_a, _ = open_checkpoint(a.checkpoint(), vkey)  # client 1 saw view A
    cp_b, _ = open_checkpoint(b.checkpoint(), vkey)  # client 2 saw view B
    assert cp_a.size < cp_b.size
    assert cp_a.root != b.root(cp_a.size)
    # Gossiping their checkpoints, the clients ask either view for the proof between them.
    with pytest.raises(InvalidInput):
        a.consistency_proof(cp_a.size, cp_b.size)  # view A does not have size cp_b.size
    proof = b.consistency_proof(cp_a.size, cp_b.size)
    with pytest.raises(ProofError):
        merkle.verify_consistency(cp_a.size, cp_b.size, proof, cp_a.root, cp_b.root)
    # Nor does any proof A can build from its own tree link the two checkpoints.
    with pytest.raises(ProofError):
        merkle.verify_consistency(
            cp_a.size, cp_b.size, a.consistency_proof(6, cp_a.size), cp_a.root, cp_b.root
        )
    # Entries observed by client 1 are not included in what client 2 saw.
    leaf = merkle.leaf_hash(a.entry_bytes(7))
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaf, 7, cp_b.size, b.inclusion_proof(7, cp_b.size), cp_b.root)
    # The shared prefix is still consistent in both views.
    for cp, server in ((cp_a, a), (cp_b, b)):
        merkle.verify_consistency(
            6, cp.size, server.consistency_proof(6, cp.size), a.root(6), cp.root
        )
