"""Compile one atomic ODRL constraint into a fast check against a Request.

A check returns `(outcome, actual)`: outcome True (satisfied), False (not satisfied) or
None (the request lacks the value, so the constraint cannot be decided), and the actual
value it compared, for the denial reason. Operator semantics per kind of left operand:

- dateTime: the access time against an xsd:dateTime instant, or against an xsd:date read
  as the whole day (`lteq 2024-12-31` admits that day, `gt 2024-12-31` starts the next one).
- elapsedTime: the time since `agreement_start`, compared through the instant
  `agreement_start + duration`, so calendar months and years are exact.
- count: the ordinal of this exercise, `access_count + 1`; `count lteq 10` admits ten.
- payAmount: the amount paid; a `unit` on the constraint must equal the request's unit.
- purpose, spatial, recipient, ts:partnerRole (terms): `eq`/`neq` compare the term itself;
  `isA`, `isPartOf`, `isAnyOf` hold when the term or one of its broader terms is (one of)
  the right operand; `isNoneOf` is their negation; `isAllOf` needs every right item among
  the term and its broader terms.
- event: `lt` before the event began, `eq` while it is ongoing, `gt` after it ended,
  `lteq`/`gteq`/`neq` the unions; `hasPart`/`isAllOf`, `isAnyOf`, `isNoneOf` compare the
  set of events that have begun.
- ts:membershipCredential: `eq`, `isA` and a single `hasPart` mean a presented credential
  matches; `neq` that none does; `hasPart`/`isAllOf`, `isAnyOf`, `isNoneOf` over a list.
- ts:classificationLevel: comparison by level number; `isAnyOf`/`isNoneOf` over levels.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from policies.literals import Duration
from policies.request import Credential, Request
from policies.vocabulary import Kind

Outcome = tuple[bool | None, Any]
Check = Callable[[Request], Outcome]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": op.eq,
    "neq": op.ne,
    "lt": op.lt,
    "lteq": op.le,
    "gt": op.gt,
    "gteq": op.ge,
}

_MISSING: Outcome = (None, None)
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)


def unknown_check(_request: Request) -> Outcome:
    """The check of a left operand this library does not know: never decidable."""
    return _MISSING


def _day_check(operator: str, start: datetime, end: datetime) -> Callable[[datetime], bool]:
    # An xsd:date names the interval [start, end).
    return {
        "eq": lambda t: start <= t < end,
        "neq": lambda t: not (start <= t < end),
        "lt": lambda t: t < start,
        "lteq": lambda t: t < end,
        "gt": lambda t: t >= end,
        "gteq": lambda t: t >= start,
    }[operator]


def _datetime(operator: str, value: Any) -> Check:
    if isinstance(value, tuple):
        test = _day_check(operator, *value)

        def check_day(request: Request) -> Outcome:
            return test(request.now), request.now

        return check_day
    compare = _COMPARE[operator]

    def check_instant(request: Request) -> Outcome:
        return compare(request.now, value), request.now

    return check_instant


def _duration(operator: str, value: Duration) -> Check:
    compare = _COMPARE[operator]

    def check(request: Request) -> Outcome:
        start = request.agreement_start
        if start is None:
            return _MISSING
        try:
            limit = value.after(start)
        except (OverflowError, ValueError):
            limit = _END_OF_TIME  # the duration reaches past the last representable instant
        return compare(request.now, limit), request.now - start

    return check


def _count(operator: str, value: int) -> Check:
    compare = _COMPARE[operator]

    def check(request: Request) -> Outcome:
        used = request.access_count
        if used is None:
            return _MISSING
        return compare(used + 1, value), used + 1

    return check


def _decimal(operator: str, value: Any, unit: str | None) -> Check:
    compare = _COMPARE[operator]

    def check(request: Request) -> Outcome:
        amount = request.pay_amount
        if amount is None or (unit is not None and request.pay_unit is None):
            return _MISSING
        actual = amount if unit is None else f"{amount} {request.pay_unit}"
        if unit is not None and request.pay_unit != unit:
            return False, actual
        return compare(amount, value), actual

    return check


def _term(operator: str, value: Any, attribute: str) -> Check:
    getter = op.attrgetter(attribute)
    if operator in ("eq", "neq"):
        want = operator == "eq"

        def check_equal(request: Request) -> Outcome:
            terms = getter(request)
            if terms is None:
                return _MISSING
            return (terms[0] == value) is want, terms[0]

        return check_equal
    wanted = value if isinstance(value, frozenset) else frozenset((value,))
    if operator == "isAllOf":

        def check_all(request: Request) -> Outcome:
            terms = getter(request)
            if terms is None:
                return _MISSING
            return wanted.issubset(terms), terms

        return check_all
    hit_means = operator != "isNoneOf"

    def check_any(request: Request) -> Outcome:
        terms = getter(request)
        if terms is None:
            return _MISSING
        return (not wanted.isdisjoint(terms)) is hit_means, terms

    return check_any


def _event(operator: str, value: Any) -> Check:
    if operator in _COMPARE:

        def phase(request: Request) -> Outcome:
            begun = request.events
            if begun is None:
                return _MISSING
            ongoing = value in request.ongoing_events
            started = value in begun or ongoing
            before, during, after = not started, ongoing, started and not ongoing
            result = {
                "lt": before,
                "lteq": before or during,
                "eq": during,
                "neq": not during,
                "gteq": during or after,
                "gt": after,
            }[operator]
            return result, "before" if before else "during" if during else "after"

        return phase
    wanted = value if isinstance(value, frozenset) else frozenset((value,))

    def check_set(request: Request) -> Outcome:
        begun = request.events
        if begun is None:
            return _MISSING
        begun = begun | request.ongoing_events
        if operator in ("hasPart", "isAllOf"):
            return wanted.issubset(begun), begun
        hit = not wanted.isdisjoint(begun)
        return (hit if operator == "isAnyOf" else not hit), begun

    return check_set


def _credential(operator: str, value: Any) -> Check:
    wanted: tuple[str | Credential, ...] = value if isinstance(value, tuple) else (value,)

    def check(request: Request) -> Outcome:
        held = request.credentials
        if held is None:
            return _MISSING
        hits = [any(c.matches(w) for c in held) for w in wanted]
        if operator in ("eq", "isA", "hasPart", "isAllOf"):
            return all(hits), held
        if operator == "isAnyOf":
            return any(hits), held
        return not any(hits), held  # neq, isNoneOf

    return check


def _level(operator: str, value: Any) -> Check:
    if operator in _COMPARE:
        compare = _COMPARE[operator]

        def check_compare(request: Request) -> Outcome:
            level = request.classification_level
            if level is None:
                return _MISSING
            return compare(level, value), level

        return check_compare
    levels = value if isinstance(value, frozenset) else frozenset((value,))
    want = operator == "isAnyOf"

    def check_member(request: Request) -> Outcome:
        level = request.classification_level
        if level is None:
            return _MISSING
        return (level in levels) is want, level

    return check_member


_TERM_ATTRIBUTE = {
    "purpose": "purpose",
    "spatial": "spatial",
    "recipient": "recipient",
    "ts:partnerRole": "partner_role",
}


def compile_check(left: str, kind: Kind, operator: str, value: Any, unit: str | None) -> Check:
    """Build the check of a known left operand with an already typed right operand."""
    if kind is Kind.DATETIME:
        return _datetime(operator, value)
    if kind is Kind.DURATION:
        return _duration(operator, value)
    if kind is Kind.COUNT:
        return _count(operator, value)
    if kind is Kind.DECIMAL:
        return _decimal(operator, value, unit)
    if kind is Kind.TERM:
        return _term(operator, value, _TERM_ATTRIBUTE[left])
    if kind is Kind.EVENT:
        return _event(operator, value)
    if kind is Kind.CREDENTIAL:
        return _credential(operator, value)
    return _level(operator, value)
