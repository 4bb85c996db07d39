"""Recall: everything downstream of an object (lots, cartons, serials, parties) across nodes,
each with the last place it was seen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connector.events.access import Caller
from connector.events.objects import event_objects
from connector.events.trace import TraceRequest, trace
from connector.node import Node

RECALL_PURPOSE = "recall"
_GROUPS = {
    "lot": "lots",
    "logistic-unit": "cartons",
    "serial": "serials",
    "class": "classes",
    "object": "other",
}


def recall(node: Node, request: TraceRequest, caller: Caller) -> dict[str, Any]:
    """The downstream graph of `request.object_id`, summarised for a recall notice."""
    request.direction = "downstream"
    request.purpose = request.purpose or RECALL_PURPOSE
    graph = trace(node, request, caller)
    last: dict[str, dict[str, Any]] = {}
    parties: dict[str, dict[str, Any]] = {}
    for item in graph["events"]:
        event = item.get("event") or {}
        where = {
            "bizLocation": (event.get("bizLocation") or {}).get("id"),
            "readPoint": (event.get("readPoint") or {}).get("id"),
            "eventTime": event.get("eventTime"),
            "bizStep": event.get("bizStep"),
            "disposition": event.get("disposition"),
            "eventID": item.get("eventID"),
            "node": item.get("node"),
        }
        for kind in ("sourceList", "destinationList"):
            for sd in event.get(kind) or ():
                value = sd.get("source") or sd.get("destination")
                if value:
                    parties.setdefault(value, {"id": value, "type": sd.get("type"), "as": kind})
        if not (where["bizLocation"] or where["readPoint"]):
            continue
        for key, _role in event_objects(event):
            seen = last.get(key)
            if seen is None or _when(where["eventTime"]) >= _when(seen["eventTime"]):
                last[key] = where
    for did in {n for obj in graph["nodes"] for n in obj["seenAt"]}:
        parties.setdefault(did, {"id": did, "type": "node", "as": "holder"})
    affected: dict[str, list[dict[str, Any]]] = {group: [] for group in _GROUPS.values()}
    for obj in graph["nodes"]:
        affected[_GROUPS.get(obj["kind"], "other")].append(
            {"id": obj["id"], "seenAt": obj["seenAt"], "lastKnown": last.get(obj["id"])}
        )
    return {
        "v": 1,
        "object": request.object_id,
        "affected": affected,
        "parties": sorted(parties.values(), key=lambda p: p["id"]),
        "events": len(graph["events"]),
        "hops": graph["hops"],
        "unreachable": graph["unreachable"],
        "complete": graph["complete"],
    }


def _when(text: str | None) -> datetime:
    try:
        return datetime.fromisoformat(str(text).upper())
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
