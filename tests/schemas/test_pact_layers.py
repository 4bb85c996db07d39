"""Each validation layer reports its failures with the JSON path of the offending value."""

import copy
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.errors import InvalidRecord
from schemas.pact import parse_footprint, validate_footprint
from schemas.pact.quantity import decimal_text, is_plain_decimal, parse_decimal

DATA = Path(__file__).resolve().parent / "data"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def doc():
    return json.loads((DATA / "pact-v3-footprint.json").read_text(encoding="utf-8"))


def paths(findings, layer):
    return {f.path for f in findings if f.layer == layer}


def test_layer1_missing_required_and_bad_format(doc):
    del doc["pcf"]["fossilGhgEmissions"]
    doc["id"] = "not-a-uuid"
    doc["created"] = "2025-13-01"
    report = validate_footprint(doc, now=NOW)
    assert {"$.pcf.fossilGhgEmissions", "$.id", "$.created"} <= paths(report.errors, 1)


def test_layer1_geography_must_be_single(doc):
    doc["pcf"]["geographyRegionOrSubregion"] = "Europe"
    assert "$.pcf" in paths(validate_footprint(doc, now=NOW).errors, 1)


@pytest.mark.parametrize("bad", ["10kg", "1e3", "+5", " 5", "5.", ".5", "0x10", "1,5", "５"])
def test_layer2_rejects_non_plain_decimals(doc, bad):
    doc["pcf"]["fossilGhgEmissions"] = bad
    report = validate_footprint(doc, now=NOW)
    assert paths(report.errors, 1) == set()  # the official schema lets them through
    assert "$.pcf.fossilGhgEmissions" in paths(report.errors, 2)


def test_layer2_sign_rules(doc):
    doc["pcf"]["biogenicCO2Uptake"] = "0.2"  # x-comment '<= 0'
    doc["pcf"]["landManagementBiogenicCO2Removals"] = "0.1"  # '<= 0'
    doc["pcf"]["fossilCarbonContent"] = "-1"  # '>= 0'
    doc["pcf"]["declaredUnitAmount"] = "0"  # '> 0'
    found = paths(validate_footprint(doc, now=NOW).errors, 2)
    assert {
        "$.pcf.biogenicCO2Uptake",
        "$.pcf.landManagementBiogenicCO2Removals",
        "$.pcf.fossilCarbonContent",
        "$.pcf.declaredUnitAmount",
    } <= found


def test_layer2_unknown_properties_anywhere(doc):
    doc["colour"] = "red"
    doc["pcf"]["dqi"]["completenessDQR"] = "2"
    doc["pcf"]["secondaryEmissionFactorSources"][0]["url"] = "https://example.com"
    doc["extensions"][0]["data"]["free"] = "extension data stays open"
    found = paths(validate_footprint(doc, now=NOW).errors, 2)
    assert found == {
        "$.colour",
        "$.pcf.dqi.completenessDQR",
        "$.pcf.secondaryEmissionFactorSources[0].url",
    }


def test_layer2_ids(doc):
    doc["precedingPfIds"] = [doc["id"]]
    doc["productIds"] = ["urn:x"]
    found = paths(validate_footprint(doc, now=NOW).errors, 2)
    assert {"$.precedingPfIds", "$.productIds[0]"} <= found


def test_layer2_conditional_fields(doc):
    doc["pcf"]["packagingEmissionsIncluded"] = False
    doc["pcf"]["ccsTechnologicalCO2Capture"] = "-1"
    doc["pcf"]["dqi"]["temporalDQR"] = "6"
    found = paths(validate_footprint(doc, now=NOW).errors, 2)
    assert {
        "$.pcf.packagingGhgEmissions",
        "$.pcf.ccsTechnologicalCO2Capture",
        "$.pcf.dqi.temporalDQR",
    } <= found


def test_layer3_identities_are_warnings(doc):
    doc["pcf"]["pcfExcludingBiogenicUptake"] = "80"
    report = validate_footprint(doc, now=NOW)
    assert report.ok
    assert paths(report.warnings, 3) == {
        "$.pcf.pcfExcludingBiogenicUptake",
        "$.pcf.pcfIncludingBiogenicUptake",
    }


def test_layer3_reference_period_and_quality(doc):
    doc["pcf"]["referencePeriodStart"] = "2026-06-01T00:00:00Z"
    doc["pcf"]["referencePeriodEnd"] = "2026-03-01T00:00:00Z"
    del doc["pcf"]["dqi"]
    report = validate_footprint(doc, now=NOW)
    assert report.ok
    found = paths(report.warnings, 3)
    assert {"$.pcf.referencePeriodEnd", "$.pcf.referencePeriodStart", "$.pcf.dqi"} <= found
    assert any("ends before it starts" in f.message for f in report.warnings)


def test_parse_footprint_uses_decimal(doc):
    model = parse_footprint(doc)
    assert model.pcf.pcf_excluding_biogenic_uptake == Decimal("72.50")
    assert model.pcf.dqi.technological_dqr == Decimal("1.8")
    assert model.pcf.per_declared_unit(model.pcf.pcf_excluding_biogenic_uptake) == Decimal("7.25")
    assert model.preceding_pf_ids == ("0b5e7c1a-2d3f-4a6b-8c9d-0e1f2a3b4c5d",)


def test_parse_footprint_raises_with_paths(doc):
    bad = copy.deepcopy(doc)
    bad["pcf"]["fossilGhgEmissions"] = "1e3"
    with pytest.raises(InvalidRecord) as caught:
        parse_footprint(bad)
    assert "$.pcf.fossilGhgEmissions" in caught.value.paths


REFERENCE = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@given(st.text(max_size=12))
def test_plain_decimal_matches_reference_grammar(text):
    assert is_plain_decimal(text) == bool(REFERENCE.fullmatch(text))


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_decimal_text_round_trips(value):
    text = decimal_text(value)
    assert is_plain_decimal(text)
    assert parse_decimal(text) == value


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.sampled_from(["kg", "e3", "E-2", " ", "%", "t"]),
)
def test_overlay_rejects_decimals_with_suffix(value, suffix):
    doc = json.loads((DATA / "pact-v3-footprint.json").read_text(encoding="utf-8"))
    doc["pcf"]["aircraftGhgEmissions"] = decimal_text(abs(value)) + suffix
    report = validate_footprint(doc, now=NOW)
    assert "$.pcf.aircraftGhgEmissions" in paths(report.errors, 2)
