"""ODRL 2.2 and tracespace profile terms: namespaces, actions, operators and left operands."""

from __future__ import annotations

from enum import Enum

ODRL = "http://www.w3.org/ns/odrl/2/"
TS = "https://w3id.org/tracespace/policy/v1#"
XSD = "http://www.w3.org/2001/XMLSchema#"
PROFILE = "https://w3id.org/tracespace/policy/v1"
"""The profile IRI a policy may name in `profile` to declare it uses the `ts:` left operands."""

POLICY_TYPES = ("Set", "Offer", "Agreement")
CONFLICT_TERMS = ("perm", "prohibit", "invalid")

COMPARISON = ("eq", "neq", "lt", "lteq", "gt", "gteq")
SET_BASED = ("isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf", "isNoneOf")
OPERATORS = COMPARISON + SET_BASED
LOGICAL = ("and", "or", "xone", "andSequence")

# ODRL Common Vocabulary actions and the action each is included in (odrl:includedIn).
# `use` and `transfer` are the two top-level actions of the ODRL Core Vocabulary.
_INCLUDED_IN: dict[str, str | None] = {"use": None, "transfer": None}
_INCLUDED_IN.update(dict.fromkeys(("give", "sell"), "transfer"))
_INCLUDED_IN.update(
    dict.fromkeys(
        [
            "acceptTracking",
            "aggregate",
            "annotate",
            "anonymize",
            "archive",
            "attribute",
            "compensate",
            "concurrentUse",
            "delete",
            "derive",
            "digitize",
            "display",
            "distribute",
            "ensureExclusivity",
            "execute",
            "extract",
            "grantUse",
            "include",
            "index",
            "inform",
            "install",
            "modify",
            "move",
            "nextPolicy",
            "obtainConsent",
            "play",
            "present",
            "print",
            "read",
            "reproduce",
            "reviewPolicy",
            "stream",
            "synchronize",
            "textToSpeech",
            "transform",
            "translate",
            "uninstall",
            "watermark",
        ],
        "use",
    )
)
ACTIONS = frozenset(_INCLUDED_IN)


def _broader(action: str) -> frozenset[str]:
    found: list[str] = []
    parent = _INCLUDED_IN.get(action)
    while parent is not None:
        found.append(parent)
        parent = _INCLUDED_IN.get(parent)
    return frozenset(found)


BROADER_ACTIONS: dict[str, frozenset[str]] = {name: _broader(name) for name in _INCLUDED_IN}
"""For each known action, every action that (transitively) includes it."""


def action_covers(granted: str, requested: str) -> bool:
    """True if a rule on `granted` also governs an exercise of `requested` (e.g. use ⊇ read)."""
    return granted == requested or granted in BROADER_ACTIONS.get(requested, ())


class Kind(Enum):
    """How a left operand's actual value is typed and compared."""

    DATETIME = "dateTime"  # xsd:date or xsd:dateTime, compared with the request time
    DURATION = "duration"  # xsd:duration, compared with the time since the agreement start
    COUNT = "count"  # xsd:nonNegativeInteger
    DECIMAL = "decimal"  # xsd:decimal, with an optional unit (currency)
    TERM = "term"  # one IRI/string, optionally with broader terms it belongs to
    EVENT = "event"  # an event IRI: before (lt) / during (eq) / after (gt) it
    CREDENTIAL = "credential"  # the set of credentials the partner presented
    LEVEL = "level"  # an ordered data classification level


ALLOWED_OPERATORS: dict[Kind, tuple[str, ...]] = {
    Kind.DATETIME: COMPARISON,
    Kind.DURATION: COMPARISON,
    Kind.COUNT: COMPARISON,
    Kind.DECIMAL: COMPARISON,
    Kind.TERM: ("eq", "neq", "isA", "isPartOf", "isAllOf", "isAnyOf", "isNoneOf"),
    Kind.EVENT: (*COMPARISON, "hasPart", "isAllOf", "isAnyOf", "isNoneOf"),
    Kind.CREDENTIAL: ("eq", "neq", "isA", "hasPart", "isAllOf", "isAnyOf", "isNoneOf"),
    Kind.LEVEL: (*COMPARISON, "isAnyOf", "isNoneOf"),
}

LIST_OPERATORS = frozenset(("isPartOf", "isAllOf", "isAnyOf", "isNoneOf", "hasPart"))
"""Operators whose right operand may be a list (a single value counts as a one-item list)."""

LEFT_OPERANDS: dict[str, Kind] = {
    "dateTime": Kind.DATETIME,
    "elapsedTime": Kind.DURATION,
    "count": Kind.COUNT,
    "payAmount": Kind.DECIMAL,
    "purpose": Kind.TERM,
    "spatial": Kind.TERM,
    "recipient": Kind.TERM,
    "event": Kind.EVENT,
    "ts:partnerRole": Kind.TERM,
    "ts:classificationLevel": Kind.LEVEL,
    "ts:membershipCredential": Kind.CREDENTIAL,
}
"""The left operands this library evaluates, by canonical compact name."""

_TS_TERMS = frozenset(name[3:] for name in LEFT_OPERANDS if name.startswith("ts:"))


def compact(iri: str) -> str:
    """Shorten ODRL IRIs to bare terms (`odrl:use` → `use`) and ours to `ts:` form.

    Anything else comes back unchanged, so unknown terms keep their exact spelling.
    """
    if iri.startswith(ODRL):
        return iri[len(ODRL) :]
    if iri.startswith("odrl:"):
        return iri[5:]
    if iri.startswith(TS):
        return "ts:" + iri[len(TS) :]
    return iri


def left_operand_name(term: str) -> str:
    """The canonical name of a left operand term; our own terms also work unprefixed."""
    name = compact(term)
    if name in _TS_TERMS:
        return "ts:" + name
    return name
