"""Checking a partner's ledgered event: entry signature, entry hash, and Merkle inclusion
against the partner's signed checkpoint, with nothing but the partner's public key.

Entries written before a partner rotated its key are signed by an earlier key: the
partner's key history (`GET /ledger/keys`, proven against a checkpoint signed by the
current key) says which, and travels with the log to whoever checks relayed events."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from ledger import keys, merkle
from ledger.canonical import canonical_json
from ledger.checkpoint import open_checkpoint
from ledger.entry import read_links
from ledger.errors import InvalidInput, VerificationError
from ledger.keyhistory import verify_key_history
from ledger.keyschedule import KeySchedule
from ledger.note import parse_vkey


@dataclass(frozen=True)
class PartnerLog:
    """A partner's verified checkpoint: what its events are proven against."""

    vkey: str
    checkpoint: str
    size: int
    root: bytes
    public_key: bytes
    key_history: dict[str, Any] | None = None  # as served by GET /ledger/keys, verified
    schedule: KeySchedule | None = None  # what key_history proves
    history_problem: str = ""  # why no key history is known, when fetching one failed

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "vkey": self.vkey,
            "checkpoint": self.checkpoint,
            "size": self.size,
        }
        if self.schedule is not None and len(self.schedule.kids) > 1:
            answer["keyHistory"] = self.key_history  # only a rotated log needs it relayed
        return answer

    def signer_of(self, seq: int) -> tuple[str, bytes]:
        """The (kid, public key) that signed entry `seq`: from the key history when known,
        else the current key (which is right for every log that never rotated)."""
        if self.schedule is not None:
            return self.schedule.key_for(seq)
        return keys.public_key_id(self.public_key), self.public_key


def open_partner_log(
    vkey: str,
    checkpoint: str,
    expected_key: bytes | None = None,
    key_history: Any = None,
) -> PartnerLog:
    """Verify `checkpoint` with `vkey`; when `expected_key` (from the trust list) is given the
    vkey must carry exactly that key; a `key_history` given is verified and kept.
    Raises VerificationError or InvalidInput."""
    verifier = parse_vkey(vkey.strip())
    if expected_key is not None and verifier.public_key != expected_key:
        raise VerificationError(None, "the partner's ledger key is not the key on our trust list")
    cp, _ = open_checkpoint(checkpoint, verifier)
    log = PartnerLog(vkey.strip(), checkpoint, cp.size, cp.root, verifier.public_key)
    return log if key_history is None else with_key_history(log, key_history)


def with_key_history(log: PartnerLog, history: Any) -> PartnerLog:
    """`log`, knowing which key signed which of its entries (VerificationError if the
    history does not prove it with the log's current key)."""
    schedule = verify_key_history(history, parse_vkey(log.vkey))
    return replace(log, key_history=history, schedule=schedule)


def fetch_key_history(log: PartnerLog, get: Callable[[str], httpx.Response]) -> PartnerLog:
    """`log` with the key history its node serves at `/ledger/keys` (`get` takes a path).

    Never fails: without a history (an older node answers 404; a failing or forged answer)
    the log is returned with the reason in `history_problem`. Entries signed with the
    current key still verify; older ones fail, and their reason says why.
    """
    try:
        response = get("/ledger/keys")
        if response.status_code == 404:
            return replace(log, history_problem="the node serves no key history")
        response.raise_for_status()
        return with_key_history(log, response.json())
    except httpx.HTTPError as exc:
        problem = f"fetching its key history failed: {type(exc).__name__}"
    except ValueError:
        problem = "its key history is not JSON"
    except VerificationError as exc:
        problem = f"its key history does not verify: {exc.reason}"
    return replace(log, history_problem=problem)


def b64_hashes(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def verify_ledgered(log: PartnerLog, entry: Any, proof: Any) -> bytes:
    """Check one ledger entry (its JSON object) and its inclusion proof against `log`.

    Returns the entry bytes. The entry must be signed by the key that held its position:
    the checkpoint's key, or the earlier one the log's key history names.
    """
    body = canonical_json(entry)
    links = read_links(body)
    kid, public_key = log.signer_of(links.seq)
    if links.kid != kid:
        if log.schedule is None:
            raise VerificationError(
                links.seq,
                f"entry is signed by key {links.kid}, not the checkpoint's key {kid}, and "
                f"{log.history_problem or 'the key history (GET /ledger/keys) is unknown'}",
            )
        raise VerificationError(links.seq, f"entry names key {links.kid}; {kid} held its position")
    if not keys.verify(public_key, links.message, links.signature):
        raise VerificationError(links.seq, "entry signature does not verify")
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
