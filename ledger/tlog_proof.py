"""The C2SP tlog-proof@v1 text format: an offline-verifiable inclusion proof with its checkpoint.

Layout (c2sp.org/tlog-proof): the line `c2sp.org/tlog-proof@v1`, an optional line
`extra <base64>`, the line `index <decimal>`, zero or more base64 SHA-256 hashes (the RFC
9162 inclusion path, leaf sibling first), an empty line, then the signed checkpoint note
verbatim (its cosignatures included).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    open_checkpoint,
    parse_checkpoint,
    parse_cosigner_vkey,
    verify_cosignature,
)
from ledger.errors import InvalidInput, VerificationError
from ledger.note import MAX_NOTE_BYTES, Note, NoteVerifier, b64decode_strict, parse_note

HEADER = "c2sp.org/tlog-proof@v1"
HASH_SIZE = 32
MAX_PROOF_HASHES = 64
"""An inclusion path in a tree of at most 2**63 leaves has at most 63 hashes."""

_DECIMAL = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class TlogProof:
    """Leaf index, inclusion path, the signed checkpoint note, and unauthenticated extra data."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int) or self.index < 0:
            raise InvalidInput("tlog-proof index must be a non-negative integer")
        object.__setattr__(self, "proof", tuple(self.proof))
        if len(self.proof) > MAX_PROOF_HASHES:
            raise InvalidInput(f"tlog-proof has more than {MAX_PROOF_HASHES} hashes")
        for i, h in enumerate(self.proof):
            if not isinstance(h, bytes) or len(h) != HASH_SIZE:
                raise InvalidInput(f"tlog-proof hash {i} is not {HASH_SIZE} bytes")
        if self.extra is not None and (not isinstance(self.extra, bytes) or not self.extra):
            raise InvalidInput("tlog-proof extra data must be non-empty bytes or None")
        # The embedded checkpoint must itself be a well-formed checkpoint note.
        parse_checkpoint(parse_note(self.checkpoint).text)


def format_tlog_proof(p: TlogProof) -> str:
    """Serialize a proof in the tlog-proof@v1 text format."""
    lines = [HEADER]
    if p.extra is not None:
        lines.append("extra " + base64.b64encode(p.extra).decode("ascii"))
    lines.append(f"index {p.index}")
    lines.extend(base64.b64encode(h).decode("ascii") for h in p.proof)
    return "\n".join(lines) + "\n\n" + p.checkpoint


def parse_tlog_proof(text: str | bytes) -> TlogProof:
    """Parse the tlog-proof@v1 text format strictly; raise InvalidInput when malformed."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("tlog-proof is not valid UTF-8") from exc
    if not isinstance(text, str):
        raise InvalidInput("tlog-proof must be str or bytes")
    if len(text) > MAX_NOTE_BYTES + 8192:
        raise InvalidInput("tlog-proof is too large")
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise InvalidInput("tlog-proof has no empty line before the checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise InvalidInput(f"tlog-proof must start with {HEADER!r}")
    pos = 1
    extra = None
    if pos < len(lines) and lines[pos].startswith("extra "):
        extra = b64decode_strict(lines[pos][len("extra ") :], "tlog-proof extra data")
        if not extra:
            raise InvalidInput("tlog-proof extra line is empty")
        pos += 1
    if pos >= len(lines) or not lines[pos].startswith("index "):
        raise InvalidInput("tlog-proof is missing its 'index N' line")
    index_text = lines[pos][len("index ") :]
    if not _DECIMAL.fullmatch(index_text):
        raise InvalidInput(f"tlog-proof index {index_text!r} is not a decimal without zeros")
    pos += 1
    hashes = lines[pos:]
    if len(hashes) > MAX_PROOF_HASHES:
        raise InvalidInput(f"tlog-proof has more than {MAX_PROOF_HASHES} hashes")
    proof = []
    for i, line in enumerate(hashes):
        h = b64decode_strict(line, f"tlog-proof hash {i}")
        if len(h) != HASH_SIZE:
            raise InvalidInput(f"tlog-proof hash {i} is {len(h)} bytes, expected {HASH_SIZE}")
        proof.append(h)
    return TlogProof(index=int(index_text), proof=tuple(proof), checkpoint=checkpoint, extra=extra)


def verify_tlog_proof(
    proof: str | TlogProof,
    leaf_hash: bytes,
    log_vkey: str | NoteVerifier,
    *,
    origin: str | None = None,
    cosigners: Iterable[str | CosignatureVerifier] = (),
    quorum: int = 0,
) -> tuple[Checkpoint, Note]:
    """Verify the checkpoint signature, `quorum` witness cosignatures and the inclusion path.

    `leaf_hash` is the RFC 9162 leaf hash (`merkle.leaf_hash(leaf bytes)`). Returns the
    checkpoint and its note. Raises VerificationError (ProofError for the Merkle path).
    """
    p = parse_tlog_proof(proof) if isinstance(proof, str) else proof
    cp, note = open_checkpoint(p.checkpoint, log_vkey, origin=origin)
    witnesses: Sequence[CosignatureVerifier] = [
        parse_cosigner_vkey(c) if isinstance(c, str) else c for c in cosigners
    ]
    good = 0
    for w in witnesses:
        try:
            verify_cosignature(note, w)
        except VerificationError:
            continue
        good += 1
    if good < quorum:
        raise VerificationError(None, f"{good} valid cosignatures, {quorum} required")
    if p.index >= cp.size:
        raise VerificationError(None, f"index {p.index} is not below tree size {cp.size}")
    merkle.verify_inclusion(leaf_hash, p.index, cp.size, list(p.proof), cp.root)
    return cp, note
