"""Asset kinds over the node's own stores: PACT footprints, quality records, EPCIS events.

Registered by `connector.dsp.assets.register_known_providers` when the stores' modules
(`connector.records`, `connector.events`) are installed; each import is optional.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from connector.node import Node

Problems = list[tuple[str, str]]


class RecordProvider:
    """Held records of one kind, optionally narrowed to `ids` or `product_ids` (source)."""

    def __init__(self, kind: str, record_kind: str, description: str) -> None:
        self.kind = kind
        self.record_kind = record_kind
        self.description = description

    def check(self, source: Mapping[str, Any]) -> Problems:
        problems = []
        for key in ("ids", "product_ids"):
            value = source.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append((f"$.source.{key}", "must be a list of strings"))
        return problems

    def fetch(self, node: Node, source: Mapping[str, Any], params: Mapping[str, str]):
        from connector.records.store import list_records

        ids = set(source.get("ids", []))
        products = set(source.get("product_ids", []))
        documents = [
            r.document
            for r in list_records(node, kind=self.record_kind)
            if (not ids or r.id in ids)
            and (not products or products & set(r.product_ids))
            and r.status != "Deprecated"
        ]
        return json.dumps({"data": documents}, ensure_ascii=False).encode(), "application/json"


class EpcisQueryProvider:
    """EPCIS events matching the asset's fixed query, narrowed by the consumer's parameters."""

    kind = "epcis-events"
    description = "EPCIS events: source {query: {param: value}}; the consumer may add params"

    def check(self, source: Mapping[str, Any]) -> Problems:
        from connector.events.query import EventQuery

        query = source.get("query", {})
        if not isinstance(query, dict) or not all(isinstance(v, str) for v in query.values()):
            return [("$.source.query", "must map EPCIS query parameters to strings")]
        try:
            EventQuery.from_params(query.items())
        except Exception as exc:  # the events package's InvalidQuery, whatever its base
            return [("$.source.query", str(exc))]
        return []

    def fetch(self, node: Node, source: Mapping[str, Any], params: Mapping[str, str]):
        from connector.events.access import SELF
        from connector.events.query import EventQuery, query_document, run_query

        # The asset's own parameters come last so a consumer can narrow but never widen.
        pairs = list(params.items()) + list(source.get("query", {}).items())
        events, _ = run_query(node, EventQuery.from_params(pairs), SELF)
        return (
            json.dumps(query_document(events), ensure_ascii=False).encode(),
            "application/ld+json",
        )


def asset_providers() -> list[Any]:
    found: list[Any] = []
    try:
        import connector.records.store
    except ImportError:
        pass
    else:
        found.append(RecordProvider("footprints", "pact.footprint", "PACT product footprints held"))
        found.append(RecordProvider("quality-records", "quality.record", "quality records held"))
    try:
        import connector.events.query  # noqa: F401
    except ImportError:
        pass
    else:
        found.append(EpcisQueryProvider())
    return found
