"""Two real node processes exchange signed records: pull under DSP agreements, both ledgers
record it, a supplier's new version reaches the OEM by PublishedEvent and its product
footprint is recomputed, PACT async requests are answered, and the CLI verifies over HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.demo import free_port, start_node
from connector.node import init_node
from tests.network.agreements import negotiate, offer

RESIN = "urn:gtin:4012345000016"


def footprint(pf_id: str, total: str, preceding: list[str] | None = None) -> dict:
    doc = {
        "id": pf_id,
        "specVersion": "3.0.0",
        "created": "2025-03-01T09:00:00Z",
        "status": "Active",
        "companyName": "Resin Plant AG",
        "companyIds": ["urn:uuid:2f9b3a1c-6d4e-4f7a-8b9c-0d1e2f3a4b5c"],
        "productDescription": "PA6 granulate",
        "productIds": [RESIN],
        "productNameCompany": "PA6",
        "pcf": {
            "declaredUnitOfMeasurement": "kilogram",
            "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": "1",
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
    if preceding:
        doc["precedingPfIds"] = preceding
    return doc


BOM = {
    "v": 1,
    "product": {
        "companyName": "OEM GmbH",
        "companyIds": ["urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"],
        "productIds": ["urn:gtin:4012345000030"],
        "productNameCompany": "Housing",
    },
    "declaredUnit": "piece",
    "productMassPerDeclaredUnit": "0.5",
    "referencePeriod": {"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
    "process": {"scope2": "0.5"},
    "lines": [{"productId": RESIN, "quantity": "2"}],
}
COA = {
    "@context": "https://w3id.org/tracespace/contexts/quality/v1",
    "v": 1,
    "type": "QualityNotification",
    "id": "0e6f9d2a-5b1c-4d3e-8f7a-6b5c4d3e2f1a",
    "subject": ["88.100.1/batch-42"],
    "created": "2025-03-03T10:00:00Z",
    "sender": "BPNL000000000RES",
    "recipient": "BPNL000000000OEM",
    "severity": "minor",
    "status": "created",
    "description": "Moisture above spec in two bags",
}


class Running:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.url = f"http://127.0.0.1:{port}"
        token = (folder / "operator.token").read_text().strip()
        self.http = httpx.Client(
            base_url=self.url, timeout=20, headers={"Authorization": f"Bearer {token}"}
        )
        self.token = token
        self.did = self.http.get("/.well-known/did.json").json()["id"]

    def ok(self, method: str, path: str, **kwargs) -> dict:
        response = self.http.request(method, path, **kwargs)
        assert response.is_success, response.text
        return response.json() if response.content else {}

    def entries(self) -> list[dict]:
        return self.ok("GET", "/ledger/entries")["entries"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Running]]:
    root = tmp_path_factory.mktemp("exchange")
    procs = []
    nodes = []
    try:
        for name, prefix in (("resin", "88.100.1"), ("oem", "88.100.2")):
            port = free_port()
            init_node(root / name, name, [prefix], port=port).close()
            procs.append(start_node(root / name, port))
            nodes.append(Running(root / name, port))
        supplier, oem = nodes
        supplier.ok("POST", "/management/peers", json={"url": oem.url})
        oem.ok("POST", "/management/peers", json={"url": supplier.url})
        for asset in ("footprints", "quality-records"):
            offer(supplier.url, supplier.token, asset, asset, {})
        yield supplier, oem
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def wait_for(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_exchange_between_two_nodes(pair: tuple[Running, Running], tmp_path: Path) -> None:
    supplier, oem = pair
    first = footprint("11111111-1111-4111-8111-111111111111", "3.0")
    supplier.ok(
        "POST",
        "/management/records/footprints",
        json={"footprint": first, "subjects": ["88.100.1/batch-42"]},
    )
    supplier.ok("POST", "/management/records/quality", json=COA)

    # No agreement yet: the supplier refuses and says why.
    refused = oem.http.post("/management/records/pull", json={"peer": supplier.did})
    assert refused.status_code == 403, refused.text
    assert "no agreement" in refused.json()["errors"][0]["message"]

    for asset in ("footprints", "quality-records"):
        negotiate(oem.url, oem.token, supplier.did, asset)
    oem.ok("PUT", "/management/boms/housing", json=BOM)
    pulled = oem.ok("POST", "/management/records/pull", json={"peer": supplier.did})
    assert [r["id"] for r in pulled["received"]] == [first["id"]]
    (product_v1,) = pulled["recalculated"]
    quality = oem.ok(
        "POST", "/management/records/pull", json={"peer": supplier.did, "kind": "quality.record"}
    )
    assert quality["received"][0]["subjects"] == ["88.100.1/batch-42"]

    # Both ledgers record the exchange.
    provided = [e for e in supplier.entries() if e["type"] == "records.exchange"]
    assert {r["id"] for e in provided for r in e["payload"]["records"]} >= {first["id"], COA["id"]}
    assert all(e["payload"]["peer"] == oem.did for e in provided)
    received = [
        e["payload"]
        for e in oem.entries()
        if e["type"] in ("pact.footprint", "quality.record")
        and e["payload"]["direction"] == "received"
    ]
    assert {p["id"] for p in received} == {first["id"], COA["id"]}
    assert all(p["from"] == supplier.did and p["issuer"] == supplier.did for p in received)

    # The supplier publishes a new version: the OEM is notified, pulls and recomputes.
    second = footprint("22222222-2222-4222-8222-222222222222", "2.0", [first["id"]])
    supplier.ok("POST", "/management/records/footprints", json={"footprint": second})
    current = wait_for(
        lambda: (
            (c := oem.ok("GET", "/management/boms/housing")["currentFootprint"]) != product_v1["id"]
            and c
        )
    )
    product_v2 = oem.ok("GET", f"/management/records/{current}")
    doc = product_v2["document"]
    assert doc["precedingPfIds"] == [product_v1["id"]]
    assert doc["pcf"]["pcfExcludingBiogenicUptake"] == "4.500000"  # 2 × 2.0 + 0.5
    sources = doc["extensions"][0]["data"]["sources"]
    assert [s["id"] for s in sources] == [second["id"]]

    # The CLI verifies the OEM's product footprint through the OEM's did.json.
    path = tmp_path / "product.json"
    path.write_text(json.dumps(doc))
    cli = [sys.executable, "-m", "connector", "footprint", "verify", str(path)]
    assert subprocess.run([*cli, "--url", oem.url], capture_output=True).returncode == 0
    assert subprocess.run(cli, capture_output=True).returncode == 0  # did:web resolution
    assert subprocess.run([*cli, "--url", supplier.url], capture_output=True).returncode != 0


def test_pact_request_is_answered_across_nodes(pair: tuple[Running, Running]) -> None:
    supplier, oem = pair
    agreed = oem.ok("GET", "/management/agreements")["agreements"]
    if not any(a.get("asset") == "footprints" or "footprints" in str(a) for a in agreed):
        negotiate(oem.url, oem.token, supplier.did, "footprints")
    asked = oem.ok(
        "POST",
        "/management/records/requests",
        json={"peer": supplier.did, "criteria": {"productId": [RESIN]}},
    )
    event_id = asked["requestEventId"]
    assert wait_for(
        lambda: oem.ok("GET", f"/management/records/requests/{event_id}")["status"] != "pending"
    )
    state = oem.ok("GET", f"/management/records/requests/{event_id}")["status"]
    assert state == "fulfilled"
    missing = oem.ok(
        "POST",
        "/management/records/requests",
        json={"peer": supplier.did, "criteria": {"productId": ["urn:null"]}},
    )
    rejected = missing["requestEventId"]
    assert wait_for(
        lambda: oem.ok("GET", f"/management/records/requests/{rejected}")["status"] == "rejected"
    )
