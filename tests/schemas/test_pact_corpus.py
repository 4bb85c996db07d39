"""PACT conformance examples get the verdicts the MANIFEST caveats say they should."""

import json
from pathlib import Path

import pytest

from schemas.pact.schema import V2, V3, oauth_token_validator
from schemas.pact.validation import validate_component, validate_footprint

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
EXAMPLES = CONFORMANCE / "pact" / "examples"
DATA = Path(__file__).resolve().parent / "data"

pytestmark = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="conformance data ../shared/conformance/pact is absent"
)


def load(version: str, name: str):
    return json.loads((EXAMPLES / version / name).read_text(encoding="utf-8"))


def event_component(doc) -> str:
    kind = doc["type"]
    for word, component in (
        ("Published", "PublishedEvent"),
        ("Created", "RequestCreatedEvent"),
        ("Fulfilled", "RequestFulfilledEvent"),
        ("Rejected", "RequestRejectedEvent"),
    ):
        if word in kind:
            return component
    raise AssertionError(kind)


FOOTPRINT_BODIES = {
    "v2": ["tc03", "tc04", "tc05", "tc20", "tc21"],
    "v3": [
        "tc03",
        "tc04",
        "tc05",
        "tc20",
        "tc21",
        "tc22",
        "tc23",
        "tc24",
        "tc25",
        "tc26",
        "tc27",
        "tc28",
        "tc29",
        "tc40",
    ],
}


@pytest.mark.parametrize(
    ("version", "tc"), [(v, tc) for v, tcs in FOOTPRINT_BODIES.items() for tc in tcs]
)
def test_abbreviated_footprints_are_not_schema_valid(version, tc):
    body = load(version, f"{tc}-response-body.json")
    items = body["data"] if isinstance(body["data"], list) else [body["data"]]
    assert items
    for item in items:
        report = validate_footprint(item)
        assert not report.ok
        assert any(f.layer == 1 and "required" in f.message for f in report.errors)


@pytest.mark.parametrize("tc", [f"tc{n}" for n in range(30, 40)])
def test_empty_lists_are_valid_list_responses(tc):
    assert load("v3", f"{tc}-response-body.json") == {"data": []}


@pytest.mark.parametrize(
    ("version", "name", "ok"),
    [
        ("v2", "tc06-response-body.json", True),
        ("v2", "tc07-response-body.json", True),
        ("v2", "tc08-response-body.json", False),  # NoSuchFootprint is not in the enum
        ("v2", "tc16-response-body.json", True),
        ("v3", "tc06-response-body.json", True),
        ("v3", "tc07-response-body.json", True),
        ("v3", "tc08-response-body.json", True),
        ("v3", "tc16-response-body.json", True),
    ],
)
def test_error_bodies(version, name, ok):
    schema_version = V2 if version == "v2" else V3
    report = validate_component(load(version, name), "Error", schema_version)
    assert report.ok is ok
    if not ok:
        assert report.errors[0].path == "$.code"


@pytest.mark.parametrize(
    ("version", "name", "ok", "bad_path"),
    [
        ("v2", "tc12-request-body.json", True, None),
        ("v2", "tc13-incoming-request-body.json", False, "$.data.pfs[0]"),
        ("v2", "tc14-a-request-body.json", False, "$.data.pf"),
        ("v2", "tc14-b-incoming-request-body.json", True, None),
        ("v2", "tc15-request-body.json", False, "$.data.pfIds[0]"),
        ("v2", "tc16-request-body.json", False, "$.data.pfIds[0]"),
        ("v2", "tc17-request-body.json", True, None),
        ("v3", "tc12-request-body.json", True, None),
        ("v3", "tc13-incoming-request-body.json", False, "$.data.pfs[0]"),
        ("v3", "tc14-a-request-body.json", True, None),
        ("v3", "tc14-b-incoming-request-body.json", True, None),
        ("v3", "tc15-request-body.json", False, "$.data.pfIds[0]"),
        ("v3", "tc16-request-body.json", False, "$.data.pfIds[0]"),
    ],
)
def test_event_bodies(version, name, ok, bad_path):
    doc = load(version, name)
    report = validate_component(doc, event_component(doc), V2 if version == "v2" else V3)
    assert report.ok is ok, report.errors
    if bad_path:
        assert all(f.path.startswith(bad_path) for f in report.errors)


def test_v3_tc17_is_not_json():
    text = (EXAMPLES / "v3" / "tc17-request-body.not-json.txt").read_text(encoding="utf-8")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


@pytest.mark.parametrize("version", ["v2", "v3"])
@pytest.mark.parametrize(
    ("tc", "kind"), [("tc01", "success"), ("tc18", "success"), ("tc02", "error"), ("tc19", "error")]
)
def test_auth_token_bodies(version, tc, kind):
    doc = load(version, f"{tc}-response-body.json")
    assert oauth_token_validator(kind).is_valid(doc)
    other = "error" if kind == "success" else "success"
    assert not oauth_token_validator(other).is_valid(doc)


@pytest.mark.parametrize("name", ["pact-v3-footprint.json", "pact-v2-footprint.json"])
def test_own_fixtures_pass_all_layers(name):
    doc = json.loads((DATA / name).read_text(encoding="utf-8"))
    report = validate_footprint(doc)
    assert report.errors == []
    assert report.warnings == []


def test_fixture_embedded_in_fulfilled_event_validates():
    footprint = json.loads((DATA / "pact-v3-footprint.json").read_text(encoding="utf-8"))
    event = load("v3", "tc13-incoming-request-body.json")
    event["data"]["pfs"] = [footprint]
    assert validate_component(event, "RequestFulfilledEvent").ok
