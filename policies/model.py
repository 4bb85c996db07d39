"""Immutable ODRL 2.2 policy objects: Policy, Permission, Prohibition, Duty and constraints.

Objects are built by `policies.parse.parse_policy`, which validates them and attaches to
each atomic constraint a compiled check, so evaluation never re-reads JSON. `path` fields
hold the JSON path of the object in the document it was parsed from; they do not take
part in equality, so a policy equals its serialise-and-parse round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.constraints import Check, unknown_check
from policies.vocabulary import LEFT_OPERANDS


@dataclass(frozen=True, slots=True)
class Constraint:
    """An atomic constraint: `leftOperand operator rightOperand` (with an optional unit)."""

    left_operand: str
    operator: str
    right_operand: Any  # the JSON value as written (an `@list` object is unwrapped)
    unit: str | None = None
    data_type: str | None = None
    path: str = field(default="$", compare=False)
    check: Check = field(default=unknown_check, compare=False, repr=False)

    @property
    def known(self) -> bool:
        """Whether this library can evaluate the left operand (otherwise it always denies)."""
        return self.left_operand in LEFT_OPERANDS


@dataclass(frozen=True, slots=True)
class LogicalConstraint:
    """`and`, `or`, `xone` or `andSequence` over nested constraints."""

    operator: str
    constraints: tuple[AnyConstraint, ...]
    path: str = field(default="$", compare=False)


AnyConstraint = Constraint | LogicalConstraint


@dataclass(frozen=True, slots=True)
class Rule:
    """What permissions, prohibitions and duties share.

    `refinements` are the constraints of an action written as `{"rdf:value": ...,
    "refinement": [...]}`; they narrow the action and are evaluated like constraints.
    `target`, `assigner` and `assignee` are as written on the rule; the policy's own
    values apply where a rule leaves them out.
    """

    action: str
    target: str | None = None
    assigner: str | None = None
    assignee: str | None = None
    constraints: tuple[AnyConstraint, ...] = ()
    refinements: tuple[AnyConstraint, ...] = ()
    uid: str | None = None
    path: str = field(default="$", compare=False)


@dataclass(frozen=True, slots=True)
class Duty(Rule):
    """An obligation to exercise an action, e.g. `delete` after 30 days or `inform` on use."""


@dataclass(frozen=True, slots=True)
class Permission(Rule):
    """Allows the action when every constraint holds; `duties` come with the grant."""

    duties: tuple[Duty, ...] = ()


@dataclass(frozen=True, slots=True)
class Prohibition(Rule):
    """Forbids the action when every constraint holds; it overrides permissions."""


@dataclass(frozen=True, slots=True)
class Policy:
    """An ODRL Set, Offer or Agreement.

    `conflict` is ODRL's conflict strategy: `perm` lets permissions win, while `prohibit`,
    `invalid` and no value all deny when a prohibition and a permission both apply.
    `timestamp` is the DSP agreement timestamp, kept as written.
    """

    uid: str
    type: str
    permissions: tuple[Permission, ...] = ()
    prohibitions: tuple[Prohibition, ...] = ()
    obligations: tuple[Duty, ...] = ()
    target: str | None = None
    assigner: str | None = None
    assignee: str | None = None
    profiles: tuple[str, ...] = ()
    conflict: str | None = None
    timestamp: str | None = None
    path: str = field(default="$", compare=False)
