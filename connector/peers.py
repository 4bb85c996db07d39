"""Identity between nodes: DID documents, the trust list, and signed peer tokens.

Each node is a `did:web` participant whose Ed25519 key is published at
`/.well-known/did.json`. A request to another node carries a short-lived EdDSA JWT
(issuer, audience, expiry, nonce) signed with the node key. The receiver accepts it only
from a participant on its trust list, for itself as audience, before expiry, and once:
every nonce is stored until the token expires, so a replayed token is refused.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from fastapi import Depends, Request
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import BigInteger, Column, Field, LargeBinary, SQLModel

from connector.auth import NodeDep
from connector.node import Node
from connector.problems import Problem
from ledger import keys
from ledger.entry import utc_now
from schemas.integrity import did_document, key_from_did_document

TOKEN_LIFETIME = 120
MAX_TOKEN_LIFETIME = 300
CLOCK_SKEW = 30
PEER_REFUSED = "send a valid peer token (EdDSA JWT) from a participant this node trusts"
log = logging.getLogger("tracespace.peers")


class PeerTrust(SQLModel, table=True):
    """A participant this node trusts: its DID, key and where to reach it."""

    __tablename__ = "peer_trust"
    did: str = Field(primary_key=True)
    name: str
    base_url: str
    public_key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    added: str


class PeerNonce(SQLModel, table=True):
    """Token ids already accepted, kept until the token expires (replay protection)."""

    __tablename__ = "peer_nonce"
    jti: str = Field(primary_key=True)
    issuer: str
    expires: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))


trust_table = PeerTrust.__table__
nonce_table = PeerNonce.__table__


def did_for_url(url: str) -> str:
    """The did:web DID of a node reachable at `url` (host, port and path encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    did = "did:web:" + quote(parts.netloc, safe="")
    path = parts.path.strip("/")
    return did + ("" if not path else ":" + ":".join(quote(p, safe="") for p in path.split("/")))


def node_did(node: Node) -> str:
    return did_for_url(node.config.public_url)


def node_did_document(node: Node) -> dict[str, Any]:
    doc = did_document(node_did(node), node.public_key)
    doc["service"] = [
        {
            "id": f"{doc['id']}#node",
            "type": "TracespaceNode",
            "serviceEndpoint": node.config.public_url,
        },
        {
            "id": f"{doc['id']}#dsp",
            "type": "DataService",
            "serviceEndpoint": node.config.public_url + "/dsp",
        },
    ]
    doc["alsoKnownAs"] = [f"tracespace:{node.config.name}"]
    return doc


@dataclass(frozen=True)
class Peer:
    did: str
    name: str
    base_url: str
    public_key: bytes


def _row_to_peer(row: Any) -> Peer:
    return Peer(row.did, row.name, row.base_url, bytes(row.public_key))


def trusted_peers(engine: Engine) -> list[Peer]:
    with engine.connect() as conn:
        return [_row_to_peer(r) for r in conn.execute(select(trust_table)).all()]


def find_peer(engine: Engine, did: str) -> Peer | None:
    with engine.connect() as conn:
        row = conn.execute(select(trust_table).where(trust_table.c.did == did)).first()
    return _row_to_peer(row) if row else None


def fetch_did_document(base_url: str, client: httpx.Client | None = None) -> dict[str, Any]:
    own = client is None
    client = client or httpx.Client(timeout=10)
    try:
        response = client.get(base_url.rstrip("/") + "/.well-known/did.json")
        response.raise_for_status()
        return response.json()
    finally:
        if own:
            client.close()


def peer_from_did_document(doc: dict[str, Any], base_url: str) -> Peer:
    did = doc.get("id")
    methods = doc.get("assertionMethod") or []
    if not isinstance(did, str) or not methods:
        raise ValueError("DID document has no id or no assertion method")
    method = methods[0] if isinstance(methods[0], str) else methods[0].get("id", "")
    public_key = keys.check_public_key(key_from_did_document(doc, method))
    names = [a for a in doc.get("alsoKnownAs", []) if str(a).startswith("tracespace:")]
    name = names[0].removeprefix("tracespace:") if names else did
    return Peer(did, name, base_url.rstrip("/"), public_key)


def trust_peer(engine: Engine, peer: Peer) -> None:
    """Add or update a participant on the trust list."""
    with engine.begin() as conn:
        conn.execute(delete(trust_table).where(trust_table.c.did == peer.did))
        conn.execute(
            insert(trust_table).values(
                did=peer.did,
                name=peer.name,
                base_url=peer.base_url,
                public_key=peer.public_key,
                added=utc_now(),
            )
        )


def distrust_peer(engine: Engine, did: str) -> bool:
    with engine.begin() as conn:
        return conn.execute(delete(trust_table).where(trust_table.c.did == did)).rowcount > 0


def issue_token(node: Node, audience: str, lifetime: int = TOKEN_LIFETIME) -> str:
    now = int(time.time())
    claims = {
        "iss": node_did(node),
        "sub": node_did(node),
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(18),
    }
    key = Ed25519PrivateKey.from_private_bytes(bytes(node.signing_key))
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "JWT"})


class PeerAuthError(Exception):
    """A peer token is missing, malformed, untrusted, expired, replayed or not for us."""


def verify_token(node: Node, token: str) -> Peer:
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise PeerAuthError(f"malformed token: {exc}") from None
    issuer = unverified.get("iss")
    peer = find_peer(node.ledger.engine, str(issuer)) if isinstance(issuer, str) else None
    if peer is None:
        raise PeerAuthError("issuer is not on the trust list")
    try:
        claims = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(peer.public_key),
            algorithms=["EdDSA"],
            audience=node_did(node),
            issuer=peer.did,
            leeway=CLOCK_SKEW,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise PeerAuthError(f"token refused: {exc}") from None
    if int(claims["exp"]) - int(claims["iat"]) > MAX_TOKEN_LIFETIME:
        raise PeerAuthError("token lifetime is too long")
    _consume_nonce(node.ledger.engine, str(claims["jti"]), peer.did, int(claims["exp"]))
    return peer


class _NonceStore:
    """Accepted token ids of one database. `peer_nonce` is the source of truth (its primary
    key refuses a second use, whichever process sharing the database saw the first); an
    in-process map refuses replays seen here without a database round trip.

    The insert commits without waiting for the disk (SQLite `synchronous=NORMAL` on a
    dedicated connection, PostgreSQL `synchronous_commit=off`): other processes see the row
    as soon as it commits, and only an operating-system crash could lose it, reopening a
    token's remaining lifetime (at most `MAX_TOKEN_LIFETIME` seconds). Expired rows are
    deleted at most once per `PURGE_SECONDS`, not on every request."""

    PURGE_SECONDS = 60.0

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._seen: dict[str, int] = {}  # jti -> expiry, of tokens accepted by this process
        self._lock = threading.Lock()
        self._conn: Any = None
        self._next_purge = 0.0

    def _sqlite_connection(self) -> Any:
        if self._conn is None:
            proxied = self.engine.raw_connection()
            proxied.detach()  # owned by this store, not returned to the pool
            conn = proxied.dbapi_connection
            conn.execute("PRAGMA synchronous=NORMAL")  # this connection only
            self._conn = conn
        return self._conn

    def consume(self, jti: str, issuer: str, expires: int) -> None:
        now = int(time.time())
        with self._lock:
            if jti in self._seen:
                raise PeerAuthError("token was already used (replay)")
            purge = time.monotonic() >= self._next_purge
            if purge:
                self._next_purge = time.monotonic() + self.PURGE_SECONDS
                cutoff = now - CLOCK_SKEW
                self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
            try:
                if self.sqlite:
                    self._insert_sqlite(jti, issuer, expires, now if purge else None)
                else:
                    self._insert(jti, issuer, expires, now if purge else None)
            except IntegrityError:
                raise PeerAuthError("token was already used (replay)") from None
            self._seen[jti] = expires

    def _insert_sqlite(self, jti: str, issuer: str, expires: int, now: int | None) -> None:
        conn = self._sqlite_connection()
        try:
            if now is not None:
                conn.execute("DELETE FROM peer_nonce WHERE expires < ?", (now - CLOCK_SKEW,))
            conn.execute(
                "INSERT INTO peer_nonce (jti, issuer, expires) VALUES (?, ?, ?)",
                (jti, issuer, expires),
            )
            conn.commit()
        except self.engine.dialect.dbapi.IntegrityError:
            conn.rollback()
            raise IntegrityError("INSERT INTO peer_nonce", None, Exception("replay")) from None
        except BaseException:
            conn.rollback()
            raise

    def _insert(self, jti: str, issuer: str, expires: int, now: int | None) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            if now is not None:
                conn.execute(delete(nonce_table).where(nonce_table.c.expires < now - CLOCK_SKEW))
            conn.execute(insert(nonce_table).values(jti=jti, issuer=issuer, expires=expires))


_nonce_stores: weakref.WeakKeyDictionary[Engine, _NonceStore] = weakref.WeakKeyDictionary()
_nonce_stores_lock = threading.Lock()


def _consume_nonce(engine: Engine, jti: str, issuer: str, expires: int) -> None:
    store = _nonce_stores.get(engine)
    if store is None:
        with _nonce_stores_lock:
            store = _nonce_stores.get(engine)
            if store is None:
                store = _nonce_stores[engine] = _NonceStore(engine)
    store.consume(jti, issuer, expires)


def require_peer(request: Request, node: NodeDep) -> Peer:
    """FastAPI dependency: the authenticated, trusted peer calling this route."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token:
            raise PeerAuthError("no Bearer token")
        return verify_token(node, token.strip())
    except PeerAuthError as exc:
        # One answer for every refusal, so a caller cannot probe who is on the trust list;
        # the reason goes to the node's log only.
        log.info("peer token refused on %s: %s", request.url.path, exc)
        raise Problem(401, "Unauthorized", PEER_REFUSED, "unauthorized") from None


PeerDep = Annotated[Peer, Depends(require_peer)]


class PeerClient:
    """An httpx client to one trusted peer, signing a fresh token for every request."""

    def __init__(
        self,
        node: Node,
        peer: Peer,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.node = node
        self.peer = peer
        self._client = httpx.Client(base_url=peer.base_url, timeout=timeout, transport=transport)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        headers["Authorization"] = f"Bearer {issue_token(self.node, self.peer.did)}"
        return self._client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
