"""Full verification of a ledger database: every signature, link, tree node and checkpoint.

Signature checks dominate the cost, so chunks of entries are checked in worker
processes (one per core); the parent stitches the chunks' hash links together, rebuilds
the Merkle tree from the leaf hashes and compares it with every published checkpoint
and with the stored tree nodes. Errors report the first bad sequence number.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from ledger import keys, merkle, rows, store
from ledger.checkpoint import parse_checkpoint
from ledger.entry import GENESIS_PREV, read_links
from ledger.errors import InvalidInput, LedgerError, VerificationError
from ledger.keyschedule import KEY_ENTRY_TYPES, KeySchedule
from ledger.note import format_vkey, parse_vkey, verify_note

CHUNK = 8_192
Progress = Callable[[int], None]


@dataclass
class ChunkResult:
    start: int
    first_prev: str
    last_hash: str
    leaves: list[bytes]  # leaf hashes of the entries that checked, in order
    error: VerificationError | None = None


@dataclass
class VerifyReport:
    size: int = 0
    entries_checked: int = 0
    checkpoints_checked: int = 0
    keys: list[dict[str, object]] = field(default_factory=list)
    error: VerificationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, object]:
        return {
            "v": 1,
            "ok": self.ok,
            "size": self.size,
            "entries_checked": self.entries_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "keys": self.keys,
            "first_bad_seq": self.error.seq if self.error else None,
            "reason": self.error.reason if self.error else None,
        }


def check_entries(
    rows: Sequence[tuple[int, bytes]],
    start: int,
    schedule: KeySchedule,
    prev: str | None,
    stored_hashes: Sequence[bytes] | None = None,
) -> ChunkResult:
    """Check consecutive entries from `start`; `prev` links the first one when known.

    `stored_hashes`, when given, are the hash column of the same rows, checked too.
    """
    leaves: list[bytes] = []
    last = prev or ""
    first_prev = ""
    expected = start
    sha256, key_for = hashlib.sha256, schedule.key_for
    kid, verify, key_until = "", keys.verifier_for(b""), -1
    for seq, body in rows:
        try:
            if seq != expected:
                raise VerificationError(expected, "entry is missing")
            links = read_links(body)
            if links.seq != seq:
                raise VerificationError(seq, f"entry claims seq {links.seq} (rows swapped?)")
            if seq == start:
                first_prev = links.prev
            if seq == 0 and links.prev != GENESIS_PREV:
                raise VerificationError(seq, "first entry does not start the chain")
            if last and links.prev != last:
                raise VerificationError(seq, "hash link to the previous entry is broken")
            if seq >= key_until:  # the key changes only at rotations: look it up then
                kid, public = key_for(seq)
                verify = keys.verifier_for(public)
                key_until = schedule.next_start(seq)
            if links.kid != kid:
                raise VerificationError(seq, f"signed by key {links.kid}, expected {kid}")
            if not verify(links.message, links.signature):
                raise VerificationError(seq, "entry signature does not verify")
            digest = sha256(body).digest()
            if stored_hashes is not None and stored_hashes[seq - start] != digest:
                raise VerificationError(seq, "stored entry hash does not match its bytes")
        except InvalidInput as exc:
            err = VerificationError(seq, f"entry bytes are malformed: {exc}")
            return ChunkResult(start, first_prev, last, leaves, err)
        except VerificationError as err:
            return ChunkResult(start, first_prev, last, leaves, err)
        last = digest.hex()
        leaves.append(sha256(merkle.LEAF_PREFIX + body).digest())
        expected += 1
    return ChunkResult(start, first_prev, last, leaves)


@dataclass
class ChunkSummary:
    """What a worker hands back for one chunk of entries: enough to stitch it to the rest."""

    start: int
    checked: int  # entries [start, start + checked) verified
    first_prev: str
    last_hash: str
    subtrees: list[bytes]  # perfect subtrees of the checked leaves, largest first
    checkpoint_parts: dict[int, list[bytes]]  # size -> perfect subtrees of [start, size)
    bad_node: int | None  # first leaf of the leftmost stored node that does not match
    error: VerificationError | None


_worker_engines: dict[str, Engine] = {}


def _engine_for(url: str) -> Engine:
    """One engine per database URL and process (workers keep theirs between chunks)."""
    engine = _worker_engines.get(url)
    if engine is None:
        engine = _worker_engines[url] = store.make_engine(url)
    return engine


def _check_chunk(args: tuple[str, int, int, KeySchedule, list[int]]) -> ChunkSummary:
    """Check entries [start, end) and the tree nodes inside them, in a worker process.

    Chunks are aligned on CHUNK (a power of two), so every tree node of level up to
    log2(CHUNK) lies inside one chunk: the worker rebuilds and compares those, and the
    parent only joins the chunks' subtrees.
    """
    url, start, end, schedule, checkpoint_sizes = args
    engine = _engine_for(url)
    stored = rows.read_entries_outside_transaction(engine, start, end)
    result = check_entries(
        [(seq, body) for seq, body, _ in stored],
        start,
        schedule,
        None,
        stored_hashes=[digest for _, _, digest in stored],
    )
    checked = len(result.leaves)
    if result.error is None and start + checked < end:
        result.error = VerificationError(start + checked, "entry is missing")
    levels = _levels(result.leaves)

    def subtrees(size: int) -> list[bytes]:
        """Perfect subtree hashes of leaves [start, size), largest first."""
        ranges = merkle.perfect_subtrees(start, size) if size > start else []
        return [levels[level][index - (start >> level)] for level, index in ranges]

    return ChunkSummary(
        start,
        checked,
        result.first_prev,
        result.last_hash,
        subtrees(start + checked),
        {size: subtrees(size) for size in checkpoint_sizes if size <= start + checked},
        _first_bad_node(engine, start, levels),
        result.error,
    )


def _levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every perfect subtree over `leaves`, level by level: [leaves, pairs, quads, ...]."""
    levels = [leaves]
    node = merkle.node_hash
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node(a, b) for a, b in zip(below[0::2], below[1::2], strict=False)])
    return levels


def _first_bad_node(engine: Engine, start: int, levels: list[list[bytes]]) -> int | None:
    """First leaf of the leftmost node of `levels` that storage lacks or holds otherwise."""
    if not levels[0]:
        return None
    low, high = rows.nodes_completed_by(start, start + len(levels[0]))
    found = rows.read_node_levels_outside_transaction(engine, low, high, len(levels) - 1)
    if [h for _, h in found] == [h for level in levels for h in level]:
        return None  # the usual case, compared in one go
    stored = dict(found)
    bad = [
        index << level
        for level, hashes in enumerate(levels)
        for index, h in enumerate(hashes, start >> level)
        if stored.get(rows.node_key(level, index)) != h
    ]
    return min(bad) if bad else None


def _chunks(
    url: str, size: int, schedule: KeySchedule, workers: int, checkpoint_sizes: Sequence[int]
) -> Iterator[ChunkSummary]:
    jobs = []
    for s in range(0, size, CHUNK):
        e = min(s + CHUNK, size)
        jobs.append((url, s, e, schedule, [c for c in checkpoint_sizes if s < c <= e]))
    if workers <= 1 or len(jobs) <= 1:
        yield from map(_check_chunk, jobs)
        return
    # Not plain fork: a process with threads (a serving node, a test run) can fork a worker
    # that inherits a lock held by another thread, and the pool then waits forever.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield from pool.map(_check_chunk, jobs)


def verify_database(
    url: str, *, workers: int | None = None, progress: Progress | None = None
) -> VerifyReport:
    """Verify the ledger stored at `url`, trusting nothing in it but its own signatures."""
    engine = store.make_engine(url)
    report = VerifyReport()
    try:
        _verify(engine, url, report, workers or os.cpu_count() or 1, progress)
    except VerificationError as err:
        report.error = err
    except LedgerError as err:
        report.error = VerificationError(None, str(err))
    finally:
        engine.dispose()
        stale = _worker_engines.pop(url, None)
        if stale is not None:
            stale.dispose()
    return report


def _verify(
    engine: Engine, url: str, report: VerifyReport, workers: int, progress: Progress | None
) -> None:
    et, ct = store.entry_table, store.checkpoint_table
    with engine.connect() as conn:
        head = conn.execute(select(store.head_table.c.size, store.head_table.c.last_hash)).first()
        head_size, head_hash = (int(head.size), head.last_hash) if head else (0, GENESIS_PREV)
        max_seq = conn.execute(select(func.max(et.c.seq))).scalar_one_or_none()
        key_rows = conn.execute(
            select(et.c.seq, et.c.body).where(et.c.type.in_(KEY_ENTRY_TYPES)).order_by(et.c.seq)
        ).all()
        checkpoints = conn.execute(select(ct.c.size, ct.c.root, ct.c.note).order_by(ct.c.size))
        checkpoints = [(int(s), bytes(r), n) for s, r, n in checkpoints.all()]
    published = max((s for s, _, _ in checkpoints), default=0)
    size = max(int(head_size), published, (max_seq + 1) if max_seq is not None else 0)
    report.size = size
    if size == 0:
        raise VerificationError(0, "the ledger is empty: the genesis entry is missing")
    schedule = KeySchedule.from_entries((int(s), bytes(b)) for s, b in key_rows)
    report.keys = schedule.as_list()

    pending = {s: (r, n) for s, r, n in checkpoints}
    tree = merkle.CompactRange()
    last_hash = GENESIS_PREV
    for chunk in _chunks(url, size, schedule, workers, sorted(pending)):
        if chunk.start > 0 and chunk.first_prev and chunk.first_prev != last_hash:
            raise VerificationError(chunk.start, "hash link to the previous entry is broken")
        for cp_size, chunk_part in sorted(chunk.checkpoint_parts.items()):
            root = merkle.fold(tree.hashes + chunk_part)
            _check_checkpoint(schedule, cp_size, root, *pending.pop(cp_size))
            report.checkpoints_checked += 1
        # Join the chunk's subtrees; nodes above the chunk's own levels are checked here.
        created: dict[int, tuple[int, bytes]] = {}
        offset = chunk.start
        for h in chunk.subtrees:
            level = _subtree_level(offset, chunk.start + chunk.checked)
            for lvl, index, node in tree.append_subtree(level, h)[1:]:
                created[rows.node_key(lvl, index)] = (index << lvl, node)
            offset += 1 << level
        bad = [chunk.bad_node] if chunk.bad_node is not None else []
        stored = rows.read_nodes_outside_transaction(engine, list(created))
        bad += [first for key, (first, h) in created.items() if stored.get(key) != h]
        if bad:
            raise VerificationError(min(bad), "stored tree node does not match the entries")
        report.entries_checked = tree.size
        if progress:
            progress(tree.size)
        if chunk.error is not None:
            raise chunk.error
        last_hash = chunk.last_hash
    if int(head_size) != size:
        raise VerificationError(int(head_size), f"head says size {head_size}, entries say {size}")
    if head_hash != last_hash:
        raise VerificationError(size - 1, "head's last hash does not match the last entry")


def _subtree_level(start: int, end: int) -> int:
    """Level of the first perfect subtree in the decomposition of [start, end)."""
    return merkle.perfect_subtrees(start, end)[0][0]


def _check_checkpoint(
    schedule: KeySchedule, size: int, expected: bytes, root: bytes, note: str
) -> None:
    _, public = schedule.key_for(size)
    try:
        opened = verify_note(note, parse_vkey(format_vkey(schedule.origin, public)))
        cp = parse_checkpoint(opened.text)
    except (LedgerError, ValueError) as exc:
        raise VerificationError(size, f"checkpoint at size {size} does not verify: {exc}") from None
    if cp.size != size or cp.root != expected or root != expected:
        raise VerificationError(
            size, f"checkpoint at size {size} does not match the entries (truncated or rewritten)"
        )
