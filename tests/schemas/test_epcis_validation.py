"""EPCIS document validation: openepcis corpus verdicts, real format checks, full error reports."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from schemas.epcis import document_problems, validate_document, validate_event
from schemas.epcis.document_schema import SCHEMA
from schemas.errors import InvalidRecord

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
OPENEPCIS = CONFORMANCE / "epcis" / "openepcis" / "2.0" / "EPCIS" / "JSON"
HASH_EXAMPLES = CONFORMANCE / "epcis" / "event-hash" / "examples"


def _files(folder: Path, pattern: str = "*.json") -> list[str]:
    return sorted(p.name for p in folder.glob(pattern)) if folder.is_dir() else ["<missing>"]


def _load(path: Path) -> dict:
    if not path.is_file():
        pytest.skip(f"EPCIS conformance data not found at {path.parent}")
    return json.loads(path.read_text(encoding="utf-8"))


VALID_FOLDERS = ["Capture/Documents", "Query"]
INVALID_FOLDERS = ["Capture/Invalid", "Query/Invalid"]


@pytest.mark.parametrize(
    "folder,name", [(f, n) for f in VALID_FOLDERS for n in _files(OPENEPCIS / f)]
)
def test_valid_corpus_document_is_accepted(folder: str, name: str) -> None:
    validate_document(_load(OPENEPCIS / folder / name))


@pytest.mark.parametrize("name", _files(HASH_EXAMPLES, "*.jsonld"))
def test_event_hash_example_documents_are_accepted(name: str) -> None:
    validate_document(_load(HASH_EXAMPLES / name))


@pytest.mark.parametrize("name", _files(OPENEPCIS / "Capture/Events"))
def test_valid_corpus_single_event_is_accepted(name: str) -> None:
    validate_event(_load(OPENEPCIS / "Capture/Events" / name))


@pytest.mark.parametrize(
    "folder,name", [(f, n) for f in INVALID_FOLDERS for n in _files(OPENEPCIS / f)]
)
def test_invalid_corpus_document_is_rejected(folder: str, name: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        validate_document(_load(OPENEPCIS / folder / name))
    assert all(path.startswith("$") for path in caught.value.paths)


# Why each invalid file is invalid, as the path our report must name.
EXPECTED_INVALID_PATHS = {
    "ObjectEvent_with_invalid_eventTime_format.json": "$.epcisBody.eventList[0].eventTime",
    "ObjectEvent_with_invalid_action.json": "$.epcisBody.eventList[0].action",
    "ObjectEvent_with_non_standard_bizStep_in_second_event.json": (
        "$.epcisBody.eventList[1].bizStep"
    ),
    "ObjectEvent_with_non_standard_disposition.json": "$.epcisBody.eventList[0].disposition",
    "ObjectEvent_with_quantity_as_text.json": "$.epcisBody.eventList[0].quantityList[0].quantity",
    "ObjectEvent_with_unknown_field_in_quantityList.json": (
        "$.epcisBody.eventList[0].quantityList[0].weight"
    ),
    "ObjectEvent_with_ilmd_field_without_namespace.json": (
        "$.epcisBody.eventList[0].ilmd.materialType"
    ),
    "ObjectEvent_with_invalid_certificationInfo.json": (
        "$.epcisBody.eventList[0].certificationInfo"
    ),
    "EPCISDocument_without_context.json": "$['@context']",
    "ObjectEvent_without_identifier_list.json": "$.epcisBody.eventList[0]",
}


@pytest.mark.parametrize("name,path", sorted(EXPECTED_INVALID_PATHS.items()))
def test_invalid_corpus_document_reports_the_offending_path(name: str, path: str) -> None:
    problems = document_problems(_load(OPENEPCIS / "Capture/Invalid" / name))
    assert path in [where for where, _ in problems]


def test_every_problem_is_listed_in_one_report() -> None:
    doc = _load(OPENEPCIS / "Capture/Invalid/Combination_of_multiple_invalid_fields.json")
    with pytest.raises(InvalidRecord) as caught:
        validate_document(doc)
    assert set(caught.value.paths) >= {
        "$.epcisBody.eventList[0].bizStep",
        "$.epcisBody.eventList[1].disposition",
        "$.epcisBody.eventList[2].sourceList[0].type",
        "$.epcisBody.eventList[3].ilmd.materialType",
        "$.epcisBody.eventList[4].eventTime",
        "$.epcisBody.eventList[4].action",
    }


def _minimal_document() -> dict:
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-01-01T00:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2024-01-01T00:00:00+01:00",
                    "eventTimeZoneOffset": "+01:00",
                    "action": "OBSERVE",
                    "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
                    "bizStep": "shipping",
                }
            ]
        },
    }


def test_format_checks_really_run() -> None:
    bad_time = _minimal_document()
    bad_time["epcisBody"]["eventList"][0]["eventTime"] = "2024-13-45T99:00:00+01:00"
    # A plain jsonschema call ignores "format": this is the trap the validator must avoid.
    jsonschema.validate(bad_time, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert document_problems(bad_time) == [
        ("$.epcisBody.eventList[0].eventTime", "'2024-13-45T99:00:00+01:00' is not a 'date-time'")
    ]
    bad_uri = _minimal_document()
    bad_uri["epcisBody"]["eventList"][0]["epcList"] = ["not a uri"]
    assert [p for p, _ in document_problems(bad_uri)] == ["$.epcisBody.eventList[0].epcList[0]"]


def test_minimal_document_is_valid_and_unknown_context_is_rejected() -> None:
    doc = _minimal_document()
    validate_document(doc)
    doc["@context"] = ["https://example.org/evil-context.jsonld"]
    assert [p for p, _ in document_problems(doc)] == ["$['@context'][0]"]
    doc["@context"] = [{"ex": "https://example.org/"}]
    assert [p for p, _ in document_problems(doc)] == ["$['@context']"]


@pytest.mark.parametrize(
    "field,value,ok",
    [
        ("bizStep", "shipping", True),
        ("bizStep", "cbv:BizStep-shipping", True),
        ("bizStep", "https://ref.gs1.org/cbv/BizStep-shipping", True),
        ("bizStep", "urn:epcglobal:cbv:bizstep:shipping", True),
        ("bizStep", "https://example.com/steps/blending", True),
        ("bizStep", "blending", False),
        ("bizStep", "cbv:BizStep-blending", False),
        ("disposition", "in_transit", True),
        ("disposition", "in_transport", False),
    ],
)
def test_cbv_vocabulary_forms(field: str, value: str, ok: bool) -> None:
    doc = _minimal_document()
    doc["epcisBody"]["eventList"][0][field] = value
    problems = document_problems(doc)
    assert (problems == []) is ok, problems


def test_action_rules_per_event_type() -> None:
    doc = _minimal_document()
    doc["epcisBody"]["eventList"] = [
        {
            "type": "AggregationEvent",
            "eventTime": "2024-01-01T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "childEPCs": ["urn:epc:id:sgtin:4012345.011111.1"],
        },
        {
            "type": "TransformationEvent",
            "eventTime": "2024-01-01T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "inputEPCList": ["urn:epc:id:sgtin:4012345.011111.1"],
        },
        {
            "type": "ObjectEvent",
            "eventTime": "2024-01-01T00:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "epcList": [],
            "ilmd": {"ex:lot": "1"},
        },
    ]
    assert [p for p, _ in document_problems(doc)] == [
        "$.epcisBody.eventList[0].parentID",
        "$.epcisBody.eventList[1]",
        "$.epcisBody.eventList[2].ilmd",
    ]


def test_non_object_inputs_are_invalid_records() -> None:
    for value in (None, [], "x", 3):
        with pytest.raises(InvalidRecord):
            validate_document(copy.deepcopy(value))
