"""Witnessing peers: cosign a peer's checkpoint once it is proven to extend the last one seen.

The state (per peer origin: its verifier key, first seen on first use, and the last
size and root cosigned) lives in the node's database. Updates are compare-and-swap on
the previous size, so two node processes cannot both advance it from the same point.

A peer that rotated its key presents a new one. The witness follows it only when the
peer's key history (`GET /ledger/keys`, proven with the new key) shows the pinned key
signing up to the last size cosigned and a chain of rotations from it to the new key;
the new key is pinned together with the next cosigned size, so only after the
consistency proof from the last size passed. Any other new key is refused.
"""

from __future__ import annotations

import base64

import httpx
from sqlalchemy import Engine, insert, select, update

from connector.node import Node
from connector.peers import PeerClient, trusted_peers
from ledger import store
from ledger.checkpoint import Witness, parse_checkpoint
from ledger.errors import NotAllowed, VerificationError
from ledger.keyhistory import verify_key_history
from ledger.note import NoteVerifier, parse_note, parse_vkey


class SqlWitnessState:
    """`ledger.checkpoint.WitnessState` backed by the `ledger_witness_state` table."""

    def __init__(self, engine: Engine, origin: str, vkey: str) -> None:
        self.engine = engine
        self.vkey = vkey
        self.pinned_vkey: str | None = None  # the key pinned so far, when `vkey` differs
        self._seen = self._load(origin)

    def _load(self, origin: str) -> tuple[int, bytes] | None:
        wt = store.witness_table
        with self.engine.connect() as conn:
            row = conn.execute(select(wt).where(wt.c.origin == origin)).first()
        if row is None:
            return None
        if row.vkey != self.vkey:
            self.pinned_vkey = row.vkey  # witness_peer accepts it only after a proven rotation
        return int(row.size), bytes(row.root)

    def get(self, origin: str) -> tuple[int, bytes] | None:
        return self._seen

    def put(self, origin: str, size: int, root: bytes) -> None:
        wt = store.witness_table
        with self.engine.begin() as conn:
            if self._seen is None:
                conn.execute(insert(wt).values(origin=origin, vkey=self.vkey, size=size, root=root))
            else:
                done = conn.execute(
                    update(wt)
                    .where(wt.c.origin == origin, wt.c.size == self._seen[0])
                    .values(size=size, root=root, vkey=self.vkey)
                )
                if done.rowcount != 1:
                    raise VerificationError(None, f"state of {origin} changed concurrently")
        self._seen = (size, root)


def witness_peer(node: Node, client: httpx.Client) -> str:
    """Fetch a peer's checkpoint, prove it extends what we saw, and return it cosigned."""
    vkey = client.get("/ledger/key").raise_for_status().text.strip()
    note = client.get("/ledger/checkpoint").raise_for_status().text
    cp = parse_checkpoint(parse_note(note).text)
    verifier = parse_vkey(vkey)
    state = SqlWitnessState(node.ledger.engine, verifier.name, vkey)
    seen = state.get(verifier.name)
    if state.pinned_vkey is not None and seen is not None:
        _check_rotation(client, parse_vkey(state.pinned_vkey), verifier, seen[0])
    proof: list[bytes] = []
    if seen is not None and 0 < seen[0] < cp.size:
        body = (
            client.get("/ledger/proof/consistency", params={"first": seen[0], "second": cp.size})
            .raise_for_status()
            .json()
        )
        proof = [base64.b64decode(h) for h in body["proof"]]
    witness = Witness(node.config.origin, node.signing_key, state)
    return witness.cosign_if_consistent(note, verifier, proof)


def _check_rotation(
    client: httpx.Client, pinned: NoteVerifier, served: NoteVerifier, seen_size: int
) -> None:
    """NotAllowed unless the peer's own log hands signing over from `pinned` to `served`
    at or after `seen_size`, the size last cosigned under the pinned key."""
    refused = f"peer {served.name} now presents a different key than the one pinned"
    response = client.get("/ledger/keys")
    if response.status_code == 404:
        raise NotAllowed(f"{refused}, and serves no key history to show a rotation")
    try:
        schedule = verify_key_history(response.raise_for_status().json(), served)
    except (VerificationError, ValueError) as exc:
        raise NotAllowed(f"{refused}; its key history does not verify: {exc}") from None
    if schedule.key_for(seen_size)[1] != pinned.public_key:
        raise NotAllowed(f"{refused}; its key history does not lead from the pinned key")


def send_cosignature(node: Node, peer_url: str, cosigned_note: str) -> None:
    """Give a cosigned checkpoint back to the log's node, authenticated as a peer."""
    peer = next((p for p in trusted_peers(node.engine) if p.base_url == peer_url.rstrip("/")), None)
    if peer is None:
        raise NotAllowed(f"{peer_url} is not on the trust list; add it with 'tracespace peer add'")
    with PeerClient(node, peer) as client:
        client.post(
            "/ledger/cosignatures", content=cosigned_note, headers={"Content-Type": "text/plain"}
        ).raise_for_status()
