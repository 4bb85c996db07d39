"""Signed records on a node: proofs checked by an independent eddsa-jcs-2022 reconstruction
(RFC 8785 + SHA-256 + PyNaCl), ledger entries, the DID document, the CLI and the HTTP API.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import base58
import pytest
import rfc8785
from fastapi.testclient import TestClient
from nacl.signing import VerifyKey
from typer.testing import CliRunner

from connector.app import create_app
from connector.cli import app as cli
from connector.node import Node, init_node
from connector.records import footprints, quality
from connector.records.signing import key_resolver, verification_method
from schemas.errors import ProofError
from schemas.integrity import encode_public_key, key_from_did_document
from schemas.pact import CONTEXT_URL
from schemas.quality import CertificateOfAnalysis, InspectionResult

runner = CliRunner()


def footprint(pf_id: str = "7d3c1f0a-2b4e-4c6d-8e9f-0a1b2c3d4e5f", value: str = "12.5") -> dict:
    return {
        "id": pf_id,
        "specVersion": "3.0.0",
        "created": "2025-03-01T09:00:00Z",
        "status": "Active",
        "companyName": "Harz Polymer GmbH",
        "companyIds": ["urn:uuid:2f9b3a1c-6d4e-4f7a-8b9c-0d1e2f3a4b5c"],
        "productDescription": "PA6 granulate, natural",
        "productIds": ["urn:gtin:4012345000016"],
        "productNameCompany": "PA6 natural",
        "pcf": {
            "declaredUnitOfMeasurement": "kilogram",
            "declaredUnitAmount": "10",
            "productMassPerDeclaredUnit": "10",
            "referencePeriodStart": "2024-01-01T00:00:00Z",
            "referencePeriodEnd": "2025-01-01T00:00:00Z",
            "geographyCountry": "DE",
            "pcfExcludingBiogenicUptake": value,
            "pcfIncludingBiogenicUptake": value,
            "fossilGhgEmissions": value,
            "fossilCarbonContent": "5.2",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
            "primaryDataShare": "40",
            "dqi": {"technologicalDQR": "2", "geographicalDQR": "1.5", "temporalDQR": "1"},
        },
    }


def certificate() -> dict:
    measured = datetime(2025, 3, 2, 8, 30, tzinfo=UTC)
    results = (
        InspectionResult(
            subject=("88.100.1/batch-42",),
            characteristic="tensile strength",
            nominal=Decimal("80"),
            tolerance_minus=Decimal("5"),
            tolerance_plus=Decimal("10"),
            measured=Decimal("83.4"),
            unit="MPa",
            measured_at=measured,
            gauge="UTM-2",
            method="ISO 527-2",
        ),
    )
    coa = CertificateOfAnalysis(
        subject=("88.100.1/batch-42",),
        issued=measured,
        supplier="BPNL000000000HPG",
        customer="BPNL000000000OEM",
        manufacturer_part_id="PA6-N",
        product_name="PA6 natural",
        results=results,
    )
    return coa.to_document()


@pytest.fixture
def node(tmp_path: Path) -> Node:
    created = init_node(tmp_path / "supplier", "supplier", ["88.100.1"], port=18081)
    yield created
    created.close()


def independent_jcs_verify(document: dict, public_key: bytes) -> bool:
    """eddsa-jcs-2022 verification written from the spec, sharing no code with ours."""
    proof = dict(document["proof"])
    signature = base58.b58decode(proof.pop("proofValue")[1:])
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    config_hash = hashlib.sha256(rfc8785.dumps(proof)).digest()
    doc_hash = hashlib.sha256(rfc8785.dumps(unsecured)).digest()
    try:
        VerifyKey(public_key).verify(config_hash + doc_hash, signature)
    except Exception:
        return False
    return True


def test_issued_footprint_carries_a_proof_an_independent_verifier_accepts(node: Node) -> None:
    record, _ = footprints.issue(node, footprint(), ["88.100.1/batch-42"])
    signed = record.document
    assert signed["@context"] == CONTEXT_URL
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert signed["proof"]["verificationMethod"] == verification_method(node)
    assert independent_jcs_verify(signed, node.public_key)
    altered = copy.deepcopy(signed)
    altered["pcf"]["pcfExcludingBiogenicUptake"] = "1.0"
    assert not independent_jcs_verify(altered, node.public_key)


def test_issue_is_ledgered_with_the_record_hash(node: Node) -> None:
    record, _ = footprints.issue(node, footprint(), ["88.100.1/batch-42"])
    entry = json.loads(node.ledger.entry(record.ledger_seq).body)
    assert entry["type"] == "pact.footprint"
    payload = entry["payload"]
    assert payload["id"] == record.id and payload["direction"] == "issued"
    assert payload["hash"] == hashlib.sha256(rfc8785.dumps(record.document)).hexdigest()
    assert payload["subjects"] == ["88.100.1/batch-42"]


def test_verification_method_resolves_through_did_json(node: Node) -> None:
    http = TestClient(create_app(node))
    document = http.get("/.well-known/did.json").json()
    method = verification_method(node)
    assert method == f"{document['id']}#{encode_public_key(node.public_key)}"
    assert key_from_did_document(document, method) == node.public_key


def test_invalid_footprint_is_refused_with_paths_and_nothing_written(node: Node) -> None:
    http = TestClient(create_app(node))
    bad = footprint()
    bad["pcf"]["pcfExcludingBiogenicUptake"] = "10kg"
    del bad["productNameCompany"]
    size = node.ledger.size
    response = http.post(
        "/management/records/footprints",
        json={"footprint": bad},
        headers={"Authorization": f"Bearer {node.operator_token}"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"$.pcf.pcfExcludingBiogenicUptake", "$.productNameCompany"} <= paths
    assert node.ledger.size == size


def test_management_routes_need_the_operator(node: Node) -> None:
    http = TestClient(create_app(node))
    response = http.post("/management/records/footprints", json={"footprint": footprint()})
    assert response.status_code == 401


def test_v2_footprint_is_converted_then_signed(node: Node, conformance: Path) -> None:
    v2 = Path(__file__).resolve().parents[1] / "schemas" / "data" / "pact-v2-footprint.json"
    if not v2.is_file():
        pytest.skip("no v2 fixture")
    record, _ = footprints.issue(node, json.loads(v2.read_text()))
    assert record.document["specVersion"].startswith("3.")
    entry = json.loads(node.ledger.entry(record.ledger_seq).body)
    assert entry["payload"]["convertedFrom"] == "2.x"


def test_received_record_must_verify_with_the_senders_key(node: Node, tmp_path: Path) -> None:
    other = init_node(tmp_path / "oem", "oem", ["88.100.2"])
    record, _ = footprints.issue(node, footprint())
    with pytest.raises(ProofError):
        footprints.receive(
            other, record.document, key_resolver(other.public_key), received_from="did:web:x"
        )
    received = footprints.receive(
        other, record.document, key_resolver(node.public_key), received_from="did:web:x"
    )
    assert received.direction == "received" and received.digest == record.digest
    other.close()


def test_quality_record_signed_and_verified(node: Node) -> None:
    record = quality.issue(node, certificate())
    assert record.subjects == ("88.100.1/batch-42",)
    assert independent_jcs_verify(record.document, node.public_key)
    entry = json.loads(node.ledger.entry(record.ledger_seq).body)
    assert entry["type"] == "quality.record"
    assert entry["payload"]["type"] == "CertificateOfAnalysis"


def test_quality_record_with_a_wrong_verdict_is_refused(node: Node) -> None:
    doc = certificate()
    doc["results"][0]["verdict"] = "fail"
    with pytest.raises(Exception, match="verdict"):
        quality.issue(node, doc)


def test_contexts_are_served_at_their_url_path(node: Node) -> None:
    http = TestClient(create_app(node))
    response = http.get("/contexts/pact/v1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    bundled = Path(footprints.__file__).resolve().parents[2] / "schemas/pact/context-v1.jsonld"
    assert response.content == bundled.read_bytes()
    assert CONTEXT_URL.endswith("/contexts/pact/v1")
    assert http.get("/contexts/quality/v1").status_code == 200
    assert http.get("/contexts/nope/v9").status_code == 404


# -- CLI -----------------------------------------------------------------------------------


def test_cli_sign_then_verify_with_key_and_did_document(node: Node, tmp_path: Path) -> None:
    source = tmp_path / "pcf.json"
    source.write_text(json.dumps(footprint()))
    signed = runner.invoke(
        cli, ["footprint", "sign", str(source), "--dir", str(node.config.folder)]
    )
    assert signed.exit_code == 0, signed.output
    document = json.loads(signed.stdout[signed.stdout.index("{") :])
    assert independent_jcs_verify(document, node.public_key)
    path = tmp_path / "signed.json"
    path.write_text(json.dumps(document))
    key = encode_public_key(node.public_key)
    assert runner.invoke(cli, ["footprint", "verify", str(path), "--key", key]).exit_code == 0
    assert runner.invoke(cli, ["footprint", "verify", str(path), "--key", node.vkey]).exit_code == 0
    did_doc = tmp_path / "did.json"
    did_doc.write_text(json.dumps(TestClient(create_app(node)).get("/.well-known/did.json").json()))
    result = runner.invoke(cli, ["footprint", "verify", str(path), "--did-document", str(did_doc)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli, ["footprint", "list", "--dir", str(node.config.folder)])
    assert document["id"] in listed.stdout


def test_cli_verify_fails_on_tampering_and_on_a_wrong_key(node: Node, tmp_path: Path) -> None:
    record, _ = footprints.issue(node, footprint())
    tampered = copy.deepcopy(record.document)
    tampered["productDescription"] = "something else"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered))
    key = encode_public_key(node.public_key)
    result = runner.invoke(cli, ["footprint", "verify", str(path), "--key", key])
    assert result.exit_code != 0 and "signature" in result.output
    assert "Traceback" not in result.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps(record.document))
    stranger = encode_public_key(bytes(32 * [7]))
    result = runner.invoke(cli, ["footprint", "verify", str(good), "--key", stranger])
    assert result.exit_code != 0


def test_cli_quality_sign_and_verify(node: Node, tmp_path: Path) -> None:
    source = tmp_path / "coa.json"
    source.write_text(json.dumps(certificate()))
    signed = runner.invoke(cli, ["quality", "sign", str(source), "--dir", str(node.config.folder)])
    assert signed.exit_code == 0, signed.output
    path = tmp_path / "signed-coa.json"
    path.write_text(signed.stdout[signed.stdout.index("{") :])
    key = encode_public_key(node.public_key)
    assert runner.invoke(cli, ["quality", "verify", str(path), "--key", key]).exit_code == 0
    doc = json.loads(path.read_text())
    doc["results"][0]["measured"] = "99"
    path.write_text(json.dumps(doc))
    assert runner.invoke(cli, ["quality", "verify", str(path), "--key", key]).exit_code != 0


def test_cli_rejects_an_invalid_footprint_in_one_line(node: Node, tmp_path: Path) -> None:
    bad = footprint()
    bad["pcf"]["declaredUnitAmount"] = "-1"
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(bad))
    result = runner.invoke(
        cli, ["footprint", "sign", str(source), "--dir", str(node.config.folder)]
    )
    assert result.exit_code == 2 and "declaredUnitAmount" in result.output
    assert "Traceback" not in result.output
