"""The EPCIS event model, CBV normalisation, pinned contexts, and parser robustness (hypothesis)."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.epcis import (
    PINNED_CONTEXTS,
    AggregationEvent,
    ObjectEvent,
    TransformationEvent,
    parse_document,
)
from schemas.epcis.contexts import context_path, load_context
from schemas.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    MEASUREMENT_TYPES_AFTER_CONTEXT,
    SOURCE_DEST_TYPE,
    UnknownTerm,
)
from schemas.errors import InvalidRecord

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
OPENEPCIS = CONFORMANCE / "epcis" / "openepcis" / "2.0" / "EPCIS" / "JSON"
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def test_contexts_are_pinned_by_sha256() -> None:
    for url, digest in PINNED_CONTEXTS.items():
        assert hashlib.sha256(context_path(url).read_bytes()).hexdigest() == digest


def _context_terms(scoped: dict, prefix: str) -> set[str]:
    return {term for term, iri in scoped.items() if isinstance(iri, str) and iri.startswith(prefix)}


def test_cbv_term_lists_match_the_gs1_context() -> None:
    """Our term lists against GS1's own context, an independent source."""
    context = load_context(CONTEXT)["@context"]
    assert BIZ_STEP.terms == _context_terms(context["bizStep"]["@context"], "cbv:BizStep-")
    assert DISPOSITION.terms == _context_terms(context["disposition"]["@context"], "cbv:Disp-")
    sensor = context["sensorElementList"]["@context"]["sensorReport"]["@context"]
    in_context = _context_terms(sensor["type"]["@context"], "gs1:")
    assert MEASUREMENT_TYPE.terms == in_context | MEASUREMENT_TYPES_AFTER_CONTEXT
    assert not in_context & MEASUREMENT_TYPES_AFTER_CONTEXT
    text = json.dumps(context)
    for vocabulary in (BIZ_TRANSACTION_TYPE, SOURCE_DEST_TYPE, ERROR_REASON, COMPONENT):
        for term in vocabulary.terms:
            assert f'"{vocabulary.curie_prefix}{term}"' in text


@pytest.mark.parametrize(
    "value,short",
    [
        ("shipping", "shipping"),
        ("cbv:BizStep-shipping", "shipping"),
        ("https://ref.gs1.org/cbv/BizStep-shipping", "shipping"),
        ("urn:epcglobal:cbv:bizstep:shipping", "shipping"),
        ("https://example.com/step/x", "https://example.com/step/x"),
    ],
)
def test_cbv_normalisation(value: str, short: str) -> None:
    assert BIZ_STEP.normalise(value) == short


@pytest.mark.parametrize(
    "value", ["shipped", "cbv:BizStep-shipped", "https://ref.gs1.org/cbv/BizStep-x"]
)
def test_unknown_cbv_terms_are_refused(value: str) -> None:
    with pytest.raises(UnknownTerm):
        BIZ_STEP.normalise(value)


def _event(**fields) -> dict:
    return {"eventTime": "2024-03-01T10:00:00+01:00", "eventTimeZoneOffset": "+01:00", **fields}


def _doc(*events: dict) -> dict:
    return {
        "@context": [CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-03-01T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }


SSCC = "urn:epc:id:sscc:4012345.0000000111"
ITEM = "urn:epc:id:sgtin:4012345.011111.1"
LOT_CLASS = "urn:epc:class:lgtin:4012345.011111.L1"
OUT_CLASS = "https://id.gs1.org/01/04012345111118/10/L2"


def test_model_types_times_terms_and_links() -> None:
    model = parse_document(
        _doc(
            _event(
                type="ObjectEvent",
                action="ADD",
                epcList=[ITEM],
                bizStep="cbv:BizStep-commissioning",
                disposition="https://ref.gs1.org/cbv/Disp-active",
            ),
            _event(
                type="AggregationEvent",
                action="ADD",
                parentID=SSCC,
                childEPCs=[ITEM],
                bizStep="packing",
            ),
            _event(
                type="TransformationEvent",
                inputQuantityList=[{"epcClass": LOT_CLASS, "quantity": 5, "uom": "KGM"}],
                outputQuantityList=[{"epcClass": OUT_CLASS, "quantity": 4.5, "uom": "KGM"}],
            ),
        )
    )
    first, packing, transform = model.events
    assert isinstance(first, ObjectEvent) and isinstance(packing, AggregationEvent)
    assert isinstance(transform, TransformationEvent)
    assert first.event_time == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert (first.biz_step, first.disposition) == ("commissioning", "active")
    assert first.event_id.startswith("ni:///sha-256;") and first.event_id.endswith("?ver=CBV2.0")
    item = "https://id.gs1.org/01/04012345111118/21/1"
    carton = "https://id.gs1.org/00/040123450000001112"
    assert [(r.role, r.object_id) for r in packing.objects()] == [
        ("parent", carton),
        ("child", item),
    ]
    containment = [link for link in packing.object_links() if link.kind == "containment"]
    assert [(c.source, c.target, c.action) for c in containment] == [(carton, item, "ADD")]
    lot = "https://id.gs1.org/01/04012345111118/10/L1"
    assert [
        (link.source, link.target)
        for link in transform.object_links()
        if link.kind == "transformation"
    ] == [(lot, OUT_CLASS)]
    assert transform.inputs()[0].quantity.quantity == 5


def test_invalid_document_raises_with_paths() -> None:
    with pytest.raises(InvalidRecord) as caught:
        parse_document(_doc(_event(type="ObjectEvent", action="ADD", eventTime="yesterday")))
    assert set(caught.value.paths) == {
        "$.epcisBody.eventList[0].eventTime",
        "$.epcisBody.eventList[0]",
    }


@pytest.mark.parametrize(
    "name", ["Combination_of_different_event.json", "ObjectEvent_all_possible_fields.json"]
)
def test_corpus_documents_parse(name: str) -> None:
    path = OPENEPCIS / "Capture/Documents" / name
    if not path.is_file():
        pytest.skip(f"EPCIS conformance data not found at {path.parent}")
    model = parse_document(json.loads(path.read_text(encoding="utf-8")))
    assert model.events and all(e.event_time.tzinfo for e in model.events)
    assert len({e.event_id for e in model.events}) == len(model.events)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = [
    "eventTime",
    "eventTimeZoneOffset",
    "action",
    "epcList",
    "bizStep",
    "parentID",
    "childEPCs",
    "quantityList",
    "sensorElementList",
    "bizTransactionList",
    "type",
    "ilmd",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON)
def test_arbitrary_json_is_valid_or_invalid_record(value) -> None:
    with contextlib.suppress(InvalidRecord):
        parse_document(value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(FIELDS),
    value=JSON
    | st.sampled_from(
        ["2024-01-01T00:00:00z", "2024-12-31T23:59:60Z", "+14:00", "ADD", "DELETE", ITEM, "urn:x"]
    ),
)
def test_mutated_events_never_crash(field: str, value) -> None:
    event = _event(type="AggregationEvent", action="ADD", parentID=SSCC, childEPCs=[ITEM])
    event[field] = copy.deepcopy(value)
    try:
        model = parse_document(_doc(event))
    except InvalidRecord:
        return
    for parsed in model.events:
        parsed.object_links()


def test_object_ids_agree_with_identifiers_package_where_it_applies() -> None:
    canonical = pytest.importorskip("identifiers.canonical")
    from schemas.epcis.event_hash import canonical_object_id

    folder = OPENEPCIS / "Capture/Documents"
    if not folder.is_dir():
        pytest.skip(f"EPCIS conformance data not found at {folder}")
    compared = 0
    for path in sorted(folder.glob("*.json")):
        for event in parse_document(json.loads(path.read_text(encoding="utf-8"))).events:
            for ref in event.objects():
                try:
                    shared = canonical.canonical_object_id(ref.name)
                except ValueError:
                    continue
                compared += 1
                assert shared == canonical_object_id(ref.name) == ref.object_id, ref.name
    assert compared > 20
