"""Parse and validate an ODRL 2.2 policy from its JSON-LD form, collecting every problem.

Accepted spellings: the compact DSP 2025-1 form (`"permission"`, `"leftOperand": "dateTime"`),
`odrl:`-prefixed keys and values, and full `http://www.w3.org/ns/odrl/2/` IRIs; `uid` for
`@id`; `{"@id": ...}` for IRIs; `{"@value": ..., "@type": ...}` for typed right operands;
logical constraint operands as a plain array (DSP) or as `{"@list": [...]}` (ODRL 2.2).

Unknown left operands and actions are accepted (profiles may define them) unless
`strict=True`; an unknown left operand can never be satisfied at evaluation. ODRL features
whose semantics would be silently lost are refused: `inheritFrom`, `remedy`,
`consequence`, `rightOperandReference`, `status`, asset or party collections with a
`refinement`, and constraint references by `@id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policies.classification import parse_level
from policies.constraints import compile_check, unknown_check
from policies.errors import PolicyError, Problem, json_path
from policies.literals import parse_count, parse_date, parse_datetime, parse_decimal, parse_duration
from policies.model import (
    AnyConstraint,
    Constraint,
    Duty,
    LogicalConstraint,
    Permission,
    Policy,
    Prohibition,
)
from policies.request import Credential
from policies.vocabulary import (
    ACTIONS,
    ALLOWED_OPERATORS,
    CONFLICT_TERMS,
    LEFT_OPERANDS,
    LIST_OPERATORS,
    LOGICAL,
    OPERATORS,
    POLICY_TYPES,
    XSD,
    Kind,
    compact,
    left_operand_name,
)

_DSPACE = "https://w3id.org/dspace/2025/1/"
_RDF_VALUE = ("rdf:value", "http://www.w3.org/1999/02/22-rdf-syntax-ns#value", "value")
_UNSUPPORTED = frozenset(
    ("inheritFrom", "remedy", "consequence", "failure", "rightOperandReference", "status")
)
_MAX_DEPTH = 16

# xsd datatypes a typed right operand may declare, per kind of left operand.
_DATATYPES: dict[Kind, frozenset[str]] = {
    Kind.DATETIME: frozenset(("dateTime", "dateTimeStamp", "date")),
    Kind.DURATION: frozenset(("duration", "dayTimeDuration", "yearMonthDuration")),
    Kind.COUNT: frozenset(("integer", "nonNegativeInteger", "positiveInteger", "int", "long")),
    Kind.DECIMAL: frozenset(("decimal", "integer", "int", "long", "double", "float")),
    Kind.TERM: frozenset(("@id", "anyURI", "string")),
    Kind.EVENT: frozenset(("@id", "anyURI", "string")),
    Kind.CREDENTIAL: frozenset(("@id", "anyURI", "string")),
    Kind.LEVEL: frozenset(("@id", "anyURI", "string", "integer", "int", "positiveInteger")),
}


def _canonical_key(key: str) -> str:
    if key in ("uid", "odrl:uid", "@id"):
        return "@id"
    if key in ("@type", "type"):
        return "@type"
    if key.startswith(_DSPACE):
        return key[len(_DSPACE) :]
    if key.startswith("dspace:"):
        return key[7:]
    name = compact(key)
    return "@id" if name == "uid" else name


def _xsd_name(value: str) -> str:
    if value.startswith(XSD):
        return value[len(XSD) :]
    if value.startswith("xsd:"):
        return value[4:]
    return value


class _Reader:
    """Walks one policy document, collecting `(json_path, message)` problems."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    # -- generic shapes -------------------------------------------------------------------

    def fields(self, obj: dict[str, Any], path: str) -> dict[str, tuple[Any, str]]:
        """Map canonical key → (value, JSON path), reporting duplicate spellings."""
        found: dict[str, tuple[Any, str]] = {}
        for key, value in obj.items():
            name = _canonical_key(key)
            where = json_path(path, key)
            if name in found:
                self.problem(where, f"duplicate key: {name!r} is also given as another spelling")
                continue
            if name in _UNSUPPORTED:
                self.problem(where, f"{name} is not supported by this ODRL implementation")
                continue
            found[name] = (value, where)
        return found

    def iri(self, value: Any, path: str, what: str) -> str | None:
        if isinstance(value, dict):
            if "refinement" in value or "odrl:refinement" in value:
                self.problem(path, f"a {what} with a refinement (a collection) is not supported")
                return None
            value = value.get("@id", value.get("uid"))
        if isinstance(value, str) and value.strip():
            return value
        self.problem(path, f"{what} must be a non-empty IRI string or an object with @id")
        return None

    def items(self, value: Any, path: str, what: str) -> list[tuple[Any, str]]:
        """The members of a JSON-LD set: an array, or a single value standing for one."""
        if isinstance(value, dict) and "@list" in value and len(value) == 1:
            value, path = value["@list"], json_path(path, "@list")
        if isinstance(value, list):
            return [(item, json_path(path, i)) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return [(value, path)]
        self.problem(path, f"{what} must be an array of objects")
        return []

    # -- policy ---------------------------------------------------------------------------

    def policy(self, doc: Any, path: str) -> Policy | None:
        if not isinstance(doc, dict):
            self.problem(path, "a policy must be a JSON object")
            return None
        fields = self.fields(doc, path)
        uid = self.required_iri(fields, "@id", path, "policy @id (uid)")
        kind = self.policy_type(fields, path)
        target = self.optional_iri(fields, "target", "target")
        assigner = self.optional_iri(fields, "assigner", "assigner")
        assignee = self.optional_iri(fields, "assignee", "assignee")
        before_rules = len(self.problems)
        permissions = tuple(self.rules(fields, "permission", Permission))
        prohibitions = tuple(self.rules(fields, "prohibition", Prohibition))
        obligations = tuple(self.rules(fields, "obligation", Duty))
        rules_failed = len(self.problems) > before_rules
        profiles = self.profiles(fields)
        conflict = None
        if "conflict" in fields:
            value, where = fields["conflict"]
            term = value["@id"] if isinstance(value, dict) and "@id" in value else value
            term = compact(term) if isinstance(term, str) else term
            if term in CONFLICT_TERMS:
                conflict = term
            else:
                self.problem(where, f"conflict must be one of {', '.join(CONFLICT_TERMS)}")
        timestamp = None
        if "timestamp" in fields:
            value, where = fields["timestamp"]
            try:
                if not isinstance(value, str):
                    raise ValueError("timestamp must be an xsd:dateTime string")
                parse_datetime(value)
                timestamp = value
            except ValueError as exc:
                self.problem(where, str(exc))
        if not (permissions or prohibitions) and not rules_failed:
            if kind in ("Offer", "Agreement"):
                self.problem(path, f"an {kind} needs at least one permission or prohibition")
            elif not obligations:
                self.problem(
                    path, "a policy needs at least one permission, prohibition or obligation"
                )
        if kind == "Agreement":
            rules = (*permissions, *prohibitions, *obligations)
            for name, value in (("target", target), ("assigner", assigner), ("assignee", assignee)):
                missing = not rules or any(getattr(r, name) is None for r in rules)
                if value is None and missing and name not in fields:
                    self.problem(path, f"an Agreement needs {name}")
        if uid is None or kind is None or self.problems:
            return None
        return Policy(
            uid=uid,
            type=kind,
            permissions=permissions,
            prohibitions=prohibitions,
            obligations=obligations,
            target=target,
            assigner=assigner,
            assignee=assignee,
            profiles=profiles,
            conflict=conflict,
            timestamp=timestamp,
            path=path,
        )

    def required_iri(self, fields: dict, name: str, path: str, what: str) -> str | None:
        if name not in fields:
            self.problem(path, f"missing {what}")
            return None
        value, where = fields[name]
        return self.iri(value, where, what)

    def optional_iri(self, fields: dict, name: str, what: str) -> str | None:
        if name not in fields:
            return None
        value, where = fields[name]
        return self.iri(value, where, what)

    def policy_type(self, fields: dict, path: str) -> str | None:
        if "@type" not in fields:
            self.problem(path, "missing @type: one of Set, Offer, Agreement")
            return None
        value, where = fields["@type"]
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        name = compact(value) if isinstance(value, str) else None
        if name not in POLICY_TYPES:
            self.problem(where, "@type must be one of Set, Offer, Agreement")
            return None
        return name

    def profiles(self, fields: dict) -> tuple[str, ...]:
        if "profile" not in fields:
            return ()
        value, where = fields["profile"]
        values = value if isinstance(value, list) else [value]
        found = []
        for i, item in enumerate(values):
            iri = self.iri(
                item, json_path(where, i) if isinstance(value, list) else where, "profile"
            )
            if iri is not None:
                found.append(iri)
        return tuple(found)

    # -- rules ----------------------------------------------------------------------------

    def rules(self, fields: dict, name: str, cls: type) -> list:
        if name not in fields:
            return []
        value, where = fields[name]
        found = []
        for item, item_path in self.items(value, where, name):
            rule = self.rule(item, item_path, cls)
            if rule is not None:
                found.append(rule)
        return found

    def rule(self, obj: Any, path: str, cls: type) -> Any:
        if not isinstance(obj, dict):
            self.problem(path, "a rule must be a JSON object")
            return None
        fields = self.fields(obj, path)
        before = len(self.problems)
        action, refinements = self.action(fields, path)
        constraints: tuple[AnyConstraint, ...] = ()
        if "constraint" in fields:
            value, where = fields["constraint"]
            constraints = tuple(self.constraint_list(value, where, 0))
        duties: tuple[Duty, ...] = ()
        if "duty" in fields:
            if cls is Permission:
                duties = tuple(self.rules(fields, "duty", Duty))
            else:
                self.problem(fields["duty"][1], "only a permission can carry a duty")
        uid = self.optional_iri(fields, "@id", "rule @id")
        common = dict(
            action=action,
            target=self.optional_iri(fields, "target", "target"),
            assigner=self.optional_iri(fields, "assigner", "assigner"),
            assignee=self.optional_iri(fields, "assignee", "assignee"),
            constraints=constraints,
            refinements=refinements,
            uid=uid,
            path=path,
        )
        if action is None or len(self.problems) > before:
            return None
        if cls is Permission:
            return Permission(duties=duties, **common)
        return cls(**common)

    def action(self, fields: dict, path: str) -> tuple[str | None, tuple[AnyConstraint, ...]]:
        if "action" not in fields:
            self.problem(path, "missing action")
            return None, ()
        value, where = fields["action"]
        if isinstance(value, list):
            if len(value) != 1:
                self.problem(where, "a rule has exactly one action")
                return None, ()
            value, where = value[0], json_path(where, 0)
        refinements: tuple[AnyConstraint, ...] = ()
        if isinstance(value, dict) and "@id" not in value:
            keys = [k for k in _RDF_VALUE if k in value]
            if len(keys) != 1:
                self.problem(where, "an action object needs @id, or rdf:value with refinements")
                return None, ()
            refinement_key = next((k for k in value if _canonical_key(k) == "refinement"), None)
            if refinement_key is not None:
                refinements = tuple(
                    self.constraint_list(value[refinement_key], json_path(where, refinement_key), 0)
                )
            where = json_path(where, keys[0])
            value = value[keys[0]]
        iri = self.iri(value, where, "action")
        if iri is None:
            return None, ()
        name = compact(iri)
        if name not in ACTIONS and (self.strict or name != iri):
            self.problem(where, f"{iri!r} is not an ODRL 2.2 action")
            return None, ()
        return name, refinements

    # -- constraints ----------------------------------------------------------------------

    def constraint_list(self, value: Any, path: str, depth: int) -> list[AnyConstraint]:
        found = []
        for item, item_path in self.items(value, path, "constraint"):
            parsed = self.constraint(item, item_path, depth)
            if parsed is not None:
                found.append(parsed)
        return found

    def constraint(self, obj: Any, path: str, depth: int) -> AnyConstraint | None:
        if depth >= _MAX_DEPTH:
            self.problem(path, f"constraints nest deeper than {_MAX_DEPTH} levels")
            return None
        if not isinstance(obj, dict):
            self.problem(path, "a constraint must be a JSON object")
            return None
        fields = self.fields(obj, path)
        logical = [name for name in LOGICAL if name in fields]
        if logical:
            return self.logical(fields, logical, path, depth)
        if set(fields) == {"@id"}:
            self.problem(path, "constraint references by @id are not supported; inline them")
            return None
        return self.atomic(fields, path)

    def logical(self, fields: dict, names: list[str], path: str, depth: int) -> Any:
        if len(names) > 1:
            self.problem(path, f"a logical constraint has one operand, not {', '.join(names)}")
            return None
        stray = {"leftOperand", "operator", "rightOperand"} & set(fields)
        if stray:
            self.problem(path, f"a logical constraint cannot also have {', '.join(sorted(stray))}")
            return None
        value, where = fields[names[0]]
        before = len(self.problems)
        if isinstance(value, dict) and set(value) == {"@list"}:
            value, where = value["@list"], json_path(where, "@list")
        if not isinstance(value, list) or not value:
            self.problem(where, f"{names[0]} needs a non-empty array of constraints")
            return None
        members = []
        for i, item in enumerate(value):
            member = self.constraint(item, json_path(where, i), depth + 1)
            if member is not None:
                members.append(member)
        if len(self.problems) > before:
            return None
        return LogicalConstraint(operator=names[0], constraints=tuple(members), path=path)

    def atomic(self, fields: dict, path: str) -> Constraint | None:
        before = len(self.problems)
        for name in ("leftOperand", "operator", "rightOperand"):
            if name not in fields:
                self.problem(path, f"missing {name}")
        if len(self.problems) > before:
            return None
        left_raw, left_path = fields["leftOperand"]
        left_iri = self.iri(left_raw, left_path, "leftOperand")
        op_raw, op_path = fields["operator"]
        op_iri = self.iri(op_raw, op_path, "operator")
        if left_iri is None or op_iri is None:
            return None
        operator = compact(op_iri)
        if operator not in OPERATORS:
            self.problem(op_path, f"unknown operator {op_iri!r}; use one of {', '.join(OPERATORS)}")
            return None
        left = left_operand_name(left_iri)
        kind = LEFT_OPERANDS.get(left)
        right_raw, right_path = fields["rightOperand"]
        unit = self.optional_iri(fields, "unit", "unit")
        data_type = None
        if "dataType" in fields:
            value, where = fields["dataType"]
            data_type = self.iri(value, where, "dataType")
        if isinstance(right_raw, dict) and set(right_raw) == {"@list"}:
            right_raw, right_path = right_raw["@list"], json_path(right_path, "@list")
        if kind is None:
            if self.strict:
                self.problem(left_path, f"unknown left operand {left_iri!r}")
                return None
            if right_raw is None:
                self.problem(right_path, "rightOperand must not be null")
                return None
            return Constraint(left, operator, right_raw, unit, data_type, path, unknown_check)
        if operator not in ALLOWED_OPERATORS[kind]:
            allowed = ", ".join(ALLOWED_OPERATORS[kind])
            self.problem(op_path, f"operator {operator} cannot be used with {left} (use {allowed})")
            return None
        if unit is not None and kind is not Kind.DECIMAL:
            self.problem(fields["unit"][1], f"unit is only meaningful with payAmount, not {left}")
            return None
        typed = self.right_operand(kind, operator, right_raw, right_path, data_type, fields)
        if typed is None:
            return None
        check = compile_check(left, kind, operator, typed, unit)
        return Constraint(left, operator, right_raw, unit, data_type, path, check)

    def right_operand(
        self, kind: Kind, operator: str, raw: Any, path: str, data_type: str | None, fields: dict
    ) -> Any:
        many = operator in LIST_OPERATORS
        if isinstance(raw, list):
            if not many:
                self.problem(path, f"operator {operator} takes a single value, not an array")
                return None
            if not raw:
                self.problem(path, "rightOperand must not be an empty array")
                return None
            members = [(item, json_path(path, i)) for i, item in enumerate(raw)]
        else:
            members = [(raw, path)]
        if data_type is not None and _xsd_name(data_type) not in _DATATYPES[kind]:
            self.problem(fields["dataType"][1], f"dataType {data_type!r} does not fit {kind.value}")
            return None
        reader = _TYPED[kind]
        values = []
        for item, where in members:
            declared = None
            if isinstance(item, dict) and "@value" in item:
                declared = item.get("@type")
                if declared is not None and (
                    not isinstance(declared, str) or _xsd_name(declared) not in _DATATYPES[kind]
                ):
                    self.problem(json_path(where, "@type"), f"@type does not fit {kind.value}")
                    return None
                item, where = item["@value"], json_path(where, "@value")
            elif isinstance(item, dict) and "@id" in item:
                item, where = item["@id"], json_path(where, "@id")
                if kind not in (Kind.TERM, Kind.EVENT, Kind.CREDENTIAL, Kind.LEVEL):
                    self.problem(where, f"an IRI cannot be a {kind.value} value")
                    return None
            try:
                values.append(reader(item, _xsd_name(declared or data_type or "")))
            except (ValueError, TypeError) as exc:
                self.problem(where, str(exc))
                return None
        if kind is Kind.CREDENTIAL:
            return tuple(values)
        if many and isinstance(raw, list):
            return frozenset(values)
        return values[0]


def _datetime_value(value: Any, declared: str) -> Any:
    if not isinstance(value, str):
        raise ValueError("a dateTime right operand must be an xsd:date or xsd:dateTime string")
    if "T" in value and declared != "date":
        return parse_datetime(value)
    return parse_date(value)


def _term_value(value: Any, _declared: str) -> str:
    if isinstance(value, str) and value:
        return compact(value)
    raise ValueError("must be a non-empty IRI or string")


def _credential_value(value: Any, _declared: str) -> str | Credential:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("type"), str) and value["type"]:
        issuer = value.get("issuer")
        if set(value) <= {"type", "issuer"} and (issuer is None or isinstance(issuer, str)):
            return Credential(value["type"], issuer)
    raise ValueError('a credential is a type/issuer string or {"type": ..., "issuer": ...}')


def _duration_value(value: Any, _declared: str) -> Any:
    if not isinstance(value, str):
        raise ValueError("an elapsedTime right operand must be an xsd:duration string")
    return parse_duration(value)


_TYPED: dict[Kind, Callable[[Any, str], Any]] = {
    Kind.DATETIME: _datetime_value,
    Kind.DURATION: _duration_value,
    Kind.COUNT: lambda value, _declared: parse_count(value),
    Kind.DECIMAL: lambda value, _declared: parse_decimal(value),
    Kind.TERM: _term_value,
    Kind.EVENT: _term_value,
    Kind.CREDENTIAL: _credential_value,
    Kind.LEVEL: lambda value, _declared: parse_level(value),
}


def parse_policy(doc: Any, *, strict: bool = False, path: str = "$") -> Policy:
    """Validate an ODRL policy (Set, Offer or Agreement) and build its immutable form.

    `path` is the JSON path of `doc` inside a larger message (e.g. `$.offer`), used as the
    prefix of problem paths. Raises PolicyError listing every problem found.
    """
    reader = _Reader(strict)
    policy = reader.policy(doc, path)
    if reader.problems or policy is None:
        raise PolicyError(reader.problems, path)
    return policy
