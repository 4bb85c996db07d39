"""Decide whether a request is permitted by a policy, naming every constraint that failed.

Rules:

- A permission applies when its action covers the requested one (`use` covers `read`),
  and its target and assignee (or the policy's) equal the request's. It grants when all
  its action refinements and constraints hold. Any granting permission permits.
- Constraints are decided in three-valued logic: a value missing from the request, or a
  left operand this library does not know, is *undecided*, which never grants.
- A prohibition applies when its action covers the requested one and its constraints hold
  or are undecided (an unknown cannot rule a prohibition out). A target or assignee it
  names must match the request's when the request gives one. An applying prohibition
  denies, unless the policy's conflict strategy is `perm`.
- `and` and `andSequence` need all operands (a point-in-time check cannot observe order),
  `or` needs one, `xone` exactly one.
- When permitted, `duties` lists the duties of every granting permission and the
  policy's obligations, for the caller to track; `reasons` is empty. When denied,
  `reasons` names every failed or undecided constraint of the applicable permissions,
  every applying prohibition, or, if no permission applies, why each one does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from policies.model import AnyConstraint, Constraint, Duty, Permission, Policy, Rule
from policies.request import Credential, Request
from policies.serialize import duty_to_json
from policies.vocabulary import action_covers


@dataclass(frozen=True, slots=True)
class Reason:
    """Why (part of) a decision went against the request.

    `kind` is `constraint` (an atomic constraint failed or was undecided), `logical` (an
    `xone` had several operands satisfied), `prohibition`, `not-applicable` (a permission
    is for another action, target or assignee) or `no-permission`.
    """

    kind: str
    path: str
    message: str
    left_operand: str | None = None
    operator: str | None = None
    expected: Any = None
    actual: Any = None

    def to_json(self) -> dict[str, Any]:
        """A JSON object, e.g. for a problem+json `errors` member."""
        out: dict[str, Any] = {"kind": self.kind, "path": self.path, "message": self.message}
        if self.left_operand is not None:
            out.update(
                leftOperand=self.left_operand,
                operator=self.operator,
                rightOperand=self.expected,
                actual=_jsonable(self.actual),
            )
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of `evaluate`."""

    permitted: bool
    reasons: tuple[Reason, ...] = ()
    duties: tuple[Duty, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "permitted": self.permitted,
            "reasons": [r.to_json() for r in self.reasons],
            "duties": [duty_to_json(d) for d in self.duties],
        }


def _duration_text(delta: timedelta) -> str:
    sign = "-" if delta < timedelta(0) else ""
    delta = abs(delta)
    seconds = delta.seconds + delta.microseconds / 1_000_000
    return f"{sign}P{delta.days}DT{seconds:g}S"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration_text(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Credential):
        return {"type": value.type, "issuer": value.issuer}
    if isinstance(value, frozenset):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _failure(constraint: Constraint, outcome: bool | None, actual: Any) -> Reason:
    left = constraint.left_operand
    if not constraint.known:
        message = f"unknown left operand {left!r}: it cannot be evaluated, so it never holds"
    elif outcome is None:
        message = f"the request carries no value for {left}"
    else:
        message = f"{left} {constraint.operator} {constraint.right_operand!r} does not hold"
    return Reason(
        "constraint",
        constraint.path,
        message,
        left,
        constraint.operator,
        constraint.right_operand,
        actual,
    )


def _decide(node: AnyConstraint, request: Request, out: list[Reason]) -> bool | None:
    """Kleene three-valued result of one constraint; reasons go to `out` unless it holds."""
    if type(node) is Constraint:
        outcome, actual = node.check(request)
        if outcome is not True:
            out.append(_failure(node, outcome, actual))
        return outcome
    operator = node.operator
    if operator == "and" or operator == "andSequence":
        state: bool | None = True
        for child in node.constraints:
            result = _decide(child, request, out)
            if result is False:
                state = False
            elif result is None and state is True:
                state = None
        return state
    scratch: list[Reason] = []
    results = [_decide(child, request, scratch) for child in node.constraints]
    satisfied = sum(1 for r in results if r is True)
    undecided = any(r is None for r in results)
    if operator == "or":
        if satisfied:
            return True
        out.extend(scratch)
        return None if undecided else False
    if satisfied > 1:
        out.append(
            Reason(
                "logical",
                node.path,
                f"{satisfied} operands of xone hold; exactly one must",
            )
        )
        return False
    if satisfied == 1 and not undecided:
        return True
    out.extend(scratch)
    return None if undecided else False


def _all(rule: Rule, request: Request, out: list[Reason]) -> bool | None:
    state: bool | None = True
    for group in (rule.refinements, rule.constraints):
        for node in group:
            result = _decide(node, request, out)
            if result is False:
                state = False
            elif result is None and state is True:
                state = None
    return state


def _not_applicable(policy: Policy, rule: Permission, request: Request) -> Reason | None:
    if not action_covers(rule.action, request.action):
        message = f"permission is for action {rule.action}, not {request.action}"
        return Reason("not-applicable", rule.path, message)
    target = rule.target or policy.target
    if target is not None and target != request.target:
        message = f"permission is for target {target}, not {request.target}"
        return Reason("not-applicable", rule.path, message)
    assignee = rule.assignee or policy.assignee
    if assignee is not None and assignee != request.assignee:
        message = f"permission is for assignee {assignee}, not {request.assignee}"
        return Reason("not-applicable", rule.path, message)
    return None


def _prohibition_scope(policy: Policy, rule: Rule, request: Request) -> bool:
    if not action_covers(rule.action, request.action):
        return False
    target = rule.target or policy.target
    if target is not None and request.target is not None and target != request.target:
        return False
    assignee = rule.assignee or policy.assignee
    return assignee is None or request.assignee is None or assignee == request.assignee


def evaluate(policy: Policy, request: Request) -> Decision:
    """Permit or deny `request` under `policy`, with every reason and the duties to track."""
    reasons: list[Reason] = []
    mismatches: list[Reason] = []
    granted: list[Permission] = []
    for permission in policy.permissions:
        mismatch = _not_applicable(policy, permission, request)
        if mismatch is not None:
            mismatches.append(mismatch)
            continue
        failures: list[Reason] = []
        if _all(permission, request, failures) is True:
            granted.append(permission)
        else:
            reasons.extend(failures)
    if not policy.permissions:
        reasons.append(Reason("no-permission", policy.path, "the policy grants no permission"))
    elif len(mismatches) == len(policy.permissions):
        reasons.extend(mismatches)

    blocked: list[Reason] = []
    for prohibition in policy.prohibitions:
        if not _prohibition_scope(policy, prohibition, request):
            continue
        details: list[Reason] = []
        result = _all(prohibition, request, details)
        if result is False:
            continue
        if result is True:
            message = f"prohibited: {prohibition.action} is forbidden here"
            blocked.append(Reason("prohibition", prohibition.path, message))
        else:
            message = f"prohibition of {prohibition.action} cannot be ruled out"
            blocked.append(Reason("prohibition", prohibition.path, message))
            blocked.extend(d for d in details if d.kind == "constraint" and d.actual is None)

    if granted and (not blocked or policy.conflict == "perm"):
        duties = tuple(d for p in granted for d in p.duties) + policy.obligations
        return Decision(True, (), duties)
    return Decision(False, tuple(reasons + blocked), ())
