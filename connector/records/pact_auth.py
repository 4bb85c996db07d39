"""PACT API authentication: operator-registered OAuth2 clients and short-lived bearer tokens.

Clients authenticate at `/auth/token` with HTTP Basic (client credentials grant). Their
secrets are random 256-bit values, so a SHA-256 hash is stored (no slow hash needed for
high-entropy secrets). Access tokens are EdDSA JWTs signed by the node key, for the
node's DID plus `#pact` as audience; their `kid` names the key in `signing_jwk`. A trusted
peer may instead use its own peer token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import delete, insert, select

from connector.node import Node
from connector.peers import PeerAuthError, node_did, verify_token
from connector.records.sharing import CLIENT_PREFIX
from connector.records.signing import verification_method
from connector.records.tables import client_table
from ledger.entry import utc_now
from ledger.errors import InvalidInput, NotFound

TOKEN_LIFETIME = 900
SCOPES = "footprint:list footprint:read"


class PactAuthError(Exception):
    """Credentials or a bearer token were refused; `code` is the PACT error code."""

    def __init__(self, message: str, code: str = "BadRequest") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PactClient:
    client_id: str
    name: str
    partner: str
    sources: tuple[str, ...]
    callback_url: str


@dataclass(frozen=True)
class PactCaller:
    """Who called a PACT route: a registered client or a trusted peer node."""

    partner: str  # the allow-list key: a DID or pact-client:ID
    sources: tuple[str, ...]  # CloudEvents sources it may use
    client: PactClient | None = None
    peer_did: str = ""
    peer_url: str = ""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _client(row: object) -> PactClient:
    return PactClient(
        row.client_id,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        row.partner,  # type: ignore[attr-defined]
        tuple(json.loads(row.sources)),  # type: ignore[attr-defined]
        row.callback_url,  # type: ignore[attr-defined]
    )


def register_client(
    node: Node, name: str, sources: list[str], partner: str = "", callback_url: str = ""
) -> tuple[PactClient, str]:
    """Create a client; returns it and its secret (shown once, stored only as a hash)."""
    if not name.strip():
        raise InvalidInput("a client needs a name")
    if not sources:
        raise InvalidInput("a client needs at least one CloudEvents source it may use")
    if partner and not partner.startswith("did:"):
        raise InvalidInput(f"partner {partner!r} must be a DID")
    client_id = secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    with node.ledger.transaction() as tx:
        tx.connection.execute(
            insert(client_table).values(
                client_id=client_id,
                name=name,
                secret_sha256=_hash(secret),
                partner=partner,
                sources=json.dumps(sources),
                callback_url=callback_url,
                created=utc_now(),
            )
        )
        tx.append(
            "pact.client",
            {
                "v": 1,
                "action": "register",
                "clientId": client_id,
                "name": name,
                "partner": partner,
                "sources": sources,
            },
        )
    return PactClient(client_id, name, partner, tuple(sources), callback_url), secret


def remove_client(node: Node, client_id: str) -> None:
    with node.ledger.transaction() as tx:
        gone = tx.connection.execute(
            delete(client_table).where(client_table.c.client_id == client_id)
        ).rowcount
        if not gone:
            raise NotFound(f"no PACT client {client_id}")
        tx.append("pact.client", {"v": 1, "action": "remove", "clientId": client_id})


def list_clients(node: Node) -> list[PactClient]:
    with node.engine.connect() as conn:
        return [_client(r) for r in conn.execute(select(client_table)).all()]


def find_client(node: Node, client_id: str) -> PactClient | None:
    with node.engine.connect() as conn:
        row = conn.execute(
            select(client_table).where(client_table.c.client_id == client_id)
        ).first()
    return _client(row) if row else None


def authenticate_client(node: Node, client_id: str, secret: str) -> PactClient:
    with node.engine.connect() as conn:
        row = conn.execute(
            select(client_table).where(client_table.c.client_id == client_id)
        ).first()
    # Compare against a dummy hash when the client is unknown, so timing says nothing.
    expected = row.secret_sha256 if row else _hash(secrets.token_urlsafe(32))
    if not hmac.compare_digest(expected, _hash(secret)) or row is None:
        raise PactAuthError("Client authentication failed")
    return _client(row)


def audience(node: Node) -> str:
    return node_did(node) + "#pact"


def issue_access_token(node: Node, client: PactClient) -> str:
    now = int(time.time())
    claims = {
        "iss": node_did(node),
        "aud": audience(node),
        "sub": client.client_id,
        "scope": SCOPES,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": secrets.token_urlsafe(12),
    }
    key = Ed25519PrivateKey.from_private_bytes(bytes(node.signing_key))
    headers = {"typ": "at+jwt", "kid": verification_method(node)}
    return jwt.encode(claims, key, algorithm="EdDSA", headers=headers)


def signing_jwk(node: Node) -> dict[str, str]:
    """The public key that signs access tokens, as an RFC 8037 JWK (OKP, Ed25519)."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": base64.urlsafe_b64encode(bytes(node.public_key)).rstrip(b"=").decode("ascii"),
        "use": "sig",
        "alg": "EdDSA",
        "kid": verification_method(node),
    }


def authenticate_bearer(node: Node, token: str) -> PactCaller:
    """The caller behind a bearer token: our access token, or a trusted peer's token."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise PactAuthError("Invalid token provided") from None
    if unverified.get("iss") != node_did(node):
        try:
            peer = verify_token(node, token)
        except PeerAuthError as exc:
            raise PactAuthError(f"Invalid token provided: {exc}") from None
        return PactCaller(
            peer.did, (peer.base_url, peer.did), peer_did=peer.did, peer_url=peer.base_url
        )
    try:
        claims = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(node.public_key),
            algorithms=["EdDSA"],
            audience=audience(node),
            issuer=node_did(node),
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise PactAuthError("the access token has expired", "TokenExpired") from None
    except jwt.PyJWTError:
        raise PactAuthError("Invalid token provided") from None
    client = find_client(node, str(claims["sub"]))
    if client is None:
        raise PactAuthError("Invalid token provided: the client was removed")
    partner = client.partner or CLIENT_PREFIX + client.client_id
    return PactCaller(partner, client.sources, client=client)


def source_allowed(caller: PactCaller, source: str) -> bool:
    """An event source belongs to the caller when it is, or lies under, one of its sources."""
    for allowed in caller.sources:
        base = allowed.rstrip("/")
        if source in (allowed, base) or source.startswith(base + "/"):
            return True
    return False
