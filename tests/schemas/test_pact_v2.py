"""v2.x -> v3 conversion: per-one-unit values become per-declaredUnitAmount values."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from schemas.errors import InvalidRecord
from schemas.pact import convert_v2_to_v3, validate_footprint

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def v2():
    return json.loads((DATA / "pact-v2-footprint.json").read_text(encoding="utf-8"))


def test_values_are_scaled_by_unitary_product_amount(v2):
    v3, report = convert_v2_to_v3(v2)
    pcf = v3["pcf"]
    assert pcf["declaredUnitOfMeasurement"] == "kilogram"
    assert pcf["declaredUnitAmount"] == "25"
    # 25 kg x 6.48 kgCO2e/kg etc., exact in Decimal
    assert Decimal(pcf["pcfExcludingBiogenicUptake"]) == Decimal("162")
    assert Decimal(pcf["pcfIncludingBiogenicUptake"]) == Decimal("160")
    assert Decimal(pcf["fossilGhgEmissions"]) == Decimal("157.5")
    assert Decimal(pcf["fossilCarbonContent"]) == Decimal("15.9")
    assert Decimal(pcf["landUseChangeGhgEmissions"]) == Decimal("1.5")
    assert Decimal(pcf["biogenicCO2Uptake"]) == Decimal("-2")
    assert Decimal(pcf["productMassPerDeclaredUnit"]) == Decimal("25")
    assert Decimal(pcf["packagingGhgEmissions"]) == Decimal("1")
    # not per unit: copied
    assert pcf["exemptedEmissionsPercent"] == "1.5"
    assert pcf["primaryDataShare"] == "45.5"
    assert pcf["dqi"] == {"technologicalDQR": "1.6", "geographicalDQR": "1.8", "temporalDQR": "1.2"}
    assert pcf["crossSectoralStandards"] == ["GHGP-Product", "ISO14067"]
    assert v3["productClassifications"] == ["urn:pact:productclassification:un-cpc:3470"]
    assert report.problems == []
    assert validate_footprint(v3).ok


def test_report_names_lost_fields(v2):
    _, report = convert_v2_to_v3(v2)
    assert {
        "$.version",
        "$.updated",
        "$.statusComment",
        "$.pcf.landManagementGhgEmissions",
        "$.pcf.otherBiogenicGhgEmissions",
        "$.pcf.dqi.completenessDQR",
        "$.pcf.assurance.level",
    } <= set(report.lost)
    scaled = {n.v2_path for n in report.of_kind("scaled")}
    assert "$.pcf.pCfExcludingBiogenic" in scaled


def test_missing_including_value_is_derived(v2):
    del v2["pcf"]["pCfIncludingBiogenic"]
    v3, report = convert_v2_to_v3(v2)
    assert Decimal(v3["pcf"]["pcfIncludingBiogenicUptake"]) == Decimal("160")
    assert report.of_kind("derived")


def test_non_kilogram_without_mass_leaves_a_problem(v2):
    v2["pcf"]["declaredUnit"] = "liter"
    del v2["pcf"]["productMassPerDeclaredUnit"]
    _, report = convert_v2_to_v3(v2)
    assert ("$.pcf.productMassPerDeclaredUnit", "required property is missing") in report.problems


def test_bad_amount_is_rejected(v2):
    v2["pcf"]["unitaryProductAmount"] = "25kg"
    with pytest.raises(InvalidRecord) as caught:
        convert_v2_to_v3(v2)
    assert "$.pcf.unitaryProductAmount" in caught.value.paths
