"""Data Integrity proofs (eddsa-jcs-2022) by the node key, and the key resolvers to check them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import rfc8785

from connector.node import Node
from connector.peers import node_did
from ledger.note import split_vkey
from schemas import integrity
from schemas.errors import InvalidRecord, RecordNotFound

Resolver = Callable[[str], bytes]


def verification_method(node: Node) -> str:
    """The method id the node signs with: its DID, '#', its Multikey (as in did.json)."""
    return f"{node_did(node)}#{integrity.encode_public_key(node.public_key)}"


def sign_document(node: Node, document: dict[str, Any], created: str | None = None) -> dict:
    """A copy of `document` with an eddsa-jcs-2022 proof by the node key."""
    return integrity.create_proof(
        document, bytes(node.signing_key), verification_method(node), created=created
    )


def digest(document: dict[str, Any]) -> str:
    """SHA-256 hex of the RFC 8785 canonical bytes: the hash the ledger records."""
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()


def proof_methods(document: dict[str, Any]) -> list[str]:
    """The verification methods named by the document's proofs."""
    proof = document.get("proof")
    proofs = proof if isinstance(proof, list) else [proof] if proof else []
    return [p.get("verificationMethod", "") for p in proofs if isinstance(p, dict)]


def issuer_of(document: dict[str, Any]) -> str:
    """The DID of the (first) signer: the verification method without its fragment."""
    methods = proof_methods(document)
    if not methods:
        raise InvalidRecord([("$.proof", "the record has no proof")])
    return methods[0].split("#", 1)[0]


def key_resolver(public_key: bytes) -> Resolver:
    """Accept any method that resolves to exactly this key (a partner's key, given out of band)."""

    def resolve(method: str) -> bytes:
        return public_key

    return resolve


def parse_key(text: str) -> bytes:
    """A public key given as a Multikey (`z6Mk...`) or as a C2SP note vkey (`name+id+base64`)."""
    text = text.strip()
    if text.startswith("z"):
        return integrity.decode_public_key(text)
    _, _, alg, public_key = split_vkey(text)
    if alg != 1 or len(public_key) != 32:
        raise InvalidRecord("the vkey is not an Ed25519 key")
    return public_key


def did_document_resolver(document: dict[str, Any]) -> Resolver:
    """Resolve methods against one DID document (assertionMethod relationship)."""

    def resolve(method: str) -> bytes:
        return integrity.key_from_did_document(document, method)

    return resolve


def did_web_url(did: str) -> str:
    """Where a did:web DID document lives; loopback hosts are reached over plain HTTP."""
    if not did.startswith("did:web:"):
        raise RecordNotFound(f"{did!r} is not a did:web DID")
    host, *path = did.removeprefix("did:web:").split(":")
    host = unquote(host)
    scheme = "http" if host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]") else "https"
    base = f"{scheme}://{host}"
    if path:
        return base + "/" + "/".join(unquote(p) for p in path) + "/did.json"
    return base + "/.well-known/did.json"


def fetch_did_document(url: str, client: httpx.Client | None = None) -> dict[str, Any]:
    own = client is None
    client = client or httpx.Client(timeout=10)
    try:
        response = client.get(url)
        response.raise_for_status()
        data = response.json()
    finally:
        if own:
            client.close()
    if not isinstance(data, dict):
        raise RecordNotFound(f"{url} did not return a DID document")
    return data


def node_url_resolver(base_url: str) -> Resolver:
    """Resolve through `GET {base_url}/.well-known/did.json` (the node a record came from)."""
    document = fetch_did_document(base_url.rstrip("/") + "/.well-known/did.json")
    return did_document_resolver(document)


def did_web_resolver(method: str) -> bytes:
    """Resolve a did:web method by fetching its DID document (network)."""
    did = method.split("#", 1)[0]
    document = fetch_did_document(did_web_url(did))
    if document.get("id") != did:
        raise RecordNotFound(f"the DID document at {did_web_url(did)} is not for {did}")
    return integrity.key_from_did_document(document, method)


def load_json(path: Path) -> Any:
    """A JSON file, with a clear error for bad JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidRecord(f"{path} is not JSON: {exc}") from None


def verify_document(document: Any, resolve: Resolver) -> integrity.VerificationResult:
    """Check every proof on `document`; raises ProofError or InvalidRecord."""
    return integrity.verify(document, resolve)
