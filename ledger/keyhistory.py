"""A log's key history, provable to anyone who holds the log's current key.

After a key rotation, entries written before it are signed by an earlier key. A verifier
that pinned only the current key learns the earlier ones from the log itself: the genesis
and every key-rotation entry, each with a C2SP tlog-proof against one signed checkpoint.
Each rotation is signed by the key before it and by the key after it, so the chain is
authenticated from either end.

Format (v1), served as `GET /ledger/keys` and embedded in audit bundles as `key_entries`:

    {"v": 1, "checkpoint": "<signed note>",
     "key_entries": [{"entry": {...}, "proof": "<c2sp.org/tlog-proof@v1 text>"}, ...]}
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from ledger import merkle
from ledger.canonical import canonical_json
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.errors import LedgerError, VerificationError
from ledger.keyschedule import KEY_ENTRY_TYPES, KeySchedule
from ledger.log import ROTATION_TYPE, Ledger
from ledger.note import NoteVerifier
from ledger.tlog_proof import TlogProof, format_tlog_proof, parse_tlog_proof

HISTORY_VERSION = 1


def key_entries(ledger: Ledger, note: str) -> list[dict[str, Any]]:
    """The genesis and rotation entries covered by checkpoint `note`, each with its proof."""
    size = int(note.split("\n")[1])
    items = []
    for seq in ledger.seqs_of_types(KEY_ENTRY_TYPES, size):
        path = tuple(ledger.inclusion_proof(seq, size))
        items.append(
            {
                "entry": json.loads(ledger.entry_bytes(seq)),
                "proof": format_tlog_proof(TlogProof(index=seq, proof=path, checkpoint=note)),
            }
        )
    return items


def export_key_history(ledger: Ledger, note: str | None = None) -> dict[str, Any]:
    """The key history at checkpoint `note` (default: the latest checkpoint)."""
    note = ledger.checkpoint() if note is None else note
    return {"v": HISTORY_VERSION, "checkpoint": note, "key_entries": key_entries(ledger, note)}


def has_rotated(ledger: Ledger, note: str) -> bool:
    """Whether any key rotation lies under checkpoint `note` (one indexed lookup)."""
    return bool(ledger.seqs_of_types([ROTATION_TYPE], int(note.split("\n")[1])))


def proven_key_bodies(items: Any, note: str) -> tuple[list[tuple[int, bytes]], list[TlogProof]]:
    """Parse `key_entries` items anchored to `note`: their (seq, bytes) and their proofs."""
    if not isinstance(items, list) or not items:
        raise VerificationError(0, "the key history holds no entries (the genesis is missing)")
    proofs = [parse_tlog_proof(item["proof"]) for item in items]
    bodies = [
        (p.index, canonical_json(item["entry"])) for p, item in zip(proofs, items, strict=True)
    ]
    for proof, (seq, _) in zip(proofs, bodies, strict=True):
        if proof.checkpoint != note:
            raise VerificationError(seq, "key entry proof is for another checkpoint")
    return bodies, proofs


def check_included(
    bodies: list[tuple[int, bytes]], proofs: list[TlogProof], checkpoint: Checkpoint
) -> None:
    """Every key entry is a leaf of the checkpoint's tree (raises VerificationError)."""
    for proof, (seq, body) in zip(proofs, bodies, strict=True):
        merkle.verify_inclusion(
            merkle.leaf_hash(body), seq, checkpoint.size, proof.proof, checkpoint.root
        )


def verify_key_history(history: Any, current: NoteVerifier) -> KeySchedule:
    """The key schedule a history proves, given the log's current key; raises
    VerificationError unless the checkpoint is signed by `current`, every key entry is in
    its tree, the rotations chain from the genesis and the chain ends at `current`."""
    try:
        if not isinstance(history, dict) or history.get("v") != HISTORY_VERSION:
            raise VerificationError(None, "not a version 1 key history")
        note = history["checkpoint"]
        checkpoint, _ = open_checkpoint(note, current, origin=current.name)
        bodies, proofs = proven_key_bodies(history["key_entries"], note)
        schedule = KeySchedule.from_entries(bodies)
        check_included(bodies, proofs, checkpoint)
    except VerificationError:
        raise
    except (LedgerError, KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise VerificationError(None, f"malformed key history: {exc}") from None
    if schedule.origin != current.name:
        raise VerificationError(
            0, f"genesis names origin {schedule.origin!r}, not {current.name!r}"
        )
    if schedule.key_for(checkpoint.size)[1] != current.public_key:
        raise VerificationError(checkpoint.size, "the key history does not end at the current key")
    return schedule
