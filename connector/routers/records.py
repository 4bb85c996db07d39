"""Records on the node: our JSON-LD contexts, the operator's record/BOM/client/share routes,
and the peer routes through which partners pull the signed records shared with them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

import schemas.pact
import schemas.quality
from connector.auth import NodeDep, Operator
from connector.peers import PeerDep
from connector.problems import Problem
from connector.records import bom, events, exchange, footprints, pact_auth, quality, sharing
from connector.records.store import get_record, list_records
from connector.routers import pact
from schemas.errors import InvalidRecord, RecordError

Kind = Literal["pact.footprint", "quality.record"]
router = APIRouter(tags=["records"])
manage = APIRouter(prefix="/management", tags=["management"], dependencies=[Operator])

CONTEXT_FILES = {
    "pact/v1": (
        schemas.pact.CONTEXT_URL,
        Path(schemas.pact.__file__).with_name("context-v1.jsonld"),
    ),
    "quality/v1": (
        schemas.quality.CONTEXT_URL,
        Path(schemas.quality.__file__).with_name("context-v1.jsonld"),
    ),
}


def _rejected(exc: RecordError) -> Problem:
    """A record the libraries refused, as problem+json with every JSON path."""
    if isinstance(exc, InvalidRecord):
        errors = [{"path": p, "message": m} for p, m in exc.problems]
        return Problem(400, "Invalid record", str(exc), "invalid-record", errors=errors)
    reason = getattr(exc, "reason", "")
    return Problem(422, "Record refused", str(exc), "record-refused", reason=reason)


@router.get("/contexts/{family}/{version}", tags=["records"])
def context(family: str, version: str) -> Response:
    """Our JSON-LD contexts, served at the path of their URL (`/contexts/pact/v1`)."""
    entry = CONTEXT_FILES.get(f"{family}/{version}")
    if entry is None:
        raise Problem(404, "Not found", f"no context {family}/{version}")
    return Response(entry[1].read_bytes(), media_type="application/ld+json")


# -- records -------------------------------------------------------------------------------


class FootprintIssue(BaseModel):
    footprint: dict[str, Any] = Field(description="A PACT v3 (or v2.x) ProductFootprint")
    subjects: list[str] = Field(default_factory=list, description="Batch or serial ids")


@manage.post("/records/footprints", status_code=201)
def issue_footprint(request: Request, node: NodeDep, body: FootprintIssue) -> dict[str, Any]:
    """Validate (three layers), sign, store and ledger a footprint of ours; notify partners."""
    try:
        record, warnings = footprints.issue(node, body.footprint, body.subjects)
    except RecordError as exc:
        raise _rejected(exc) from None
    transport = getattr(request.app.state, "records_transport", None)
    exchange.notify_published(node, [record], transport=transport)
    return {
        **record.summary(),
        "warnings": [{"path": w.path, "message": w.message} for w in warnings],
        "document": record.document,
    }


@manage.post("/records/quality", status_code=201)
def issue_quality(node: NodeDep, record: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """Validate, sign, store and ledger a quality record of ours."""
    try:
        stored = quality.issue(node, record)
    except RecordError as exc:
        raise _rejected(exc) from None
    return {**stored.summary(), "document": stored.document}


@manage.get("/records")
def records(
    node: NodeDep,
    kind: Kind | None = None,
    direction: Literal["issued", "received"] | None = None,
) -> dict[str, Any]:
    return {"v": 1, "records": [r.summary() for r in list_records(node, kind, direction)]}


@manage.get("/records/{record_id}")
def record(node: NodeDep, record_id: str) -> dict[str, Any]:
    stored = get_record(node, record_id)
    return {**stored.summary(), "document": stored.document}


class Pull(BaseModel):
    peer: str = Field(description="DID of a trusted partner node")
    kind: str = Field("pact.footprint", description="pact.footprint or quality.record")
    ids: list[str] | None = None
    purpose: str | None = Field(None, description="declared to the partner's policy")


@manage.post("/records/pull")
def pull(request: Request, node: NodeDep, body: Pull) -> dict[str, Any]:
    """Pull the records a partner shares with us; each is verified, stored and ledgered."""
    transport = getattr(request.app.state, "records_transport", None)
    try:
        report = exchange.pull(
            node,
            exchange.find_trusted(node, body.peer),
            body.kind,
            body.ids,
            transport=transport,
            purpose=body.purpose,
        )
    except RecordError as exc:
        raise _rejected(exc) from None
    except httpx.HTTPError as exc:
        raise Problem(502, "Partner unreachable", f"{body.peer}: {exc}") from None
    return {
        "v": 1,
        "received": [r.summary() for r in report.received],
        "alreadyHeld": report.already_held,
        "recalculated": [r.summary() for r in report.recalculated],
    }


class FootprintRequest(BaseModel):
    peer: str = Field(description="DID of a trusted partner node")
    criteria: dict[str, Any] = Field(description="RequestCreatedEvent data (productId, ...)")


@manage.post("/records/requests", status_code=202)
def request_footprints(request: Request, node: NodeDep, body: FootprintRequest) -> dict[str, Any]:
    """Send a PACT RequestCreatedEvent to a partner; its answer arrives at /3/events."""
    transport = getattr(request.app.state, "records_transport", None)
    try:
        event_id = events.send_request(node, body.peer, body.criteria, transport)
    except httpx.HTTPError as exc:
        raise Problem(502, "Partner unreachable", f"{body.peer}: {exc}") from None
    return {"v": 1, "requestEventId": event_id}


@manage.get("/records/requests/{event_id}")
def request_state(node: NodeDep, event_id: str) -> dict[str, Any]:
    status = events.request_status(node, event_id)
    if status is None:
        raise Problem(404, "Not found", f"no request {event_id} sent by this node")
    return {"v": 1, "requestEventId": event_id, "status": status}


# -- BOMs ----------------------------------------------------------------------------------


@manage.put("/boms/{key}")
def put_bom(node: NodeDep, key: str, definition: Annotated[dict[str, Any], Body()]) -> dict:
    """Create or replace a product's BOM definition (format v1)."""
    bom.save_bom(node, key, definition)
    return {"v": 1, "key": key}


@manage.get("/boms")
def boms(node: NodeDep) -> dict[str, Any]:
    return {"v": 1, "boms": bom.list_boms(node)}


@manage.get("/boms/{key}")
def get_bom(node: NodeDep, key: str) -> dict[str, Any]:
    definition, current = bom.load_bom(node, key)
    return {"v": 1, "key": key, "definition": definition, "currentFootprint": current or None}


@manage.post("/boms/{key}/calculate", status_code=201)
def calculate(request: Request, node: NodeDep, key: str) -> dict[str, Any]:
    """Recompute the product footprint from the latest supplier footprints and publish it."""
    try:
        record = bom.calculate(node, key)
    except RecordError as exc:
        raise _rejected(exc) from None
    transport = getattr(request.app.state, "records_transport", None)
    exchange.notify_published(node, [record], transport=transport)
    return {**record.summary(), "document": record.document}


# -- PACT clients and the operator override ------------------------------------------------


class ClientRegistration(BaseModel):
    name: str
    sources: list[str] = Field(description="CloudEvents sources the client may send from")
    partner: str = Field("", description="DID the client speaks for (its agreements apply)")
    callback_url: str = Field("", description="Events endpoint for answers to its requests")


@manage.post("/pact/clients", status_code=201)
def register_client(node: NodeDep, body: ClientRegistration) -> dict[str, Any]:
    """Register a PACT API client; the secret is shown only in this answer."""
    client, secret = pact_auth.register_client(
        node, body.name, body.sources, body.partner, body.callback_url
    )
    return {"v": 1, "clientId": client.client_id, "clientSecret": secret, "name": client.name}


@manage.get("/pact/clients")
def clients(node: NodeDep) -> dict[str, Any]:
    return {
        "v": 1,
        "clients": [
            {
                "clientId": c.client_id,
                "name": c.name,
                "partner": c.partner or None,
                "sources": list(c.sources),
                "callbackUrl": c.callback_url or None,
            }
            for c in pact_auth.list_clients(node)
        ],
    }


@manage.delete("/pact/clients/{client_id}", status_code=204)
def remove_client(node: NodeDep, client_id: str) -> None:
    pact_auth.remove_client(node, client_id)


class Share(BaseModel):
    partner: str = Field(description="A peer DID, or pact-client:CLIENT_ID")
    kind: str = Field(description="pact.footprint or quality.record")


@manage.get("/records-shares")
def shares(node: NodeDep) -> dict[str, Any]:
    return {"v": 1, "shares": [{"partner": p, "kind": k} for p, k in sharing.grants(node.engine)]}


@manage.post("/records-shares", status_code=201)
def add_share(node: NodeDep, body: Share) -> dict[str, Any]:
    """Operator override: a partner receives all our records of one kind outside any
    agreement (for PACT clients without a DID; agreements are the normal way)."""
    sharing.grant(node, body.partner, body.kind)
    return {"v": 1, "partner": body.partner, "kind": body.kind}


@manage.delete("/records-shares", status_code=204)
def remove_share(node: NodeDep, partner: str, kind: str) -> None:
    sharing.revoke(node, partner, kind)


# -- peers pulling what is shared with them ------------------------------------------------


@router.get("/records/shared", tags=["peers"])
def shared(node: NodeDep, peer: PeerDep, kind: Kind, purpose: str | None = None) -> dict[str, Any]:
    """The signed records of `kind` the calling peer may receive under its agreements
    (ledgered); 403 naming every failed constraint when none permits the access."""
    found = exchange.shared_with(node, peer.did, kind, purpose)
    exchange.ledger_provided(node, peer.did, found)
    return {"v": 1, "records": [r.document for r in found]}


@router.get("/records/shared/{record_id}", tags=["peers"])
def shared_one(
    node: NodeDep, peer: PeerDep, record_id: str, purpose: str | None = None
) -> dict[str, Any]:
    """One signed record the calling peer may receive (ledgered); 404 when unknown or not
    covered alike."""
    found = exchange.shared_record(node, peer.did, record_id, purpose)
    exchange.ledger_provided(node, peer.did, [found])
    return found.document


router.include_router(manage)
router.include_router(pact.token_router)
router.include_router(pact.router)
