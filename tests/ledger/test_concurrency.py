"""Concurrent appenders, as threads on one Ledger and as processes on one database.

Whatever the interleaving, the log must not fork (two entries with one seq, or two
entries linking to the same predecessor) nor leave a gap: the sizes add up, seqs
0..n-1 are all present, every append landed exactly once, and full verification passes.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import traceback
from pathlib import Path

import pytest

from ledger import keys
from ledger.log import Ledger
from ledger.verify import VerifyReport, verify_database

ORIGIN = "example.org/concurrency-test"
SINGLES = 12
BATCHES = 3
BATCH = 5
PER_WRITER = SINGLES + BATCHES * BATCH


def verify(url: str) -> VerifyReport:
    return verify_database(url)


def _work(lg: Ledger, writer: str) -> list[int]:
    """One writer's appends, singles and batches interleaved; returns the seqs it got."""
    seqs = []
    nonce = 0
    for i in range(SINGLES):
        seqs.append(lg.append("load.single", {"writer": writer, "nonce": nonce}).seq)
        nonce += 1
        if i % 4 == 3 and nonce < PER_WRITER:
            items = [("load.batch", {"writer": writer, "nonce": nonce + j}) for j in range(BATCH)]
            seqs.extend(e.seq for e in lg.append_many(items))
            nonce += BATCH
    return seqs


def _check_no_fork_no_gap(url: str, writers: list[str], seqs_by_writer: dict[str, list[int]]):
    lg_size = 1 + len(writers) * PER_WRITER
    all_seqs = [s for seqs in seqs_by_writer.values() for s in seqs]
    assert len(all_seqs) == len(set(all_seqs)), "two appends got the same seq"
    assert sorted(all_seqs) == list(range(1, lg_size)), "a gap or an extra entry"
    report = verify(url)
    assert report.ok, report.to_json()
    assert report.size == report.entries_checked == lg_size
    signing_key = keys.generate()  # reading needs no key; any key opens the ledger
    reader = Ledger.open(url, signing_key, ORIGIN)
    try:
        assert reader.size == lg_size
        bodies = reader.entries_bytes(0, lg_size)
    finally:
        reader.engine.dispose()
    seen: dict[str, list[int]] = {w: [] for w in writers}
    prevs = set()
    for seq, body in enumerate(bodies):
        obj = json.loads(body)
        assert obj["seq"] == seq
        assert obj["prev"] not in prevs, "two entries link to the same predecessor"
        prevs.add(obj["prev"])
        if seq:
            payload = obj["payload"]
            seen[payload["writer"]].append(payload["nonce"])
            assert seq in seqs_by_writer[payload["writer"]], "entry landed for another writer"
    for writer in writers:
        # Each writer's appends are all there, once, in the order it made them.
        assert seen[writer] == list(range(PER_WRITER)), writer


def test_threads_appending_to_one_ledger(database_url: str):
    lg = Ledger.open(database_url, keys.generate(), ORIGIN)
    writers = [f"thread-{i}" for i in range(4)]
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(writers))

    def run(name: str) -> None:
        try:
            start.wait()
            results[name] = _work(lg, name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert lg.size == 1 + len(writers) * PER_WRITER
    lg.engine.dispose()
    _check_no_fork_no_gap(database_url, writers, results)


def _process_writer(url: str, key_path: str, name: str, barrier, queue, fresh: bool) -> None:
    try:
        signer = keys.load_signing_key(key_path)
        barrier.wait(timeout=60)
        lg = Ledger.open(url, signer, ORIGIN)
        if not fresh:
            barrier.wait(timeout=60)  # all opened: now append at the same moment
        queue.put((name, _work(lg, name), None))
        lg.engine.dispose()
    except BaseException:
        queue.put((name, None, traceback.format_exc()))


def _run_processes(url: str, tmp_path: Path, count: int, *, fresh: bool) -> dict[str, list[int]]:
    signer = keys.generate()
    key_path = tmp_path / "shared.key"
    keys.save_signing_key(key_path, signer)
    if not fresh:
        Ledger.open(url, signer, ORIGIN).engine.dispose()
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(count)
    queue = ctx.Queue()
    names = [f"process-{i}" for i in range(count)]
    procs = [
        ctx.Process(target=_process_writer, args=(url, str(key_path), n, barrier, queue, fresh))
        for n in names
    ]
    for p in procs:
        p.start()
    results: dict[str, list[int]] = {}
    failures = []
    try:
        for _ in procs:
            name, seqs, error = queue.get(timeout=120)
            if error:
                failures.append(f"{name}: {error}")
            else:
                results[name] = seqs
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    assert not failures, "\n".join(failures)
    assert all(p.exitcode == 0 for p in procs)
    _check_no_fork_no_gap(url, names, results)
    return results


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_processes_appending_to_one_database(database_url: str, tmp_path: Path):
    _run_processes(database_url, tmp_path, 3, fresh=False)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_processes_opening_a_fresh_database_at_once(database_url: str, tmp_path: Path):
    """Several node processes starting on an empty database create exactly one genesis."""
    _run_processes(database_url, tmp_path, 3, fresh=True)
