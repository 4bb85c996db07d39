"""Logical constraints, prohibition over permission, actions, parties, duties, unknown operands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from policies.evaluate import evaluate
from policies.parse import parse_policy
from policies.request import Request

NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def atom(left: str, operator: str, right: Any) -> dict:
    return {"leftOperand": left, "operator": operator, "rightOperand": right}


def policy(*constraints: dict, **extra: Any):
    doc = {
        "@id": "urn:p",
        "@type": "Set",
        "permission": [{"action": "use", "constraint": list(constraints)}],
    }
    doc.update(extra)
    return parse_policy(doc)


GOLD = atom("ts:partnerRole", "eq", "gold")
SILVER = atom("ts:partnerRole", "eq", "silver")
ANY_ROLE = atom("ts:partnerRole", "isAnyOf", ["gold", "silver"])
FEW = atom("count", "lteq", 5)


def ok(p, **request: Any) -> bool:
    return evaluate(p, Request(now=NOW, **request)).permitted


def test_and_needs_all_and_reports_every_failure() -> None:
    p = policy({"and": [GOLD, FEW]})
    assert ok(p, partner_role="gold", access_count=0)
    decision = evaluate(p, Request(partner_role="silver", access_count=9))
    assert not decision.permitted
    assert [r.path for r in decision.reasons] == [
        "$.permission[0].constraint[0].and[0]",
        "$.permission[0].constraint[0].and[1]",
    ]
    assert [r.actual for r in decision.reasons] == ["silver", 10]


def test_and_sequence_needs_all() -> None:
    p = policy({"andSequence": [GOLD, FEW]})
    assert ok(p, partner_role="gold", access_count=4)
    assert not ok(p, partner_role="gold", access_count=5)


def test_or_needs_one() -> None:
    p = policy({"or": [GOLD, SILVER]})
    assert ok(p, partner_role="silver")
    decision = evaluate(p, Request(partner_role="bronze"))
    assert not decision.permitted and len(decision.reasons) == 2


def test_xone_needs_exactly_one() -> None:
    p = policy({"xone": [GOLD, ANY_ROLE]})
    assert ok(p, partner_role="silver")  # only the second holds
    both = evaluate(p, Request(partner_role="gold"))
    assert not both.permitted
    (reason,) = both.reasons
    assert reason.kind == "logical" and reason.path == "$.permission[0].constraint[0]"
    assert not ok(p, partner_role="bronze")


def test_odrl_list_form_and_nesting() -> None:
    # ODRL 2.2 writes logical operands as {"@list": [...]}; DSP uses plain arrays.
    p = policy({"or": {"@list": [{"and": [GOLD, FEW]}, SILVER]}})
    assert ok(p, partner_role="gold", access_count=0)
    assert ok(p, partner_role="silver", access_count=99)
    assert not ok(p, partner_role="gold", access_count=99)


def test_constraints_of_a_rule_are_conjunctive() -> None:
    p = policy(GOLD, FEW)
    assert ok(p, partner_role="gold", access_count=0)
    assert not ok(p, partner_role="gold", access_count=5)


def test_unknown_left_operand_denies_everywhere() -> None:
    unknown = atom("https://example.com/creditRating", "eq", "AAA")
    for p in (policy(unknown), policy({"or": [unknown, GOLD]}), policy({"xone": [unknown, GOLD]})):
        decision = evaluate(p, Request(partner_role="silver"))
        assert not decision.permitted
        assert any("unknown left operand" in r.message for r in decision.reasons)
    # or: a known operand that holds is enough; xone: the unknown one makes it undecidable
    assert ok(policy({"or": [unknown, GOLD]}), partner_role="gold")
    assert not ok(policy({"xone": [unknown, GOLD]}), partner_role="gold")


def test_prohibition_overrides_permission() -> None:
    doc = {
        "@id": "urn:p",
        "@type": "Set",
        "permission": [{"action": "use"}],
        "prohibition": [
            {"action": "distribute", "constraint": [atom("spatial", "isPartOf", "ex:RU")]}
        ],
    }
    p = parse_policy(doc)
    assert ok(p, action="distribute", spatial=("ex:Berlin", "ex:DE"))
    denied = evaluate(p, Request(action="distribute", spatial=("ex:Moscow", "ex:RU")))
    assert not denied.permitted
    assert [(r.kind, r.path) for r in denied.reasons] == [("prohibition", "$.prohibition[0]")]
    assert ok(p, action="read", spatial=("ex:Moscow", "ex:RU"))  # only distribute is forbidden
    # A prohibition that cannot be ruled out (spatial unknown) also denies.
    unsure = evaluate(p, Request(action="distribute"))
    assert not unsure.permitted
    assert [r.kind for r in unsure.reasons] == ["prohibition", "constraint"]
    # The ODRL conflict strategy "perm" lets the permission win.
    assert ok(parse_policy({**doc, "conflict": "perm"}), action="distribute", spatial="ex:RU")


def test_prohibition_of_use_covers_narrower_actions() -> None:
    p = parse_policy(
        {
            "@id": "urn:p",
            "@type": "Set",
            "permission": [{"action": "read"}],
            "prohibition": [{"action": "use", "constraint": [atom("purpose", "eq", "ex:ads")]}],
        }
    )
    assert ok(p, action="read", purpose="ex:qa")
    assert not ok(p, action="read", purpose="ex:ads")


def test_action_hierarchy_and_applicability() -> None:
    p = parse_policy(
        {
            "@id": "urn:p",
            "@type": "Agreement",
            "target": "urn:asset:1",
            "assigner": "did:web:a",
            "assignee": "did:web:b",
            "permission": [{"action": "http://www.w3.org/ns/odrl/2/use"}],
        }
    )
    good = {"target": "urn:asset:1", "assignee": "did:web:b"}
    assert ok(p, action="read", **good)  # use covers read
    assert ok(p, action="odrl:use", **good)
    assert not ok(p, action="transfer", **good)  # transfer is not part of use
    for wrong in ({"target": "urn:asset:2"}, {"assignee": "did:web:c"}, {"target": None}):
        decision = evaluate(p, Request(action="read", **{**good, **wrong}))
        assert not decision.permitted
        assert decision.reasons[0].kind == "not-applicable"
    narrow = parse_policy({"@id": "urn:q", "@type": "Set", "permission": [{"action": "read"}]})
    assert not ok(narrow, action="use")  # read does not grant all of use
    assert not ok(narrow, action="distribute")


def test_policy_without_permission_denies() -> None:
    p = parse_policy({"@id": "urn:p", "@type": "Set", "prohibition": [{"action": "distribute"}]})
    decision = evaluate(p, Request())
    assert not decision.permitted and decision.reasons[0].kind == "no-permission"


def test_duties_and_obligations_are_returned_with_the_grant() -> None:
    p = parse_policy(
        {
            "@id": "urn:p",
            "@type": "Set",
            "permission": [
                {
                    "action": "use",
                    "constraint": [GOLD],
                    "duty": [
                        {
                            "action": "delete",
                            "constraint": [atom("elapsedTime", "gteq", "P30D")],
                        }
                    ],
                },
                {"action": "use", "constraint": [SILVER], "duty": [{"action": "compensate"}]},
            ],
            "obligation": [{"action": "inform", "assignee": "did:web:b"}],
        }
    )
    decision = evaluate(p, Request(partner_role="gold"))
    assert decision.permitted
    assert [(d.action, d.path) for d in decision.duties] == [
        ("delete", "$.permission[0].duty[0]"),
        ("inform", "$.obligation[0]"),
    ]
    as_json = decision.to_json()
    assert as_json["duties"][0]["constraint"][0]["rightOperand"] == "P30D"
    assert evaluate(p, Request(partner_role="bronze")).duties == ()


def test_action_refinement_is_enforced() -> None:
    p = parse_policy(
        {
            "@id": "urn:p",
            "@type": "Set",
            "permission": [
                {"action": {"rdf:value": {"@id": "odrl:read"}, "refinement": [FEW]}},
            ],
        }
    )
    assert ok(p, action="read", access_count=0)
    denied = evaluate(p, Request(action="read", access_count=5))
    assert denied.reasons[0].path == "$.permission[0].action.refinement[0]"


def test_reason_json_names_operand_operator_expected_and_actual() -> None:
    p = policy(atom("dateTime", "lteq", "2025-01-31T00:00:00Z"))
    (reason,) = evaluate(p, Request(now=NOW)).reasons
    assert reason.to_json() == {
        "kind": "constraint",
        "path": "$.permission[0].constraint[0]",
        "message": reason.message,
        "leftOperand": "dateTime",
        "operator": "lteq",
        "rightOperand": "2025-01-31T00:00:00Z",
        "actual": "2025-03-01T12:00:00+00:00",
    }
