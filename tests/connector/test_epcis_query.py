"""EPCIS queries: each parameter, names in other schemes, pagination, and who may read."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.events import example as ex
from connector.node import Node, init_node


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, TestClient]]:
    node = init_node(tmp_path_factory.mktemp("q") / "n", "query", ["20.500.5"], port=9)
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


def _events(client: TestClient, params: dict | list) -> list[dict]:
    response = client.get("/epcis/events", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "EPCISQueryDocument"
    return body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def _h(text: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(text) - ex.T0).total_seconds() / 3600


def test_event_type_and_time_window(chain) -> None:
    _, client = chain
    found = _events(client, {"eventType": "TransformationEvent"})
    assert sorted(_h(e["eventTime"]) for e in found) == [1, 6, 14]
    window = _events(client, {"GE_eventTime": ex.at(5), "LT_eventTime": ex.at(8)})
    assert sorted(_h(e["eventTime"]) for e in window) == [5, 5.5, 6, 7]


def test_equal_parameters_accept_short_and_long_cbv_forms(chain) -> None:
    _, client = chain
    short = _events(client, {"EQ_bizStep": "shipping"})
    long = _events(client, {"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"})
    assert [e["eventTime"] for e in short] == [e["eventTime"] for e in long]
    assert sorted(_h(e["eventTime"]) for e in short) == [2, 8, 16, 31]
    assert len(_events(client, {"EQ_disposition": "retail_sold"})) == 1
    at_store = _events(client, {"EQ_bizLocation": ex.STORE})
    assert sorted(_h(e["eventTime"]) for e in at_store) == [20, 21, 22]
    assert len(_events(client, {"EQ_readPoint": ex.PLANT})) == 1


def test_match_parameters_compare_canonical_ids_across_namings(chain) -> None:
    _, client = chain
    garment = ex.GARMENTS[0]
    link = "https://id.gs1.org/01/04055555333338/21/1001"
    by_urn = _events(client, {"MATCH_epc": garment})
    by_link = _events(client, {"MATCH_epc": link})
    assert [e["eventID"] for e in by_urn] == [e["eventID"] for e in by_link]
    assert sorted(_h(e["eventTime"]) for e in by_urn) == [15, 21, 22]  # child or epcList
    assert sorted(_h(e["eventTime"]) for e in _events(client, {"MATCH_anyEPC": garment})) == [
        14, 15, 21, 22,
    ]  # fmt: skip
    assert len(_events(client, {"MATCH_parentID": ex.CARTONS[0]})) == 3
    assert len(_events(client, {"MATCH_outputEPC": garment})) == 1
    assert len(_events(client, {"MATCH_inputEPC": garment})) == 0
    # The mill received RESIN-1A by Digital Link; the plant shipped it by EPC URN.
    resin = _events(client, {"MATCH_epcClass": ex.RESIN_A})
    assert sorted(_h(e["eventTime"]) for e in resin) == [2, 5]


def test_events_carry_their_ledger_seq_and_signer(chain) -> None:
    node, client = chain
    for event in _events(client, {"eventType": "ObjectEvent"}):
        ledger = event["tracespace:ledger"]
        entry = node.ledger.entry(ledger["seq"])
        assert entry.kid == ledger["signer"]
        assert entry.hash.hex() == ledger["entryHash"]
        assert entry.payload["event"]["eventID"] == event["eventID"]


def test_pagination_follows_link_headers_through_every_event(chain) -> None:
    _, client = chain
    everything = _events(client, {"perPage": 1000})
    seen: list[str] = []
    url: str | None = "/epcis/events?perPage=3"
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        batch = response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert len(batch) <= 3
        seen += [e["eventID"] for e in batch]
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        pages += 1
    assert seen == [e["eventID"] for e in everything]
    assert pages == -(-len(everything) // 3)


def test_event_by_id_and_bad_parameters(chain) -> None:
    node, client = chain
    some = _events(client, {"eventType": "AggregationEvent"})[0]
    early = client.get(f"/epcis/events/{quote(some['eventID'], safe='')}", params={"proofSize": 1})
    assert early.status_code == 409  # not in a tree that small
    size = node.ledger.size
    got = client.get(f"/epcis/events/{quote(some['eventID'], safe='')}", params={"proofSize": size})
    assert got.status_code == 200 and got.json()["event"]["eventID"] == some["eventID"]
    assert client.get("/epcis/events/ni:nothing").status_code == 404
    assert client.get("/epcis/events", params={"eventType": "Nope"}).status_code == 400
    assert client.get("/epcis/events", params={"GE_eventTime": "yesterday"}).status_code == 400
    assert client.get("/epcis/events", params={"nextPageToken": "zzz"}).status_code == 400
    assert client.get("/epcis/events", params={"perPage": "0"}).status_code == 400


def test_reading_needs_the_operator_or_a_trusted_peer(chain) -> None:
    _, client = chain
    assert client.get("/epcis/events", headers={"Authorization": ""}).status_code == 401
    bogus = {"Authorization": "Bearer not-a-token"}
    assert client.get("/epcis/events", headers=bogus).status_code == 401
