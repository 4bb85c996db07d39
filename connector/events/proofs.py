"""Checking a partner's ledgered event: entry signature, entry hash, and Merkle inclusion
against the partner's signed checkpoint, with nothing but the partner's public key."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from ledger import keys, merkle
from ledger.canonical import canonical_json
from ledger.checkpoint import open_checkpoint
from ledger.entry import verify_entry_signature
from ledger.errors import InvalidInput, VerificationError
from ledger.note import parse_vkey


@dataclass(frozen=True)
class PartnerLog:
    """A partner's verified checkpoint: what its events are proven against."""

    vkey: str
    checkpoint: str
    size: int
    root: bytes
    public_key: bytes

    def to_json(self) -> dict[str, Any]:
        return {"vkey": self.vkey, "checkpoint": self.checkpoint, "size": self.size}


def open_partner_log(vkey: str, checkpoint: str, expected_key: bytes | None = None) -> PartnerLog:
    """Verify `checkpoint` with `vkey`; when `expected_key` (from the trust list) is given the
    vkey must carry exactly that key. Raises VerificationError or InvalidInput."""
    verifier = parse_vkey(vkey.strip())
    if expected_key is not None and verifier.public_key != expected_key:
        raise VerificationError(None, "the partner's ledger key is not the key on our trust list")
    cp, _ = open_checkpoint(checkpoint, verifier)
    return PartnerLog(vkey.strip(), checkpoint, cp.size, cp.root, verifier.public_key)


def b64_hashes(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def verify_ledgered(log: PartnerLog, entry: Any, proof: Any) -> bytes:
    """Check one ledger entry (its JSON object) and its inclusion proof against `log`.

    Returns the entry bytes. The entry must be signed by the checkpoint's key (a partner that
    rotated its key since the entry was written fails here: see docs/trace.md).
    """
    body = canonical_json(entry)
    links = verify_entry_signature(body, log.public_key)
    if links.kid != keys.public_key_id(log.public_key):
        raise VerificationError(links.seq, "entry key id is not the checkpoint's key")
    if links.seq >= log.size:
        raise VerificationError(links.seq, f"entry is not covered by checkpoint size {log.size}")
    if not isinstance(proof, list):
        raise InvalidInput("inclusion proof must be a list of base64 hashes")
    try:
        path = [base64.b64decode(h, validate=True) for h in proof]
    except (binascii.Error, TypeError):
        raise InvalidInput("inclusion proof hashes must be base64") from None
    merkle.verify_inclusion(merkle.leaf_hash(body), links.seq, log.size, path, log.root)
    return body


def entry_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
