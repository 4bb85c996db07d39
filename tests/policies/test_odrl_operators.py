"""Every ODRL operator with every supported left operand, each in a permit and a deny case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dateutil.relativedelta import relativedelta

# Submodule imports: under pytest, tests/policies can shadow the package's __init__.
from policies.evaluate import evaluate
from policies.literals import parse_duration
from policies.parse import parse_policy
from policies.request import Credential, Request

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)  # NOW is 59 days and 12 hours later
PATH = "$.permission[0].constraint[0]"


def decide(left: str, operator: str, right: Any, **request: Any):
    policy = parse_policy(
        {
            "@id": "urn:policy:1",
            "@type": "Set",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {"leftOperand": left, "operator": operator, "rightOperand": right}
                    ],
                }
            ],
        },
        strict=True,
    )
    request.setdefault("now", NOW)
    return evaluate(policy, Request(**request))


def check(left: str, operator: str, right: Any, expected: bool, **request: Any) -> None:
    decision = decide(left, operator, right, **request)
    assert decision.permitted is expected, decision.reasons
    if expected:
        assert decision.reasons == ()
    else:
        (reason,) = decision.reasons
        assert reason.path == PATH
        assert reason.kind == "constraint"
        assert reason.operator == operator
        assert reason.expected == right
        assert reason.actual is not None


DATETIME_CASES = [
    ("eq", "2025-03-01T12:00:00Z", True),
    ("eq", "2025-03-01T12:00:01Z", False),
    ("neq", "2025-03-01T12:00:01Z", True),
    ("neq", "2025-03-01T12:00:00Z", False),
    ("lt", "2025-03-02T00:00Z", True),
    ("lt", "2025-03-01T12:00Z", False),
    ("lteq", "2025-03-01T12:00Z", True),
    ("lteq", "2025-03-01T11:59Z", False),
    ("gt", "2025-03-01T11:00Z", True),
    ("gt", "2025-03-01T12:00Z", False),
    ("gteq", "2025-03-01T12:00Z", True),
    ("gteq", "2025-03-01T12:00:00.000001Z", False),
    # the same instant written in another timezone
    ("lteq", "2025-03-01T13:00+01:00", True),
    ("lt", "2025-03-01T13:00+01:00", False),
    # no timezone: read as UTC
    ("eq", "2025-03-01T12:00:00", True),
    # an xsd:date stands for the whole day
    ("eq", "2025-03-01", True),
    ("neq", "2025-03-01", False),
    ("lteq", "2025-03-01", True),
    ("lt", "2025-03-01", False),
    ("gt", "2025-02-28", True),
    ("gt", "2025-03-01", False),
    ("gteq", "2025-03-01", True),
    ("gteq", "2025-03-02", False),
    ({"@value": "2025-12-31T00:00:00Z", "@type": "xsd:dateTime"}, None, True),
]


@pytest.mark.parametrize(("operator", "right", "expected"), DATETIME_CASES)
def test_date_time(operator: Any, right: Any, expected: bool) -> None:
    if isinstance(operator, dict):  # typed literal row: (value, _, expected) with lteq
        operator, right = "lteq", operator
    check("dateTime", operator, right, expected)


ELAPSED_CASES = [
    ("lteq", "P60D", True),
    ("lteq", "P59D", False),
    ("lt", "P2M1D", True),
    ("lt", "P2M", False),  # Jan 1 + 2 months = Mar 1 00:00, already passed
    ("gt", "P1M", True),
    ("gt", "P3M", False),
    ("gteq", "P59DT12H", True),
    ("gteq", "P59DT12H0.5S", False),
    ("eq", "P59DT12H", True),
    ("eq", "PT1430H", False),
    ("neq", "P1Y", True),
    ("neq", "P59DT12H", False),
]


@pytest.mark.parametrize(("operator", "right", "expected"), ELAPSED_CASES)
def test_elapsed_time(operator: str, right: str, expected: bool) -> None:
    check("elapsedTime", operator, right, expected, agreement_start=START)


def test_elapsed_time_adds_calendar_months_with_day_clamping() -> None:
    start = datetime(2025, 1, 31, tzinfo=UTC)  # + P1M is 2025-02-28 (no Feb 31)
    on_time = datetime(2025, 2, 28, tzinfo=UTC)
    late = on_time + timedelta(seconds=1)
    assert decide("elapsedTime", "lteq", "P1M", now=on_time, agreement_start=start).permitted
    assert not decide("elapsedTime", "lteq", "P1M", now=late, agreement_start=start).permitted


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("P1M", relativedelta(months=1)),
        ("P1Y", relativedelta(years=1)),
        ("P1Y13M", relativedelta(years=2, months=1)),
        ("P2M10DT3H4M5.25S", relativedelta(months=2, days=10, hours=3, minutes=4, seconds=5.25)),
        ("PT36H", relativedelta(hours=36)),
    ],
)
@pytest.mark.parametrize(
    "start",
    [
        datetime(2024, 1, 31, 23, 30, tzinfo=UTC),
        datetime(2024, 2, 29, tzinfo=UTC),
        datetime(2023, 12, 31, 12, tzinfo=UTC),
    ],
)
def test_duration_arithmetic_matches_dateutil(text: str, delta: relativedelta, start) -> None:
    # python-dateutil is an independent implementation of "add months, clamp the day".
    assert parse_duration(text).after(start) == start + delta


COUNT_CASES = [
    ("lteq", 10, 9, True),  # this is the 10th exercise
    ("lteq", 10, 10, False),
    ("lt", 10, 8, True),
    ("lt", 10, 9, False),
    ("eq", 1, 0, True),
    ("eq", 1, 1, False),
    ("neq", 1, 1, True),
    ("neq", 1, 0, False),
    ("gt", 3, 3, True),
    ("gt", 3, 2, False),
    ("gteq", "5", 4, True),
    ("gteq", 5, 3, False),
]


@pytest.mark.parametrize(("operator", "right", "used", "expected"), COUNT_CASES)
def test_count(operator: str, right: Any, used: int, expected: bool) -> None:
    check("count", operator, right, expected, access_count=used)


PAY_CASES = [
    ("gteq", 10, "10.00", True),
    ("gteq", 10, "9.99", False),
    ("eq", "10.0", 10, True),
    ("eq", "10.0", "10.01", False),
    ("neq", 10, 11, True),
    ("neq", 10, "10.000", False),
    ("lt", "100.5", "100.49", True),
    ("lt", "100.5", "100.5", False),
    ("lteq", 20, 20, True),
    ("lteq", 20, "20.01", False),
    ("gt", 0, "0.01", True),
    ("gt", 0, 0, False),
]


@pytest.mark.parametrize(("operator", "right", "paid", "expected"), PAY_CASES)
def test_pay_amount(operator: str, right: Any, paid: Any, expected: bool) -> None:
    check("payAmount", operator, right, expected, pay_amount=paid)


def _pay_policy(unit: str):
    return parse_policy(
        {
            "@id": "urn:p",
            "@type": "Set",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "payAmount",
                            "operator": "gteq",
                            "rightOperand": {"@value": "10.00", "@type": "xsd:decimal"},
                            "unit": unit,
                        }
                    ],
                }
            ],
        }
    )


def test_pay_amount_unit_must_match() -> None:
    policy = _pay_policy("EUR")
    assert evaluate(policy, Request(pay_amount=12, pay_unit="EUR")).permitted
    wrong = evaluate(policy, Request(pay_amount=12, pay_unit="USD"))
    assert not wrong.permitted and wrong.reasons[0].actual == "12 USD"
    assert not evaluate(policy, Request(pay_amount=12)).permitted  # unit unknown


PURPOSE = ("ex:qualityControl", "ex:manufacturing")  # the purpose, then a broader one
TERM_CASES = [
    ("eq", "ex:qualityControl", True),
    ("eq", "ex:manufacturing", False),  # eq compares the purpose itself
    ("neq", "ex:research", True),
    ("neq", "ex:qualityControl", False),
    ("isA", "ex:manufacturing", True),
    ("isA", "ex:research", False),
    ("isPartOf", ["ex:manufacturing", "ex:logistics"], True),
    ("isPartOf", "ex:logistics", False),
    ("isAnyOf", ["ex:research", "ex:qualityControl"], True),
    ("isAnyOf", ["ex:research", "ex:marketing"], False),
    ("isNoneOf", ["ex:marketing", "ex:military"], True),
    ("isNoneOf", ["ex:manufacturing"], False),  # a broader term also excludes
    ("isAllOf", ["ex:qualityControl", "ex:manufacturing"], True),
    ("isAllOf", ["ex:qualityControl", "ex:research"], False),
]


@pytest.mark.parametrize(("operator", "right", "expected"), TERM_CASES)
def test_purpose(operator: str, right: Any, expected: bool) -> None:
    check("purpose", operator, right, expected, purpose=PURPOSE)


SPATIAL = ("urn:region:CN-SH", "urn:region:CN", "urn:region:Asia")
SPATIAL_CASES = [
    ("eq", "urn:region:CN-SH", True),
    ("eq", "urn:region:CN", False),
    ("isPartOf", "urn:region:CN", True),
    ("isPartOf", "http://example.org/EU", False),
    ("isNoneOf", ["http://example.org/EU"], True),
    ("isAnyOf", {"@id": "http://example.org/EU"}, False),
]


@pytest.mark.parametrize(("operator", "right", "expected"), SPATIAL_CASES)
def test_spatial(operator: str, right: Any, expected: bool) -> None:
    check("spatial", operator, right, expected, spatial=SPATIAL)


RECIPIENT_CASES = [
    ("eq", "did:web:b.example", True),
    ("eq", "did:web:c.example", False),
    ("neq", "did:web:c.example", True),
    ("isAnyOf", ["did:web:a.example", "did:web:b.example"], True),
    ("isNoneOf", ["did:web:b.example"], False),
]


@pytest.mark.parametrize(("operator", "right", "expected"), RECIPIENT_CASES)
def test_recipient_defaults_to_assignee(operator: str, right: Any, expected: bool) -> None:
    check("recipient", operator, right, expected, assignee="did:web:b.example")


def test_recipient_can_differ_from_assignee() -> None:
    decision = decide(
        "recipient", "eq", "did:web:b.example", assignee="did:web:b.example", recipient="did:x"
    )
    assert not decision.permitted and decision.reasons[0].actual == "did:x"


ROLE_CASES = [
    ("eq", "ts:supplier", "ts:supplier", True),
    ("eq", "ts:oem", "ts:supplier", False),
    ("isAnyOf", ["ts:oem", "ts:supplier"], "ts:supplier", True),
    ("isNoneOf", ["ts:oem", "ts:supplier"], "ts:supplier", False),
    ("isA", "ts:tier1", ("ts:supplier", "ts:tier1"), True),
    ("isA", "ts:tier2", ("ts:supplier", "ts:tier1"), False),
]


@pytest.mark.parametrize(("operator", "right", "role", "expected"), ROLE_CASES)
def test_partner_role(operator: str, right: Any, role: Any, expected: bool) -> None:
    check("ts:partnerRole", operator, right, expected, partner_role=role)


RECALL = "https://example.com/event/recall-42"
AUDIT = "https://example.com/event/audit-7"
EVENT_CASES = [
    # (operator, right, begun, ongoing, expected)
    ("lt", RECALL, set(), set(), True),  # before the recall
    ("lt", RECALL, {RECALL}, {RECALL}, False),
    ("eq", RECALL, {RECALL}, {RECALL}, True),  # during it
    ("eq", RECALL, {RECALL}, set(), False),
    ("gt", RECALL, {RECALL}, set(), True),  # after it ended
    ("gt", RECALL, {RECALL}, {RECALL}, False),
    ("lteq", RECALL, {RECALL}, {RECALL}, True),
    ("lteq", RECALL, {RECALL}, set(), False),
    ("gteq", RECALL, {RECALL}, set(), True),
    ("gteq", RECALL, set(), set(), False),
    ("neq", RECALL, set(), set(), True),
    ("neq", RECALL, {RECALL}, {RECALL}, False),
    ("hasPart", [RECALL, AUDIT], {RECALL, AUDIT}, set(), True),
    ("hasPart", [RECALL, AUDIT], {RECALL}, set(), False),
    ("isAllOf", [AUDIT], {AUDIT}, set(), True),
    ("isAllOf", [AUDIT, RECALL], {AUDIT}, set(), False),
    ("isAnyOf", [AUDIT, RECALL], {AUDIT}, set(), True),
    ("isAnyOf", [RECALL], {AUDIT}, set(), False),
    ("isNoneOf", [RECALL], {AUDIT}, set(), True),
    ("isNoneOf", [RECALL], {RECALL}, set(), False),
    ("lt", {"@id": "odrl:policyUsage"}, set(), set(), True),
    ("lt", "http://www.w3.org/ns/odrl/2/policyUsage", {"policyUsage"}, set(), False),
]


@pytest.mark.parametrize(("operator", "right", "begun", "ongoing", "expected"), EVENT_CASES)
def test_event(operator: str, right: Any, begun: set, ongoing: set, expected: bool) -> None:
    check("event", operator, right, expected, events=begun, ongoing_events=ongoing)


MEMBER = "https://w3id.org/catenax/credentials/MembershipCredential"
ISSUER = "did:web:issuer.example"
HELD = [Credential(MEMBER, ISSUER), Credential("ex:QualityCertificate", "did:web:tuv.example")]
CREDENTIAL_CASES = [
    ("eq", MEMBER, True),
    ("eq", "ex:Other", False),
    ("eq", ISSUER, True),  # a string also matches the issuer
    ("eq", {"type": MEMBER, "issuer": "did:web:other.example"}, False),
    ("isA", {"type": MEMBER, "issuer": ISSUER}, True),
    ("isA", "ex:Other", False),
    ("neq", "ex:Revoked", True),
    ("neq", MEMBER, False),
    ("hasPart", [MEMBER, "ex:QualityCertificate"], True),
    ("hasPart", [MEMBER, "ex:Other"], False),
    ("isAllOf", [ISSUER, "did:web:tuv.example"], True),
    ("isAllOf", [ISSUER, "did:web:nobody.example"], False),
    ("isAnyOf", ["ex:Other", "ex:QualityCertificate"], True),
    ("isAnyOf", ["ex:Other"], False),
    ("isNoneOf", ["ex:Sanctioned"], True),
    ("isNoneOf", ["ex:Sanctioned", MEMBER], False),
]


@pytest.mark.parametrize(("operator", "right", "expected"), CREDENTIAL_CASES)
def test_membership_credential(operator: str, right: Any, expected: bool) -> None:
    check("ts:membershipCredential", operator, right, expected, credentials=HELD)


LEVEL_CASES = [
    # (operator, right, level of the data, expected)
    ("lteq", 2, "一般", True),
    ("lteq", 2, "重要", False),
    ("lt", "重要", 2, True),
    ("lt", "重要数据", "important", False),
    ("gt", "general", "核心", True),
    ("gt", "general", 2, False),
    ("gteq", "ts:core", 4, True),
    ("gteq", "core", 3, False),
    ("eq", "一般数据", "2", True),
    ("eq", 1, "general", False),
    ("neq", "核心", "公开", True),
    ("neq", "核心", 4, False),
    ("isAnyOf", [1, "一般"], "public", True),
    ("isAnyOf", [1, 2], 3, False),
    ("isNoneOf", ["核心", "重要"], 2, True),
    ("isNoneOf", ["核心", "重要"], "Important", False),
]


@pytest.mark.parametrize(("operator", "right", "level", "expected"), LEVEL_CASES)
def test_classification_level(operator: str, right: Any, level: Any, expected: bool) -> None:
    check("ts:classificationLevel", operator, right, expected, classification_level=level)


@pytest.mark.parametrize(
    ("left", "request_value"),
    [
        ("elapsedTime", {"agreement_start": START}),
        ("count", {"access_count": 0}),
        ("payAmount", {"pay_amount": 1}),
        ("purpose", {"purpose": "ex:x"}),
        ("spatial", {"spatial": "ex:x"}),
        ("recipient", {"assignee": "ex:x"}),
        ("ts:partnerRole", {"partner_role": "ex:x"}),
        ("event", {"events": ()}),
        ("ts:membershipCredential", {"credentials": ["ex:x"]}),
        ("ts:classificationLevel", {"classification_level": 1}),
    ],
)
def test_missing_request_value_denies(left: str, request_value: dict) -> None:
    operator, right = {
        "elapsedTime": ("lteq", "P1000Y"),
        "count": ("gteq", 0),
        "payAmount": ("gteq", 0),
        "event": ("isNoneOf", ["ex:never"]),
        "ts:classificationLevel": ("gteq", 1),
        "ts:membershipCredential": ("neq", "ex:never"),
    }.get(left, ("neq", "ex:never"))
    # With the value the constraint holds; without it the request is denied, never allowed.
    assert decide(left, operator, right, **request_value).permitted
    denied = decide(left, operator, right)
    assert not denied.permitted
    (reason,) = denied.reasons
    assert reason.path == PATH and reason.left_operand == left and reason.actual is None
    assert "no value" in reason.message


def test_left_operands_accept_prefixed_and_full_iris() -> None:
    for spelling in ("count", "odrl:count", "http://www.w3.org/ns/odrl/2/count", {"@id": "count"}):
        assert decide(spelling, "lteq", 1, access_count=0).permitted
        assert not decide(spelling, "lteq", 1, access_count=1).permitted
    for spelling in (
        "ts:classificationLevel",
        "https://w3id.org/tracespace/policy/v1#classificationLevel",
        "classificationLevel",
    ):
        assert decide(spelling, "lteq", "一般", classification_level=2).permitted
    for spelling in ("odrl:isAnyOf", "http://www.w3.org/ns/odrl/2/isAnyOf", {"@id": "isAnyOf"}):
        assert decide("purpose", spelling, ["ex:a"], purpose="ex:a").permitted
