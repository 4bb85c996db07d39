"""RFC 9162 Merkle tree maths as pure functions over bytes and integers.

Nothing here does I/O. Storage keeps only *perfect* subtrees (complete subtrees of
2**level leaves, aligned on their size); every other hash a proof needs is a fold of a
few of them, planned here by `perfect_subtrees` and read by the caller in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.errors import ProofError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""A perfect subtree: (level, index) covers leaves [index << level, (index + 1) << level)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_subtrees(start: int, end: int) -> list[NodeId]:
    """Decompose the aligned range [start, end) into perfect subtrees, left to right."""
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    nodes: list[NodeId] = []
    while start < end:
        # The largest subtree that fits in what is left and is aligned on `start`.
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 hash of a range from its perfect subtrees (left to right)."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PATH(index, D[0:size]), from the leaf up."""
    if not 0 <= index < size:
        raise ProofError(None, f"index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form PROOF(size1, D[0:size2]) (RFC 9162 2.1.4.1)."""
    if not 0 < size1 <= size2:
        raise ProofError(None, f"no consistency proof from size {size1} to size {size2}")
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        ranges.append((start, end))
    ranges.reverse()
    return ranges


def range_proof_ranges(begin: int, end: int, size: int) -> list[tuple[int, int]]:
    """The maximal subtrees outside [begin, end) that rebuild the root at `size` (in order)."""
    if not 0 <= begin < end <= size:
        raise ProofError(None, f"range [{begin}, {end}) is not inside a tree of size {size}")
    out: list[tuple[int, int]] = []

    def walk(start: int, stop: int) -> None:
        if stop <= begin or start >= end:
            out.append((start, stop))
        elif not (begin <= start and stop <= end):
            k = _split(stop - start)
            walk(start, start + k)
            walk(start + k, stop)

    walk(0, size)
    return out


def root_from_range(
    begin: int, size: int, leaves: Sequence[bytes], proof: Sequence[bytes]
) -> bytes:
    """Rebuild the root at `size` from consecutive leaf hashes starting at `begin`."""
    end = begin + len(leaves)
    if not 0 <= begin < end <= size:
        raise ProofError(None, f"range [{begin}, {end}) is not inside a tree of size {size}")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof element {i}")
    remaining = iter(proof)

    def mth(start: int, stop: int) -> bytes:
        if stop <= begin or start >= end:
            try:
                return next(remaining)
            except StopIteration:
                raise ProofError(None, "range proof is too short") from None
        if begin <= start and stop <= end:
            return root_of(leaves[start - begin : stop - begin])
        k = _split(stop - start)
        return node_hash(mth(start, start + k), mth(start + k, stop))

    root = mth(0, size)
    if next(remaining, None) is not None:
        raise ProofError(None, "range proof is too long")
    return root


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(None, f"{what} is not a {HASH_SIZE}-byte hash")


def root_from_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Recompute the root implied by an inclusion proof (RFC 9162 2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(None, f"index {index} is outside a tree of size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, bytes(leaf)
    for i, p in enumerate(proof):
        _check_hash(p, f"proof element {i}")
        if sn == 0:
            raise ProofError(None, "inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(None, "inclusion proof is too short")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    _check_hash(root, "root")
    if root_from_inclusion(leaf, index, size, proof) != root:
        raise ProofError(None, f"inclusion proof of leaf {index} does not match the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of size2 extends the tree of size1 (RFC 9162 2.1.4.2)."""
    # size1 == 0 is refused before the equal-size case: an empty tree proves nothing.
    if size1 <= 0 or size1 > size2:
        raise ProofError(None, f"no consistency proof from size {size1} to size {size2}")
    if size1 == size2:
        if proof:
            raise ProofError(None, "a proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError(None, "different roots for the same tree size")
        return
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    if not proof:
        raise ProofError(None, "empty consistency proof")
    for i, p in enumerate(proof):
        _check_hash(p, f"proof element {i}")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, bytes(root1))
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(None, "consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(None, "consistency proof is too short")
    if fr != root1:
        raise ProofError(None, f"consistency proof does not match the root at size {size1}")
    if sr != root2:
        raise ProofError(None, f"consistency proof does not match the root at size {size2}")


@dataclass
class CompactRange:
    """The right edge of a growing tree: one perfect subtree per set bit of `size`."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    @classmethod
    def nodes_for(cls, size: int) -> list[NodeId]:
        return perfect_subtrees(0, size) if size else []

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return every perfect subtree it completes as (level, index, hash)."""
        return self.append_subtree(0, leaf)

    def append_subtree(self, level: int, subtree: bytes) -> list[tuple[int, int, bytes]]:
        """Add a perfect subtree of 2**level leaves; like `append`, return what it completes.

        The tree's size must be a multiple of 2**level (the subtree is aligned).
        """
        if self.size & ((1 << level) - 1):
            raise ValueError(f"a level-{level} subtree cannot start at leaf {self.size}")
        index = self.size >> level
        created = [(level, index, subtree)]
        h = subtree
        self.size += 1 << level
        while index & 1:
            h = node_hash(self.hashes.pop(), h)
            level += 1
            index >>= 1
            created.append((level, index, h))
        self.hashes.append(h)
        return created

    def root(self) -> bytes:
        return fold(self.hashes)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Reference MTH over a list of leaf hashes (for tests and small offline checks)."""
    cr = CompactRange()
    for h in leaf_hashes:
        cr.append(h)
    return cr.root()
