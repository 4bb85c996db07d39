"""Trace and recall on one node: transformation, time-bounded containment, names, limits."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.events import example as ex
from connector.events.objects import object_key, owned_by
from connector.events.partners import announced_prefixes
from connector.node import Node, init_node


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, TestClient]]:
    node = init_node(tmp_path_factory.mktemp("t") / "n", "local", ["20.500.6"], port=9)
    with TestClient(create_app(node)) as client:
        client.headers["Authorization"] = f"Bearer {node.operator_token}"
        for events in (
            ex.resin_plant("did:web:mill"),
            ex.yarn_mill("did:web:resin", "did:web:maker"),
            ex.garment_maker("did:web:mill"),
        ):
            assert client.post("/epcis/capture", json=ex.document(events)).status_code == 200
        yield node, client
    node.close()


def _trace(client: TestClient, name: str, **params) -> dict:
    response = client.get(f"/trace/{quote(name, safe='')}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _ids(graph: dict) -> set[str]:
    return {n["id"] for n in graph["nodes"]}


def _hours(graph: dict) -> list[float]:
    from datetime import datetime

    return sorted(
        (datetime.fromisoformat(e["event"]["eventTime"]) - ex.T0).total_seconds() / 3600
        for e in graph["events"]
    )


def test_upstream_from_a_sold_garment_reaches_the_resin_batch(chain) -> None:
    _, client = chain
    graph = _trace(client, ex.GARMENTS[0], direction="upstream")
    ids = _ids(graph)
    for name in (ex.YARN, ex.YARN_CARTON, ex.RESIN_A, ex.DYE, ex.RESIN, ex.CARTONS[0]):
        assert object_key(name) in ids, name
    # Not provenance: the sibling half of the split, the other garments, the later carton load.
    for name in (ex.RESIN_B, ex.GARMENTS[1], ex.GARMENTS[2], ex.LATER_ITEM):
        assert object_key(name) not in ids, name
    kinds = {(e["kind"], e["from"], e["to"]) for e in graph["edges"]}
    assert ("transformation", object_key(ex.RESIN), object_key(ex.RESIN_A)) in kinds
    assert ("transformation", object_key(ex.YARN), object_key(ex.GARMENTS[0])) in kinds
    assert graph["complete"] and graph["unreachable"] == []


def test_containment_is_followed_only_for_its_time_window(chain) -> None:
    _, client = chain
    graph = _trace(client, ex.GARMENTS[1], direction="downstream")
    hours = _hours(graph)
    assert 16 in hours and 20 in hours and 21 in hours  # shipped, received, unpacked in carton 7
    assert 30 not in hours and 31 not in hours  # carton 7 reused later for another item
    assert object_key(ex.LATER_ITEM) not in _ids(graph)


def test_depth_bounds_the_graph(chain) -> None:
    _, client = chain
    shallow = _trace(client, ex.GARMENTS[0], direction="upstream", depth=1)
    assert object_key(ex.YARN) in _ids(shallow)
    assert object_key(ex.RESIN) not in _ids(shallow)
    assert client.get(f"/trace/{quote(ex.RESIN, safe='')}", params={"depth": 99}).status_code == 400


def test_recall_lists_every_downstream_lot_carton_serial_with_last_location(chain) -> None:
    _, client = chain
    response = client.get(f"/recall/{quote(ex.RESIN, safe='')}")
    assert response.status_code == 200, response.text
    body = response.json()
    lots = {item["id"] for item in body["affected"]["lots"]}
    assert {object_key(n) for n in (ex.RESIN, ex.RESIN_A, ex.RESIN_B, ex.YARN)} <= lots
    assert object_key(ex.DYE) not in lots  # merged in, but not downstream of the resin
    serials = {item["id"]: item for item in body["affected"]["serials"]}
    assert set(serials) == {object_key(g) for g in ex.GARMENTS}
    cartons = {item["id"] for item in body["affected"]["cartons"]}
    assert {object_key(c) for c in [ex.YARN_CARTON, *ex.CARTONS]} <= cartons
    sold = serials[object_key(ex.GARMENTS[0])]["lastKnown"]
    assert sold["bizLocation"] == ex.STORE and sold["disposition"] == "retail_sold"
    parties = {p["id"] for p in body["parties"]}
    assert {"did:web:mill", "did:web:maker"} <= parties


def test_prefix_ownership_from_a_did_document() -> None:
    doc = {
        "service": [
            {"type": "TracespaceNode", "handlePrefixes": ["20.500.1"]},
            {"type": "Identifiers", "gs1CompanyPrefixes": ["4012345"]},
        ]
    }
    handles, gs1 = announced_prefixes(doc)
    assert owned_by(object_key(ex.RESIN), handles, gs1)
    assert owned_by(object_key("urn:epc:id:sscc:4012345.0000000001"), handles, gs1)
    assert not owned_by(object_key(ex.YARN), handles, gs1)
    assert owned_by("hdl:20.500.1/abc", handles, gs1)
    assert not owned_by("hdl:20.500.10/abc", handles, gs1)
