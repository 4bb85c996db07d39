"""The capture speed-ups on both backends: rows written with the driver's executemany, partial
indexes (declared eventIDs, optional fields), the duplicate check, and the JSON body reader."""

from __future__ import annotations

import json
import math
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.events import example as ex
from connector.node import Node
from connector.problems import Problem
from connector.routers.epcis import _json_body


@pytest.fixture
def node_client(operator_node: tuple[Node, TestClient]) -> tuple[Node, TestClient]:
    return operator_node


def _events(client: TestClient, params: dict) -> list[dict]:
    response = client.get("/epcis/events", params=params)
    assert response.status_code == 200, response.text
    return response.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_index_rows_serve_every_lookup(node_client) -> None:
    _node, client = node_client
    events = ex.resin_plant("did:web:mill") + ex.garment_maker("did:web:mill")
    events[0] = {**events[0], "eventID": "urn:uuid:6f1d9c1e-0000-4000-8000-000000000001"}
    response = client.post("/epcis/capture", json=ex.document(events))
    assert response.status_code == 200, response.text
    captured = response.json()["events"]
    assert captured[0]["eventID"] == events[0]["eventID"] != captured[0]["eventHash"]
    # By declared eventID (partial index) and by Event Hash ID, for events with and without one.
    for result in captured[:2]:
        for key in {result["eventID"], result["eventHash"]}:
            found = client.get(f"/epcis/events/{quote(key, safe='')}")
            assert found.status_code == 200, key
            assert found.json()["seq"] == result["seq"]
    assert client.get("/epcis/events/urn:uuid:nothing").status_code == 404
    # Every optional field filter, against events that have and lack the field.
    assert len(_events(client, {"EQ_bizStep": "shipping"})) == sum(
        e.get("bizStep") == "shipping" for e in events
    )
    assert len(_events(client, {"EQ_disposition": "in_transit"})) == sum(
        e.get("disposition") == "in_transit" for e in events
    )
    assert len(_events(client, {"EQ_readPoint": ex.PLANT})) == sum(
        e.get("readPoint") == ex.place(ex.PLANT) for e in events
    )
    assert len(_events(client, {"EQ_bizLocation": ex.PLANT})) == sum(
        e.get("bizLocation") == ex.place(ex.PLANT) for e in events
    )
    assert len(_events(client, {"MATCH_parentID": ex.CARTONS[0]})) >= 1
    # A second capture of the same document appends nothing and answers the same seqs.
    again = client.post("/epcis/capture", json=ex.document(events)).json()["events"]
    assert [e["seq"] for e in again] == [e["seq"] for e in captured]
    assert all(e["duplicate"] for e in again)


_JSON_TEXTS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
).map(json.dumps)
_ODD_TEXTS = st.sampled_from(
    [
        '{"a": NaN, "b": Infinity, "c": -Infinity}',
        '{"a": 1, "a": 2}',
        '["\\ud800"]',
        "[1e400]",
        "\ufeff{}",
        "[" * 3000 + "]" * 3000,
        '{"a": 1,}',
        "[404292412398035992576, -9223372036854775809, 18446744073709551615]",
        "[9223372036854775807, -9223372036854775808]",
        "[1.00000000000000011102230246251565404236316680908203125, 2.2250738585072011e-308]",
        "",
    ]
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and type(a) is type(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(text=_JSON_TEXTS | _ODD_TEXTS, encoding=st.sampled_from(["utf-8", "utf-16"]))
def test_body_reader_reads_what_json_loads_reads(text: str, encoding: str) -> None:
    body = text.encode(encoding, errors="surrogatepass")
    try:
        expected = json.loads(body)
    except (ValueError, RecursionError):
        with pytest.raises(Problem):
            _json_body(body)
        return
    assert _same(_json_body(body), expected)
