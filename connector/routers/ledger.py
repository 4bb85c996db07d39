"""HTTP access to the node's ledger: checkpoint, key, entries, proofs, and operator appends."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from connector.auth import NodeDep, Operator
from connector.peers import PeerDep
from connector.problems import Problem
from ledger.checkpoint import CosignatureVerifier
from ledger.entry import check_type
from ledger.keyhistory import export_key_history
from ledger.note import ALG_COSIGNATURE_V1, key_id, parse_note

router = APIRouter(prefix="/ledger", tags=["ledger"])
MAX_RANGE = 1000
MAX_INT = 2**63 - 1
NOTE_TYPE = "text/plain; charset=utf-8"


def _b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


@router.get(
    "/checkpoint", response_class=PlainTextResponse, responses={200: {"content": {NOTE_TYPE: {}}}}
)
def checkpoint(node: NodeDep) -> Response:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note)."""
    return Response(node.ledger.checkpoint(), media_type=NOTE_TYPE)


@router.get(
    "/checkpoint/witnessed",
    response_class=PlainTextResponse,
    responses={200: {"content": {NOTE_TYPE: {}}}},
)
def witnessed_checkpoint(node: NodeDep) -> Response:
    """The latest checkpoint cosigned by witnesses, with their C2SP cosignature lines."""
    return Response(node.ledger.witnessed_checkpoint(), media_type=NOTE_TYPE)


@router.post("/cosignatures", status_code=201)
async def add_cosignature(node: NodeDep, peer: PeerDep, request: Request) -> dict[str, Any]:
    """A trusted peer hands back its cosignature of one of our checkpoints (text/plain)."""
    text = (await request.body()).decode("utf-8", "replace")
    note = parse_note(text)
    for sig in note.signatures:
        if sig.key_id == key_id(sig.name, ALG_COSIGNATURE_V1, peer.public_key):
            witness = CosignatureVerifier(sig.name, sig.key_id, peer.public_key)
            timestamp = node.ledger.add_cosignature(text, witness)
            return {"v": 1, "cosigner": sig.name, "timestamp": timestamp}
    raise Problem(400, "No cosignature", f"the note carries no cosignature by {peer.did}")


@router.get("/key", response_class=PlainTextResponse)
def verifier_key(node: NodeDep) -> Response:
    """The node's C2SP note verifier key: `name+keyid+base64(0x01||pubkey)`."""
    return Response(node.vkey + "\n", media_type=NOTE_TYPE)


@router.get("/keys")
def key_history(node: NodeDep) -> dict[str, Any]:
    """Every key that signed this log: the genesis and key-rotation entries, each with a C2SP
    tlog-proof against the latest checkpoint. With the current key (`/ledger/key`) alone a
    verifier learns which earlier key signed which entries (see `ledger.keyhistory`)."""
    return export_key_history(node.ledger)


@router.get("/entries")
def entries(
    node: NodeDep,
    start: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    end: Annotated[
        int | None, Query(ge=1, le=MAX_INT, description="exclusive; at most start+1000")
    ] = None,
) -> dict[str, Any]:
    """Entries with start <= seq < end, exactly as stored (the Merkle leaves)."""
    size = node.ledger.size
    end = min(size, start + MAX_RANGE) if end is None else end
    if end <= start:
        raise Problem(400, "Invalid range", f"end ({end}) must be greater than start ({start})")
    if end - start > MAX_RANGE:
        raise Problem(400, "Invalid range", f"at most {MAX_RANGE} entries per request")
    if end > size:
        raise Problem(400, "Invalid range", f"end ({end}) is past the tree size ({size})")
    bodies = node.ledger.entries_bytes(start, end)
    return {"v": 1, "size": size, "entries": [json.loads(b) for b in bodies]}


@router.get("/entries/{seq}")
def entry(node: NodeDep, seq: Annotated[int, Path(ge=0, le=MAX_INT)]) -> Response:
    """One entry, as its RFC 8785 canonical bytes (the Merkle leaf)."""
    return Response(node.ledger.entry_bytes(seq), media_type="application/json")


@router.get("/proof/inclusion")
def inclusion_proof(
    node: NodeDep,
    seq: Annotated[int, Query(ge=0, le=MAX_INT)],
    size: Annotated[int, Query(ge=1, le=MAX_INT)],
) -> dict[str, Any]:
    """RFC 9162 inclusion proof of entry `seq` in the tree of `size` leaves."""
    proof = node.ledger.inclusion_proof(seq, size)
    return {"v": 1, "seq": seq, "size": size, "proof": _b64(proof)}


@router.get("/proof/consistency")
def consistency_proof(
    node: NodeDep,
    first: Annotated[int, Query(ge=1, le=MAX_INT)],
    second: Annotated[int, Query(ge=1, le=MAX_INT)],
) -> dict[str, Any]:
    """RFC 9162 consistency proof between tree sizes `first` and `second`."""
    proof = node.ledger.consistency_proof(first, second)
    return {"v": 1, "first": first, "second": second, "proof": _b64(proof)}


@router.post("/entries", dependencies=[Operator], status_code=201)
def append(
    node: NodeDep,
    type: Annotated[str, Query(description="payload type, e.g. note.memo")],
    payload: Annotated[Any, Body()],
) -> dict[str, Any]:
    """Append one signed entry (operator only)."""
    entry = node.ledger.append(check_type(type), payload)
    return {"v": 1, "seq": entry.seq, "hash": entry.hash.hex()}
