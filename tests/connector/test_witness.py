"""Witnessing a live peer with `connector.witness.witness_peer`.

The peer is a real node app behind FastAPI's TestClient (an httpx client); the witness
keeps its state in its own database, on SQLite and PostgreSQL. A consistent peer is
cosigned and the state advances; a peer that rewrites or rolls back history, or that
presents another key, is refused and the state does not move.
"""

from __future__ import annotations

import time
from dataclasses import fields, replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from connector.app import create_app
from connector.node import Node, init_node
from connector.witness import witness_peer
from ledger import keys, store
from ledger.checkpoint import format_cosigner_vkey, open_checkpoint, verify_cosignature
from ledger.errors import NotAllowed, ProofError, VerificationError
from ledger.log import Ledger


@pytest.fixture
def peer(tmp_path: Path):
    node = init_node(tmp_path / "peer", "peer", [])
    node.ledger.append_many([("lot.event", {"n": i}) for i in range(1, 6)])
    yield node
    node.close()


@pytest.fixture
def witness(tmp_path: Path, database_url: str):
    node = init_node(tmp_path / "witness", "witness", [], database_url=database_url)
    yield node
    node.close()


def client_for(node: Node) -> TestClient:
    return TestClient(create_app(node))


def cosigner_vkey(node: Node) -> str:
    return format_cosigner_vkey(node.config.origin, node.public_key)


def state_of(witness: Node) -> list[tuple]:
    wt = store.witness_table
    with witness.ledger.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(select(wt.c.origin, wt.c.vkey, wt.c.size, wt.c.root))
        ]


def impostor(peer: Node, tmp_path: Path, name: str, signer, payloads: list[dict]) -> Node:
    """A node serving another log under the peer's origin, signed by `signer`."""
    lg = Ledger.open(f"sqlite:///{tmp_path / (name + '.db')}", signer, peer.config.origin)
    lg.append_many([("lot.event", p) for p in payloads])
    return replace(peer, ledger=lg)


def test_cosigns_a_consistent_peer_and_advances(peer: Node, witness: Node, tmp_path: Path):
    before = int(time.time())
    with client_for(peer) as client:
        note = witness_peer(witness, client)
    stamp = verify_cosignature(note, cosigner_vkey(witness))
    assert before <= stamp <= int(time.time()) + 1
    cp, _ = open_checkpoint(note, peer.vkey, origin=peer.config.origin)
    assert cp.size == 6
    assert state_of(witness) == [(peer.config.origin, peer.vkey, 6, cp.root)]

    peer.ledger.append_many([("lot.event", {"n": i}) for i in range(6, 13)])
    with client_for(peer) as client:
        note2 = witness_peer(witness, client)
        again = witness_peer(witness, client)  # nothing new: the same tree is cosigned again
    verify_cosignature(note2, cosigner_vkey(witness))
    cp2, _ = open_checkpoint(note2, peer.vkey)
    assert cp2.size == 13
    assert open_checkpoint(again, peer.vkey)[0] == cp2
    assert state_of(witness) == [(peer.config.origin, peer.vkey, 13, cp2.root)]

    # The state survives a restart of the witness node.
    reopened = Node.open(witness.config.folder)
    peer.ledger.append("lot.event", {"n": 13})
    with client_for(peer) as client:
        note3 = witness_peer(reopened, client)
    assert open_checkpoint(note3, peer.vkey)[0].size == 14
    assert state_of(reopened)[0][2] == 14
    reopened.close()
    # Another witness's vkey does not verify this cosignature.
    with pytest.raises(VerificationError):
        verify_cosignature(
            note3, format_cosigner_vkey(witness.config.origin, bytes(keys.generate().verify_key))
        )


def test_refuses_a_peer_that_rewrites_history(peer: Node, witness: Node, tmp_path: Path):
    with client_for(peer) as client:
        witness_peer(witness, client)
    seen = state_of(witness)
    # Same key and origin, history rewritten from entry 3 on, and grown past what we saw.
    forked_ledger = Ledger.open(
        f"sqlite:///{tmp_path / 'fork.db'}", peer.signing_key, peer.config.origin
    )
    forked_ledger.append_many([("lot.event", {"n": i, "forked": True}) for i in range(1, 10)])
    forked = replace(peer, ledger=forked_ledger)
    with client_for(forked) as client, pytest.raises(ProofError):
        witness_peer(witness, client)
    assert state_of(witness) == seen

    # Rewritten at the very size we saw: same size, another root.
    same_size = Ledger.open(
        f"sqlite:///{tmp_path / 'same.db'}", peer.signing_key, peer.config.origin
    )
    same_size.append_many([("lot.event", {"n": i, "forked": True}) for i in range(1, 6)])
    with (
        client_for(replace(peer, ledger=same_size)) as client,
        pytest.raises(VerificationError, match="root"),
    ):
        witness_peer(witness, client)
    assert state_of(witness) == seen

    # Rolled back to fewer entries than we saw.
    smaller = Ledger.open(
        f"sqlite:///{tmp_path / 'small.db'}", peer.signing_key, peer.config.origin
    )
    smaller.append("lot.event", {"n": 1})
    with (
        client_for(replace(peer, ledger=smaller)) as client,
        pytest.raises(VerificationError, match="smaller"),
    ):
        witness_peer(witness, client)
    assert state_of(witness) == seen

    # The genuine peer, grown consistently, is still cosigned.
    peer.ledger.append("lot.event", {"n": 6})
    with client_for(peer) as client:
        verify_cosignature(witness_peer(witness, client), cosigner_vkey(witness))
    for lg in (forked_ledger, same_size, smaller):
        lg.engine.dispose()


def test_refuses_a_peer_that_changes_its_key(peer: Node, witness: Node, tmp_path: Path):
    with client_for(peer) as client:
        witness_peer(witness, client)
    seen = state_of(witness)
    other = impostor(peer, tmp_path, "newkey", keys.generate(), [{"n": i} for i in range(1, 9)])
    assert other.vkey != peer.vkey
    assert other.config.origin == peer.config.origin
    with client_for(other) as client, pytest.raises(NotAllowed, match="pinned key"):
        witness_peer(witness, client)
    assert state_of(witness) == seen
    other.ledger.engine.dispose()


def test_follows_a_key_rotation_the_peer_logged(peer: Node, witness: Node):
    with client_for(peer) as client:
        witness_peer(witness, client)
    old_vkey = peer.vkey
    peer.ledger.rotate_key(keys.generate())
    peer.ledger.rotate_key(keys.generate())  # two rotations between visits
    peer.ledger.append("lot.event", {"n": 99})
    assert peer.vkey != old_vkey
    with client_for(peer) as client:
        note = witness_peer(witness, client)
    cp, _ = open_checkpoint(note, peer.vkey)
    verify_cosignature(note, cosigner_vkey(witness))
    assert state_of(witness) == [(peer.config.origin, peer.vkey, 9, cp.root)]
    with client_for(peer) as client:  # and from now on the new key is the pinned one
        witness_peer(witness, client)


def test_a_rotation_that_rewrites_history_is_refused(peer: Node, witness: Node, tmp_path: Path):
    with client_for(peer) as client:
        witness_peer(witness, client)
    seen = state_of(witness)
    # A log under the same origin whose genesis key is the pinned one and which rotates
    # properly, but whose entries differ from what was cosigned: consistency fails.
    forked = impostor(peer, tmp_path, "forked", peer.signing_key, [{"n": -i} for i in range(9)])
    forked.ledger.rotate_key(keys.generate())
    with client_for(forked) as client, pytest.raises(VerificationError):
        witness_peer(witness, client)
    assert state_of(witness) == seen
    forked.ledger.engine.dispose()


def test_refuses_a_checkpoint_not_signed_by_the_served_key(
    peer: Node, witness: Node, tmp_path: Path
):
    # The impostor serves the genuine peer's verifier key but signs with its own key.
    signer_of_the_log = impostor(peer, tmp_path, "liar", keys.generate(), [{"n": 1}])

    class ServesAnotherKey(Node):
        @property
        def vkey(self) -> str:
            return peer.vkey

    lying = ServesAnotherKey(**{f.name: getattr(signer_of_the_log, f.name) for f in fields(Node)})
    assert lying.vkey == peer.vkey
    with client_for(lying) as client, pytest.raises(VerificationError):
        witness_peer(witness, client)
    assert state_of(witness) == []
    lying.ledger.engine.dispose()
