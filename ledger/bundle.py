"""Audit bundles: a range of entries plus what ties them to a signed checkpoint.

A bundle (format v1) is one JSON document that a regulator verifies offline with
nothing but one verifier key of the node (the current one, or an older one pinned
earlier, from which the signed key rotations lead to the current one):

- ``checkpoint``: the signed C2SP checkpoint note the bundle is anchored to;
- ``entries``: consecutive entries ``from``..``to`` (inclusive), as the API serves them;
- ``range_proof``: base64 hashes of the subtrees outside the range that rebuild the
  checkpoint's root from the entries' leaves;
- ``key_entries``: the genesis and every key-rotation entry up to the checkpoint, each
  with a C2SP tlog-proof of inclusion, so the verifier knows which key signed what
  (the format of `ledger.keyhistory`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger import merkle
from ledger.canonical import canonical_json
from ledger.checkpoint import open_checkpoint, parse_checkpoint
from ledger.errors import InvalidInput, LedgerError, VerificationError
from ledger.keyhistory import check_included, key_entries, proven_key_bodies
from ledger.keyschedule import KeySchedule
from ledger.log import Ledger
from ledger.note import NoteVerifier, format_vkey, parse_note, parse_vkey
from ledger.verify import check_entries

BUNDLE_TYPE = "tracespace-ledger-bundle"
BUNDLE_VERSION = 1
CHUNK = 10_000


def export_bundle(
    ledger: Ledger,
    start: int,
    end: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Bundle entries start..end (inclusive; default: up to the latest entry)."""
    note = ledger.checkpoint()
    size = int(note.split("\n")[1])
    end = size - 1 if end is None else end
    if not 0 <= start <= end < size:
        raise InvalidInput(f"range {start}..{end} is not inside the ledger (size {size})")
    entries: list[Any] = []
    for chunk_start in range(start, end + 1, CHUNK):
        chunk_end = min(chunk_start + CHUNK, end + 1)
        entries.extend(json.loads(b) for b in ledger.entries_bytes(chunk_start, chunk_end))
        if progress:
            progress(chunk_end - start)
    return {
        "v": BUNDLE_VERSION,
        "type": BUNDLE_TYPE,
        "origin": ledger.origin,
        "vkey": ledger.vkey(),
        "checkpoint": note,
        "from": start,
        "to": end,
        "entries": entries,
        "range_proof": [_b64(h) for h in ledger.range_proof(start, end + 1, size)],
        "key_entries": key_entries(ledger, note),
    }


@dataclass
class BundleReport:
    origin: str
    size: int
    start: int
    end: int
    keys: list[dict[str, object]]

    def to_json(self) -> dict[str, object]:
        return {
            "v": 1,
            "ok": True,
            "origin": self.origin,
            "checkpoint_size": self.size,
            "from": self.start,
            "to": self.end,
            "keys": self.keys,
        }


def verify_bundle(bundle: Any, vkey: str) -> BundleReport:
    """Verify a bundle offline against the node's verifier key; raise VerificationError."""
    verifier = parse_vkey(vkey)  # a bad key is the caller's input error, not the bundle's
    try:
        return _verify_bundle(bundle, verifier)
    except VerificationError:
        raise
    except (LedgerError, KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise VerificationError(None, f"malformed bundle: {exc}") from None


def _verify_bundle(bundle: Any, verifier: NoteVerifier) -> BundleReport:
    if not isinstance(bundle, dict) or bundle.get("type") != BUNDLE_TYPE:
        raise VerificationError(None, "not a tracespace ledger bundle")
    if bundle.get("v") != BUNDLE_VERSION:
        raise VerificationError(None, f"unsupported bundle version {bundle.get('v')!r}")
    # The key history comes first: every rotation is signed by the key before it, so from
    # any key the auditor pinned (the genesis key or a later one) the chain of keys is
    # authenticated without trusting the node.
    key_bodies, proofs = proven_key_bodies(bundle["key_entries"], bundle["checkpoint"])
    schedule = KeySchedule.from_entries(key_bodies)
    if schedule.origin != verifier.name:
        raise VerificationError(
            0, f"genesis names origin {schedule.origin!r}, not {verifier.name!r}"
        )
    if verifier.public_key not in schedule.public_keys:
        raise VerificationError(None, "the given key is not one of this log's keys")
    claimed = parse_checkpoint(parse_note(bundle["checkpoint"]).text)
    _, signer = schedule.key_for(claimed.size)
    if schedule.public_keys.index(signer) < schedule.public_keys.index(verifier.public_key):
        raise VerificationError(claimed.size, "the checkpoint predates the given key")
    cp, _ = open_checkpoint(
        bundle["checkpoint"], parse_vkey(format_vkey(verifier.name, signer)), origin=verifier.name
    )
    check_included(key_bodies, proofs, cp)

    start, end = int(bundle["from"]), int(bundle["to"])
    rows = [(start + i, canonical_json(e)) for i, e in enumerate(bundle["entries"])]
    if len(rows) != end - start + 1 or not 0 <= start <= end < cp.size:
        raise VerificationError(None, f"bundle does not hold entries {start}..{end}")
    result = check_entries(rows, start, schedule, None)
    if result.error is not None:
        raise result.error
    leaves = result.leaves
    proof = [base64.b64decode(h, validate=True) for h in bundle["range_proof"]]
    try:
        root = merkle.root_from_range(start, cp.size, leaves, proof)
    except VerificationError as err:
        raise VerificationError(start, f"range proof is malformed: {err.reason}") from None
    if root != cp.root:
        raise VerificationError(start, "entries do not rebuild the checkpoint's root")
    return BundleReport(cp.origin, cp.size, start, end, schedule.as_list())


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
