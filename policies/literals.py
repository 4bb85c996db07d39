"""XML Schema literals used by ODRL right operands: dateTime, date, duration, decimal, integer."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?")
_DURATION = re.compile(
    r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?"
)
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INTEGER = re.compile(r"[+-]?\d{1,30}")

# Bounds that keep `datetime + duration` representable for any plausible agreement start.
_MAX_MONTHS = 12 * 5000
_MAX_SECONDS = 5000 * 366 * 86400


def _zone(text: str | None) -> timezone:
    # xsd leaves a missing timezone open; this library reads it as UTC (ODRL recommends one).
    if text is None or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ValueError(f"timezone offset {text} out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_datetime(text: str) -> datetime:
    """Parse an xsd:dateTime (seconds optional, as in ODRL's own examples) to an aware datetime."""
    match = _DATETIME.fullmatch(text)
    if not match:
        raise ValueError(f"not an xsd:dateTime: {text!r}")
    year, month, day, hour, minute = (int(g) for g in match.group(1, 2, 3, 4, 5))
    second = int(match.group(6) or 0)
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = _zone(match.group(8))
    try:
        if hour == 24 and minute == 0 and second == 0 and micro == 0:
            return datetime(year, month, day, tzinfo=zone) + timedelta(days=1)
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except OverflowError as exc:
        raise ValueError(f"xsd:dateTime out of range: {text!r}") from exc


def parse_date(text: str) -> tuple[datetime, datetime]:
    """Parse an xsd:date to the half-open interval [start, end) of that day."""
    match = _DATE.fullmatch(text)
    if not match:
        raise ValueError(f"not an xsd:date: {text!r}")
    day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    start = datetime(day.year, day.month, day.day, tzinfo=_zone(match.group(4)))
    try:
        return start, start + timedelta(days=1)
    except OverflowError as exc:
        raise ValueError(f"xsd:date out of range: {text!r}") from exc


@dataclass(frozen=True, slots=True)
class Duration:
    """An xsd:duration split into its month part and its exact (day-time) part."""

    months: int
    delta: timedelta

    def after(self, start: datetime) -> datetime:
        """`start + self` by the XSD rule: add months (clamping the day), then the rest."""
        moment = start
        if self.months:
            index = start.year * 12 + start.month - 1 + self.months
            year, month = divmod(index, 12)
            last = calendar.monthrange(year, month + 1)[1]
            moment = start.replace(year=year, month=month + 1, day=min(start.day, last))
        return moment + self.delta


def parse_duration(text: str) -> Duration:
    """Parse a non-negative xsd:duration such as `P30D`, `P1Y2M` or `PT1H30M`."""
    match = _DURATION.fullmatch(text)
    if not match or text.endswith(("P", "T")) or match.group(1):
        raise ValueError(f"not a non-negative xsd:duration: {text!r}")
    years, months, days, hours, minutes, seconds = (
        int(g or 0) for g in match.group(2, 3, 4, 5, 6, 7)
    )
    micro = int((match.group(8) or "0")[:6].ljust(6, "0"))
    total_months = years * 12 + months
    total_seconds = days * 86400 + hours * 3600 + minutes * 60 + seconds
    if total_months > _MAX_MONTHS or total_seconds > _MAX_SECONDS:
        raise ValueError(f"duration {text!r} is too long (limit about 5000 years)")
    return Duration(total_months, timedelta(seconds=total_seconds, microseconds=micro))


def parse_decimal(value: object) -> Decimal:
    """An xsd:decimal from a JSON number or a decimal string; rejects NaN, infinity and booleans."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a decimal")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and _DECIMAL.fullmatch(value) and len(value) <= 100:
        try:
            result = Decimal(value)
        except InvalidOperation as exc:  # pragma: no cover - the regex already filters
            raise ValueError(f"not an xsd:decimal: {value!r}") from exc
    else:
        raise ValueError(f"not an xsd:decimal: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return result


def parse_count(value: object) -> int:
    """An xsd:nonNegativeInteger from a JSON integer or a digit string."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, int):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and _INTEGER.fullmatch(value)
    ):
        number = int(value)
    else:
        raise ValueError(f"not an integer: {value!r}")
    if number < 0:
        raise ValueError(f"a count cannot be negative: {value!r}")
    return number
