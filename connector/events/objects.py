"""Object ids for the trace: one id per object across EPC URN, Digital Link and handle names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from connector.events.errors import InvalidQuery
from schemas.epcis.model import object_id as schema_object_id

GS1_BASE = "https://id.gs1.org/"
_KIND_BY_AI = (("/21/", "serial"), ("/10/", "lot"), ("/00/", "logistic-unit"))
# Keys whose first digit is an indicator / extension digit before the GS1 Company Prefix.
_INDICATOR_KEYS = {"01", "00", "8003"}
_KEY = re.compile(r"^https://id\.gs1\.org/(\d{2,4})/([^/]+)")
# Object-naming members of an EPCIS event, and their roles.
_LIST_FIELDS = {
    "epcList": "epc",
    "childEPCs": "child",
    "inputEPCList": "input",
    "outputEPCList": "output",
}
_QUANTITY_FIELDS = {
    "quantityList": "quantity",
    "childQuantityList": "childQuantity",
    "inputQuantityList": "inputQuantity",
    "outputQuantityList": "outputQuantity",
}


def unify(canonical: str) -> str:
    """Fold a handle that encodes a GS1 key (`identifiers.canonical.gs1_to_handle`) onto that
    key's Digital Link id, so the three namings of one object meet in one index key."""
    if not canonical.startswith("hdl:"):
        return canonical
    try:
        from identifiers.canonical import handle_to_gs1
        from identifiers.handle import parse_handle_reference

        return handle_to_gs1(parse_handle_reference(canonical)).without_attributes().uri()
    except (ImportError, ValueError, AttributeError):
        return canonical


def object_key(name: str) -> str:
    """The index key of an object name; InvalidQuery when it is not an identifier."""
    try:
        return unify(schema_object_id(name))
    except ValueError as exc:
        raise InvalidQuery(f"{name!r} is not an object identifier: {exc}") from None


def object_kind(key: str) -> str:
    """serial, lot, logistic-unit (carton, pallet), class (product without lot), or object."""
    for marker, kind in _KIND_BY_AI:
        if key.startswith(GS1_BASE) and marker in key[len(GS1_BASE) - 1 :]:
            return kind
    if key.startswith(GS1_BASE + "01/"):
        return "class"
    return "object"


def gs1_company_digits(key: str) -> str | None:
    """The digits of a GS1 key that start with the company prefix (None for non-GS1 ids)."""
    match = _KEY.match(key)
    if not match:
        return None
    ai, value = match.groups()
    return value[1:] if ai in _INDICATOR_KEYS else value


def owned_by(key: str, handle_prefixes: Iterable[str], gs1_prefixes: Iterable[str]) -> bool:
    """Whether an object id falls under a party's announced handle or GS1 company prefixes."""
    digits = gs1_company_digits(key)
    if digits is not None:
        return any(p and digits.startswith(p) for p in gs1_prefixes)
    if key.startswith("hdl:"):
        prefix = key[4:].split("/", 1)[0].lower()
        return any(prefix == p.lower() for p in handle_prefixes)
    return False


def event_objects(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(index key, role) for every object an EPCIS event JSON names, skipping bad names."""
    names: list[tuple[str, str]] = []
    if isinstance(event.get("parentID"), str):
        names.append((event["parentID"], "parent"))
    for member, role in _LIST_FIELDS.items():
        names += [(n, role) for n in event.get(member) or () if isinstance(n, str)]
    for member, role in _QUANTITY_FIELDS.items():
        names += [
            (q["epcClass"], role)
            for q in event.get(member) or ()
            if isinstance(q, dict) and isinstance(q.get("epcClass"), str)
        ]
    out = []
    for name, role in names:
        try:
            out.append((object_key(name), role))
        except InvalidQuery:
            continue
    return out
