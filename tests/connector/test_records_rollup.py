"""BOM roll-up on the node: values from the supplier footprints received, provenance with
ledger sequence numbers, new versions when a supplier publishes, and the management API.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.node import Node, init_node
from connector.records import bom, footprints
from connector.records.signing import key_resolver
from connector.records.store import get_record
from ledger.errors import InvalidInput
from schemas.pact import validate_footprint

RESIN = "urn:gtin:4012345000016"
STEEL = "urn:gtin:4012345000023"


def supplier_footprint(pf_id: str, product: str, total: str, amount: str, **extra) -> dict:
    doc = {
        "id": pf_id,
        "specVersion": "3.0.0",
        "created": "2025-03-01T09:00:00Z",
        "status": "Active",
        "companyName": "Supplier AG",
        "companyIds": ["urn:uuid:2f9b3a1c-6d4e-4f7a-8b9c-0d1e2f3a4b5c"],
        "productDescription": "component",
        "productIds": [product],
        "productNameCompany": "component",
        "pcf": {
            "declaredUnitOfMeasurement": "kilogram",
            "declaredUnitAmount": amount,
            "productMassPerDeclaredUnit": amount,
            "referencePeriodStart": "2024-01-01T00:00:00Z",
            "referencePeriodEnd": "2025-01-01T00:00:00Z",
            "pcfExcludingBiogenicUptake": total,
            "pcfIncludingBiogenicUptake": total,
            "fossilGhgEmissions": total,
            "fossilCarbonContent": "0",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
        },
    }
    doc.update(extra)
    return doc


DEFINITION = {
    "v": 1,
    "product": {
        "companyName": "OEM GmbH",
        "companyIds": ["urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"],
        "productIds": ["urn:gtin:4012345000030"],
        "productNameCompany": "Housing",
        "productDescription": "Moulded housing with steel insert",
    },
    "declaredUnit": "piece",
    "productMassPerDeclaredUnit": "0.4",
    "referencePeriod": {"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
    "allocationFactor": "0.9",
    "process": {"scope1": "0.05", "scope2": "0.1", "inboundTransport": "0.02", "waste": "0.01"},
    "lines": [
        {"productId": RESIN, "quantity": "0.3", "yieldLoss": "0.05"},
        {"productId": STEEL, "quantity": "0.1"},
    ],
    "subjects": ["88.100.2/batch-7"],
}


@pytest.fixture
def nodes(tmp_path: Path):
    supplier = init_node(tmp_path / "supplier", "supplier", ["88.100.1"], port=18091)
    oem = init_node(tmp_path / "oem", "oem", ["88.100.2"], port=18092)
    yield supplier, oem
    supplier.close()
    oem.close()


def deliver(supplier: Node, oem: Node, doc: dict):
    issued, _ = footprints.issue(supplier, doc)
    return footprints.receive(
        oem, issued.document, key_resolver(supplier.public_key), received_from="did:web:supplier"
    )


def expected_value(resin_per_kg: Decimal, steel_per_kg: Decimal) -> Decimal:
    """The formula worked by hand: (Σ qty × per-unit × (1 + yield loss) + own) × allocation."""
    materials = Decimal("0.3") * resin_per_kg * Decimal("1.05") + Decimal("0.1") * steel_per_kg
    own = Decimal("0.05") + Decimal("0.1") + Decimal("0.02") + Decimal("0.01")
    return ((materials + own) * Decimal("0.9")).quantize(Decimal("0.000001"))


def test_product_footprint_from_received_supplier_footprints(nodes) -> None:
    supplier, oem = nodes
    resin = deliver(
        supplier, oem, supplier_footprint("11111111-1111-4111-8111-111111111111", RESIN, "25", "10")
    )
    steel = deliver(
        supplier, oem, supplier_footprint("22222222-2222-4222-8222-222222222222", STEEL, "2.2", "1")
    )
    bom.save_bom(oem, "housing", DEFINITION)
    record = bom.calculate(oem, "housing")
    doc = footprints.bare(record.document)
    assert validate_footprint(doc).ok
    value = Decimal(doc["pcf"]["pcfExcludingBiogenicUptake"])
    assert value == expected_value(Decimal("2.5"), Decimal("2.2"))
    (extension,) = doc["extensions"]
    sources = {s["id"]: s["ledgerSeq"] for s in extension["data"]["sources"]}
    assert sources == {resin.id: resin.ledger_seq, steel.id: steel.ledger_seq}
    assert record.subjects == ("88.100.2/batch-7",)
    assert bom.load_bom(oem, "housing")[1] == record.id


def test_new_supplier_version_gives_a_new_product_version(nodes) -> None:
    supplier, oem = nodes
    first = supplier_footprint("11111111-1111-4111-8111-111111111111", RESIN, "25", "10")
    deliver(supplier, oem, first)
    deliver(
        supplier, oem, supplier_footprint("22222222-2222-4222-8222-222222222222", STEEL, "2.2", "1")
    )
    bom.save_bom(oem, "housing", DEFINITION)
    v1 = bom.calculate(oem, "housing")
    newer = supplier_footprint(
        "33333333-3333-4333-8333-333333333333",
        RESIN,
        "20",
        "10",
        precedingPfIds=[first["id"]],
    )
    received = deliver(supplier, oem, newer)
    assert get_record(oem, first["id"]).status == "Deprecated"
    (v2,) = bom.recalculate_for(oem, received.product_ids)
    doc = footprints.bare(v2.document)
    assert doc["precedingPfIds"] == [v1.id] and v2.version == 2
    assert Decimal(doc["pcf"]["pcfExcludingBiogenicUptake"]) == expected_value(
        Decimal("2"), Decimal("2.2")
    )
    assert get_record(oem, v1.id).status == "Deprecated"
    used = {s["id"] for s in doc["extensions"][0]["data"]["sources"]}
    assert newer["id"] in used and first["id"] not in used


def test_sub_assembly_and_cycle(nodes) -> None:
    supplier, oem = nodes
    deliver(
        supplier, oem, supplier_footprint("11111111-1111-4111-8111-111111111111", RESIN, "25", "10")
    )
    insert = {"v": 1, "lines": [{"productId": RESIN, "quantity": "2"}], "process": {"scope2": "1"}}
    bom.save_bom(oem, "insert", insert)
    top = copy.deepcopy(DEFINITION)
    top["allocationFactor"] = "1"
    top["process"] = {}
    top["lines"] = [{"bom": "insert", "quantity": "3"}]
    bom.save_bom(oem, "kit", top)
    record = bom.calculate(oem, "kit")
    value = Decimal(footprints.bare(record.document)["pcf"]["pcfExcludingBiogenicUptake"])
    assert value == Decimal(3) * (Decimal(2) * Decimal("2.5") + Decimal(1))
    assert bom.affected_boms(oem, [RESIN]) == ["insert", "kit"]
    insert["lines"].append({"bom": "kit", "quantity": "1"})
    bom.save_bom(oem, "insert", insert)
    with pytest.raises(InvalidInput, match="cycle"):
        bom.calculate(oem, "kit")


def test_missing_supplier_footprint_is_named(nodes) -> None:
    _, oem = nodes
    bom.save_bom(oem, "housing", DEFINITION)
    with pytest.raises(InvalidInput, match=RESIN):
        bom.calculate(oem, "housing")


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"lines": []}, "$.lines"),
        ({"lines": [{"productId": RESIN, "quantity": "0"}]}, "$.lines[0].quantity"),
        ({"lines": [{"productId": RESIN, "quantity": "1kg"}]}, "$.lines[0].quantity"),
        ({"allocationFactor": "1.5"}, "$.allocationFactor"),
        ({"colour": "red"}, "$.colour"),
        ({"v": 2}, "$.v"),
    ],
)
def test_bad_bom_definitions_are_refused_over_http(nodes, change: dict, path: str) -> None:
    _, oem = nodes
    http = TestClient(create_app(oem))
    size = oem.ledger.size
    response = http.put(
        "/management/boms/housing",
        json={**DEFINITION, **change},
        headers={"Authorization": f"Bearer {oem.operator_token}"},
    )
    assert response.status_code == 400 and path in response.json()["detail"]
    assert oem.ledger.size == size


def test_bom_over_http_then_calculate(nodes) -> None:
    supplier, oem = nodes
    deliver(
        supplier, oem, supplier_footprint("11111111-1111-4111-8111-111111111111", RESIN, "25", "10")
    )
    deliver(
        supplier, oem, supplier_footprint("22222222-2222-4222-8222-222222222222", STEEL, "2.2", "1")
    )
    http = TestClient(create_app(oem))
    auth = {"Authorization": f"Bearer {oem.operator_token}"}
    assert http.put("/management/boms/housing", json=DEFINITION, headers=auth).status_code == 200
    response = http.post("/management/boms/housing/calculate", headers=auth)
    assert response.status_code == 201
    assert response.json()["document"]["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert http.get("/management/boms/housing", headers=auth).json()["currentFootprint"]
