"""Peer tokens over HTTP: only a fresh, once-used token for this node from a trusted key passes.

Tokens are built here with PyJWT from the claims the protocol names (docs/contracts.md,
`connector/peers.py`), so each test changes exactly one thing against the accepted baseline.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connector.node import Node
from connector.peers import CLOCK_SKEW, MAX_TOKEN_LIFETIME, PEER_REFUSED, node_did
from tests.hardening.harness import Harness

WHOAMI = "/peer/whoami"
Logs = pytest.LogCaptureFixture


def token(signer: Node, issuer: Node, audience: str, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": node_did(issuer),
        "sub": node_did(issuer),
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(18),
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    key = Ed25519PrivateKey.from_private_bytes(bytes(signer.signing_key))
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "JWT"})


def call(h: Harness, value: str) -> Any:
    return h.client.get(WHOAMI, headers={"Authorization": f"Bearer {value}"})


def assert_refused(response: Any, reason: str, caplog: Logs) -> None:
    """401 with the one uniform body; the specific reason only in the node's log."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == PEER_REFUSED, response.json()
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "tracespace.peers")
    assert reason.lower() in logged.lower(), logged
    caplog.clear()


def test_fresh_token_from_trusted_peer_is_accepted(harness: Harness, caplog: Logs) -> None:
    good = token(harness.peer_node, harness.peer_node, node_did(harness.node))
    response = call(harness, good)
    assert response.status_code == 200, response.text
    assert node_did(harness.peer_node) in response.text


def test_replayed_token_is_refused(harness: Harness, caplog: Logs) -> None:
    once = token(harness.peer_node, harness.peer_node, node_did(harness.node))
    assert call(harness, once).status_code == 200
    assert_refused(call(harness, once), "replay", caplog)
    size = harness.node.ledger.size
    assert_refused(call(harness, once), "replay", caplog)
    assert harness.node.ledger.size == size


def test_expired_token_is_refused(harness: Harness, caplog: Logs) -> None:
    past = int(time.time()) - CLOCK_SKEW - 120
    old = token(
        harness.peer_node, harness.peer_node, node_did(harness.node), iat=past - 60, exp=past
    )
    assert_refused(call(harness, old), "expired", caplog)


def test_token_for_another_audience_is_refused(harness: Harness, caplog: Logs) -> None:
    other = token(harness.peer_node, harness.peer_node, node_did(harness.stranger))
    assert_refused(call(harness, other), "audience", caplog)


def test_token_signed_by_untrusted_key_is_refused(harness: Harness, caplog: Logs) -> None:
    # Claims name the trusted partner, but the stranger's key signed them.
    forged = token(harness.stranger, harness.peer_node, node_did(harness.node))
    assert_refused(call(harness, forged), "Signature", caplog)


def test_token_from_unknown_issuer_is_refused(harness: Harness, caplog: Logs) -> None:
    unknown = token(harness.stranger, harness.stranger, node_did(harness.node))
    assert_refused(call(harness, unknown), "trust list", caplog)


def test_token_with_too_long_lifetime_is_refused(harness: Harness, caplog: Logs) -> None:
    now = int(time.time())
    long = token(
        harness.peer_node,
        harness.peer_node,
        node_did(harness.node),
        iat=now,
        exp=now + MAX_TOKEN_LIFETIME + 60,
    )
    assert_refused(call(harness, long), "lifetime", caplog)


@pytest.fixture(autouse=True)
def _info_logs(caplog: Logs) -> None:
    caplog.set_level(logging.INFO, logger="tracespace.peers")


def test_refusals_look_the_same(harness: Harness, caplog: Logs) -> None:
    """A stranger, a forged signature for a trusted DID and no token get identical answers."""
    stranger = token(harness.stranger, harness.stranger, node_did(harness.node))
    forged = token(harness.stranger, harness.peer_node, node_did(harness.node))
    answers = [call(harness, stranger), call(harness, forged), harness.client.get(WHOAMI)]
    assert {(r.status_code, r.content) for r in answers} == {(401, answers[0].content)}


@pytest.mark.parametrize("missing", ["exp", "jti", "aud", "iat"])
def test_token_without_required_claim_is_refused(
    harness: Harness, missing: str, caplog: Logs
) -> None:
    partial = token(harness.peer_node, harness.peer_node, node_did(harness.node), **{missing: None})
    assert_refused(call(harness, partial), missing, caplog)


def test_unsigned_and_hs256_tokens_are_refused(harness: Harness, caplog: Logs) -> None:
    now = int(time.time())
    claims = {
        "iss": node_did(harness.peer_node),
        "aud": node_did(harness.node),
        "iat": now,
        "exp": now + 60,
        "jti": "x" * 20,
    }
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert_refused(call(harness, unsigned), "refused", caplog)
    # HS256 keyed with the partner's public key: the classic algorithm-confusion forgery.
    hs = jwt.encode(claims, bytes(harness.peer_node.public_key) * 2, algorithm="HS256")
    assert_refused(call(harness, hs), "refused", caplog)


def test_operator_token_is_not_a_peer_token(harness: Harness, caplog: Logs) -> None:
    assert_refused(call(harness, harness.node.operator_token), "malformed", caplog)
