"""The node's identity (`/.well-known/did.json`) and the operator's trust list."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter
from pydantic import BaseModel, Field

from connector.auth import NodeDep, Operator
from connector.peers import (
    PeerDep,
    distrust_peer,
    fetch_did_document,
    node_did_document,
    peer_from_did_document,
    trust_peer,
    trusted_peers,
)
from connector.problems import Problem

router = APIRouter(tags=["peers"])


class PeerImport(BaseModel):
    url: str = Field(description="Base URL of the partner node", examples=["http://127.0.0.1:8082"])
    did: str | None = Field(None, description="The DID the operator expects (confirmation)")


@router.get("/.well-known/did.json")
def did_json(node: NodeDep) -> dict[str, Any]:
    """This node's DID document (did:web) with its Ed25519 Multikey."""
    return node_did_document(node)


@router.get("/management/peers", dependencies=[Operator], tags=["management"])
def list_peers(node: NodeDep) -> dict[str, Any]:
    return {
        "peers": [
            {"did": p.did, "name": p.name, "url": p.base_url} for p in trusted_peers(node.engine)
        ]
    }


@router.post("/management/peers", dependencies=[Operator], tags=["management"], status_code=201)
def import_peer(node: NodeDep, body: PeerImport) -> dict[str, Any]:
    """Trust a partner from its DID document; `did` must match when given."""
    try:
        peer = peer_from_did_document(fetch_did_document(body.url), body.url)
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise Problem(400, "Peer import failed", f"{body.url}: {exc}") from None
    if body.did is not None and body.did != peer.did:
        raise Problem(400, "Peer import failed", f"{body.url} presents {peer.did}, not {body.did}")
    trust_peer(node.engine, peer)
    return {"did": peer.did, "name": peer.name, "url": peer.base_url}


@router.delete(
    "/management/peers/{did}", dependencies=[Operator], tags=["management"], status_code=204
)
def remove_peer(node: NodeDep, did: str) -> None:
    if not distrust_peer(node.engine, did):
        raise Problem(404, "Not found", f"{did} is not on the trust list")


@router.get("/peer/whoami", tags=["peers"])
def whoami(peer: PeerDep) -> dict[str, str]:
    """Echo the authenticated peer: lets a partner check its token is accepted."""
    return {"did": peer.did, "name": peer.name}
