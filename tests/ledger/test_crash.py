"""Crash safety: writers killed with SIGKILL mid-burst lose nothing they acknowledged.

Each trial forks two writer processes that append in bursts (single appends, batches and
multi-append transactions) and report every sequence number on a pipe only after the
append call returned. Both are killed with SIGKILL at random moments, possibly inside a
commit or while waiting for the append lock. Then the ledger is reopened: every
acknowledged entry is there with its payload, the chain verifies, and appends continue.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sys
import time
import traceback

import pytest
from nacl.signing import SigningKey

from ledger import keys
from ledger.log import Ledger
from ledger.verify import VerifyReport, verify_database

ORIGIN = "example.org/crash-test"
WRITERS = 2

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not hasattr(os, "fork"), reason="needs fork and SIGKILL"
)


def verify(url: str) -> VerifyReport:
    return verify_database(url)


def _writer(url: str, seed: bytes, writer_id: int, ack_fd: int) -> None:
    """Append forever; after each append call returns, report `seq writer nonce` lines."""
    rng = random.Random(f"{writer_id}-{time.time_ns()}")
    lg = Ledger.open(url, SigningKey(seed), ORIGIN)
    nonce = 0
    while True:
        mode = rng.random()
        if mode < 0.4:
            entries = [lg.append("crash.single", {"w": writer_id, "nonce": nonce})]
            nonce += 1
        elif mode < 0.8:
            count = rng.randint(2, 8)
            items = [("crash.batch", {"w": writer_id, "nonce": nonce + i}) for i in range(count)]
            entries = lg.append_many(items)
            nonce += count
        else:
            with lg.transaction() as tx:
                entries = []
                for _ in range(rng.randint(2, 6)):
                    entries.append(tx.append("crash.tx", {"w": writer_id, "nonce": nonce}))
                    nonce += 1
        lines = "".join(f"{e.seq} {writer_id} {e.payload['nonce']}\n" for e in entries)
        os.write(ack_fd, lines.encode())


def _child(url: str, seed: bytes, writer_id: int, ack_fd: int) -> None:
    code = 0
    try:
        _writer(url, seed, writer_id, ack_fd)
    except BaseException:  # a writer must never stop on its own; make it visible
        traceback.print_exc()
        code = 3
    finally:
        os._exit(code)


def _run_trial(url: str, seed: bytes, rng: random.Random, max_delay: float) -> dict[int, tuple]:
    """Fork the writers, kill each at a random moment; return the acknowledged entries."""
    read_fd, write_fd = os.pipe()
    pids = []
    for writer_id in range(WRITERS):
        pid = os.fork()
        if pid == 0:  # child
            os.close(read_fd)
            _child(url, seed, writer_id, write_fd)
        pids.append(pid)
    os.close(write_fd)
    kill_at = {pid: time.monotonic() + rng.uniform(0.0, max_delay) for pid in pids}
    buffer = bytearray()
    alive = set(pids)
    try:
        while alive:
            now = time.monotonic()
            for pid in [p for p in alive if kill_at[p] <= now]:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                alive.discard(pid)
                assert os.WIFSIGNALED(status), f"a writer failed (status {status}), see stderr"
            if alive:
                wait = max(0.0, min(kill_at[p] for p in alive) - time.monotonic())
                ready, _, _ = select.select([read_fd], [], [], wait)
                if ready:
                    buffer += os.read(read_fd, 1 << 16)
        while chunk := os.read(read_fd, 1 << 16):  # acks written before the kills
            buffer += chunk
    finally:
        for pid in alive:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(read_fd)
    acked: dict[int, tuple] = {}
    for line in buffer.decode().splitlines():
        seq, writer_id, nonce = (int(x) for x in line.split())
        assert seq not in acked, f"seq {seq} acknowledged twice: a fork in the chain"
        acked[seq] = (writer_id, nonce)
    return acked


def _crash_trials(url: str, trials: int, max_delay: float) -> None:
    seed = bytes(keys.generate())
    # Create the ledger first: several processes creating a fresh SQLite database at once
    # is a separate (known) problem, see test_concurrency.py.
    Ledger.open(url, SigningKey(seed), ORIGIN).engine.dispose()
    rng = random.Random()
    expected: dict[int, dict] = {0: {}}  # seq -> payload of every acknowledged append
    acked_by_writers = 0
    size_before = 0
    for trial in range(trials):
        acked = _run_trial(url, seed, rng, max_delay)
        reused = set(acked) & set(expected)
        assert not reused, f"trial {trial}: seqs {sorted(reused)[:5]} reused after restart"
        expected.update({s: {"w": w, "nonce": n} for s, (w, n) in acked.items()})
        acked_by_writers += len(acked)

        # Restart: reopen the ledger as a new writer would.
        lg = Ledger.open(url, SigningKey(seed), ORIGIN)
        try:
            size = lg.size
            assert size >= size_before, f"trial {trial}: the ledger shrank"
            if expected:
                assert max(expected) < size, f"trial {trial}: acknowledged entries lost"
            stored = [json.loads(b)["payload"] for b in lg.entries_bytes(0, size)]
            for seq, payload in expected.items():
                if seq:  # entry 0 is the genesis entry
                    assert stored[seq] == payload, f"trial {trial}: seq {seq}"
            report = verify(url)
            assert report.ok, f"trial {trial}: {report.to_json()}"
            assert report.entries_checked == size
            after = lg.append("crash.after-restart", {"trial": trial})
            assert after.seq == size
            expected[after.seq] = {"trial": trial}
            size_before = size + 1
        finally:
            lg.engine.dispose()
    # Enough trials must have acknowledged work, or the test proved little.
    assert acked_by_writers > trials


def test_kill_9_writers_mid_burst(database_url: str):
    _crash_trials(database_url, trials=20, max_delay=0.15)


@pytest.mark.slow
def test_kill_9_writers_mid_burst_many_trials(database_url: str):
    _crash_trials(database_url, trials=60, max_delay=0.3)
