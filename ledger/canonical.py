"""RFC 8785 (JCS) canonical JSON bytes, with a fast path for the common case.

`rfc8785` is the reference implementation but runs in pure Python. For JSON of plain
types (dict, list, str, bool, None, int) with string keys, no floats and integers within
±(2**53 - 1), and whose text has no character whose UTF-16 order differs from its
code-point order, `orjson` with sorted keys produces exactly the same bytes, some ten times
faster. Everything else goes to `rfc8785` (property tests check that the two agree).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import rfc8785

from ledger.errors import InvalidInput

MAX_SAFE_INTEGER = 2**53 - 1
_FAST_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
# Characters at or above U+E000 may sort differently in UTF-16 than by code point.
_ORDER_RISK = re.compile(r"[\ue000-\U0010ffff]")


class Canonical(bytes):
    """Bytes known to be the RFC 8785 canonical JSON of some value: made by `encode` only.

    A ledger entry can embed them as its payload without encoding the payload again, so the
    encoding can be done ahead, in another process (they pickle as themselves).
    """


def encode(value: Any) -> Canonical:
    """`canonical_json(value)`, marked as canonical (see `Canonical`)."""
    return Canonical(canonical_json(value))


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value."""
    if _plain(value):
        try:
            data = orjson.dumps(value, option=_FAST_OPTIONS)
        except TypeError as exc:  # a lone surrogate, or nesting deeper than orjson allows
            if "surrogates" in str(exc):
                raise InvalidInput("JSON text holds a lone surrogate") from None
        else:
            if data.isascii() or not _ORDER_RISK.search(data.decode("utf-8")):
                return data
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise InvalidInput(f"not canonicalisable JSON: {exc}") from None


def _plain(value: Any) -> bool:
    """True when `json.dumps` prints `value` exactly as RFC 8785 does (see module doc)."""
    kind = type(value)
    if kind is dict:
        for key, child in value.items():
            if type(key) is not str or not _plain_scalar_or_container(child):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain_scalar_or_container(child) for child in value)
    return _plain_scalar_or_container(value)


def _plain_scalar_or_container(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    if kind is dict or kind is list or kind is tuple:
        return _plain(value)
    return False  # floats and anything else: let rfc8785 decide
