"""One canonical name per object, whatever identifier scheme it was written in.

Canonical forms:

- GS1-keyed objects (Digital Link URI or path, EPC URN): the Digital Link URI under
  https://id.gs1.org with key and qualifiers only (data attributes dropped, GTIN as GTIN-14),
  e.g. `https://id.gs1.org/01/09506000134352/10/LOT01`;
- handles (`prefix/suffix`, `hdl:…`, `doi:…`): `hdl:prefix/suffix` with the prefix in lower case.

GS1 keys map to handles deterministically by `gs1_to_handle`: the suffix is the key and
qualifiers as `AI.value` pairs joined by ".", each value percent-encoded (everything outside
`A-Z a-z 0-9 - _ ~` is escaped, "." included), e.g. `20.500.1/01.09506000134352.10.LOT01`.
`handle_to_gs1` reverses it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from identifiers.digital_link import DigitalLink
from identifiers.epc import common_urn_uri, from_epc_urn
from identifiers.errors import InvalidGs1, InvalidHandle, InvalidIdentifier
from identifiers.handle import Handle, parse_handle_reference

_GS1_SUFFIX = re.compile(r"\d{2,4}\.[^.]+(?:\.\d{2,4}\.[^.]+)*")


def canonical_object_id(name: str) -> str:
    """Map an EPC URN, GS1 Digital Link (URI, path or bracketed element string) or handle
    to its one canonical string; raise InvalidIdentifier (or InvalidGs1) otherwise."""
    if not isinstance(name, str) or not name:
        raise InvalidIdentifier("an object name must be a non-empty string")
    lowered = name[:8].lower()
    if lowered.startswith("urn:epc:"):
        return common_urn_uri(name) or from_epc_urn(name).without_attributes().uri()
    if name.startswith("("):
        return DigitalLink.from_element_string(name).without_attributes().uri()
    if lowered.startswith(("http://", "https://")) or name.startswith("/"):
        try:
            return DigitalLink.parse(name).without_attributes().uri()
        except InvalidGs1 as exc:
            raise InvalidIdentifier(f"{name!r} is not a GS1 Digital Link: {exc.reason}") from exc
    try:
        return parse_handle_reference(name).uri()
    except InvalidHandle as exc:
        raise InvalidIdentifier(
            f"{name!r} is not an EPC URN, GS1 Digital Link or handle: {exc.reason}"
        ) from exc


def _encode(value: str) -> str:
    return quote(value, safe="").replace(".", "%2E")


def gs1_to_handle(link: DigitalLink, prefix: str) -> Handle:
    """The handle under `prefix` that names the GS1 key and qualifiers of `link`."""
    pairs = ((link.key_ai, link.key), *link.qualifiers)
    return Handle.of(prefix, ".".join(f"{ai}.{_encode(value)}" for ai, value in pairs))


def handle_to_gs1(handle: Handle) -> DigitalLink:
    """The Digital Link a `gs1_to_handle` handle stands for; InvalidGs1 if it is not one."""
    if not _GS1_SUFFIX.fullmatch(handle.suffix):
        raise InvalidGs1(f"handle suffix {handle.suffix!r} is not of the form AI.value[.AI.value]")
    fields = handle.suffix.split(".")
    try:
        pairs = [
            (fields[n], unquote(fields[n + 1], errors="strict")) for n in range(0, len(fields), 2)
        ]
    except UnicodeDecodeError as exc:
        raise InvalidGs1(f"handle suffix {handle.suffix!r} is not UTF-8 after decoding") from exc
    link = DigitalLink.build(pairs[0][0], pairs[0][1], pairs[1:])
    if gs1_to_handle(link, handle.prefix) != handle:
        raise InvalidGs1(f"handle suffix {handle.suffix!r} is not in canonical GS1 form")
    return link
