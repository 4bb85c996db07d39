"""PACT `Decimal` strings: strict parsing into `decimal.Decimal` and plain rendering back."""

from __future__ import annotations

import re
from decimal import Decimal

from schemas.errors import InvalidRecord

# The PACT Tech Specs define the Decimal data type as a JSON string holding an optional minus
# sign, digits, and an optional fraction: no exponent, no leading '+', no unit, no whitespace.
# ASCII digits only: Python's \d would also admit other scripts' digits.
DECIMAL_PATTERN = re.compile(r"-?[0-9]+(\.[0-9]+)?", re.ASCII)


def is_plain_decimal(text: object) -> bool:
    """True when `text` is a string in PACT Decimal syntax (e.g. "10", "-0.5"; not "1e3")."""
    return isinstance(text, str) and DECIMAL_PATTERN.fullmatch(text) is not None


def parse_decimal(text: object, path: str = "$") -> Decimal:
    """Parse a PACT Decimal string exactly; raise InvalidRecord naming `path` otherwise."""
    if not is_plain_decimal(text):
        raise InvalidRecord([(path, f"not a plain decimal string: {text!r}")])
    return Decimal(text)  # type: ignore[arg-type]


def decimal_text(value: Decimal | int) -> str:
    """Render a Decimal in PACT Decimal syntax: fixed-point, never an exponent, "-0" as "0"."""
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    text = format(value, "f")
    if text.startswith("-") and value == 0:
        text = text[1:]
    if text.endswith("."):
        text = text[:-1]
    return text


def number_to_decimal(value: int | float | str) -> Decimal:
    """Convert a JSON number (v2.x, Catena-X) to Decimal via its shortest repr, not binary."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)
