"""EPCIS 2.0 over HTTP: capture, event queries, events by id, and countersigned receipts."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from connector.auth import NodeDep, Operator
from connector.events.access import ReaderDep
from connector.events.capture import capture_document
from connector.events.errors import PartnerError
from connector.events.prepare import InvalidJSON, read_json
from connector.events.proofs import b64_hashes
from connector.events.query import EventQuery, encode_token, event_by_id, query_document, run_query
from connector.events.receipts import accept_receipt, countersign
from connector.peers import PeerDep
from connector.problems import Problem
from connector.routers import trace as trace_routes
from schemas.errors import InvalidRecord

router = APIRouter(prefix="/epcis", tags=["epcis"])
LD_JSON = "application/ld+json"
CAPTURE_TYPES = ("application/ld+json", "application/json")
MAX_CAPTURE_EVENTS = 10_000


def invalid_document(exc: InvalidRecord) -> Problem:
    return Problem(
        400,
        "Invalid EPCIS document",
        f"{len(exc.problems)} problem(s); nothing was captured",
        "invalid-epcis-document",
        errors=[{"path": path, "message": message} for path, message in exc.problems],
    )


@router.post("/capture", dependencies=[Operator])
async def capture(request: Request, node: NodeDep) -> JSONResponse:
    """Capture an EPCISDocument: all events or none; answers their ids and ledger seqs."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CAPTURE_TYPES:
        raise Problem(415, "Unsupported media type", f"send one of {', '.join(CAPTURE_TYPES)}")
    text = await request.body()
    document = _json_body(text)
    body = document.get("epcisBody") if isinstance(document, dict) else None
    events = body if isinstance(body, dict) else {}
    if isinstance(events.get("eventList"), list) and len(events["eventList"]) > MAX_CAPTURE_EVENTS:
        raise Problem(413, "Too many events", f"at most {MAX_CAPTURE_EVENTS} events per document")
    try:
        captured = await run_in_threadpool(
            capture_document, node, document, preparer=request.app.state.preparer, text=text
        )
    except InvalidRecord as exc:
        raise invalid_document(exc) from None
    return Response(
        orjson.dumps({"events": [c.to_json() for c in captured]}), media_type="application/json"
    )


def _json_body(body: bytes) -> Any:
    """The request body as JSON (`prepare.read_json`); a 400 problem if it is not JSON."""
    try:
        return read_json(body)
    except InvalidJSON as exc:
        raise Problem(400, "Invalid JSON", str(exc), "invalid-json") from None


@router.get("/events")
def events(request: Request, node: NodeDep, caller: ReaderDep) -> JSONResponse:
    """EPCIS 2.0 query parameters; pages follow the `Link: <...>; rel="next"` header."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "purpose"]
    query = EventQuery.from_params(params)
    found, after = run_query(node, query, caller)
    headers = {}
    if after is not None:
        url = request.url.remove_query_params("nextPageToken").include_query_params(
            nextPageToken=encode_token(after)
        )
        headers["Link"] = f'<{url}>; rel="next"'
    return JSONResponse(query_document(found), headers=headers, media_type=LD_JSON)


@router.post("/events/{event_id:path}/countersign", dependencies=[Operator])
def countersign_event(
    node: NodeDep,
    event_id: str,
    body: Annotated[dict[str, Any], Body(examples=[{"from": "did:web:mill.example"}])],
) -> dict[str, Any]:
    """Receiver: verify a partner's (shipping) event, ledger a receipt, deliver it back."""
    partner = body.get("from")
    if not isinstance(partner, str) or not partner:
        raise Problem(400, "Invalid request", 'give the shipper as {"from": DID or URL}')
    try:
        return countersign(node, event_id, partner)
    except PartnerError as exc:
        raise Problem(502, "Partner failed", str(exc), "partner-failed") from None


@router.post("/events/{event_id:path}/receipts", status_code=201)
def receive_receipt(
    node: NodeDep, peer: PeerDep, event_id: str, body: Annotated[Any, Body()]
) -> dict[str, Any]:
    """Shipper: ledger a trusted partner's countersignature of one of our events."""
    return accept_receipt(node, event_id, peer, body)


@router.get("/events/{event_id:path}")
def event(
    node: NodeDep,
    caller: ReaderDep,
    event_id: str,
    proof_size: Annotated[int | None, Query(alias="proofSize", ge=1)] = None,
) -> dict[str, Any]:
    """One event by Event Hash ID or declared eventID, with its ledger entry (and an
    inclusion proof for tree size `proofSize` when asked)."""
    stored = event_by_id(node, event_id, caller)
    answer = {
        "eventID": stored.event.get("eventID"),
        "eventHash": stored.entry["payload"].get("eventHash"),
        "seq": stored.seq,
        "signer": stored.kid,
        "entryHash": stored.entry_hash,
        "event": stored.event,
        "entry": stored.entry,
    }
    if proof_size is not None:
        if stored.seq >= proof_size:
            raise Problem(409, "Not yet in that tree", f"entry {stored.seq} >= size {proof_size}")
        answer["proof"] = b64_hashes(node.ledger.inclusion_proof(stored.seq, proof_size))
        answer["proofSize"] = proof_size
    return answer


api = APIRouter()
"""The EPCIS and the trace/recall routes, mounted by `create_app` with one line."""
api.include_router(router)
api.include_router(trace_routes.router)
