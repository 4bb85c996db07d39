"""Asset kinds: the built-in ones and those over the footprint, quality and EPCIS stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connector.dsp.assets import kinds, provider_for
from connector.node import init_node


@pytest.fixture()
def node(tmp_path: Path):
    opened = init_node(tmp_path / "n", "n", [])
    yield opened
    opened.close()


def test_builtin_kinds_serve_their_data(node) -> None:
    doc = provider_for("json-document")
    assert json.loads(doc.fetch(node, {"document": {"a": [1, "ü"]}}, {})[0]) == {"a": [1, "ü"]}
    entries = provider_for("ledger-entries")
    node.ledger.append("demo.event", {"n": 1})
    data, media = entries.fetch(node, {"type": "demo.event"}, {})
    assert media == "application/json"
    assert [e["payload"] for e in json.loads(data)] == [{"n": 1}]
    assert entries.check({}) == [("$.source.type", "a ledger payload type is required")]


def test_store_kinds_are_registered_when_their_stores_exist(node) -> None:
    available = kinds()
    if "epcis-events" not in available:
        pytest.skip("connector.events is not installed")
    epcis = provider_for("epcis-events")
    assert epcis.check({"query": {"eventType": "NoSuchEvent"}})[0][0] == "$.source.query"
    assert epcis.check({"query": {"eventType": "ObjectEvent"}}) == []
    data, media = epcis.fetch(node, {"query": {"eventType": "ObjectEvent"}}, {})
    assert media == "application/ld+json"
    assert json.loads(data)["type"] == "EPCISQueryDocument"
    for kind in ("footprints", "quality-records"):
        provider = provider_for(kind)
        assert provider.check({"ids": "x"}) == [("$.source.ids", "must be a list of strings")]
        assert json.loads(provider.fetch(node, {}, {})[0]) == {"data": []}
