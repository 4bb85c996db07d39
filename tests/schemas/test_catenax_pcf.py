"""Catena-X examples validate against their own schemas; PCF 9.0.0 <-> PACT v3 with losses.

PCF 10.0.0 and what differs from 9.0.0 are in `test_catenax_pcf_10.py`.
"""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from schemas.catenax import catenax_to_pact, pact_to_catenax
from schemas.catenax.pcf import _leaves, _path
from schemas.catenax.schema import problems, schema_validator
from schemas.pact.quantity import is_plain_decimal

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
CATENAX = CONFORMANCE / "catena-x"
DATA = Path(__file__).resolve().parent / "data"
MODELS = [
    "io.catenax.pcf/9.0.0/gen/Pcf",
    "io.catenax.batch/4.0.0/gen/Batch",
    "io.catenax.serial_part/4.0.0/gen/SerialPart",
    "io.catenax.single_level_bom_as_built/4.0.0/gen/SingleLevelBomAsBuilt",
    "io.catenax.quality_task/3.0.0/gen/QualityTask",
    "io.catenax.report_8d/1.0.0/gen/Report8D",
    "io.catenax.certificate_of_analysis/2.0.0/gen/CertificateOfAnalysis",
]
needs_corpus = pytest.mark.skipif(
    not CATENAX.is_dir(), reason="conformance data ../shared/conformance/catena-x is absent"
)


def read(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


@needs_corpus
@pytest.mark.parametrize("model", MODELS)
def test_examples_validate_against_their_schemas(model):
    schema = read(CATENAX / f"{model}-schema.json")
    Draft4Validator.check_schema(schema)
    assert list(schema_validator(schema).iter_errors(read(CATENAX / f"{model}.json"))) == []


@needs_corpus
def test_bundled_schemas_are_the_published_ones():
    bundled = Path(__file__).resolve().parents[2] / "schemas" / "catenax"
    assert read(bundled / "pcf-9.0.0.schema.json") == read(
        CATENAX / "io.catenax.pcf/9.0.0/gen/Pcf-schema.json"
    )


def regional_footprint() -> dict:
    """The PACT fixture at region granularity: Catena-X (9.0.0 and 10.0.0) requires a region."""
    doc = read(DATA / "pact-v3-footprint.json")
    del doc["pcf"]["geographyCountry"]
    doc["pcf"]["geographyRegionOrSubregion"] = "Western Europe"
    return doc


@pytest.fixture
def pact():
    return regional_footprint()


@needs_corpus
def test_catenax_example_to_pact():
    cx = read(CATENAX / "io.catenax.pcf/9.0.0/gen/Pcf.json")
    pact, report = catenax_to_pact(cx)
    assert pact["id"] == "3893bb5d-da16-4dc1-9185-11d97476c254"
    assert pact["pcf"]["pcfExcludingBiogenicUptake"] == "2.9"
    assert pact["pcf"]["geographyCountrySubdivision"] == "US-NY"
    assert pact["pcf"]["crossSectoralStandards"] == ["ISO14067"]
    assert pact["pcf"]["secondaryEmissionFactorSources"] == [
        {"name": "ecoinvent", "version": "3.8"}
    ]
    lost = set(report.lost_paths)
    geo = "$.pcfAssessmentAndMethodology[0].pcfAssessmentInformation[0].geography[0]"
    assert {
        f"{geo}.geographyCountry",
        f"{geo}.geographyRegionOrSubregion",
        "$.general[0].pcfLegalStatement",
        "$.carbonContent[0].carbonContentTotal",
        "$.attestationOfConformance[0].attestationOfConformanceId",
        "$.attestationOfConformance[0].attestationStandard",
    } <= lost
    # every source leaf is either used or reported lost
    assert all(note.path.startswith("$.") for note in report.lost)
    # the example's ids are not RFC 8141 URNs: our strict overlay says so
    assert {p for p, _ in report.problems} == {"$.companyIds[0]", "$.productIds[0]"}


def test_pact_to_catenax_validates_and_reports_losses(pact):
    cx, report = pact_to_catenax(pact)
    assert report.problems == []
    assert problems(cx, "io.catenax.pcf:9.0.0") == []
    production = cx["productLifeCycleStagesAndEmissions"][0]["productionStage"][0]
    assert production["pcfExcludingBiogenicUptake"] == 72.5
    assert {
        "$.precedingPfIds",
        "$.pcf.landManagementFossilGhgEmissions",
        "$.pcf.verification.providerName",
        "$.extensions[0].dataSchema",
    } <= set(report.lost_paths)


def _value(doc, leaf):
    for key in leaf:
        doc = doc[key]
    return doc


@pytest.mark.parametrize("version", ["9.0.0", "10.0.0"])
def test_round_trip_keeps_everything_not_reported(pact, version):
    cx, there = pact_to_catenax(pact, version=version)
    back, home = catenax_to_pact(cx)
    assert home.problems == []
    lost = set(there.lost_paths)
    derived = {n.path for n in home.derived}
    checked = 0
    for leaf in _leaves(pact):
        path = _path(leaf)
        if any(path == p or path.startswith((p + ".", p + "[")) for p in lost) or path in derived:
            continue
        original, returned = _value(pact, leaf), _value(back, leaf)
        if isinstance(original, list):  # a list that lost some of its items
            original = [x for i, x in enumerate(original) if f"{path}[{i}]" not in lost]
        if is_plain_decimal(original):
            assert Decimal(returned) == Decimal(original), path
        else:
            assert returned == original, path
        checked += 1
    assert checked > 40


def test_losses_in_the_other_direction_are_reported(pact):
    cx, _ = pact_to_catenax(pact)
    cx = copy.deepcopy(cx)
    cx["general"][0]["pcfLegalStatement"] = "For information only"
    cx["pcfAssessmentAndMethodology"][0]["verificationAndCertificationShares"] = [
        {"programCertificationShare": 40}
    ]
    _, report = catenax_to_pact(cx)
    assert "$.general[0].pcfLegalStatement" in report.lost_paths
    assert (
        "$.pcfAssessmentAndMethodology[0].verificationAndCertificationShares[0]"
        ".programCertificationShare" in report.lost_paths
    )
