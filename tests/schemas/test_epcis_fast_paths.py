"""The fast paths of validation and hashing give exactly what the general paths give.

Fast schema check (jsonschema-rs) never accepts what the Python validator rejects; the direct
pre-hash emitter equals the element-tree algorithm; the direct EPC URN mapping equals the
reference package's `dl_normaliser`.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.epcis import canonical_object_id, document_problems, iter_events, validate_document
from schemas.epcis.document_schema import SCHEMA
from schemas.epcis.event_hash import _expand_terms, _simple_pre_hash, _tree_pre_hash
from schemas.epcis.gs1_keys import check_digit, digital_link
from schemas.epcis.schema_check import SchemaCheck, plain_json, portable_pattern
from schemas.epcis.validation import _fast_check, _validator, format_checker
from schemas.errors import InvalidRecord

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
OPENEPCIS = CONFORMANCE / "epcis" / "openepcis" / "2.0" / "EPCIS" / "JSON"
HASH_EXAMPLES = CONFORMANCE / "epcis" / "event-hash" / "examples"


def _corpus() -> list[Path]:
    if not OPENEPCIS.is_dir():
        pytest.skip(f"EPCIS conformance data not found at {OPENEPCIS}")
    return sorted(OPENEPCIS.glob("**/*.json")) + sorted(HASH_EXAMPLES.glob("*.jsonld"))


def _python_valid(document: object) -> bool:
    return not any(True for _ in _validator().iter_errors(document))


def _document(**event_fields: object) -> dict:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2024-03-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
        **event_fields,
    }
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T10:00:00Z",
        "epcisBody": {"eventList": [event]},
    }


# -- schema check ------------------------------------------------------------------------------


def _patterns(schema: object) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                found.add(value)
            if key == "patternProperties" and isinstance(value, dict):
                found.update(value)
            found |= _patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= _patterns(item)
    return found


PATTERNS = sorted(_patterns(SCHEMA))
# Characters where Python's re and the Rust engines disagree unless the pattern is rewritten:
# \x1c-\x1f and \x85 are whitespace to Python only, U+180E/U+200B are not to Python,
# Kawi and Nag Mundari digits (Unicode 15) are digits to Rust only, "\n" before the end.
TRICKY = "\x1c\x1f\x85\u180e\u200b\u00a0\u3000\U00011f50\U0001e4f0\u0663\uff13\n\t :.2AZaz09+-"


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(TRICKY), max_size=8))
def test_portable_patterns_match_exactly_what_python_matches(text: str) -> None:
    for pattern in PATTERNS:
        rust = jsonschema_rs.Draft202012Validator(
            {"type": "string", "pattern": portable_pattern(pattern)}
        )
        assert rust.is_valid(text) == (re.search(pattern, text) is not None), (pattern, text)


def test_unportable_pattern_constructs_are_refused() -> None:
    for pattern in (r"\w+", r"[\S]", "[[a]]", "[a&&b]", r"\bx"):
        with pytest.raises(ValueError):
            portable_pattern(pattern)


def test_whole_corpus_verdicts_agree_and_valid_documents_take_the_fast_path() -> None:
    fast_accepted = 0
    for path in _corpus():
        document = json.loads(path.read_text(encoding="utf-8"))
        if _fast_check().known_valid(document):
            fast_accepted += 1
            assert _python_valid(document), path
        elif "Invalid" not in path.parts:
            # a valid corpus document the fast check cannot vouch for would be a silent slowdown
            assert not _python_valid(document), path
    assert fast_accepted > 50


@pytest.mark.parametrize(
    "field,value",
    [
        ("eventTime", "2024-01-01T23:59:60Z"),  # leap second on a day without one
        ("eventTime", "0000-01-01T00:00:00Z"),  # year zero
        ("eventTime", "2024-02-30T00:00:00Z"),
        ("eventTime", "2024-01-01 00:00:00Z"),
        ("epcList", ["http://exa mple.com/1"]),
        ("epcList", ["https://id.gs1.org/01/09521234543213/21/abc^"]),
        ("epcList", ["no-scheme"]),
        ("readPoint", {"id": "urn:epc:id:sgln:4012345.00001.0 "}),
    ],
)
def test_bad_date_time_or_uri_is_still_rejected_with_its_path(field: str, value: object) -> None:
    document = _document(**{field: value})
    with pytest.raises(InvalidRecord) as caught:
        validate_document(document)
    assert any(path.startswith(f"$.epcisBody.eventList[0].{field}") for path in caught.value.paths)
    assert not _fast_check().known_valid(document)


def test_rust_builtin_formats_would_have_been_too_lenient() -> None:
    """Why the schema check calls Python's format checks: these strings pass Rust's own."""
    builtin = jsonschema_rs.Draft202012Validator(
        {"type": "string", "format": "date-time"}, validate_formats=True
    )
    lenient = [s for s in ("2024-01-01T23:59:60Z", "0000-01-01T00:00:00Z") if builtin.is_valid(s)]
    ours = SchemaCheck({"type": "string", "format": "date-time"}, format_checker())
    assert not any(ours.known_valid(s) for s in lenient)
    assert ours.known_valid("2024-01-01T23:59:59.5+01:00")


def test_values_json_cannot_hold_take_the_python_path() -> None:
    document = _document()
    assert plain_json(document) and _fast_check().known_valid(document)
    as_tuple = copy.deepcopy(document)
    as_tuple["epcisBody"]["eventList"][0]["epcList"] = ("urn:epc:id:sgtin:4012345.011111.1",)
    assert not plain_json(as_tuple) and not _fast_check().known_valid(as_tuple)
    assert document_problems(as_tuple)  # Python's jsonschema: a tuple is not an array


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = [
    "eventTime", "eventTimeZoneOffset", "action", "epcList", "quantityList", "readPoint",
    "bizStep", "recordTime", "ex:thing", "bad key", "parentID", "childEPCs",
]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_JSON)
def test_fast_check_never_accepts_what_python_rejects(field: str, value: object) -> None:
    document = _document(**{field: value})
    if _fast_check().known_valid(document):
        assert _python_valid(document)


# -- pre-hash string ---------------------------------------------------------------------------


_EPC = st.sampled_from(
    [
        "urn:epc:id:sgtin:4012345.011111.1",
        " urn:epc:id:sgtin:4012345.011111.2 ",
        "urn:epc:id:sscc:4012345.0000000001",
        "https://id.gs1.org/01/09521234543213/21/x",
        "urn:epc:class:lgtin:4012345.012345.LOT-1",
        "",
        "  ",
        "urn:example:thing",
    ]
)
_TEXT = st.sampled_from(
    ["ADD", "OBSERVE", " ", "", "shipping", "urn:epcglobal:cbv:bizstep:packing"]
)
_SIMPLE_FIELDS = {
    "eventTime": st.sampled_from(
        ["2024-01-01T01:00:00.0004+01:00", "2024-01-01T00:00:00Z", " x ", ""]
    ),
    "eventTimeZoneOffset": st.sampled_from(["+01:00", " -05:00", ""]),
    "parentID": _EPC,
    "action": _TEXT,
    "transformationID": _TEXT,
    "bizStep": _TEXT,
    "disposition": st.sampled_from(["in_progress", "urn:epcglobal:cbv:disp:active", ""]),
    "epcList": st.lists(_EPC, max_size=3),
    "inputEPCList": st.lists(_EPC, max_size=3),
    "outputEPCList": st.lists(_EPC, max_size=3),
    "childEPCs": st.lists(_EPC, max_size=3),
    "readPoint": st.fixed_dictionaries({"id": _EPC}),
    "bizLocation": st.fixed_dictionaries({"id": _EPC}),
    "eventID": st.just("urn:uuid:1"),
    "recordTime": st.just("2024-01-01T00:00:00Z"),
    "errorDeclaration": st.just({"declarationTime": "2024-01-01T00:00:00Z"}),
}
_QUANTITY = st.fixed_dictionaries(
    {"epcClass": _EPC},
    optional={
        "quantity": st.integers(-5, 10**20) | st.floats(allow_nan=False, allow_infinity=False),
        "uom": st.sampled_from(["KGM", " ", "LTR"]),
    },
)
for _name in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
    _SIMPLE_FIELDS[_name] = st.lists(_QUANTITY, max_size=3)


@st.composite
def simple_events(draw: st.DrawFn) -> dict:
    kind = draw(st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent"]))
    names = draw(st.lists(st.sampled_from(sorted(_SIMPLE_FIELDS)), unique=True, max_size=8))
    return {"type": kind, **{name: draw(_SIMPLE_FIELDS[name]) for name in names}}


@settings(max_examples=400, deadline=None)
@given(event=simple_events())
def test_direct_pre_hash_equals_the_element_tree_algorithm(event: dict) -> None:
    expanded = _expand_terms(event)
    direct = _simple_pre_hash(expanded)
    assert direct is not None
    assert direct == _tree_pre_hash(expanded, {})


def test_direct_pre_hash_equals_the_tree_over_the_corpus_or_declines() -> None:
    used = 0
    for path in _corpus():
        for _, event in iter_events(json.loads(path.read_text(encoding="utf-8"))):
            if not isinstance(event, dict):
                continue
            expanded = _expand_terms(event)
            direct = _simple_pre_hash(expanded)
            if direct is not None:
                used += 1
                assert direct == _tree_pre_hash(expanded, {}), path
    assert used > 20


def test_direct_pre_hash_declines_what_it_does_not_model() -> None:
    base = {"type": "ObjectEvent", "eventTime": "2024-01-01T00:00:00Z"}
    for extra in (
        {"ex:field": "1"},
        {"@context": "x"},
        {"bizTransactionList": []},
        {"readPoint": {"id": "x", "ex:y": "1"}},
        {"quantityList": [{"epcClass": "x", "quantity": True}]},
        {"quantityList": [{"quantity": 1}]},
        {"epcList": "urn:epc:id:sgtin:4012345.011111.1"},
        {"type": "quantity"},
    ):
        assert _simple_pre_hash({**base, **extra}) is None, extra


# -- GS1 keys ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_normaliser():
    module = pytest.importorskip("epcis_event_hash_generator.dl_normaliser")
    return module.normaliser


def _reference_id(normaliser, name: str) -> str:
    try:
        return normaliser(name) or name
    except Exception:
        return name


_DIGIT = st.sampled_from("0123456789\u0663")
_SERIAL = st.text(alphabet=st.sampled_from("aZ09-!'()*+,.:;=_%2F3A7a/#\n "), max_size=22)
_TOTAL = {"urn:epc:id:sgtin:": 13, "urn:epc:class:lgtin:": 13, "urn:epc:id:sgln:": 12,
          "urn:epc:id:sscc:": 17}  # fmt: skip


@st.composite
def epc_names(draw: st.DrawFn) -> str:
    """Mostly well-formed URNs of the four schemes, some a little off."""
    scheme = draw(st.sampled_from(sorted(_TOTAL)))
    company = draw(st.integers(5, 13))
    rest = max(0, _TOTAL[scheme] - company + draw(st.sampled_from([0, 0, 0, 0, 1, -1])))
    digits = draw(st.lists(_DIGIT, min_size=company + rest, max_size=company + rest))
    name = f"{scheme}{''.join(digits[:company])}.{''.join(digits[company:])}"
    if scheme != "urn:epc:id:sscc:" or draw(st.integers(0, 9)) == 0:
        name += "." + draw(_SERIAL)
    return name + draw(st.sampled_from(["", "", "", "", "\n", " "]))


@settings(max_examples=500, deadline=None)
@given(name=epc_names())
def test_direct_epc_mapping_equals_the_reference_normaliser(
    reference_normaliser, name: str
) -> None:
    direct = digital_link(name)
    if direct is not None:
        assert direct == reference_normaliser(name)
    assert canonical_object_id(name) == _reference_id(reference_normaliser, name)


def test_direct_epc_mapping_covers_the_corpus_names(reference_normaliser) -> None:
    pattern = re.compile(r"urn:epc:(?:id|class):[a-z]+:[^\"\s]+")
    names = {m for path in _corpus() for m in pattern.findall(path.read_text(encoding="utf-8"))}
    mapped = [name for name in names if digital_link(name) is not None]
    assert len(mapped) > 20
    for name in names:
        assert canonical_object_id(name) == _reference_id(reference_normaliser, name), name


def test_check_digit_of_published_keys() -> None:
    # GTIN 9521234543213 and SSCC 106141412345678908 as printed in GS1 examples
    assert check_digit("952123454321") == "3"
    assert check_digit("10614141234567890") == "8"
