"""EPCIS capture over HTTP: openepcis corpus, reference hash ids, all-or-nothing, idempotency."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connector.app import create_app
from connector.events import example as ex
from connector.events.tables import containment_table, event_table, object_table
from connector.node import Node, init_node

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
OPENEPCIS = CONFORMANCE / "epcis" / "openepcis" / "2.0" / "EPCIS" / "JSON"
PO = "urn:epcglobal:cbv:bt:4055555000018:PO1"
HASHES = CONFORMANCE / "epcis" / "event-hash" / "examples"


def _files(folder: Path, pattern: str = "*.json") -> list[str]:
    return sorted(p.name for p in folder.glob(pattern)) if folder.is_dir() else ["<missing>"]


def _load(path: Path) -> dict:
    if not path.is_file():
        pytest.skip(f"EPCIS conformance data not found at {path.parent}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def shared_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, TestClient]]:
    node = init_node(tmp_path_factory.mktemp("corpus") / "n", "corpus", ["20.500.7"], port=9)
    with TestClient(create_app(node)) as client:
        client.headers["Authorization"] = f"Bearer {node.operator_token}"
        yield node, client
    node.close()


@pytest.fixture
def fresh(operator_node: tuple[Node, TestClient]) -> tuple[Node, TestClient]:
    return operator_node


def _counts(node: Node) -> tuple[int, int, int, int]:
    with node.engine.connect() as conn:
        return (
            node.ledger.size,
            conn.execute(select(func.count()).select_from(event_table)).scalar_one(),
            conn.execute(select(func.count()).select_from(object_table)).scalar_one(),
            conn.execute(select(func.count()).select_from(containment_table)).scalar_one(),
        )


@pytest.mark.parametrize("name", _files(OPENEPCIS / "Capture/Documents"))
def test_valid_corpus_document_is_captured(shared_node, name: str) -> None:
    node, client = shared_node
    document = _load(OPENEPCIS / "Capture/Documents" / name)
    response = client.post(
        "/epcis/capture",
        content=json.dumps(document),
        headers={"Content-Type": "application/ld+json"},
    )
    assert response.status_code == 200, response.text
    events = response.json()["events"]
    assert len(events) == len(document["epcisBody"]["eventList"])
    for result in events:
        entry = node.ledger.entry(result["seq"])
        assert entry.type == "epcis.event"
        assert entry.payload["eventHash"] == result["eventHash"]
        assert entry.payload["event"]["eventID"] == result["eventID"]


@pytest.mark.parametrize("name", _files(OPENEPCIS / "Capture/Invalid"))
def test_invalid_corpus_document_is_rejected_and_writes_nothing(shared_node, name: str) -> None:
    node, client = shared_node
    before = _counts(node)
    response = client.post("/epcis/capture", json=_load(OPENEPCIS / "Capture/Invalid" / name))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert errors and all(e["path"].startswith("$") and e["message"] for e in errors)
    assert _counts(node) == before


@pytest.mark.parametrize("name", _files(HASHES, "*.jsonld"))
def test_captured_hash_ids_equal_the_reference_implementation(shared_node, name: str) -> None:
    """The `.hashes` files were computed by the epcis-event-hash-generator reference package."""
    _node, client = shared_node
    document = _load(HASHES / name)
    expected = (HASHES / name).with_suffix(".hashes").read_text().split()
    response = client.post("/epcis/capture", json=document)
    assert response.status_code == 200, response.text
    assert [e["eventHash"] for e in response.json()["events"]] == expected


def test_one_bad_event_rejects_the_whole_document_with_every_path(fresh) -> None:
    node, client = fresh
    events = ex.resin_plant("did:web:mill") + ex.garment_maker("did:web:mill")
    events[1] = {**events[1], "bizStep": "juggling"}
    del events[4]["eventTimeZoneOffset"]
    before = _counts(node)
    response = client.post("/epcis/capture", json=ex.document(events))
    assert response.status_code == 400
    paths = [e["path"] for e in response.json()["errors"]]
    assert "$.epcisBody.eventList[1].bizStep" in paths
    assert any(p.startswith("$.epcisBody.eventList[4]") for p in paths)
    assert _counts(node) == before


def test_all_five_event_types_are_indexed_with_containment_windows(fresh) -> None:
    node, client = fresh
    association = ex.event(
        "AssociationEvent", 40, action="ADD", parentID=ex.STORE,
        childEPCs=["urn:epc:id:giai:4055555.SENSOR1"],
    )  # fmt: skip
    transaction = ex.event(
        "TransactionEvent", 41, action="ADD", epcList=[ex.GARMENTS[2]],
        bizTransactionList=[{"type": "po", "bizTransaction": PO}],
    )  # fmt: skip
    response = client.post(
        "/epcis/capture",
        json=ex.document([*ex.garment_maker("did:web:mill"), association, transaction]),
    )
    assert response.status_code == 200, response.text
    with node.engine.connect() as conn:
        types = set(conn.execute(select(event_table.c.event_type)).scalars())
        windows = conn.execute(
            select(containment_table.c.child, containment_table.c.start, containment_table.c.end)
            .where(containment_table.c.parent == "https://id.gs1.org/00/040555550000000070")
            .order_by(containment_table.c.start)
        ).all()
    assert types == {
        "ObjectEvent", "AggregationEvent", "TransformationEvent",
        "AssociationEvent", "TransactionEvent",
    }  # fmt: skip
    # carton 7: garments 1001/1002 from hour 15 to 21, then item 2001 from hour 30, still packed
    hour = 3_600_000_000
    first = next(w for w in windows if w.child.endswith("/21/1001"))
    assert first.end - first.start == 6 * hour
    later = next(w for w in windows if w.child.endswith("/21/2001"))
    assert later.end == 1 << 62


def test_recapture_is_idempotent(fresh) -> None:
    node, client = fresh
    document = ex.document(ex.resin_plant("did:web:mill"))
    first = client.post("/epcis/capture", json=document).json()["events"]
    size = node.ledger.size
    again = client.post("/epcis/capture", json=copy.deepcopy(document)).json()["events"]
    assert [e["seq"] for e in again] == [e["seq"] for e in first]
    assert all(e["duplicate"] for e in again) and not any(e["duplicate"] for e in first)
    assert node.ledger.size == size


def test_declared_event_id_is_kept_and_hash_id_added_otherwise(fresh) -> None:
    _node, client = fresh
    events = ex.resin_plant("did:web:mill")
    events[0]["eventID"] = "urn:uuid:9d1c2a32-36c6-4bd5-a1f6-0a3b2ac7f7ad"
    result = client.post("/epcis/capture", json=ex.document(events)).json()["events"]
    assert result[0]["eventID"] == "urn:uuid:9d1c2a32-36c6-4bd5-a1f6-0a3b2ac7f7ad"
    assert result[1]["eventID"] == result[1]["eventHash"]
    assert result[1]["eventID"].startswith("ni:///sha-256;")
    assert [r["seq"] for r in result] == sorted(r["seq"] for r in result)


def test_capture_needs_the_operator_and_a_json_media_type(fresh) -> None:
    node, client = fresh
    document = ex.document(ex.resin_plant("did:web:mill"))
    anonymous = client.post("/epcis/capture", json=document, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    wrong = client.post(
        "/epcis/capture", content=json.dumps(document), headers={"Content-Type": "text/plain"}
    )
    assert wrong.status_code == 415
    assert node.ledger.size == 1  # genesis only
