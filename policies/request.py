"""The access request a policy is evaluated against: who does what, to which data, when."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from policies.classification import parse_level
from policies.errors import RequestError
from policies.literals import parse_decimal
from policies.vocabulary import compact


@dataclass(frozen=True, slots=True)
class Credential:
    """A verified membership credential the partner presented: its type and its issuer."""

    type: str
    issuer: str | None = None

    def matches(self, wanted: str | Credential) -> bool:
        """A string matches the type or the issuer; a Credential must match both given fields."""
        if isinstance(wanted, str):
            return wanted == self.type or wanted == self.issuer
        return wanted.type == self.type and (wanted.issuer is None or wanted.issuer == self.issuer)


def _terms(value: str | Iterable[str] | None, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items or not all(isinstance(item, str) for item in items):
        raise RequestError(f"{name} must be a string or a non-empty sequence of strings")
    return tuple(compact(item) for item in items)


def _credential(item: object) -> Credential:
    if isinstance(item, Credential):
        return item
    if isinstance(item, str):
        return Credential(item)
    if isinstance(item, Mapping) and isinstance(item.get("type"), str):
        issuer = item.get("issuer")
        if issuer is None or isinstance(issuer, str):
            return Credential(item["type"], issuer)
    raise RequestError(f"not a credential: {item!r} (use a type string or Credential)")


def _instant(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise RequestError(f"{name} must be a datetime")
    # A naive time is read as UTC, like a right operand without a timezone.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Request:
    """One attempted exercise of an action; `None` means the value is unknown.

    A constraint whose left operand needs an unknown value is never satisfied.

    - `action`: the ODRL action being exercised (`use`, `read`, `distribute`, ...).
    - `target`: the asset id; `assignee`: the partner exercising the action.
    - `recipient`, `purpose`, `partner_role`, `spatial`: a term, or a sequence whose first
      item is the term and the rest are broader terms it belongs to (`("ex:Shanghai",
      "ex:CN")`, or a recipient and its groups). `recipient` defaults to the assignee.
    - `credentials`: the membership credentials the partner presented and we verified.
    - `classification_level`: the level of the data accessed (see `policies.classification`).
    - `now`: the time of the access (defaults to the current time, UTC).
    - `agreement_start`: when the agreement took effect (for `elapsedTime`).
    - `access_count`: exercises already made under the agreement, this one excluded.
    - `events`: events that have begun; `ongoing_events`: those of them still in progress.
    - `pay_amount` and `pay_unit`: the amount paid and its currency.
    """

    action: str = "use"
    target: str | None = None
    assignee: str | None = None
    recipient: str | tuple[str, ...] | None = None
    purpose: str | tuple[str, ...] | None = None
    partner_role: str | tuple[str, ...] | None = None
    credentials: tuple[Credential, ...] | None = None
    classification_level: int | str | None = None
    spatial: str | tuple[str, ...] | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    agreement_start: datetime | None = None
    access_count: int | None = None
    events: frozenset[str] | None = None
    ongoing_events: frozenset[str] = frozenset()
    pay_amount: Decimal | int | str | None = None
    pay_unit: str | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        if not isinstance(self.action, str) or not self.action:
            raise RequestError("action must be a non-empty string")
        put(self, "action", compact(self.action))
        if self.recipient is None:
            put(self, "recipient", self.assignee)
        for name in ("recipient", "purpose", "partner_role", "spatial"):
            put(self, name, _terms(getattr(self, name), name))
        if self.credentials is not None:
            put(self, "credentials", tuple(_credential(c) for c in self.credentials))
        if self.classification_level is not None:
            try:
                put(self, "classification_level", parse_level(self.classification_level))
            except ValueError as exc:
                raise RequestError(str(exc)) from exc
        put(self, "now", _instant(self.now, "now"))
        if self.now is None:
            raise RequestError("now must be a datetime")
        put(self, "agreement_start", _instant(self.agreement_start, "agreement_start"))
        if self.access_count is not None and (
            isinstance(self.access_count, bool)
            or not isinstance(self.access_count, int)
            or self.access_count < 0
        ):
            raise RequestError("access_count must be a non-negative integer")
        if self.events is not None:
            put(self, "events", frozenset(compact(e) for e in self.events))
        put(self, "ongoing_events", frozenset(compact(e) for e in self.ongoing_events))
        if self.pay_amount is not None:
            try:
                put(self, "pay_amount", parse_decimal(self.pay_amount))
            except ValueError as exc:
                raise RequestError(str(exc)) from exc
