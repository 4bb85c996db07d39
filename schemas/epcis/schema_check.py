"""Decide fast whether JSON satisfies the EPCIS schema, never more leniently than `jsonschema`.

The Rust validator (`jsonschema-rs`) answers valid/invalid in a fraction of the time the Python
`jsonschema` validator takes; the Python one stays the authority and builds the error report.
So a "valid" here must imply "valid" there. Three differences are closed off:

- formats: the Rust built-in `date-time` and `uri` checks differ in corner cases (it accepts a
  leap second on any day, or year 0000), so both formats call the very checks Python uses;
- patterns: Python's `\\d`, `\\s`, `\\S` and `$` are Unicode- and newline-aware in ways the Rust
  engines are not, so each pattern is rewritten to explicit classes computed from Python itself;
- types: only plain JSON values (dict with str keys, list, str, int, float, bool, None) take the
  fast path; anything else (a tuple, a Decimal...) is left to the Python validator.

Any error inside the Rust validator also counts as "not known valid".
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from typing import Any

import jsonschema_rs
from jsonschema import FormatChecker

FORMATS = ("date-time", "uri")
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _ranges(codepoints: Iterable[int]) -> str:
    """A regex class body (without brackets) for `codepoints`, as \\x{...} ranges."""
    out: list[str] = []
    points = sorted(codepoints)
    start = prev = points[0]
    for point in [*points[1:], None]:
        if point is not None and point == prev + 1:
            prev = point
            continue
        out.append(f"\\x{{{start:X}}}" + (f"-\\x{{{prev:X}}}" if prev != start else ""))
        if point is not None:
            start = prev = point
    return "".join(out)


@cache
def _python_classes() -> dict[str, tuple[str, str]]:
    """Python `re` classes as (inside-a-class body, standalone class) for the Rust engines."""
    digits = _ranges(c for c in range(sys.maxunicode + 1) if chr(c).isdecimal())
    spaces = _ranges(c for c in range(sys.maxunicode + 1) if chr(c).isspace())
    return {
        "d": (digits, f"[{digits}]"),
        "s": (spaces, f"[{spaces}]"),
        "S": ("", f"[^{spaces}]"),
    }


def portable_pattern(pattern: str) -> str:
    """`pattern` rewritten so the Rust regex engine matches exactly what Python's `re.search`
    matches (for the constructs our schema uses; ValueError on one it cannot carry over)."""
    classes = _python_classes()
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1 : index + 2]
            if escaped in classes:
                inside, alone = classes[escaped]
                if in_class and not inside:
                    raise ValueError(f"cannot carry \\{escaped} inside a class: {pattern!r}")
                out.append(inside if in_class else alone)
            elif escaped.isalpha() and escaped not in "tnrfv":
                raise ValueError(f"escape \\{escaped} has no portable form: {pattern!r}")
            else:
                out.append(char + escaped)
            index += 2
            continue
        if in_class:
            # Rust reads `[` inside a class as a nested class, and &&, --, ~~ as set operations.
            if char == "[" or pattern[index : index + 2] in ("&&", "--", "~~"):
                raise ValueError(f"class syntax differs between engines: {pattern!r}")
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern[index + 1 : index + 3] in ("]", "^]"):
                raise ValueError(f"a class starting with ] is not supported: {pattern!r}")
        elif char == "$":
            char = r"(?=\n?\z)"  # Python's $ also matches before one final newline
        out.append(char)
        index += 1
    return "".join(out)


def portable_schema(schema: Any) -> Any:
    """A copy of `schema` whose `pattern`s and `patternProperties` keys are portable."""
    if isinstance(schema, list):
        return [portable_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "pattern" and isinstance(value, str):
            out[key] = portable_pattern(value)
        elif key == "patternProperties" and isinstance(value, dict):
            out[key] = {portable_pattern(k): portable_schema(v) for k, v in value.items()}
        elif key in ("properties", "$defs", "dependentSchemas") and isinstance(value, dict):
            out[key] = {k: portable_schema(v) for k, v in value.items()}  # names, not patterns
        else:
            out[key] = portable_schema(value)
    return out


def _python_format(checker: FormatChecker, name: str) -> Callable[[str], bool]:
    """`checker.conforms(instance, name)`, calling the check function the checker holds
    directly (its wrapper costs more than the check), and remembering answers: a format
    verdict depends on the string alone, and the same names recur event after event."""
    check, raises = checker.checkers[name]

    @lru_cache(maxsize=1 << 14)
    def conforms(instance: str) -> bool:
        try:
            return bool(check(instance))
        except raises:
            return False

    return conforms


class SchemaCheck:
    """A compiled fast check for one JSON schema (compile once, call often)."""

    def __init__(self, schema: dict[str, Any], checker: FormatChecker) -> None:
        self._validator = jsonschema_rs.Draft202012Validator(
            portable_schema(schema),
            validate_formats=True,
            ignore_unknown_formats=False,
            formats={name: _python_format(checker, name) for name in FORMATS},
        )

    def known_valid(self, instance: Any) -> bool:
        """True only when `instance` certainly satisfies the schema under `jsonschema` rules;
        False means "ask the Python validator" (invalid, or not plain JSON)."""
        if not plain_json(instance):
            return False
        try:
            return bool(self._validator.is_valid(instance))
        except Exception:  # e.g. a backtracking limit: let the authoritative path decide
            return False


def plain_json(value: Any) -> bool:
    """Whether `value` is built only of the Python types `json.loads` produces."""
    stack = [value]
    pop, push = stack.pop, stack.extend  # bound once: this loop visits every value
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            push(item.values())
        elif kind is list:
            push(item)
        elif kind not in _SCALARS:
            return False
    return True
