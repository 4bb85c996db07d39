"""PACT v3 CloudEvents at `/3/events`: validate, check the source, ledger, then act.

RequestCreated is answered asynchronously with RequestFulfilled (the matching footprints
the caller may see) or RequestRejected (NotFound). Published, RequestFulfilled and
RequestRejected from a peer node make this node pull the signed footprints named.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert, select, update

from connector.node import Node
from connector.peers import PeerClient
from connector.records import exchange
from connector.records.footprints import FootprintFilter, issued_footprints, served
from connector.records.pact_auth import PactCaller, source_allowed
from connector.records.sharing import decide
from connector.records.tables import request_table
from ledger.entry import utc_now
from ledger.errors import InvalidInput, NotAllowed
from schemas.pact import validate_component

PREFIX = "org.wbcsd.pact.ProductFootprint."
CREATED = PREFIX + "RequestCreatedEvent.3"
FULFILLED = PREFIX + "RequestFulfilledEvent.3"
REJECTED = PREFIX + "RequestRejectedEvent.3"
PUBLISHED = PREFIX + "PublishedEvent.3"
COMPONENTS = {
    CREATED: "RequestCreatedEvent",
    FULFILLED: "RequestFulfilledEvent",
    REJECTED: "RequestRejectedEvent",
    PUBLISHED: "PublishedEvent",
}
log = logging.getLogger("tracespace.records")
Schedule = Callable[..., None]


def check_event(event: Any) -> str:
    """Layer-1 validation against the PACT event schemas; returns the event type.

    PublishedEvent ids that are not UUIDs are tolerated (and later ignored): the PACT
    conformance service's own TC15 sends a GTIN URN there and expects 200.
    """
    if not isinstance(event, dict):
        raise InvalidInput("$: an event is a JSON object")
    kind = event.get("type")
    if kind not in COMPONENTS:
        raise InvalidInput(f"$.type: unsupported event type {kind!r}")
    report = validate_component(event, COMPONENTS[kind])
    errors = [f for f in report.errors if not (kind == PUBLISHED and "pfIds[" in f.path)]
    if errors:
        raise InvalidInput("; ".join(f"{f.path}: {f.message}" for f in errors))
    if event.get("specversion") != "1.0":
        raise InvalidInput("$.specversion: must be 1.0")
    return kind


def _ledger_received(node: Node, caller: PactCaller, event: dict[str, Any], tx: Any) -> None:
    tx.append(
        "pact.event",
        {
            "v": 1,
            "direction": "received",
            "type": event["type"],
            "id": event["id"],
            "source": event["source"],
            "caller": caller.partner,
        },
    )


def _uuids(values: Any) -> list[str]:
    found = []
    for value in values if isinstance(values, list) else []:
        try:
            found.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue
    return found


def handle(
    node: Node,
    caller: PactCaller,
    event: Any,
    schedule: Schedule,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Accept one event from `caller`; `schedule(fn, *args)` runs follow-up work later."""
    kind = check_event(event)
    if not source_allowed(caller, str(event["source"])):
        raise NotAllowed(f"event source {event['source']!r} does not belong to the caller")
    data = event["data"]
    with node.ledger.transaction() as tx:
        conn = tx.connection
        if kind == CREATED:
            exists = conn.execute(
                select(request_table.c.event_id).where(
                    request_table.c.event_id == event["id"],
                    request_table.c.direction == "received",
                )
            ).first()
            if exists:
                raise InvalidInput(f"$.id: request {event['id']} was already received")
            conn.execute(
                insert(request_table).values(
                    event_id=event["id"],
                    direction="received",
                    counterpart=caller.partner,
                    status="pending",
                    criteria=json.dumps(data),
                    updated=utc_now(),
                )
            )
        elif kind in (FULFILLED, REJECTED):
            row = conn.execute(
                select(request_table).where(
                    request_table.c.event_id == str(data.get("requestEventId")),
                    request_table.c.direction == "sent",
                )
            ).first()
            if row is None or row.counterpart != caller.partner:
                raise InvalidInput("$.data.requestEventId: no request of ours to this caller")
            conn.execute(
                update(request_table)
                .where(
                    request_table.c.event_id == row.event_id, request_table.c.direction == "sent"
                )
                .values(status="fulfilled" if kind == FULFILLED else "rejected", updated=utc_now())
            )
        _ledger_received(node, caller, event, tx)
    if kind == CREATED:
        schedule(answer_request, node, caller, event, transport)
    elif caller.peer_did and kind in (FULFILLED, PUBLISHED):
        ids = (
            _uuids(data.get("pfIds"))
            if kind == PUBLISHED
            else [str(pf.get("id")) for pf in data.get("pfs", []) if isinstance(pf, dict)]
        )
        if ids:
            schedule(exchange.pull_quietly, node, caller.peer_did, ids, transport)


def _event(node: Node, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": kind,
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": node.config.public_url,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": data,
    }


def answer(node: Node, caller: PactCaller, request: dict[str, Any]) -> dict[str, Any]:
    """The RequestFulfilled (matching footprints the caller may see) or RequestRejected event."""
    criteria = FootprintFilter.from_criteria(request["data"])
    access = decide(node, caller.partner, "pact.footprint", channel="pact-events")
    pfs = [
        served(r)
        for r in issued_footprints(node)
        if access.covers_record(r) and criteria.matches(served(r))
    ]
    if pfs:
        return _event(node, FULFILLED, {"requestEventId": request["id"], "pfs": pfs})
    error = {"code": "NotFound", "message": "The requested footprint could not be found."}
    return _event(node, REJECTED, {"requestEventId": request["id"], "error": error})


def answer_request(
    node: Node,
    caller: PactCaller,
    request: dict[str, Any],
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any] | None:
    """Build the answer, send it back to the caller, ledger it; returns the event sent."""
    event = answer(node, caller, request)
    headers = {"Content-Type": "application/cloudevents+json; charset=UTF-8"}
    try:
        if caller.peer_did:
            peer = exchange.find_trusted(node, caller.peer_did)
            with PeerClient(node, peer, transport=transport) as client:
                response = client.post("/3/events", json=event, headers=headers)
        elif caller.client and caller.client.callback_url:
            with httpx.Client(timeout=10, transport=transport) as client:
                response = client.post(caller.client.callback_url, json=event, headers=headers)
        else:
            log.warning("no way back to %s for request %s", caller.partner, request["id"])
            return None
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("answer to request %s failed: %s", request["id"], exc)
        return None
    status = "fulfilled" if event["type"] == FULFILLED else "rejected"
    with node.ledger.transaction() as tx:
        tx.connection.execute(
            update(request_table)
            .where(
                request_table.c.event_id == request["id"], request_table.c.direction == "received"
            )
            .values(status=status, updated=utc_now())
        )
        tx.append(
            "pact.event",
            {
                "v": 1,
                "direction": "sent",
                "type": event["type"],
                "id": event["id"],
                "source": event["source"],
                "peer": caller.partner,
                "requestEventId": request["id"],
            },
        )
    return event


def send_request(
    node: Node,
    peer_did: str,
    criteria: dict[str, Any],
    transport: httpx.BaseTransport | None = None,
) -> str:
    """Ask a peer for footprints (RequestCreatedEvent); returns the event id."""
    peer = exchange.find_trusted(node, peer_did)
    event = _event(node, CREATED, criteria)
    check_event(event)
    with node.ledger.transaction() as tx:
        tx.connection.execute(
            insert(request_table).values(
                event_id=event["id"],
                direction="sent",
                counterpart=peer.did,
                status="pending",
                criteria=json.dumps(criteria),
                updated=utc_now(),
            )
        )
        tx.append(
            "pact.event",
            {
                "v": 1,
                "direction": "sent",
                "type": CREATED,
                "id": event["id"],
                "source": event["source"],
                "peer": peer.did,
            },
        )
    with PeerClient(node, peer, transport=transport) as client:
        response = client.post(
            "/3/events",
            json=event,
            headers={"Content-Type": "application/cloudevents+json; charset=UTF-8"},
        )
    response.raise_for_status()
    return event["id"]


def request_status(node: Node, event_id: str, direction: str = "sent") -> str | None:
    with node.engine.connect() as conn:
        return conn.execute(
            select(request_table.c.status).where(
                request_table.c.event_id == event_id, request_table.c.direction == direction
            )
        ).scalar_one_or_none()
