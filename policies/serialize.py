"""Write policy objects back to the compact JSON-LD form used by the Dataspace Protocol 2025-1."""

from __future__ import annotations

from typing import Any

from policies.model import AnyConstraint, Constraint, Duty, Permission, Policy, Rule


def constraint_to_json(constraint: AnyConstraint) -> dict[str, Any]:
    """`{"leftOperand", "operator", "rightOperand"}` or `{"and": [...]}` and friends."""
    if isinstance(constraint, Constraint):
        out: dict[str, Any] = {
            "leftOperand": constraint.left_operand,
            "operator": constraint.operator,
            "rightOperand": constraint.right_operand,
        }
        if constraint.unit is not None:
            out["unit"] = constraint.unit
        if constraint.data_type is not None:
            out["dataType"] = constraint.data_type
        return out
    return {constraint.operator: [constraint_to_json(c) for c in constraint.constraints]}


def rule_to_json(rule: Rule) -> dict[str, Any]:
    """A permission, prohibition or duty; refined actions use the `rdf:value` form."""
    out: dict[str, Any] = {}
    if rule.uid is not None:
        out["@id"] = rule.uid
    if rule.refinements:
        out["action"] = {
            "rdf:value": {"@id": rule.action},
            "refinement": [constraint_to_json(c) for c in rule.refinements],
        }
    else:
        out["action"] = rule.action
    for name in ("target", "assigner", "assignee"):
        value = getattr(rule, name)
        if value is not None:
            out[name] = value
    if rule.constraints:
        out["constraint"] = [constraint_to_json(c) for c in rule.constraints]
    if isinstance(rule, Permission) and rule.duties:
        out["duty"] = [rule_to_json(d) for d in rule.duties]
    return out


def policy_to_json(policy: Policy) -> dict[str, Any]:
    """The policy as a DSP offer/agreement object (no `@context`; the message carries it)."""
    out: dict[str, Any] = {"@id": policy.uid, "@type": policy.type}
    if policy.profiles:
        out["profile"] = policy.profiles[0] if len(policy.profiles) == 1 else list(policy.profiles)
    for name in ("target", "assigner", "assignee", "conflict", "timestamp"):
        value = getattr(policy, name)
        if value is not None:
            out[name] = value
    for key, rules in (
        ("permission", policy.permissions),
        ("prohibition", policy.prohibitions),
        ("obligation", policy.obligations),
    ):
        if rules:
            out[key] = [rule_to_json(r) for r in rules]
    return out


def duty_to_json(duty: Duty) -> dict[str, Any]:
    """A duty with the JSON path it was defined at, for tracking by the caller."""
    return {"path": duty.path, **rule_to_json(duty)}
