"""EPC pure-identity URNs (GS1 Tag Data Standard 2.x) to and from GS1 Digital Links.

Supported schemes and their Digital Link counterparts:

- `urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial` ⇄ GTIN (01) + serial (21);
- `urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot` ⇄ GTIN (01) + lot (10);
- `urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef` ⇄ SSCC (00);
- `urn:epc:id:sgln:CompanyPrefix.LocationRef.Extension` ⇄ GLN (414) [+ extension (254)].

The company prefix length (6–12 digits) is needed to build a URN and is read back from the
URN's own parts. In SGLN the extension "0" means "no extension", so a GLN extension whose
value is exactly "0" does not survive a round trip. A GTIN with both lot and serial maps to
SGTIN and the lot is dropped, as SGTIN carries no lot.
"""

from __future__ import annotations

import re

from identifiers.digital_link import (
    DEFAULT_BASE,
    GLN,
    GLN_EXTENSION,
    GTIN,
    LOT,
    SERIAL,
    SSCC,
    DigitalLink,
)
from identifiers.errors import InvalidGs1
from identifiers.gs1_ai import check_digit

SGTIN = "urn:epc:id:sgtin:"
LGTIN = "urn:epc:class:lgtin:"
SSCC_URN = "urn:epc:id:sscc:"
SGLN = "urn:epc:id:sgln:"

# TDS: these CSET 82 characters are percent-escaped inside EPC URIs.
_ESCAPED = {'"': "%22", "%": "%25", "&": "%26", "/": "%2F", "<": "%3C", ">": "%3E", "?": "%3F"}
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")


def _escape(value: str) -> str:
    return "".join(_ESCAPED.get(ch, ch) for ch in value)


def _unescape(value: str, what: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", value):
        raise InvalidGs1(f"EPC {what} {value!r} has a malformed %-escape")
    return _ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), value)


def _check_prefix_length(length: int) -> None:
    if not isinstance(length, int) or not 6 <= length <= 12:
        raise InvalidGs1(f"GS1 company prefix length must be 6..12, got {length!r}")


def _digits(text: str, what: str) -> str:
    if not (text.isascii() and text.isdigit()):
        raise InvalidGs1(f"EPC {what} {text!r} must be digits")
    return text


def to_epc_urn(link: DigitalLink, company_prefix_length: int) -> str:
    """The EPC pure-identity URN for `link`, splitting its key at the company prefix."""
    _check_prefix_length(company_prefix_length)
    length = company_prefix_length
    if link.key_ai == GTIN:
        gtin = link.key
        company, item = gtin[1 : 1 + length], gtin[0] + gtin[1 + length : 13]
        if link.serial is not None:
            return f"{SGTIN}{company}.{item}.{_escape(link.serial)}"
        if link.lot is not None:
            return f"{LGTIN}{company}.{item}.{_escape(link.lot)}"
        raise InvalidGs1("a GTIN needs a serial (SGTIN) or a lot (LGTIN) to have an EPC URN")
    if link.key_ai == SSCC:
        sscc = link.key
        return f"{SSCC_URN}{sscc[1 : 1 + length]}.{sscc[0]}{sscc[1 + length : 17]}"
    if link.key_ai == GLN:
        gln = link.key
        extension = link.get(GLN_EXTENSION)
        extension_text = "0" if extension is None else _escape(extension)
        return f"{SGLN}{gln[:length]}.{gln[length:12]}.{extension_text}"
    raise InvalidGs1(f"no supported EPC scheme for primary key AI ({link.key_ai})")


def _split(urn: str, header: str, parts: int, may_be_empty: int | None = None) -> list[str]:
    fields = urn[len(header) :].split(".", parts - 1)
    if len(fields) != parts or not all(f for n, f in enumerate(fields) if n != may_be_empty):
        raise InvalidGs1(f"EPC URN {urn!r} must have {parts} non-empty dot-separated parts")
    return fields


# The form most URNs are written in: lower-case header, ASCII digits, and a serial, lot or
# extension whose characters are GS1-valid and URI-unreserved as they stand, so it needs no
# %-decoding, no validation beyond the pattern and no escaping in the Digital Link.
_PLAIN = r"[-.0-9A-Z_a-z]{1,20}"
# header -> (pattern after it, digits of company prefix + reference, key path, qualifier path)
_COMMON: dict[str, tuple[re.Pattern[str], int, str, str]] = {
    SGTIN: (re.compile(rf"([0-9]{{6,12}})\.([0-9]+)\.({_PLAIN})"), 13, "/01/", "/21/"),
    LGTIN: (re.compile(rf"([0-9]{{6,12}})\.([0-9]+)\.({_PLAIN})"), 13, "/01/", "/10/"),
    SSCC_URN: (re.compile(r"([0-9]{6,12})\.([0-9]+)()"), 17, "/00/", ""),
    SGLN: (re.compile(rf"([0-9]{{6,12}})\.([0-9]*)\.({_PLAIN})"), 12, "/414/", "/254/"),
}


def common_urn_uri(urn: str) -> str | None:
    """`from_epc_urn(urn).uri()` computed directly for a URN in the common form (see
    `_COMMON`), without building and re-validating a DigitalLink; None for any other string,
    which the caller then gives to `from_epc_urn`."""
    header = next((h for h in _COMMON if urn.startswith(h)), None)
    if header is None:
        return None
    pattern, total, key_path, qualifier_path = _COMMON[header]
    match = pattern.fullmatch(urn, len(header))
    if match is None:
        return None
    company, reference, rest = match.groups()
    if len(company) + len(reference) != total:
        return None
    if header == SGLN:
        payload = company + reference
        if rest == "0":  # SGLN's "no extension"
            rest = ""
    else:
        payload = reference[0] + company + reference[1:]
    qualifier = f"{qualifier_path}{rest}" if rest else ""
    return f"{DEFAULT_BASE}{key_path}{payload}{check_digit(payload)}{qualifier}"


def from_epc_urn(urn: str) -> DigitalLink:
    """The Digital Link for an SGTIN, LGTIN, SSCC or SGLN pure-identity URN."""
    if not isinstance(urn, str):
        raise InvalidGs1("an EPC URN must be a string")
    lowered = urn.lower()
    for header in (SGTIN, LGTIN):
        if lowered.startswith(header):
            company, item, rest = _split(urn, header, 3)
            _digits(company, "company prefix")
            _digits(item, "indicator and item reference")
            _check_prefix_length(len(company))
            if len(company) + len(item) != 13:
                raise InvalidGs1(
                    f"EPC URN {urn!r}: company prefix and item reference must total 13 digits"
                )
            payload = item[0] + company + item[1:]
            gtin = payload + str(check_digit(payload))
            ai = SERIAL if header == SGTIN else LOT
            return DigitalLink.build(GTIN, gtin, [(ai, _unescape(rest, "serial/lot"))])
    if lowered.startswith(SSCC_URN):
        company, serial = _split(urn, SSCC_URN, 2)
        _digits(company, "company prefix")
        _digits(serial, "serial reference")
        _check_prefix_length(len(company))
        if len(company) + len(serial) != 17:
            raise InvalidGs1(f"EPC URN {urn!r}: company prefix and serial must total 17 digits")
        payload = serial[0] + company + serial[1:]
        return DigitalLink.build(SSCC, payload + str(check_digit(payload)))
    if lowered.startswith(SGLN):
        # With a 12-digit company prefix the location reference is empty.
        company, location, extension = _split(urn, SGLN, 3, may_be_empty=1)
        _digits(company, "company prefix")
        if location:
            _digits(location, "location reference")
        _check_prefix_length(len(company))
        if len(company) + len(location) != 12:
            raise InvalidGs1(f"EPC URN {urn!r}: company prefix and location must total 12 digits")
        payload = company + location
        qualifiers = [] if extension == "0" else [(GLN_EXTENSION, _unescape(extension, "ext"))]
        return DigitalLink.build(GLN, payload + str(check_digit(payload)), qualifiers)
    raise InvalidGs1(f"{urn!r} is not an SGTIN, LGTIN, SSCC or SGLN EPC URN")
