"""The GS1 Application Identifier table, read from the bundled GS1 Barcode Syntax Dictionary,
with mod-10 check digits and AI value validation.

Value validation applies each AI's format components (character set N/X/Y/Z, lengths,
optional parts) and these linters: csum, yymmdd, yymmd0, yyyymmdd, hhmi, hh, mi, ss, nonzero,
zero, yesno, nozeroprefix, hasnondigit, pieceoftotal, pcenc. Linters that need external
code lists or tables (gcppos1/2, iso3166*, iso4217, iban, csumalpha, couponcode, latitude,
longitude and the rest) are not applied; `UNCHECKED_LINTERS` names the ones met in the table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from identifiers.errors import InvalidGs1

DICTIONARY_FILE = "gs1-syntax-dictionary.txt"

# GS1 General Specifications character sets (Figures 7.11-1 ff.).
CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
CSET39 = frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
CSET64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
DIGITS = frozenset("0123456789")
CHARSETS = {"N": DIGITS, "X": CSET82, "Y": CSET39, "Z": CSET64}


@dataclass(frozen=True, slots=True)
class Component:
    """One part of an AI's data field, e.g. `N14,csum` or the optional `[X..17]`."""

    charset: str
    min_length: int
    max_length: int
    optional: bool
    linters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApplicationIdentifier:
    """One AI: its format and the attributes that drive Digital Link handling."""

    ai: str
    title: str
    predefined_length: bool  # flag "*": no FNC1 separator needed
    dl_data_attribute: bool  # flag "?": may appear in a Digital Link query string
    components: tuple[Component, ...]
    requires: tuple[str, ...]  # raw "req=" groups
    excludes: tuple[str, ...]  # raw "ex=" lists
    # None if not a Digital Link primary key, else the permitted qualifier sequences.
    dl_qualifiers: tuple[tuple[str, ...], ...] | None

    @property
    def is_primary_key(self) -> bool:
        return self.dl_qualifiers is not None

    @property
    def max_length(self) -> int:
        return sum(c.max_length for c in self.components)


_COMPONENT = re.compile(r"(\[)?([NXYZ])(\d+)?(?:\.\.(\d+))?(\])?((?:,\w+)*)")


def _parse_component(token: str) -> Component:
    match = _COMPONENT.fullmatch(token)
    if not match:
        raise ValueError(f"bad component {token!r}")
    opening, charset, low, high, closing, linters = match.groups()
    if bool(opening) != bool(closing):
        raise ValueError(f"unbalanced brackets in {token!r}")
    if high is None:
        low_n = high_n = int(low)
    else:
        low_n, high_n = (int(low) if low else 1), int(high)
    return Component(charset, low_n, high_n, bool(opening), tuple(linters.split(",")[1:]))


def _parse_line(line: str) -> list[ApplicationIdentifier]:
    body, _, title = line.partition("#")
    tokens = body.split()
    ais, tokens = tokens[0], tokens[1:]
    flags = ""
    if tokens and tokens[0][0] not in "NXYZ[":
        flags, tokens = tokens[0], tokens[1:]
    components, requires, excludes = [], [], []
    qualifiers: tuple[tuple[str, ...], ...] | None = None
    for token in tokens:
        if token.startswith("req="):
            requires.append(token[4:])
        elif token.startswith("ex="):
            excludes.append(token[3:])
        elif token == "dlpkey":
            qualifiers = ((),)
        elif token.startswith("dlpkey="):
            qualifiers = tuple(tuple(alt.split(",")) for alt in token[7:].split("|"))
        else:
            components.append(_parse_component(token))
    first, _, last = ais.partition("-")
    numbers = [first] if not last else [str(n) for n in range(int(first), int(last) + 1)]
    return [
        ApplicationIdentifier(
            ai=ai,
            title=title.strip(),
            predefined_length="*" in flags,
            dl_data_attribute="?" in flags,
            components=tuple(components),
            requires=tuple(requires),
            excludes=tuple(excludes),
            dl_qualifiers=qualifiers,
        )
        for ai in numbers
    ]


def parse_dictionary(text: str) -> dict[str, ApplicationIdentifier]:
    """Parse the Syntax Dictionary text format into a table keyed by AI."""
    table: dict[str, ApplicationIdentifier] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entries = _parse_line(line)
        except (ValueError, IndexError) as exc:
            raise ValueError(f"syntax dictionary line {number}: {exc}") from exc
        for entry in entries:
            table[entry.ai] = entry
    return table


@cache
def ai_table() -> dict[str, ApplicationIdentifier]:
    """The AI table from the bundled dictionary, loaded once."""
    text = resources.files("identifiers.data").joinpath(DICTIONARY_FILE).read_text("utf-8")
    return parse_dictionary(text)


def lookup_ai(ai: str) -> ApplicationIdentifier:
    entry = ai_table().get(ai)
    if entry is None:
        raise InvalidGs1(f"unknown GS1 Application Identifier {ai!r}")
    return entry


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # isdigit alone accepts other scripts' digits


def check_digit(payload: str) -> int:
    """The GS1 mod-10 check digit for `payload` (the digits before the check digit)."""
    if not _ascii_digits(payload):
        raise InvalidGs1(f"check digit payload must be digits, got {payload!r}")
    # Weight 3 on the last digit and every second one before it, weight 1 on the others.
    total = 3 * sum(map(int, payload[::-2])) + sum(map(int, payload[-2::-2]))
    return -total % 10


def has_valid_check_digit(number: str) -> bool:
    """True for a digit string (GTIN-8/12/13/14, SSCC, GLN, ...) whose last digit checks."""
    return (
        len(number) >= 2 and _ascii_digits(number) and check_digit(number[:-1]) == int(number[-1])
    )


def _valid_date(year: int, month: int, day: int, day_zero: bool) -> bool:
    if not 1 <= month <= 12:
        return False
    if day == 0:
        return day_zero
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _century_year(yy: int) -> int:
    # GS1 General Specifications 7.12: a two-digit year is placed within -49..+50 years of
    # today; leap-day checks only need the parity, so the current century suffices at worst.
    this_year = date.today().year
    base = this_year - this_year % 100 + yy
    if base - this_year > 50:
        base -= 100
    elif this_year - base >= 50:
        base += 100
    return base


def _lint(linter: str, part: str) -> str | None:
    """Apply one linter; return a reason on failure, None if it passes or is unchecked."""
    if linter == "csum":
        return None if has_valid_check_digit(part) else "wrong check digit"
    if linter in ("yymmdd", "yymmd0"):
        year = _century_year(int(part[0:2]))
        ok = _valid_date(year, int(part[2:4]), int(part[4:6]), linter == "yymmd0")
        return None if ok else f"{part!r} is not a valid YYMMDD date"
    if linter == "yyyymmdd":
        ok = _valid_date(int(part[0:4]), int(part[4:6]), int(part[6:8]), False)
        return None if ok else f"{part!r} is not a valid YYYYMMDD date"
    if linter == "hhmi":
        return None if int(part[:2]) < 24 and int(part[2:4]) < 60 else f"{part!r} is not HHMM"
    if linter == "hh":
        return None if int(part) < 24 else f"{part!r} is not an hour"
    if linter in ("mi", "ss"):
        return None if int(part) < 60 else f"{part!r} is not minutes/seconds"
    if linter == "nonzero":
        return None if int(part) != 0 else "must not be zero"
    if linter == "zero":
        return None if int(part) == 0 else "must be zero"
    if linter == "yesno":
        return None if part in ("0", "1") else "must be 0 or 1"
    if linter == "nozeroprefix":
        return None if part == "0" or not part.startswith("0") else "must not start with 0"
    if linter == "hasnondigit":
        return None if not set(part) <= DIGITS else "must contain a non-digit"
    if linter == "pieceoftotal":
        half = len(part) // 2
        piece, total = int(part[:half]), int(part[half:])
        return None if 0 < piece <= total else "piece number must be 1..total"
    if linter == "pcenc":
        return None if re.fullmatch(r"(?:[^%]|%[0-9A-Fa-f]{2})*", part) else "bad %-escape"
    return None


UNCHECKED_LINTERS = frozenset(
    {
        "gcppos1",
        "gcppos2",
        "iso3166",
        "iso3166999",
        "iso3166alpha2",
        "iso4217",
        "iso5218",
        "iban",
        "csumalpha",
        "couponcode",
        "couponposoffer",
        "latitude",
        "longitude",
        "winding",
        "hyphen",
        "mediatype",
        "importeridx",
        "packagetype",
        "posinseqslash",
    }
)


def validate_ai_value(ai: str, value: str) -> None:
    """Raise InvalidGs1 unless `value` fits the format and checked linters of AI `ai`."""
    entry = lookup_ai(ai)
    if not isinstance(value, str) or not value:
        raise InvalidGs1(f"AI ({ai}) {entry.title}: value is empty")
    position = 0
    for component in entry.components:
        rest = value[position:]
        if not rest:
            if component.optional:
                break
            raise InvalidGs1(f"AI ({ai}) {entry.title}: value {value!r} is too short")
        part = rest[: component.max_length]
        if len(part) < component.min_length:
            raise InvalidGs1(
                f"AI ({ai}) {entry.title}: value {value!r} is too short "
                f"(needs {component.min_length} more characters at {position})"
            )
        bad = sorted(set(part) - CHARSETS[component.charset])
        if bad:
            raise InvalidGs1(
                f"AI ({ai}) {entry.title}: characters {''.join(bad)!r} are not allowed "
                f"(character set {component.charset})"
            )
        for linter in component.linters:
            reason = _lint(linter, part)
            if reason:
                raise InvalidGs1(f"AI ({ai}) {entry.title}: {reason} in {part!r}")
        position += len(part)
    if position < len(value):
        raise InvalidGs1(
            f"AI ({ai}) {entry.title}: value {value!r} is longer than {entry.max_length}"
        )
