"""Quality records: Decimal verdicts, schema validation with paths, Catena-X CoA shape."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
from pyld import jsonld

from schemas.errors import InvalidRecord
from schemas.quality import (
    CONTEXT_URL,
    CertificateOfAnalysis,
    InspectionResult,
    QualityInvestigation,
    QualityNotification,
    coa_to_catenax,
    parse_record,
    validate_record,
)

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
CONTEXT = Path(__file__).resolve().parents[2] / "schemas" / "quality" / "context-v1.jsonld"
LOT = "https://id.example.com/01/09506000134352/10/LOT42"


def inspection(measured: str, **extra) -> InspectionResult:
    return InspectionResult(
        subject=(LOT,),
        characteristic="bore diameter",
        nominal=D("12.000"),
        tolerance_minus=D("0.010"),
        tolerance_plus=D("0.020"),
        measured=D(measured),
        unit="unit:millimetre",
        measured_at=datetime(2025, 3, 1, tzinfo=UTC),
        gauge="G-17",
        operator="op-5",
        machine="M-3",
        material="AlSi9Cu3",
        method="ISO 1101",
        **extra,
    )


@pytest.mark.parametrize(
    ("measured", "verdict"),
    [
        ("12.000", "pass"),
        ("11.990", "pass"),
        ("12.020", "pass"),
        ("11.9899", "fail"),
        ("12.0201", "fail"),
        ("12.1", "fail"),
    ],
)
def test_verdict_is_inclusive_decimal_comparison(measured, verdict):
    assert inspection(measured).verdict == verdict


def test_inspection_round_trip_and_tampered_verdict():
    record = inspection("12.005")
    doc = record.to_document()
    assert doc["v"] == 1 and doc["verdict"] == "pass"
    assert parse_record(doc) == record
    doc["verdict"] = "fail"
    with pytest.raises(InvalidRecord) as caught:
        parse_record(doc)
    assert caught.value.paths == ["$.verdict"]


def test_schema_errors_carry_paths():
    doc = inspection("12").to_document()
    doc["measured"] = "12mm"
    doc["extra"] = 1
    del doc["subject"]
    with pytest.raises(InvalidRecord) as caught:
        validate_record(doc)
    assert {"$.measured", "$"} <= set(caught.value.paths)


def coa(*results) -> CertificateOfAnalysis:
    return CertificateOfAnalysis(
        subject=(LOT,),
        issued=datetime(2025, 3, 2, tzinfo=UTC),
        supplier="BPNL000000000HMG",
        customer="BPNL000000000OEM",
        manufacturer_part_id="BR-2207",
        product_name="Bracket",
        results=results,
        production_date=date(2025, 3, 1),
    )


def test_certificate_conformity_and_catenax_shape():
    good = coa(inspection("12.01"))
    bad = coa(inspection("12.01"), inspection("12.5"))
    assert good.conform and not bad.conform
    assert CertificateOfAnalysis.from_document(good.to_document()) == good
    cx = coa_to_catenax(bad)
    assert cx["certificateMetaData"]["isConformWithSpecification"] is False
    assert cx["materialProperties"][1]["lowerLimit"] == "11.990"
    assert cx["productInstanceInformation"]["localIdentifiers"] == [
        {"key": "batchId", "value": LOT}
    ]


@pytest.mark.skipif(not CONFORMANCE.is_dir(), reason="../shared/conformance is absent")
def test_catenax_coa_validates_with_the_published_schema():
    from jsonschema import Draft4Validator

    schema_path = (
        CONFORMANCE / "catena-x/io.catenax.certificate_of_analysis/2.0.0/gen/"
        "CertificateOfAnalysis-schema.json"
    )
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    assert list(Draft4Validator(schema).iter_errors(coa_to_catenax(coa(inspection("12"))))) == []


def test_catenax_coa_needs_bpnl_parties():
    record = replace(coa(inspection("12")), supplier="Harz Metallguss")
    with pytest.raises(InvalidRecord) as caught:
        coa_to_catenax(record)
    assert "$.supplier" in caught.value.paths


def test_notification_and_investigation_documents():
    note = QualityNotification(
        subject=(LOT,),
        created=datetime(2025, 3, 5, tzinfo=UTC),
        sender="BPNL000000000OEM",
        recipient="BPNL000000000HMG",
        severity="major",
        description="Porosity at bore",
    )
    inv = QualityInvestigation(
        subject=(LOT,),
        opened=datetime(2025, 3, 6, tzinfo=UTC),
        notifications=(note.id,),
        disciplines={"D1": "team", "D4": "gas"},
    )
    validate_record(note.to_document())
    validate_record(inv.to_document())
    with pytest.raises(InvalidRecord):
        QualityNotification(
            subject=(LOT,),
            created=datetime(2025, 3, 5, tzinfo=UTC),
            sender="a",
            recipient="b",
            severity="urgent",
            description="x",
        ).to_document()
    with pytest.raises(InvalidRecord):
        QualityInvestigation(
            subject=(LOT,),
            opened=datetime(2025, 3, 6, tzinfo=UTC),
            notifications=(),
            disciplines={"D9": "?"},
        ).to_document()


def test_json_ld_context_drops_no_property():
    context = json.loads(CONTEXT.read_text(encoding="utf-8"))

    def loader(url, options=None):
        assert url == CONTEXT_URL
        return {"contextUrl": None, "documentUrl": url, "document": context}

    doc = coa(inspection("12")).to_document()
    expanded = jsonld.expand(doc, {"documentLoader": loader})
    compacted = jsonld.compact(expanded, CONTEXT_URL, {"documentLoader": loader})
    compacted.pop("@context")
    doc.pop("@context")
    assert compacted["results"][0]["measured"] == doc["results"][0]["measured"]
    assert set(compacted) == set(doc)
