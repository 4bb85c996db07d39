"""Full verification across many chunks: workers check the nodes inside their chunk, the
parent joins chunk subtrees and checks the nodes above them and every checkpoint.

The chunk size is shrunk to 4 entries so that a small ledger spans ten chunks, has tree
nodes above the chunk level, and checkpoints both inside chunks and on their edges.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from ledger import keys, rows, store, verify
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.log import Ledger

ORIGIN = "example.org/chunks"
CHECKPOINTS = (5, 8, 16, 23)
SIZE = 37


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    monkeypatch.setattr(verify, "CHUNK", 4)
    log = Ledger.open(store.sqlite_url(tmp_path / "ledger.db"), keys.generate(), ORIGIN)
    for size in (*CHECKPOINTS, SIZE):
        log.append_many([("lot.event", {"n": n}) for n in range(log.size, size)])
        if size in CHECKPOINTS:
            log.checkpoint()
    yield log
    log.engine.dispose()


def run(log: Ledger, workers: int) -> verify.VerifyReport:
    return verify.verify_database(str(log.engine.url), workers=workers)


def sql(log: Ledger, statement: str, **params: object) -> None:
    with log.engine.begin() as conn:
        conn.execute(text(statement), params)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pristine_ledger_verifies_with_every_checkpoint(ledger: Ledger, workers: int):
    report = run(ledger, workers)
    assert report.ok, report.to_json()
    assert report.entries_checked == SIZE
    assert report.checkpoints_checked == len(CHECKPOINTS)


@pytest.mark.parametrize(
    ("level", "index"),
    [(1, 5), (2, 3), (3, 1), (4, 0), (5, 0)],
    ids=["inside-a-chunk", "a-chunk-root", "above-chunks", "higher", "top"],
)
@pytest.mark.parametrize("workers", [1, 2])
def test_a_wrong_node_at_any_level_is_found(ledger: Ledger, workers: int, level, index):
    sql(
        ledger,
        "UPDATE ledger_node SET hash = :h WHERE id = :i",
        h=b"\x07" * 32,
        i=rows.node_key(level, index),
    )
    report = run(ledger, workers)
    assert not report.ok
    assert report.error.seq in range(index << level, (index + 1) << level)
    assert "node" in report.error.reason


def test_a_missing_node_above_the_chunks_is_found(ledger: Ledger):
    sql(ledger, "DELETE FROM ledger_node WHERE id = :i", i=rows.node_key(3, 2))
    report = run(ledger, 2)
    assert not report.ok and report.error.seq in range(16, 24)


@pytest.mark.parametrize("size", CHECKPOINTS)
def test_a_rewritten_checkpoint_is_found_inside_or_on_the_edge_of_a_chunk(
    ledger: Ledger, size: int
):
    forged = sign_checkpoint(Checkpoint(ORIGIN, size, b"\x09" * 32), ORIGIN, ledger.signer)
    sql(ledger, "UPDATE ledger_checkpoint SET note = :n WHERE size = :s", n=forged, s=size)
    report = run(ledger, 2)
    assert not report.ok
    assert report.error.seq == size and "checkpoint" in report.error.reason


def test_a_deleted_entry_in_a_later_chunk_is_the_first_bad_seq(ledger: Ledger):
    sql(ledger, "DELETE FROM ledger_entry WHERE seq = 30")
    report = run(ledger, 2)
    assert not report.ok
    assert (report.error.seq, report.entries_checked) == (30, 30)
    assert "missing" in report.error.reason


def test_a_broken_link_on_a_chunk_edge_is_found(ledger: Ledger):
    # Swapping two whole rows across a chunk edge keeps each row self-consistent.
    sql(ledger, "UPDATE ledger_entry SET seq = -1 WHERE seq = 11")
    sql(ledger, "UPDATE ledger_entry SET seq = 11 WHERE seq = 12")
    sql(ledger, "UPDATE ledger_entry SET seq = 12 WHERE seq = -1")
    report = run(ledger, 2)
    assert not report.ok and report.error.seq == 11


def test_verification_errors_survive_the_trip_from_a_worker_process():
    import pickle

    from ledger.errors import ProofError, VerificationError

    for error in (VerificationError(30, "entry is missing"), ProofError(None, "too short")):
        back = pickle.loads(pickle.dumps(error))
        assert (type(back), back.seq, back.reason) == (type(error), error.seq, error.reason)
