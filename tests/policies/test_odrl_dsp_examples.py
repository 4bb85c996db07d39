"""The ODRL policies in the Dataspace Protocol 2025-1 examples parse, evaluate and round-trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from policies.dsp import find_policies, parse_policies
from policies.errors import PolicyError
from policies.evaluate import evaluate
from policies.parse import parse_policy
from policies.request import Request
from policies.serialize import policy_to_json

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
DSP = CONFORMANCE / "dsp"

# Every example message that carries an ODRL policy, and how many it carries.
EXPECTED = {
    "catalog/example/catalog.json": 1,
    "catalog/example/dataset.json": 1,
    "negotiation/example/contract-agreement-message-full.json": 1,
    "negotiation/example/contract-agreement-message.json": 1,
    "negotiation/example/contract-offer-message.json": 1,
    "negotiation/example/contract-offer-message_initial.json": 1,
    "negotiation/example/contract-request-message.json": 1,
    "negotiation/example/contract-request-message_initial.json": 1,
}


@pytest.fixture(scope="module")
def dsp() -> Path:
    if not DSP.is_dir():
        pytest.skip(f"DSP conformance data not found at {DSP}")
    return DSP


def load(dsp: Path, name: str) -> dict:
    return json.loads((dsp / name).read_text(encoding="utf-8"))


def test_every_example_with_a_policy_is_found(dsp: Path) -> None:
    found = {}
    for path in sorted(dsp.glob("*/example/*.json")):
        count = len(list(find_policies(json.loads(path.read_text(encoding="utf-8")))))
        if count:
            found[str(path.relative_to(dsp))] = count
    assert found == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_policies_parse_and_round_trip(dsp: Path, name: str) -> None:
    for policy in parse_policies(load(dsp, name)):
        again = parse_policy(policy_to_json(policy))
        assert again == policy
        assert policy_to_json(again) == policy_to_json(policy)


@pytest.fixture(scope="module")
def contract_schema(dsp: Path) -> jsonschema.Draft201909Validator:
    schema = json.loads((dsp / "negotiation/contract-schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema)


@pytest.mark.parametrize("name", [n for n in sorted(EXPECTED) if n.startswith("negotiation/")])
def test_serialised_policy_still_meets_the_dsp_contract_schema(
    dsp: Path, name: str, contract_schema: jsonschema.Draft201909Validator
) -> None:
    for where, original in find_policies(load(dsp, name)):
        assert not list(contract_schema.iter_errors(original)), where  # the oracle agrees
        written = policy_to_json(parse_policy(original, path=where))
        errors = [e.message for e in contract_schema.iter_errors(written)]
        assert errors == [], where
        assert written == original  # the DSP examples are already in the compact form


def test_agreement_date_limit_is_enforced_with_json_path(dsp: Path) -> None:
    message = load(dsp, "negotiation/example/contract-agreement-message.json")
    (policy,) = parse_policies(message)
    base = {"target": policy.target, "assignee": "http://example.com/Consumer"}
    before = Request(now=datetime(2023, 12, 31, 6, 0, tzinfo=UTC), **base)
    after = Request(now=datetime(2023, 12, 31, 6, 0, 1, tzinfo=UTC), **base)
    assert evaluate(policy, before).permitted
    decision = evaluate(policy, after)
    assert not decision.permitted
    (reason,) = decision.reasons
    assert reason.path == "$.agreement.permission[0].constraint[0]"
    assert (reason.left_operand, reason.operator, reason.expected) == (
        "dateTime",
        "lteq",
        "2023-12-31T06:00Z",
    )


def test_full_agreement_unknown_partner_operand_never_grants(dsp: Path) -> None:
    message = load(dsp, "negotiation/example/contract-agreement-message-full.json")
    (policy,) = parse_policies(message)
    request = Request(
        now=datetime(2024, 6, 1, tzinfo=UTC),
        target=policy.target,
        assignee="http://example.com/Consumer",
    )
    decision = evaluate(policy, request)
    assert not decision.permitted
    unknown = {r.left_operand for r in decision.reasons if "unknown left operand" in r.message}
    assert unknown == {"partner", "constraint1", "constraint2"}
    assert "$.agreement.permission[0].constraint[0]" in {r.path for r in decision.reasons}
    # Strict parsing refuses the operands it does not know, naming where they are.
    with pytest.raises(PolicyError) as caught:
        parse_policies(message, strict=True)
    assert "$.agreement.permission[1].constraint[0].and[0].leftOperand" in caught.value.paths


def test_catalog_offer_spatial_constraint(dsp: Path) -> None:
    (policy,) = parse_policies(load(dsp, "catalog/example/catalog.json"))
    assert policy.path == "$.dataset[0].hasPolicy[0]"
    assert evaluate(policy, Request(spatial=("urn:de", "http://example.org/EU"))).permitted is False
    assert evaluate(policy, Request(spatial="http://example.org/EU")).permitted
