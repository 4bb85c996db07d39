"""Definition-time validation with JSON paths, robustness on arbitrary JSON, and round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.errors import PolicyError
from policies.parse import parse_policy
from policies.serialize import policy_to_json


def offer(**rule: Any) -> dict:
    return {"@id": "urn:p", "@type": "Offer", "permission": [{"action": "use", **rule}]}


def constrained(left: Any, operator: Any, right: Any) -> dict:
    return offer(constraint=[{"leftOperand": left, "operator": operator, "rightOperand": right}])


def problems(doc: Any, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(doc, **kwargs)
    return caught.value.problems


C = "$.permission[0].constraint[0]"


@pytest.mark.parametrize(
    ("doc", "path", "words"),
    [
        ([], "$", "JSON object"),
        ({"@type": "Offer", "permission": [{"action": "use"}]}, "$", "missing policy @id"),
        ({"@id": "urn:p", "permission": [{"action": "use"}]}, "$", "missing @type"),
        ({**offer(), "@type": "Ticket"}, "$['@type']", "one of Set, Offer, Agreement"),
        ({"@id": "urn:p", "@type": "Offer"}, "$", "at least one permission"),
        ({"@id": "urn:p", "@type": "Offer", "permission": [{}]}, "$.permission[0]", "action"),
        (offer(action=["use", "read"]), "$.permission[0].action", "exactly one action"),
        (offer(action="odrl:frobnicate"), "$.permission[0].action", "not an ODRL 2.2 action"),
        (constrained("count", "term-lteq", 3), f"{C}.operator", "unknown operator"),
        (constrained("count", "isA", 3), f"{C}.operator", "cannot be used with count"),
        (constrained("count", "lteq", "three"), f"{C}.rightOperand", "not an integer"),
        (constrained("count", "lteq", -1), f"{C}.rightOperand", "negative"),
        (constrained("count", "lteq", [1, 2]), f"{C}.rightOperand", "single value"),
        (constrained("dateTime", "lt", "31/12/2025"), f"{C}.rightOperand", "xsd:date"),
        (constrained("dateTime", "lt", 2025), f"{C}.rightOperand", "xsd:date"),
        (constrained("elapsedTime", "lteq", "30 days"), f"{C}.rightOperand", "xsd:duration"),
        (constrained("elapsedTime", "lteq", "-P1D"), f"{C}.rightOperand", "xsd:duration"),
        (constrained("payAmount", "gteq", "NaN"), f"{C}.rightOperand", "decimal"),
        (constrained("payAmount", "gteq", True), f"{C}.rightOperand", "boolean"),
        (constrained("purpose", "isAnyOf", []), f"{C}.rightOperand", "empty array"),
        (constrained("purpose", "eq", 5), f"{C}.rightOperand", "non-empty IRI"),
        (constrained("ts:classificationLevel", "lteq", 7), f"{C}.rightOperand", "outside 1-4"),
        (constrained("ts:classificationLevel", "lteq", "秘密"), f"{C}.rightOperand", "unknown"),
        (
            constrained("dateTime", "lt", {"@value": "2025-01-01", "@type": "xsd:integer"}),
            f"{C}.rightOperand['@type']",
            "does not fit",
        ),
        (
            offer(constraint=[{"leftOperand": "count", "operator": "eq"}]),
            C,
            "missing rightOperand",
        ),
        (offer(constraint=[{"and": []}]), f"{C}.and", "non-empty array"),
        (offer(constraint=[{"and": [], "or": []}]), C, "one operand"),
        (offer(constraint=[{"@id": "urn:c:1"}]), C, "references"),
        (offer(constraint=["x"]), C, "JSON object"),
        (offer(constraint=[{"x": [{}]}]), C, "missing leftOperand"),
        (
            offer(
                constraint=[
                    {
                        "leftOperand": "count",
                        "operator": "eq",
                        "rightOperandReference": "x",
                        "rightOperand": 1,
                    }
                ]
            ),
            f"{C}.rightOperandReference",
            "not supported",
        ),
        ({**offer(), "inheritFrom": "urn:q"}, "$.inheritFrom", "not supported"),
        (
            {"@id": "urn:p", "@type": "Set", "prohibition": [{"action": "use", "duty": []}]},
            "$.prohibition[0].duty",
            "only a permission",
        ),
        ({**offer(), "@type": "Agreement"}, "$", "an Agreement needs target"),
        ({**offer(), "timestamp": "yesterday"}, "$.timestamp", "xsd:dateTime"),
        ({**offer(), "conflict": "maybe"}, "$.conflict", "conflict must be one of"),
        ({**offer(), "odrl:permission": []}, "$['odrl:permission']", "duplicate key"),
    ],
)
def test_invalid_policy_reports_json_path(doc: Any, path: str, words: str) -> None:
    found = problems(doc)
    assert any(where == path and words in message for where, message in found), found


def test_all_problems_are_reported_at_once() -> None:
    doc = {
        "@id": "urn:p",
        "@type": "Offer",
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "count", "operator": "x", "rightOperand": 1}],
            },
            {"constraint": []},
        ],
        "prohibition": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "soon"}
                ],
            }
        ],
    }
    assert [where for where, _ in problems(doc)] == [
        "$.permission[0].constraint[0].operator",
        "$.permission[1]",
        "$.prohibition[0].constraint[0].rightOperand",
    ]


def test_base_path_prefixes_problem_paths() -> None:
    found = problems(constrained("count", "x", 1), path="$.offer")
    assert found[0][0] == "$.offer.permission[0].constraint[0].operator"


def test_strict_mode_refuses_unknown_left_operands_and_actions() -> None:
    parse_policy(constrained("ex:creditRating", "eq", "AAA"))
    parse_policy(offer(action="ex:download"))
    assert problems(constrained("ex:creditRating", "eq", "AAA"), strict=True)[0][0] == (
        f"{C}.leftOperand"
    )
    assert problems(offer(action="ex:download"), strict=True)[0][0] == "$.permission[0].action"


def test_prefixed_and_iri_keys_parse_to_the_same_policy() -> None:
    odrl = "http://www.w3.org/ns/odrl/2/"
    compact = constrained("purpose", "isAnyOf", ["ex:a", "ex:b"])
    prefixed = {
        "uid": "urn:p",
        "@type": "odrl:Offer",
        "odrl:permission": [
            {
                "odrl:action": {"@id": "odrl:use"},
                "odrl:constraint": [
                    {
                        "odrl:leftOperand": {"@id": "odrl:purpose"},
                        "odrl:operator": {"@id": "odrl:isAnyOf"},
                        "odrl:rightOperand": ["ex:a", "ex:b"],
                    }
                ],
            }
        ],
    }
    full = json.loads(json.dumps(prefixed).replace('"odrl:', f'"{odrl}'))
    assert parse_policy(prefixed) == parse_policy(compact) == parse_policy(full)


# -- property tests ------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["use", "eq", "isAnyOf", "dateTime", "count", "P1D", "2025-01-01", "and"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "@id",
                    "@type",
                    "uid",
                    "permission",
                    "prohibition",
                    "obligation",
                    "action",
                    "constraint",
                    "duty",
                    "leftOperand",
                    "operator",
                    "rightOperand",
                    "and",
                    "or",
                    "xone",
                    "andSequence",
                    "@list",
                    "@value",
                    "target",
                    "assignee",
                    "unit",
                    "refinement",
                    "rdf:value",
                    "profile",
                    "conflict",
                    "timestamp",
                    "dataType",
                ]
            )
            | st.text(max_size=6),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_parse_never_crashes_on_arbitrary_json(doc: Any) -> None:
    try:
        parse_policy(doc)
    except PolicyError as exc:
        assert exc.problems and all(where.startswith("$") for where, _ in exc.problems)


LEFT_RIGHT = st.sampled_from(
    [
        ("dateTime", "lteq", "2025-12-31T23:59:59Z"),
        ("dateTime", "gt", "2025-01-01"),
        ("elapsedTime", "lt", "P1Y2M3DT4H"),
        ("count", "lteq", 10),
        ("payAmount", "gteq", "12.50"),
        ("purpose", "isAnyOf", ["ex:a", "ex:b"]),
        ("spatial", "isPartOf", {"@id": "ex:EU"}),
        ("recipient", "neq", "did:web:x"),
        ("event", "lt", {"@id": "odrl:policyUsage"}),
        ("ts:partnerRole", "isNoneOf", ["ex:competitor"]),
        ("ts:classificationLevel", "lteq", "重要"),
        ("ts:membershipCredential", "hasPart", [{"type": "ex:Member", "issuer": "did:web:i"}]),
        ("ex:unknown", "eq", "x"),
    ]
)


@st.composite
def constraints(draw: st.DrawFn, depth: int = 0) -> dict:
    if depth < 2 and draw(st.booleans()):
        operator = draw(st.sampled_from(["and", "or", "xone", "andSequence"]))
        return {operator: draw(st.lists(constraints(depth + 1), min_size=1, max_size=3))}
    left, operator, right = draw(LEFT_RIGHT)
    return {"leftOperand": left, "operator": operator, "rightOperand": right}


@st.composite
def rules(draw: st.DrawFn, with_duty: bool) -> dict:
    rule: dict[str, Any] = {"action": draw(st.sampled_from(["use", "read", "distribute"]))}
    if draw(st.booleans()):
        rule["constraint"] = draw(st.lists(constraints(), min_size=1, max_size=3))
    if draw(st.booleans()):
        rule["target"] = "urn:asset:" + draw(st.sampled_from("abc"))
    if with_duty and draw(st.booleans()):
        rule["duty"] = draw(st.lists(rules(with_duty=False), min_size=1, max_size=2))
    return rule


@st.composite
def policies(draw: st.DrawFn) -> dict:
    doc: dict[str, Any] = {
        "@id": "urn:policy:" + draw(st.text("abc123", min_size=1, max_size=5)),
        "@type": draw(st.sampled_from(["Set", "Offer"])),
        "permission": draw(st.lists(rules(with_duty=True), min_size=1, max_size=3)),
    }
    if draw(st.booleans()):
        doc["prohibition"] = draw(st.lists(rules(with_duty=False), min_size=1, max_size=2))
    if draw(st.booleans()):
        doc["obligation"] = draw(st.lists(rules(with_duty=False), min_size=1, max_size=2))
    if draw(st.booleans()):
        doc["conflict"] = draw(st.sampled_from(["perm", "prohibit", "invalid"]))
    return doc


@settings(max_examples=200, deadline=None)
@given(policies())
def test_serialise_then_parse_round_trips(doc: dict) -> None:
    policy = parse_policy(doc)
    written = policy_to_json(policy)
    assert written == doc  # generated documents are already in the canonical compact form
    assert parse_policy(json.loads(json.dumps(written))) == policy


@pytest.mark.parametrize("conflict", [{"@id": None}, {"@id": 7}, {"@id": ["perm"]}, None, 3])
def test_a_conflict_that_is_not_an_iri_is_a_problem_not_a_crash(conflict) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy({"@type": "Set", "uid": "urn:p:1", "conflict": conflict})
    assert "conflict must be one of" in str(info.value)
