"""Peer-token replay protection: a token id is accepted once per database, whichever process
(here: engine and nonce store) sees it, and expired ids are purged."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import select

import connector.tables  # noqa: F401  (every node table, created with the ledger's)
from connector.peers import PeerAuthError, _NonceStore, nonce_table
from ledger.log import Ledger


@pytest.fixture
def stores(tmp_path: Path) -> tuple[_NonceStore, _NonceStore]:
    """Two stores on two engines over one SQLite file, as two node processes would have."""
    url = f"sqlite:///{tmp_path / 'node.db'}"
    key = SigningKey.generate()
    first = Ledger.open(url, key, "test.example/a")
    second = Ledger.open(url, key, "test.example/b")
    return _NonceStore(first.engine), _NonceStore(second.engine)


def test_replay_refused_in_the_same_process(stores: tuple[_NonceStore, _NonceStore]) -> None:
    one, _ = stores
    expires = int(time.time()) + 120
    one.consume("jti-1", "did:web:a", expires)
    with pytest.raises(PeerAuthError, match="replay"):
        one.consume("jti-1", "did:web:a", expires)


def test_replay_refused_across_processes(stores: tuple[_NonceStore, _NonceStore]) -> None:
    one, two = stores
    expires = int(time.time()) + 120
    one.consume("jti-2", "did:web:a", expires)
    with pytest.raises(PeerAuthError, match="replay"):
        two.consume("jti-2", "did:web:a", expires)
    two.consume("jti-3", "did:web:a", expires)  # a fresh id still passes there
    with pytest.raises(PeerAuthError, match="replay"):
        one.consume("jti-3", "did:web:a", expires)


def test_expired_ids_are_purged(stores: tuple[_NonceStore, _NonceStore]) -> None:
    one, _ = stores
    one.consume("old", "did:web:a", int(time.time()) - 3600)
    one._next_purge = 0.0  # due now
    one.consume("new", "did:web:a", int(time.time()) + 120)
    with one.engine.connect() as conn:
        left = set(conn.execute(select(nonce_table.c.jti)).scalars())
    assert left == {"new"}
    assert "old" not in one._seen
