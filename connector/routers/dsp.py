"""Dataspace Protocol 2025-1 endpoints (peer-authenticated), the version document and data plane.

Negotiation and transfer errors use the DSP error bodies: an illegal transition or an
invalid message is 400 with a ContractNegotiationError / TransferError; an unknown
process and another participant's process are both 404, with identical bodies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from connector.auth import NodeDep
from connector.dsp import catalog, contracts, dataplane, messages, negotiation, transfer
from connector.dsp.errors import AccessDenied, IllegalTransition, InvalidMessage, ProcessNotFound
from connector.dsp.service import dsp_for
from connector.dsp.tables import negotiation_table, transfer_table
from connector.peers import Peer, PeerDep, node_did
from connector.problems import Problem
from connector.routers import contracts as management

router = APIRouter(tags=["dsp"])
"""Protocol routes; the management routes of `connector.routers.contracts` are included."""
JsonBody = Annotated[Any, Body()]
VERSION = "2025-1"


@router.get("/.well-known/dspace-version")
def dspace_version(node: NodeDep) -> dict[str, Any]:
    """The protocol versions this node speaks (DSP 2025-1 version document)."""
    return {
        "protocolVersions": [
            {
                "version": VERSION,
                "path": "/dsp",
                "binding": "HTTPS",
                "serviceId": node_did(node) + "#dsp",
                "identifierType": "did:web",
            }
        ]
    }


def _pids(body: Any, pid: str | None, role: str | None) -> tuple[str, str]:
    body = body if isinstance(body, dict) else {}
    provider = str(body.get("providerPid") or (pid if role == "provider" else "") or "")
    consumer = str(body.get("consumerPid") or (pid if role == "consumer" else "") or "")
    return provider, consumer


def _run(
    error_kind: str, body: Any, pid: str | None, role: str | None, fn: Callable[[], Any], status=200
) -> Any:
    provider, consumer = _pids(body, pid, role)
    build = messages.negotiation_error if error_kind == "negotiation" else messages.transfer_error
    try:
        result = fn()
    except ProcessNotFound:
        return JSONResponse(build(provider, consumer, "404", ["not found"]), status_code=404)
    except IllegalTransition as exc:
        return JSONResponse(build(provider, consumer, "400", [str(exc)]), status_code=400)
    except InvalidMessage as exc:
        reasons = [f"{path}: {message}" for path, message in exc.problems]
        return JSONResponse(build(provider, consumer, "400", reasons), status_code=400)
    if result is None:
        return Response(status_code=200)
    return JSONResponse(result, status_code=status)


def _role(node: Any, table: Any, pid: str, peer: Peer) -> str | None:
    with node.engine.connect() as conn:
        for role, column in (
            ("provider", table.c.provider_pid),
            ("consumer", table.c.consumer_pid),
        ):
            row = conn.execute(
                select(table.c.peer_did).where(table.c.role == role, column == pid)
            ).first()
            if row is not None and row.peer_did == peer.did:
                return role
    return None


# -- catalog ---------------------------------------------------------------------------------


@router.post("/dsp/catalog/request")
def catalog_request(
    request: Request,
    node: NodeDep,
    peer: PeerDep,
    body: JsonBody,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=catalog.MAX_PAGE)] = 50,
) -> Any:
    """CatalogRequestMessage → the catalog this participant may see (Link: next page)."""
    svc = dsp_for(node)
    try:
        negotiation.check(svc, body, "CatalogRequestMessage")
    except InvalidMessage as exc:
        error = messages.message(
            "CatalogError", code="400", reason=[f"{p}: {m}" for p, m in exc.problems]
        )
        return JSONResponse(error, status_code=400)
    result, more = catalog.catalog(svc, peer, page, size)
    headers = {}
    links = []
    base = str(request.url.remove_query_params(["page", "size"]))
    if more:
        links.append(f'<{base}?page={page + 1}&size={size}>; rel="next"')
    if page > 1:
        links.append(f'<{base}?page={page - 1}&size={size}>; rel="previous"')
    if links:
        headers["Link"] = ", ".join(links)
    return JSONResponse(result, headers=headers)


@router.get("/dsp/catalog/datasets/{dataset_id:path}")
def dataset_request(node: NodeDep, peer: PeerDep, dataset_id: str) -> Any:
    """A dataset by id (DatasetRequestMessage in 2025-1 is this GET); 404 if not visible."""
    try:
        return catalog.dataset(dsp_for(node), peer, dataset_id)
    except ProcessNotFound:
        error = messages.message("CatalogError", code="404", reason=["dataset not found"])
        return JSONResponse(error, status_code=404)


# -- contract negotiation --------------------------------------------------------------------


@router.post("/dsp/negotiations/request", status_code=201)
def negotiation_request(node: NodeDep, peer: PeerDep, body: JsonBody) -> Any:
    svc = dsp_for(node)
    return _run(
        "negotiation",
        body,
        None,
        None,
        lambda: negotiation.receive_request(svc, peer, body),
        201,
    )


@router.post("/dsp/negotiations/offers", status_code=201)
def negotiation_initial_offer(node: NodeDep, peer: PeerDep, body: JsonBody) -> Any:
    svc = dsp_for(node)
    return _run(
        "negotiation", body, None, None, lambda: negotiation.receive_offer(svc, peer, body), 201
    )


@router.get("/dsp/negotiations/{pid}")
def negotiation_state(node: NodeDep, peer: PeerDep, pid: str) -> Any:
    svc = dsp_for(node)
    role = _role(node, negotiation_table, pid, peer)
    return _run(
        "negotiation",
        None,
        pid,
        role,
        lambda: negotiation.state_of(svc, peer, pid, role or "provider"),
    )


def _negotiation(node: Any, peer: Peer, pid: str, body: Any, want: str | None, fn) -> Any:
    role = _role(node, negotiation_table, pid, peer)

    def call() -> Any:
        if role is None:
            raise ProcessNotFound(pid)
        if want is not None and role != want:
            raise IllegalTransition("-", f"this message sent to the {role}")
        return fn(dsp_for(node), role)

    return _run("negotiation", body, pid, role or want, call)


@router.post("/dsp/negotiations/{pid}/request")
def negotiation_counter_request(node: NodeDep, peer: PeerDep, pid: str, body: JsonBody) -> Any:
    return _negotiation(
        node,
        peer,
        pid,
        body,
        "provider",
        lambda svc, role: negotiation.receive_request(svc, peer, body, pid) and None,
    )


@router.post("/dsp/negotiations/{pid}/offers")
def negotiation_counter_offer(node: NodeDep, peer: PeerDep, pid: str, body: JsonBody) -> Any:
    return _negotiation(
        node,
        peer,
        pid,
        body,
        "consumer",
        lambda svc, role: negotiation.receive_offer(svc, peer, body, pid),
    )


@router.post("/dsp/negotiations/{pid}/events")
def negotiation_event(node: NodeDep, peer: PeerDep, pid: str, body: JsonBody) -> Any:
    return _negotiation(
        node,
        peer,
        pid,
        body,
        None,
        lambda svc, role: negotiation.receive_event(svc, peer, body, pid, role),
    )


@router.post("/dsp/negotiations/{pid}/agreement")
def negotiation_agreement(node: NodeDep, peer: PeerDep, pid: str, body: JsonBody) -> Any:
    return _negotiation(
        node,
        peer,
        pid,
        body,
        "consumer",
        lambda svc, role: negotiation.receive_agreement(svc, peer, body, pid),
    )


@router.post("/dsp/negotiations/{pid}/agreement/verification")
def negotiation_verification(node: NodeDep, peer: PeerDep, pid: str, body: JsonBody) -> Any:
    return _negotiation(
        node,
        peer,
        pid,
        body,
        "provider",
        lambda svc, role: negotiation.receive_verification(svc, peer, body, pid),
    )


@router.post("/dsp/negotiations/{pid}/termination")
def negotiation_termination(node: NodeDep, peer: PeerDep, pid: str, body: JsonBody) -> Any:
    return _negotiation(
        node,
        peer,
        pid,
        body,
        None,
        lambda svc, role: negotiation.receive_termination(svc, peer, body, pid, role),
    )


# -- transfer process ------------------------------------------------------------------------


@router.post("/dsp/transfers/request", status_code=201)
def transfer_request(node: NodeDep, peer: PeerDep, body: JsonBody) -> Any:
    svc = dsp_for(node)
    return _run(
        "transfer", body, None, None, lambda: transfer.receive_request(svc, peer, body), 201
    )


@router.get("/dsp/transfers/{pid}")
def transfer_state(node: NodeDep, peer: PeerDep, pid: str) -> Any:
    svc = dsp_for(node)
    role = _role(node, transfer_table, pid, peer)
    return _run(
        "transfer", None, pid, role, lambda: transfer.state_of(svc, peer, pid, role or "provider")
    )


@router.post("/dsp/transfers/{pid}/{kind}")
def transfer_message(node: NodeDep, peer: PeerDep, pid: str, kind: str, body: JsonBody) -> Any:
    role = _role(node, transfer_table, pid, peer)

    def call() -> Any:
        if kind not in ("start", "completion", "suspension", "termination"):
            raise ProcessNotFound(kind)
        if role is None:
            raise ProcessNotFound(pid)
        return transfer.receive(dsp_for(node), peer, body, pid, role, kind)

    return _run("transfer", body, pid, role, call)


# -- tracespace extensions: revocation, duties, evidence -------------------------------------


@router.post("/dsp/agreements/{agreement_id}/revocation")
def agreement_revocation(node: NodeDep, peer: PeerDep, agreement_id: str, body: JsonBody) -> Any:
    contracts.receive_revocation(dsp_for(node), peer, agreement_id, body)
    return Response(status_code=200)


@router.post("/dsp/agreements/{agreement_id}/duties/{duty_id}")
def agreement_duty(
    node: NodeDep, peer: PeerDep, agreement_id: str, duty_id: str, body: JsonBody
) -> Any:
    contracts.receive_duty_notice(dsp_for(node), peer, agreement_id, duty_id, body)
    return Response(status_code=200)


@router.get("/dsp/agreements/{agreement_id}/evidence")
def agreement_evidence(node: NodeDep, peer: PeerDep, agreement_id: str) -> Any:
    """Our ledger entry of an agreement, with its audit proof (the counterpart only)."""
    return contracts.evidence(dsp_for(node), peer, agreement_id)


# -- data plane ------------------------------------------------------------------------------


@router.get("/dataplane/{pid}", tags=["dataplane"])
def data_plane(request: Request, node: NodeDep, pid: str, purpose: str | None = None) -> Response:
    """Serve a transfer's data under its agreement; 403 names every failed constraint."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Problem(401, "Unauthorized", "send the transfer token as a Bearer token")
    params = {k: v for k, v in request.query_params.items() if k != "purpose"}
    try:
        data, media_type, meta = dataplane.access(
            dsp_for(node), pid, token.strip(), purpose, params
        )
    except AccessDenied as exc:
        raise Problem(403, "Usage denied", str(exc), "usage-denied", errors=exc.reasons) from None
    return Response(
        data,
        media_type=media_type,
        headers={"X-Agreement": meta["agreement"], "X-Access-Seq": str(meta["seq"])},
    )


router.include_router(management.router)
