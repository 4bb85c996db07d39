"""Management API for contracts (operator token): assets, policies, definitions, partners,
catalog browsing, negotiations, agreements, transfers, duties, access log and proofs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import httpx
from fastapi import APIRouter, Body, Query, Request, Response

from connector.auth import NodeDep, Operator
from connector.dsp import contracts, dataplane, definitions, messages, negotiation, transfer
from connector.dsp.assets import kinds, provider_for
from connector.dsp.errors import AccessDenied, InvalidMessage
from connector.dsp.negotiation import dsp_base, peer_of
from connector.dsp.service import dsp_for
from connector.dsp.state import NEGOTIATION_STATES, TRANSFER_STATES
from connector.problems import Problem

router = APIRouter(prefix="/management", tags=["contracts"], dependencies=[Operator])
JsonBody = Annotated[dict[str, Any], Body()]
T = TypeVar("T")
WAIT_LIMIT = 60.0


def _checked(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except InvalidMessage as exc:
        errors = [{"path": p, "message": m} for p, m in exc.problems]
        raise Problem(400, "Invalid input", str(exc), "invalid-input", errors=errors) from None
    except AccessDenied as exc:
        raise Problem(403, "Usage denied", str(exc), "usage-denied", errors=exc.reasons) from None


# -- definitions -----------------------------------------------------------------------------


@router.get("/asset-kinds")
def asset_kinds() -> dict[str, Any]:
    return {"kinds": [{"kind": k, "description": provider_for(k).description} for k in kinds()]}


@router.post("/assets", status_code=201)
def create_asset(node: NodeDep, body: JsonBody) -> dict[str, Any]:
    """Create an asset: `{id, kind, title?, description?, classification?, source}`."""
    return _checked(lambda: definitions.create_asset(dsp_for(node), body))


@router.get("/assets")
def list_assets(node: NodeDep) -> dict[str, Any]:
    return {"assets": definitions.listing(dsp_for(node), "assets")}


@router.post("/policies", status_code=201)
def create_policy(node: NodeDep, body: JsonBody) -> dict[str, Any]:
    """Define an ODRL policy `{id, policy}`; every problem comes back with its JSON path."""
    return _checked(lambda: definitions.create_policy(dsp_for(node), body))


@router.get("/policies")
def list_policies(node: NodeDep) -> dict[str, Any]:
    return {"policies": definitions.listing(dsp_for(node), "policies")}


@router.post("/contract-definitions", status_code=201)
def create_definition(node: NodeDep, body: JsonBody) -> dict[str, Any]:
    """Offer a policy for assets: `{id, policy, assets: [...], approval: auto|manual}`."""
    return _checked(lambda: definitions.create_definition(dsp_for(node), body))


@router.get("/contract-definitions")
def list_definitions(node: NodeDep) -> dict[str, Any]:
    return {"definitions": definitions.listing(dsp_for(node), "definitions")}


@router.put("/partners")
def set_partner(node: NodeDep, body: JsonBody) -> dict[str, Any]:
    """Vouch for a trusted partner's roles and credentials: `{did, roles, credentials}`
    (inputs of `ts:partnerRole` and `ts:membershipCredential` constraints)."""
    did = str(body.get("did"))
    peer_of(dsp_for(node), did)
    return _checked(lambda: definitions.set_partner(dsp_for(node), did, body))


@router.get("/partners")
def list_partners(node: NodeDep) -> dict[str, Any]:
    return {"partners": definitions.listing(dsp_for(node), "partners")}


# -- a partner's catalog ---------------------------------------------------------------------


@router.post("/catalog")
def browse_catalog(node: NodeDep, body: JsonBody) -> Any:
    """Fetch a trusted partner's catalog: `{peer: DID, page?, size?}`."""
    svc = dsp_for(node)
    peer = peer_of(svc, str(body.get("peer")))
    params = {"page": int(body.get("page", 1)), "size": int(body.get("size", 50))}
    message = messages.message("CatalogRequestMessage", filter=[])
    try:
        response = svc.client(peer).post(
            f"{dsp_base(peer)}/catalog/request", json=message, params=params
        )
    except httpx.HTTPError as exc:
        raise Problem(502, "Partner unreachable", f"{peer.did}: {exc}") from None
    if response.status_code != 200:
        raise Problem(502, "Partner refused", f"{peer.did}: HTTP {response.status_code}")
    result = response.json()
    problems = negotiation.validate_message(result, "Catalog", jsonld_check=svc.settings.jsonld)
    if problems:
        errors = [{"path": p, "message": m} for p, m in problems]
        raise Problem(502, "Invalid catalog", f"{peer.did} sent an invalid catalog", errors=errors)
    return {"catalog": result, "next": response.links.get("next", {}).get("url")}


# -- negotiations ----------------------------------------------------------------------------


def _wait(svc: Any, probe: Callable[[], dict], wait: list[str], timeout: float, final) -> dict:
    if not wait:
        return probe()

    def ready() -> dict[str, Any] | None:
        found = probe()
        return found if found["state"] in wait or found["state"] in final else None

    return svc.wait_for(ready, min(timeout, WAIT_LIMIT)) or probe()


@router.post("/negotiations", status_code=201)
def start_negotiation(node: NodeDep, body: JsonBody) -> dict[str, Any]:
    """As consumer, request an offer from a partner's catalog: `{peer, offer}`
    (the offer as listed, plus `target`: the dataset id)."""
    svc = dsp_for(node)
    peer = peer_of(svc, str(body.get("peer")))
    return _checked(lambda: negotiation.start(svc, peer, body.get("offer")))


@router.get("/negotiations")
def list_negotiations(node: NodeDep, state: str | None = None) -> dict[str, Any]:
    return {"negotiations": negotiation.listing(dsp_for(node), state)}


@router.get("/negotiations/{negotiation_id}")
def get_negotiation(
    node: NodeDep,
    negotiation_id: str,
    wait: Annotated[list[str], Query(description="Return when in one of these states")] = [],  # noqa: B006
    timeout: Annotated[float, Query(ge=0, le=WAIT_LIMIT)] = 10.0,
) -> dict[str, Any]:
    """A negotiation with its history and reason; `wait` long-polls for a state."""
    svc = dsp_for(node)
    final = {"FINALIZED", "TERMINATED"}
    unknown = [s for s in wait if s not in NEGOTIATION_STATES]
    if unknown:
        raise Problem(400, "Invalid input", f"unknown states {unknown}")
    return _wait(svc, lambda: negotiation.get(svc, negotiation_id), wait, timeout, final)


@router.post("/negotiations/{negotiation_id}/approve")
def approve(node: NodeDep, negotiation_id: str) -> dict[str, Any]:
    return _checked(lambda: negotiation.approve(dsp_for(node), negotiation_id))


@router.post("/negotiations/{negotiation_id}/reject")
def reject(node: NodeDep, negotiation_id: str, body: JsonBody | None = None) -> dict[str, Any]:
    reason = str((body or {}).get("reason") or "rejected by the operator")
    return _checked(lambda: negotiation.terminate(dsp_for(node), negotiation_id, reason))


@router.post("/negotiations/{negotiation_id}/terminate")
def terminate_negotiation(
    node: NodeDep, negotiation_id: str, body: JsonBody | None = None
) -> dict[str, Any]:
    reason = str((body or {}).get("reason") or "terminated by the operator")
    return _checked(lambda: negotiation.terminate(dsp_for(node), negotiation_id, reason))


@router.post("/negotiations/{negotiation_id}/counter")
def counter(node: NodeDep, negotiation_id: str, body: JsonBody) -> dict[str, Any]:
    """Answer with other terms: `{policy}` (provider: an offer; consumer: a request)."""
    policy = body.get("policy")
    if not isinstance(policy, dict):
        raise Problem(400, "Invalid input", "policy must be an object", errors=[])
    return _checked(lambda: negotiation.counter(dsp_for(node), negotiation_id, policy))


# -- agreements ------------------------------------------------------------------------------


@router.get("/agreements")
def list_agreements(node: NodeDep) -> dict[str, Any]:
    return {"agreements": contracts.listing(dsp_for(node))}


@router.get("/agreements/{agreement_id}")
def get_agreement(node: NodeDep, agreement_id: str) -> dict[str, Any]:
    return contracts.get(dsp_for(node), agreement_id)


@router.post("/agreements/{agreement_id}/revoke")
def revoke(node: NodeDep, agreement_id: str, body: JsonBody) -> dict[str, Any]:
    """End an agreement after FINALIZED: `{reason}`; the data plane refuses it at once."""
    return _checked(
        lambda: contracts.revoke(dsp_for(node), agreement_id, str(body.get("reason", "")))
    )


@router.get("/agreements/{agreement_id}/proof")
def prove(node: NodeDep, agreement_id: str) -> dict[str, Any]:
    """A bundle proving who agreed to what and when (both signatures, both ledgers)."""
    return contracts.prove(dsp_for(node), agreement_id)


@router.get("/access-log")
def access_log(node: NodeDep, agreement: str | None = None) -> dict[str, Any]:
    return {"accesses": dataplane.access_log(dsp_for(node), agreement)}


@router.get("/duties")
def list_duties(node: NodeDep) -> dict[str, Any]:
    return {"duties": contracts.duties(dsp_for(node))}


@router.post("/duties/{duty_id}/fulfil")
def fulfil(node: NodeDep, duty_id: str, body: JsonBody | None = None) -> dict[str, Any]:
    """Consumer: confirm a duty is done (e.g. the data was deleted); the provider is told."""
    note = str((body or {}).get("note", ""))
    return _checked(lambda: contracts.fulfil(dsp_for(node), duty_id, note))


# -- transfers -------------------------------------------------------------------------------


@router.post("/transfers", status_code=201)
def start_transfer(node: NodeDep, body: JsonBody) -> dict[str, Any]:
    """As consumer, start a pull transfer: `{agreement}`."""
    return _checked(lambda: transfer.start(dsp_for(node), str(body.get("agreement"))))


@router.get("/transfers")
def list_transfers(node: NodeDep) -> dict[str, Any]:
    return {"transfers": transfer.listing(dsp_for(node))}


@router.get("/transfers/{transfer_id}")
def get_transfer(
    node: NodeDep,
    transfer_id: str,
    wait: Annotated[list[str], Query()] = [],  # noqa: B006
    timeout: Annotated[float, Query(ge=0, le=WAIT_LIMIT)] = 10.0,
) -> dict[str, Any]:
    svc = dsp_for(node)
    unknown = [s for s in wait if s not in TRANSFER_STATES]
    if unknown:
        raise Problem(400, "Invalid input", f"unknown states {unknown}")
    return _wait(
        svc, lambda: transfer.get(svc, transfer_id), wait, timeout, {"COMPLETED", "TERMINATED"}
    )


@router.post("/transfers/{transfer_id}/{action}")
def transfer_action(
    node: NodeDep, transfer_id: str, action: str, body: JsonBody | None = None
) -> dict[str, Any]:
    """`suspend`, `resume`, `complete` or `terminate` a transfer (`{reason}` optional)."""
    kinds_ = {"suspend": "suspension", "resume": "start", "complete": "completion"}
    kinds_["terminate"] = "termination"
    if action not in kinds_:
        raise Problem(404, "Not found", f"no transfer action {action!r}")
    reason = str((body or {}).get("reason", ""))
    return _checked(lambda: transfer.act(dsp_for(node), transfer_id, kinds_[action], reason))


@router.get("/transfers/{transfer_id}/data")
def pull(request: Request, node: NodeDep, transfer_id: str, purpose: str | None = None) -> Response:
    """As consumer, fetch a STARTED transfer's data from the provider's data plane."""
    params = {k: v for k, v in request.query_params.items() if k != "purpose"}
    data, media_type = _checked(lambda: contracts.pull(dsp_for(node), transfer_id, purpose, params))
    return Response(data, media_type=media_type)
