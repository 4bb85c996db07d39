"""Trace and recall over HTTP: provenance graphs across this node and its partners."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from connector.auth import NodeDep
from connector.events.access import ReaderDep
from connector.events.errors import InvalidQuery
from connector.events.objects import object_key
from connector.events.partners import DEFAULT_BUDGET
from connector.events.recall import recall
from connector.events.tables import micros
from connector.events.trace import DEFAULT_DEPTH, TraceRequest, trace

router = APIRouter(tags=["trace"])


def _moment(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "+").upper())
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidQuery(f"{name} must be an RFC 3339 date-time with an offset")
    return micros(moment)


def _request(
    object_id: str,
    direction: str,
    depth: int,
    since: str | None,
    until: str | None,
    proof_size: int | None,
    via: str,
    budget: float,
    purpose: str | None = None,
) -> TraceRequest:
    return TraceRequest(
        object_id=object_key(object_id),
        direction=direction,
        depth=depth,
        since=_moment("since", since),
        until=_moment("until", until),
        proof_size=proof_size,
        via=[v for v in via.split(",") if v],
        budget=budget,
        purpose=purpose or None,
    )


Direction = Annotated[str, Query(pattern="^(upstream|downstream)$")]
Depth = Annotated[int, Query(ge=0, description="hops to follow (limit in docs/trace.md)")]
ProofSize = Annotated[int | None, Query(alias="proofSize", ge=1)]
Budget = Annotated[float, Query(gt=0, le=60, description="seconds for partner calls")]
Purpose = Annotated[
    str | None, Query(description="why (e.g. traceability, recall); sent on to partners")
]


@router.get("/trace/{object_id:path}")
def trace_object(
    node: NodeDep,
    caller: ReaderDep,
    object_id: str,
    direction: Direction = "upstream",
    depth: Depth = DEFAULT_DEPTH,
    since: str | None = None,
    until: str | None = None,
    proof_size: ProofSize = None,
    via: str = "",
    budget: Budget = DEFAULT_BUDGET,
    purpose: Purpose = None,
) -> dict[str, Any]:
    """The provenance graph `{nodes, edges, events, hops, unreachable, refused}` of one object."""
    request = _request(object_id, direction, depth, since, until, proof_size, via, budget, purpose)
    return trace(node, request, caller)


@router.get("/recall/{object_id:path}")
def recall_object(
    node: NodeDep,
    caller: ReaderDep,
    object_id: str,
    depth: Depth = DEFAULT_DEPTH,
    since: str | None = None,
    budget: Budget = DEFAULT_BUDGET,
    purpose: Purpose = None,
) -> dict[str, Any]:
    """Every lot, carton, serial and party downstream of one object, with last locations."""
    request = _request(object_id, "downstream", depth, since, None, None, "", budget, purpose)
    return recall(node, request, caller)
