"""Catena-X PCF 10.0.0 <-> PACT v3, and how its mapping differs from 9.0.0's.

The round trip through both versions is in `test_catenax_pcf.py`.
"""

import copy
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from schemas.catenax import catenax_to_pact, pact_to_catenax
from schemas.catenax.schema import problems
from schemas.errors import InvalidRecord
from schemas.pact import validate_footprint
from tests.schemas.test_catenax_pcf import DATA, read, regional_footprint

ROOT = Path(__file__).resolve().parents[2]
CATENAX_9 = ROOT.parent / "shared" / "conformance" / "catena-x" / "io.catenax.pcf" / "9.0.0"
V9, V10 = "io.catenax.pcf:9.0.0", "io.catenax.pcf:10.0.0"
ASSESSMENT = "$.pcfAssessmentAndMethodology[0]"
IDS = f"{ASSESSMENT}.pcfAssessmentInformation[0].idAndVersion[0]"
METHODOLOGY = f"{ASSESSMENT}.pcfMethodology[0]"
STANDARDS = f"{METHODOLOGY}.standards[0].crossSectoralStandards"
FREE_ATTRIBUTION = f"{METHODOLOGY}.massBalancingInformation[0].freeAttributionInMassBalancing"
UNIT = "$.companyAndProductInformation[0].productInformation[0].declaredUnitOfMeasurement"
PACKAGING = "$.productLifeCycleStagesAndEmissions[0].packagingStage[0].packaging"
DISTRIBUTION = "$.productLifeCycleStagesAndEmissions[0].distributionStage[0].distributionStage"
# Every field of the upstream 10.0.0 example that does not reach PACT v3.
# Packaging and distribution stage details that PACT has no field for.
STAGE_DETAILS = (
    "PcfIncludingBiogenicUptake",
    "FossilGhgEmissions",
    "BiogenicNonCO2Emissions",
    "BiogenicCO2Uptake",
    "LandUseChangeGhgEmissions",
    "LandManagementBiogenicCO2Emissions",
    "LandManagementBiogenicCO2Removals",
    "AircraftGhgEmissions",
)
EXAMPLE_LOSSES = {
    f"{IDS}.precedingPfIds[0]",  # not a UUID
    f"{IDS}.version",
    f"{IDS}.retroOrProspectivePcfType",
    f"{ASSESSMENT}.pcfAssessmentInformation[0].geography[0].geographyCountry",
    f"{ASSESSMENT}.pcfAssessmentInformation[0].geography[0].geographyRegionOrSubregion",
    "$.general[0].pcfLegalStatement",
    "$.carbonContent[0].carbonContentTotal",
    "$.attestationOfConformance[0].attestationOfConformanceLink",
    "$.attestationOfConformance[0].attestationOfConformanceId",
    "$.attestationOfConformance[0].providerId",
    "$.attestationOfConformance[0].attestationStandard",
    f"{METHODOLOGY}.massBalancingInformation[0].massBalancingUsed",
    f"{METHODOLOGY}.massBalancingInformation[0].massBalancingCertificateScheme",
    FREE_ATTRIBUTION,
    f"{METHODOLOGY}.allocationInForeground[0].allocationRecycledCarbon",
    f"{METHODOLOGY}.allocationInForeground[0].allocationWasteIncineration",
    *(
        f"{ASSESSMENT}.verificationAndCertificationShares[0].{name}"
        for name in (
            "programCertificationShare",
            "productVerificationShare1stParty",
            "productVerificationShare2ndParty",
            "productVerificationShare3rdParty",
        )
    ),
    *(f"{PACKAGING}{name}" for name in STAGE_DETAILS),
    *(f"{DISTRIBUTION}{name}" for name in STAGE_DETAILS),
    f"{DISTRIBUTION}PcfExcludingBiogenicUptake",  # distributionStageIncluded is false
}
needs_corpus = pytest.mark.skipif(
    not CATENAX_9.is_dir(), reason="conformance data ../shared/conformance/catena-x is absent"
)


@pytest.fixture
def cx10():
    return read(DATA / "catenax-pcf-10.0.0-example.json")


@pytest.fixture
def pact():
    return regional_footprint()


def test_bundled_schema_is_draft4_and_the_upstream_example_satisfies_it(cx10):
    Draft4Validator.check_schema(read(ROOT / "schemas" / "catenax" / "pcf-10.0.0.schema.json"))
    assert problems(cx10, V10) == []


def test_the_version_differences_decide_each_examples_verdict(cx10):
    """Each version's example is refused by the other version's schema, where they differ."""
    assert {path for path, _ in problems(cx10, V9)} == {
        f"{IDS}.precedingPfIds[0]",
        FREE_ATTRIBUTION,
        STANDARDS,
    }


@needs_corpus
def test_the_9_example_fails_the_10_schema_where_the_versions_differ():
    cx9 = read(CATENAX_9 / "gen" / "Pcf.json")
    assert {path for path, _ in problems(cx9, V10)} == {
        f"{IDS}.precedingPfIds[0]",
        FREE_ATTRIBUTION,
        STANDARDS,
    }


def test_upstream_example_maps_to_pact(cx10):
    out, report = catenax_to_pact(cx10)
    assert out["id"] == "3893bb5d-da16-4dc1-9185-11d97476c254"
    assert out["pcf"]["crossSectoralStandards"] == ["ISO14067"]  # from a single name
    assert out["pcf"]["geographyCountrySubdivision"] == "US-NY"
    assert out["pcf"]["packagingGhgEmissions"] == "0"
    assert "outboundLogisticsGhgEmissions" not in out["pcf"]  # distributionStageIncluded false
    assert "precedingPfIds" not in out
    lost = {note.path: note.reason for note in report.lost}
    assert len(lost) == len(report.lost) == len(EXAMPLE_LOSSES)
    assert set(lost) == EXAMPLE_LOSSES
    assert lost[f"{IDS}.precedingPfIds[0]"] == "PACT precedingPfIds are UUIDs"
    assert (
        "only when distributionStageIncluded" in lost[f"{DISTRIBUTION}PcfExcludingBiogenicUptake"]
    )
    # The example's ids are not RFC 8141 URNs (a dot in the namespace, no NSS): nothing else
    # in the mapped footprint fails PACT validation.
    assert {path for path, _ in report.problems} == {"$.companyIds[0]", "$.productIds[0]"}


def test_upstream_example_with_urn_ids_passes_pact_validation(cx10):
    info = cx10["companyAndProductInformation"][0]
    info["companyInformation"][0]["companyIds"] = ["urn:bpn:id:BPNL000000000DWF"]
    info["productInformation"][0]["productIds"] = ["urn:pact:mycompany.com:product-id:401765"]
    out, report = catenax_to_pact(cx10)
    assert report.problems == []
    assert validate_footprint(out).errors == []


@needs_corpus
def test_only_the_version_specific_fields_are_lost_differently_from_9():
    _, report9 = catenax_to_pact(read(CATENAX_9 / "gen" / "Pcf.json"))
    _, report10 = catenax_to_pact(read(DATA / "catenax-pcf-10.0.0-example.json"))
    lost9, lost10 = set(report9.lost_paths), set(report10.lost_paths)
    # 9.0.0's preceding ids are empty entities (nothing to lose); 10.0.0's are strings, and
    # the example's one is no UUID. 10.0.0 dropped the stray packaging field of productionStage.
    assert lost10 - lost9 == {f"{IDS}.precedingPfIds[0]"}
    assert lost9 - lost10 == {
        "$.productLifeCycleStagesAndEmissions[0].productionStage[0]"
        ".packagingLandManagementBiogenicCO2Emissions"
    }


def test_preceding_ids_that_are_uuids_reach_pact(cx10):
    ids = cx10["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["idAndVersion"]
    ids[0]["precedingPfIds"] = [
        "urn:uuid:0b5e7c1a-2d3f-4a6b-8c9d-0e1f2a3b4c5d",
        "not-a-uuid",
        "5a0c7a52-2b0c-4a57-9b3e-0f3d2c1b0a99",
    ]
    out, report = catenax_to_pact(cx10)
    assert out["precedingPfIds"] == [
        "0b5e7c1a-2d3f-4a6b-8c9d-0e1f2a3b4c5d",
        "5a0c7a52-2b0c-4a57-9b3e-0f3d2c1b0a99",
    ]
    assert [p for p in report.lost_paths if "precedingPfIds" in p] == [f"{IDS}.precedingPfIds[1]"]


def test_other_standard_is_lost_towards_pact(cx10):
    cx10["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0]["standards"][0][
        "crossSectoralStandards"
    ] = "Other"
    out, report = catenax_to_pact(cx10)
    assert "crossSectoralStandards" not in out["pcf"]
    assert STANDARDS in report.lost_paths
    assert "$.pcf.crossSectoralStandards" in {path for path, _ in report.problems}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda m: m["standards"][0].update(crossSectoralStandards=["ISO 14067"]), STANDARDS),
        (
            lambda m: m["massBalancingInformation"][0].update(
                freeAttributionInMassBalancing="true"
            ),
            FREE_ATTRIBUTION,
        ),
        (
            lambda m: m["gwpCharacterizationFactorDetails"][0].update(
                ipccCharacterizationFactors="AR7"
            ),
            f"{METHODOLOGY}.gwpCharacterizationFactorDetails[0].ipccCharacterizationFactors",
        ),
    ],
    ids=["standards-as-array", "free-attribution-as-text", "unknown-ipcc-report"],
)
def test_a_10_aspect_with_an_invalid_field_is_rejected_with_its_path(cx10, change, path):
    change(cx10["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0])
    with pytest.raises(InvalidRecord) as raised:
        catenax_to_pact(cx10)
    assert path in raised.value.paths


@pytest.mark.parametrize(
    "declared",
    ["urn:io.catenax.pcf:datamodel:version:8.0.0", "10.0.0", None],
    ids=["older-version", "bare-number", "missing"],
)
def test_an_unknown_spec_version_is_rejected(cx10, declared):
    scope = cx10["scopeOfPcfForm"][0]
    if declared is None:
        del scope["specVersion"]
    else:
        scope["specVersion"] = declared
    with pytest.raises(InvalidRecord) as raised:
        catenax_to_pact(cx10)
    assert raised.value.paths == ["$.scopeOfPcfForm[0].specVersion"]
    assert "urn:io.catenax.pcf:datamodel:version:10.0.0" in str(raised.value)


def test_pact_to_10_validates_and_reports_its_own_losses(pact):
    cx, report = pact_to_catenax(pact, version="10.0.0")
    assert report.problems == [] and problems(cx, V10) == []
    assert cx["scopeOfPcfForm"][0]["specVersion"] == "urn:io.catenax.pcf:datamodel:version:10.0.0"
    methodology = cx["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0]
    assert methodology["standards"][0]["crossSectoralStandards"] == "ISO 14067"
    assert methodology["massBalancingInformation"] == [{"massBalancingUsed": False}]
    ids = cx["pcfAssessmentAndMethodology"][0]["pcfAssessmentInformation"][0]["idAndVersion"]
    assert ids[0]["precedingPfIds"] == pact["precedingPfIds"]

    _, report9 = pact_to_catenax(pact)  # 9.0.0 by default
    lost9, lost10 = set(report9.lost_paths), set(report.lost_paths)
    assert lost10 - lost9 == {"$.pcf.crossSectoralStandards[1]"}  # PACT-3.0: one name only
    assert lost9 - lost10 == {"$.precedingPfIds"}  # 9.0.0 cannot hold them
    derived9, derived10 = {n.path for n in report9.derived}, {n.path for n in report.derived}
    assert derived9 - derived10 == {
        f"{METHODOLOGY}.massBalancingInformation[0].freeAttributionInMassBalancing",
        f"{METHODOLOGY}.massBalancingInformation[0].massBalancingCertificateScheme",
    }


def test_pact_standards_without_a_10_name_become_other(pact):
    pact["pcf"]["crossSectoralStandards"] = ["ISO14083"]
    cx, report = pact_to_catenax(pact, version="10.0.0")
    assert report.problems == []
    standards = cx["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0]["standards"][0]
    assert standards["crossSectoralStandards"] == "Other"
    assert "$.pcf.crossSectoralStandards[0]" in report.lost_paths
    assert STANDARDS in {n.path for n in report.derived}
    # 9.0.0 takes any name, so nothing is lost there.
    cx9, report9 = pact_to_catenax(pact)
    assert not [p for p in report9.lost_paths if "crossSectoralStandards" in p]
    standards9 = cx9["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0]["standards"][0]
    assert standards9["crossSectoralStandards"] == ["ISO14083"]


def test_megabit_second_exists_only_in_10(pact):
    pact["pcf"]["declaredUnitOfMeasurement"] = "megabit second"
    _, report10 = pact_to_catenax(pact, version="10.0.0")
    _, report9 = pact_to_catenax(pact, version="9.0.0")
    assert report10.problems == []
    assert [path for path, _ in report9.problems] == [UNIT]


def test_an_unknown_version_to_write_is_refused(pact):
    with pytest.raises(ValueError, match=r"known: 9\.0\.0, 10\.0\.0"):
        pact_to_catenax(pact, version="8.0.0")


def test_round_trip_through_10_keeps_preceding_ids_and_one_standard(pact):
    cx, there = pact_to_catenax(pact, version="10.0.0")
    back, _ = catenax_to_pact(cx)
    assert back["precedingPfIds"] == pact["precedingPfIds"]
    assert back["pcf"]["crossSectoralStandards"] == ["ISO14067"]
    assert "$.pcf.crossSectoralStandards[1]" in there.lost_paths  # PACT-3.0


def test_losses_from_a_10_aspect_towards_pact_are_reported(pact):
    cx, _ = pact_to_catenax(pact, version="10.0.0")
    cx = copy.deepcopy(cx)
    allocation = cx["pcfAssessmentAndMethodology"][0]["pcfMethodology"][0][
        "allocationInForeground"
    ][0]
    allocation["allocationRecycledCarbon"] = "cut-off"
    cx["attestationOfConformance"] = [
        {
            "attestationType": "PCF Program Certification",
            "standardName": "Catena-X Product Carbon Footprint Rulebook v4",
            "attestationStandard": "PCF Verification and PCF Program Certification Framework V2",
            "attestationOfConformanceId": "4a7c4482-8431-4c31-a895-70341d2a1376",
            "attestationOfConformanceLink": "https://certifier.example/4a7c4482",
            "providerName": "Nordprüf AG",
        }
    ]
    out, report = catenax_to_pact(cx)
    assert out["pcf"]["verification"] == {
        "providerName": "Nordprüf AG",
        "standardName": "Catena-X Product Carbon Footprint Rulebook v4",
        "coverage": "PCF program",
    }
    assert {
        f"{METHODOLOGY}.allocationInForeground[0].allocationRecycledCarbon",
        "$.attestationOfConformance[0].attestationOfConformanceLink",
        "$.attestationOfConformance[0].attestationOfConformanceId",
        "$.attestationOfConformance[0].attestationStandard",
    } <= set(report.lost_paths)
