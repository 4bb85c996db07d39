"""GS1 Digital Link URIs (uncompressed): parse, validate, normalise and build.

A Digital Link names one primary key (any AI the Syntax Dictionary marks `dlpkey`: GTIN 01,
SSCC 00, GLN 414, GIAI 8004, ...), optional key qualifiers in the path in the order the
dictionary permits (for GTIN: CPV 22, then lot 10, then serial 21), and optional data
attributes in the query string (AIs flagged as Digital Link data attributes). Path segments
before the primary key (a resolver's own path prefix) are ignored, as are query parameters
that are not AIs (e.g. `linkType`). GTIN-8/12/13 keys are normalised to GTIN-14.
Short names (`/gtin/...`) and compressed URIs are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote, urlsplit

from identifiers.errors import InvalidGs1
from identifiers.gs1_ai import lookup_ai, validate_ai_value

DEFAULT_BASE = "https://id.gs1.org"
GTIN = "01"
SSCC = "00"
GLN = "414"
GLN_EXTENSION = "254"
CPV = "22"
LOT = "10"
SERIAL = "21"

_AI = re.compile(r"\d{2,4}")
_ELEMENT = re.compile(r"\((\d{2,4})\)([^()]*)")


def _decode(segment: str, where: str) -> str:
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidGs1(f"{where}: {segment!r} is not UTF-8 after percent-decoding") from exc


def _encode(value: str) -> str:
    # Everything outside the URI unreserved set is escaped, so "/", "?", "&", "%" are safe.
    return quote(value, safe="")


def _normalise_key(ai: str, value: str) -> str:
    if ai == GTIN and len(value) in (8, 12, 13) and value.isascii() and value.isdigit():
        return value.rjust(14, "0")
    return value


def _check_qualifier_order(key_ai: str, qualifiers: Iterable[str]) -> None:
    sequence = list(qualifiers)
    entry = lookup_ai(key_ai)
    assert entry.dl_qualifiers is not None
    for alternative in entry.dl_qualifiers:
        position = 0
        for ai in sequence:
            try:
                position = alternative.index(ai, position) + 1
            except ValueError:
                break
        else:
            return
    allowed = " or ".join("→".join(alt) or "none" for alt in entry.dl_qualifiers)
    raise InvalidGs1(
        f"qualifiers {'→'.join(sequence)} are not permitted after ({key_ai}) "
        f"{entry.title}; allowed in order: {allowed}"
    )


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A validated, normalised GS1 Digital Link. Build with `build`, `parse` or
    `from_element_string`; fields are AI/value pairs in canonical order."""

    key_ai: str
    key: str
    qualifiers: tuple[tuple[str, str], ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()  # sorted by AI

    @classmethod
    def build(
        cls,
        key_ai: str,
        key: str,
        qualifiers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        attributes: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> DigitalLink:
        """Validate and normalise; qualifiers must be given in their permitted order."""
        if not lookup_ai(key_ai).is_primary_key:
            raise InvalidGs1(f"AI ({key_ai}) is not a GS1 Digital Link primary key")
        key = _normalise_key(key_ai, key)
        validate_ai_value(key_ai, key)
        qualifier_pairs = tuple(
            qualifiers.items() if isinstance(qualifiers, Mapping) else qualifiers
        )
        qualifier_ais = [ai for ai, _ in qualifier_pairs]
        if len(set(qualifier_ais)) != len(qualifier_ais):
            raise InvalidGs1(f"repeated qualifier in {'→'.join(qualifier_ais)}")
        _check_qualifier_order(key_ai, qualifier_ais)
        for ai, value in qualifier_pairs:
            validate_ai_value(ai, value)
        attribute_pairs = sorted(
            attributes.items() if isinstance(attributes, Mapping) else attributes
        )
        used = {key_ai, *qualifier_ais}
        for ai, value in attribute_pairs:
            entry = lookup_ai(ai)
            if ai in used:
                raise InvalidGs1(f"AI ({ai}) appears more than once")
            if entry.is_primary_key or not entry.dl_data_attribute:
                raise InvalidGs1(
                    f"AI ({ai}) {entry.title} is not permitted as a Digital Link data attribute"
                )
            validate_ai_value(ai, value)
            used.add(ai)
        return cls(key_ai, key, qualifier_pairs, tuple(attribute_pairs))

    @classmethod
    def parse(cls, uri: str) -> DigitalLink:
        """Parse an absolute http(s) Digital Link URI or a path such as `/01/…/10/…?17=…`."""
        if not isinstance(uri, str) or not uri:
            raise InvalidGs1("a Digital Link must be a non-empty string")
        if any(ch.isspace() for ch in uri):
            raise InvalidGs1("a Digital Link must not contain whitespace")
        try:
            parts = urlsplit(uri)
        except ValueError as exc:
            raise InvalidGs1(f"Digital Link {uri!r} is not a valid URI: {exc}") from exc
        if parts.scheme or parts.netloc:
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidGs1(f"Digital Link {uri!r} must be an http(s) URI with a host")
        elif not uri.startswith("/"):
            raise InvalidGs1(f"Digital Link {uri!r} must be an http(s) URI or start with '/'")
        segments = parts.path.split("/")[1:]
        if segments and segments[-1] == "":
            segments.pop()  # tolerate one trailing slash
        # Walk AI/value pairs from the end until the primary key; anything before it is the
        # resolver's own path prefix.
        pairs: list[tuple[str, str]] = []
        end = len(segments)
        while True:
            if end < 2:
                raise InvalidGs1(f"no GS1 primary key found in the path of {uri!r}")
            ai = segments[end - 2]
            if not _AI.fullmatch(ai):
                raise InvalidGs1(
                    f"the path of {uri!r} must end in /AI/value pairs after a primary key; "
                    f"{ai!r} is not an Application Identifier"
                )
            entry = lookup_ai(ai)
            pairs.append((ai, _decode(segments[end - 1], f"AI ({ai})")))
            end -= 2
            if entry.is_primary_key:
                break
        pairs.reverse()
        (key_ai, key), qualifiers = pairs[0], pairs[1:]
        attributes: list[tuple[str, str]] = []
        for item in parts.query.split("&") if parts.query else []:
            name, _, value = item.partition("=")
            name = _decode(name, "query")
            if not _AI.fullmatch(name):
                continue
            attributes.append((name, _decode(value, f"AI ({name})")))
        return cls.build(key_ai, key, qualifiers, attributes)

    @classmethod
    def from_element_string(cls, text: str) -> DigitalLink:
        """Parse the bracketed human-readable form, e.g. `(01)09506000134352(10)LOT01`;
        the first element is the primary key, permitted qualifiers follow, the rest are
        data attributes."""
        elements = _ELEMENT.findall(text)
        if not elements or "".join(f"({a}){v}" for a, v in elements) != text:
            raise InvalidGs1(f"{text!r} is not a bracketed GS1 element string")
        (key_ai, key), rest = elements[0], elements[1:]
        entry = lookup_ai(key_ai)
        if not entry.is_primary_key:
            raise InvalidGs1(f"AI ({key_ai}) is not a GS1 Digital Link primary key")
        permitted = {ai for alt in entry.dl_qualifiers or () for ai in alt}
        qualifiers = [(a, v) for a, v in rest if a in permitted]
        attributes = [(a, v) for a, v in rest if a not in permitted]
        order = {ai: n for alt in entry.dl_qualifiers or () for n, ai in enumerate(alt)}
        qualifiers.sort(key=lambda pair: order[pair[0]])
        return cls.build(key_ai, key, qualifiers, attributes)

    def get(self, ai: str) -> str | None:
        """The value of AI `ai` in this link, or None."""
        for name, value in ((self.key_ai, self.key), *self.qualifiers, *self.attributes):
            if name == ai:
                return value
        return None

    @property
    def gtin(self) -> str | None:
        return self.key if self.key_ai == GTIN else None

    @property
    def lot(self) -> str | None:
        return self.get(LOT)

    @property
    def serial(self) -> str | None:
        return self.get(SERIAL)

    def without_attributes(self) -> DigitalLink:
        """The same key and qualifiers without data attributes (the object's identity)."""
        return replace(self, attributes=())

    def path(self) -> str:
        """The `/AI/value/...` path of key and qualifiers, values percent-encoded."""
        pairs = ((self.key_ai, self.key), *self.qualifiers)
        return "".join(f"/{ai}/{_encode(value)}" for ai, value in pairs)

    def uri(self, base: str = DEFAULT_BASE) -> str:
        """The Digital Link URI under `base` (scheme, host and optional path prefix)."""
        query = "&".join(f"{ai}={_encode(value)}" for ai, value in self.attributes)
        return f"{base.rstrip('/')}{self.path()}" + (f"?{query}" if query else "")

    def element_string(self) -> str:
        """The bracketed element string: key, qualifiers, then data attributes."""
        pairs = ((self.key_ai, self.key), *self.qualifiers, *self.attributes)
        return "".join(f"({ai}){value}" for ai, value in pairs)
