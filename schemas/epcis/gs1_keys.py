"""Canonical GS1 Digital Link URIs for the EPC URN schemes events use most, as the hash maps them.

The Event Hash ID writes every GS1 key as its canonical Digital Link URI. The reference mapping
(the `dl_normaliser` of `epcis-event-hash-generator`) tries a long cascade of patterns per name;
this module maps SGTIN, SSCC, SGLN and LGTIN URNs directly. It only answers for a name that is
wholly a well-formed URN of one of those schemes (company prefix and reference of the right
total length, serial or lot of 1 to 20 characters of GS1 character set 82, `%`-escapes of the
reference's set); for every other name it answers None and the caller asks the reference.
Tests check the two agree on generated and corpus names.
"""

from __future__ import annotations

import re

# One serial/lot character: a character of GS1 set 82 written as-is, or a %-escape.
_CHAR = (
    r"(?:%(?:2[125-9A-Fa-f]|3[0-9A-Fa-f]|4[1-9A-Fa-f]|5[0-9AaFf]|6[1-9A-Fa-f]|7[0-9Aa])"
    r"|[-!'()*+,.0-9:;=A-Z_a-z])"
)
# scheme -> (pattern after the scheme, digits of company prefix + reference together)
_SCHEMES: dict[str, tuple[re.Pattern[str], int]] = {
    "urn:epc:id:sgtin:": (re.compile(rf"(\d{{6,12}})\.(\d+)\.({_CHAR}{{1,20}})"), 13),
    "urn:epc:class:lgtin:": (re.compile(rf"(\d{{6,12}})\.(\d+)\.({_CHAR}{{1,20}})"), 13),
    "urn:epc:id:sgln:": (re.compile(rf"(\d{{6,12}})\.(\d*)\.({_CHAR}{{1,20}})"), 12),
    "urn:epc:id:sscc:": (re.compile(r"(\d{6,12})\.(\d+)()"), 17),
}
SCHEMES = tuple(_SCHEMES)
"""The URN prefixes `digital_link` answers for."""

_ENCODE = str.maketrans({char: f"%{ord(char):02X}" for char in "!()*+,:"})
BASE = "https://id.gs1.org/"


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of `digits` (weights 3, 1, 3... from the right)."""
    total = 3 * sum(map(int, digits[::-2])) + sum(map(int, digits[-2::-2]))
    return str(-total % 10)


def digital_link(name: str) -> str | None:
    """The canonical Digital Link of an SGTIN, SSCC, SGLN or LGTIN URN; None when `name` is
    not wholly such a URN (the caller then falls back to the reference mapping)."""
    scheme = next((s for s in _SCHEMES if name.startswith(s)), None)
    if scheme is None:
        return None
    pattern, length = _SCHEMES[scheme]
    match = pattern.fullmatch(name, len(scheme))
    if match is None:
        return None
    company, reference, rest = match.groups()
    if len(company) + len(reference) != length:
        return None
    rest = rest.translate(_ENCODE)
    if scheme == "urn:epc:id:sscc:":
        key = reference[:1] + company + reference[1:]
        return f"{BASE}00/{key}{check_digit(key)}"
    if scheme == "urn:epc:id:sgln:":
        gln = company + reference
        extension = "" if rest == "0" else f"/254/{rest}"
        return f"{BASE}414/{gln}{check_digit(gln)}{extension}"
    gtin = reference[:1] + company + reference[1:]
    qualifier = "21" if scheme == "urn:epc:id:sgtin:" else "10"
    return f"{BASE}01/{gtin}{check_digit(gtin)}/{qualifier}/{rest}"
