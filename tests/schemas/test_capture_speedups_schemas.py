"""The capture speed-ups in `schemas.epcis` give what the general code gives: the pre-hash
string taken from the raw event, the UTC timestamp shortcut, and the direct, remembered
format checks handed to the fast schema check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.epcis import iter_events
from schemas.epcis.event_hash import (
    _expand_terms,
    _timestamp,
    _tree_pre_hash,
    pre_hash_string,
)
from schemas.epcis.schema_check import FORMATS, _python_format
from schemas.epcis.validation import format_checker

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
EPCIS = CONFORMANCE / "epcis"


def _general_pre_hash(event: dict[str, Any], ignored: list[str]) -> str:
    expanded = {k: v for k, v in _expand_terms(event).items() if k not in ignored}
    return _tree_pre_hash(expanded, {})


def _general_timestamp(text: str) -> str:
    """The conversion before the UTC shortcut, kept here as the reference."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    micros = round(moment.microsecond, -3)
    moment = moment.replace(microsecond=0) + timedelta(microseconds=micros)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


_NAME = st.sampled_from(
    [
        "urn:epc:id:sgtin:4012345.011111.1",
        " urn:epc:class:lgtin:4012345.012345.LOT-1 ",
        "https://id.gs1.org/01/09521234543213/10/x",
        "urn:epc:id:sscc:4012345.0000000001",
        "",
        "urn:example:thing",
    ]
)
_TIME = st.sampled_from(
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00.123Z",
        "2024-01-01T00:00:00.1235Z",
        "2024-01-01T01:00:00+01:00",
        " 2024-02-29T23:59:59.9995-00:00 ",
        "2024-01-01T00:00:00",
        "not a time",
    ]
)
_TERM = st.sampled_from(
    ["shipping", " packing", "urn:epcglobal:cbv:bizstep:receiving", "in_transit", "x:y", ""]
)
_QUANTITY = st.fixed_dictionaries(
    {"epcClass": _NAME},
    optional={"quantity": st.integers(0, 10**6) | st.floats(0, 1e6), "uom": st.just("KGM")},
)
_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "eventTime": _TIME,
    "eventTimeZoneOffset": st.sampled_from(["+00:00", "+01:00"]),
    "action": st.sampled_from(["ADD", "OBSERVE", "DELETE"]),
    "bizStep": _TERM,
    "disposition": _TERM,
    "parentID": _NAME,
    "epcList": st.lists(_NAME, max_size=3),
    "childEPCs": st.lists(_NAME, max_size=2),
    "quantityList": st.lists(_QUANTITY, max_size=2),
    "inputQuantityList": st.lists(_QUANTITY, max_size=2),
    "outputQuantityList": st.lists(_QUANTITY, max_size=2),
    "readPoint": st.fixed_dictionaries({"id": _NAME}),
    "bizLocation": st.fixed_dictionaries({"id": _NAME}),
    "eventID": st.just("urn:uuid:1"),
    # Fields the direct emitter does not model: the general path must take these events.
    "bizTransactionList": st.just([{"type": "po", "bizTransaction": "urn:x:1"}]),
    "persistentDisposition": st.just({"set": ["completeness_verified"]}),
    "ex:note": st.just("1"),
}


@st.composite
def raw_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["ObjectEvent", "AggregationEvent", "TransformationEvent"]))
    names = draw(st.lists(st.sampled_from(sorted(_FIELDS)), unique=True, max_size=9))
    return {"type": kind, **{name: draw(_FIELDS[name]) for name in names}}


@settings(max_examples=600, deadline=None)
@given(event=raw_events(), ignored=st.lists(st.sampled_from(["bizStep", "epcList", "type"])))
def test_pre_hash_of_the_raw_event_equals_the_general_algorithm(
    event: dict[str, Any], ignored: list[str]
) -> None:
    assert pre_hash_string(event, None, ignored) == _general_pre_hash(event, ignored)


def test_pre_hash_over_the_corpus_equals_the_general_algorithm() -> None:
    folder = EPCIS / "openepcis"
    if not folder.is_dir():
        pytest.skip(f"EPCIS conformance data not found at {folder}")
    checked = 0
    for path in sorted(folder.glob("**/*.json")):
        for _, event in iter_events(json.loads(path.read_text(encoding="utf-8"))):
            if isinstance(event, dict):
                assert pre_hash_string(event) == _general_pre_hash(event, []), path
                checked += 1
    assert checked > 50


_ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(0)),
        timezone(timedelta(hours=5, minutes=30)),
        timezone(-timedelta(hours=8)),
        None,
    ]
)


@settings(max_examples=1000, deadline=None)
@given(
    moment=st.datetimes(timezones=_ZONES),
    spec=st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"]),
    zulu=st.booleans(),
)
@example(datetime(2024, 1, 1, 0, 0, 0, 999500, tzinfo=UTC), "microseconds", True)
def test_timestamp_shortcut_equals_the_general_conversion(
    moment: datetime, spec: str, zulu: bool
) -> None:
    text = moment.isoformat(timespec=spec)
    if zulu and text.endswith("+00:00"):
        text = text[:-6] + "Z"
    assert _timestamp(text) == _general_timestamp(text)


@pytest.mark.parametrize("name", FORMATS)
@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=30),
        st.sampled_from(
            [
                "2024-02-29T23:59:59Z",
                "2023-02-29T00:00:00Z",
                "2024-01-01t00:00:00z",
                "urn:epc:id:sgtin:4012345.011111.1",
                "https://id.gs1.org/01/09521234543213",
                "http://[::1",
                "no scheme",
                "a:b c",
            ]
        ),
    )
)
def test_direct_format_checks_equal_the_format_checker(name: str, text: str) -> None:
    checker = format_checker()
    direct = _python_format(checker, name)
    assert direct(text) == checker.conforms(text, name)
    assert direct(text) == checker.conforms(text, name)  # the remembered answer too


def test_event_model_reads_every_member_as_before() -> None:
    """The model reads only the members present; the fields equal a full read of each."""
    from schemas.epcis import parse_document
    from schemas.epcis.model import _STANDARD_KEYS

    folder = EPCIS / "openepcis" / "2.0" / "EPCIS" / "JSON" / "Capture" / "Documents"
    if not folder.is_dir():
        pytest.skip(f"EPCIS conformance data not found at {folder}")
    checked = 0
    for path in sorted(folder.glob("*.json")):
        for event in parse_document(json.loads(path.read_text(encoding="utf-8"))).events:
            raw = event.raw
            persistent = raw.get("persistentDisposition") or {}
            certification = raw.get("certificationInfo")
            assert event.declared_event_id == raw.get("eventID")
            assert event.action == raw.get("action")
            assert event.read_point == (raw.get("readPoint") or {}).get("id")
            assert event.biz_location == (raw.get("bizLocation") or {}).get("id")
            assert len(event.biz_transactions) == len(raw.get("bizTransactionList") or ())
            assert [s.value for s in event.sources] == [
                s["source"] for s in raw.get("sourceList") or ()
            ]
            assert [d.value for d in event.destinations] == [
                d["destination"] for d in raw.get("destinationList") or ()
            ]
            assert event.sensor_elements == tuple(raw.get("sensorElementList") or ())
            assert len(event.persistent_disposition_set) == len(persistent.get("set", ()))
            assert len(event.persistent_disposition_unset) == len(persistent.get("unset", ()))
            assert event.certification_info == (
                (certification,) if isinstance(certification, str) else tuple(certification or ())
            )
            assert event.error_declaration == raw.get("errorDeclaration")
            assert (event.record_time is None) == ("recordTime" not in raw)
            extensions = {k: v for k, v in raw.items() if k not in _STANDARD_KEYS}
            assert list(event.extensions.items()) == list(extensions.items())
            checked += 1
    assert checked > 50
