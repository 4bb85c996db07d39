"""The EPCIS Event Hash ID (CBV 2.0 section 8.9): `ni:///sha-256;<hex>?ver=CBV2.0` of an event.

The algorithm turns an event into a canonical pre-hash string: a fixed order of standard
fields (`name=value`, nested elements concatenated, repeated elements sorted), values
canonicalised (CBV terms as web URIs, GS1 keys as canonical Digital Link URIs, timestamps in UTC
at millisecond precision, numbers without padding), then user extensions as
`{namespace}name=value`, sorted. This is our own implementation; it is tested to give the same
ids as the `epcis-event-hash-generator` reference package, including that package's choices
where the standard text leaves room (for example, it expands only CURIE prefixes that the
document declares inline, and places business transactions, sources and destinations among the
trailing elements).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from schemas.epcis import gs1_keys
from schemas.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    MEASUREMENT_TYPES_AFTER_CONTEXT,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
    Vocabulary,
)

HASH_VERSION = "CBV2.0"

Node = tuple[str, str, list[Any]]
"""An element as (name, text, children): the shape of the event in its XML binding."""

_QUANTITY: list[tuple[str, Any]] = [("epcClass", None), ("quantity", None), ("uom", None)]
_QUANTITY_LIST = [("quantityElement", _QUANTITY)]
_EPCS = [("epc", None)]
_SENSOR_METADATA = [
    (name, None)
    for name in [
        "time",
        "startTime",
        "endTime",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "dataProcessingMethod",
        "bizRules",
    ]
]
_SENSOR_REPORT = [
    (name, None)
    for name in [
        "type",
        "exception",
        "deviceID",
        "deviceMetadata",
        "rawData",
        "dataProcessingMethod",
        "time",
        "microorganism",
        "chemicalSubstance",
        "value",
        "component",
        "stringValue",
        "booleanValue",
        "hexBinaryValue",
        "uriValue",
        "minValue",
        "maxValue",
        "meanValue",
        "sDev",
        "percRank",
        "percValue",
        "uom",
        "coordinateReferenceSystem",
    ]
]

# The canonical property order of CBV 2.0 section 8.9.4 (second item: order of the children).
CANONICAL_ORDER: list[tuple[str, Any]] = [
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", _EPCS),
    ("inputEPCList", _EPCS),
    ("childEPCs", _EPCS),
    ("quantityList", _QUANTITY_LIST),
    ("childQuantityList", _QUANTITY_LIST),
    ("inputQuantityList", _QUANTITY_LIST),
    ("outputEPCList", _EPCS),
    ("outputQuantityList", _QUANTITY_LIST),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", [("set", None), ("unset", None)]),
    ("readPoint", [("id", None)]),
    ("bizLocation", [("id", None)]),
    (
        "sensorElementList",
        [
            (
                "sensorElement",
                [("sensorMetadata", _SENSOR_METADATA), ("sensorReport", _SENSOR_REPORT)],
            )
        ],
    ),
]
NOT_HASHED = frozenset({"recordTime", "eventID", "type", "errorDeclaration"})
COMMENT_KEYS = frozenset({"#text", "rdfs:comment", "comment"})
# Lists whose elements are (type, value) pairs kept in document order, not sorted.
TYPED_LISTS = {"bizTransactionList", "sourceList", "destinationList"}
_PAIR_VALUES = {"bizTransaction", "source", "destination"}
_RENAMES = {
    "inputEPC": "epc",
    "outputEPC": "epc",
    "inputQuantity": "quantityElement",
    "outputQuantity": "quantityElement",
    "childQuantity": "quantityElement",
}
_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)
_IGNORE_FIELDS_KEY = re.compile(r"^[^:]+:ignoreFields$")
_ZERO = timedelta(0)


@cache
def _gs1_key_normaliser() -> Callable[[str], str | None]:
    """GS1 key (EPC URN, EPC class, Digital Link) to canonical Digital Link; None if not a key.

    The mapping is the one the reference package defines for the hash; its module is loaded
    without leaving the package's network-capable JSON-LD document loader installed in PyLD.
    """
    from pyld import jsonld

    previous = jsonld.get_document_loader()
    try:
        from epcis_event_hash_generator.dl_normaliser import normaliser
    finally:
        jsonld.set_document_loader(previous)
    return normaliser


def canonical_object_id(name: str) -> str:
    """The canonical Digital Link URI for a GS1 key (EPC URN or Digital Link), else `name`."""
    # Every mapping the normaliser makes starts from one of these prefixes (its patterns are
    # anchored there), and it maps nothing without a ".": skip the regex cascade for the rest.
    if not isinstance(name, str) or not name.startswith(_GS1_KEY_STARTS) or "." not in name:
        return name
    return _normalised(name)


_GS1_KEY_STARTS = ("urn:epc:", "http:", "https:")


@lru_cache(maxsize=1 << 16)
def _normalised(name: str) -> str:
    direct = gs1_keys.digital_link(name)
    if direct is not None:
        return direct
    try:
        return _gs1_key_normaliser()(name) or name
    except Exception:  # the normaliser raises on malformed keys; treat them as opaque names
        return name


def event_hash_id(
    event: Mapping[str, Any],
    namespaces: Mapping[str, str] | None = None,
    ignore_fields: Iterable[str] = (),
) -> str:
    """The Event Hash ID of one event; `namespaces` maps the document's inline CURIE prefixes."""
    pre_hash = pre_hash_string(event, namespaces, ignore_fields)
    return f"ni:///sha-256;{hashlib.sha256(pre_hash.encode()).hexdigest()}?ver={HASH_VERSION}"


def document_namespaces(document: Mapping[str, Any]) -> dict[str, str]:
    """The CURIE prefixes a document declares in the inline objects of its top-level @context."""
    context = document.get("@context")
    entries = context if isinstance(context, list) else [context]
    prefixes: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, dict):
            prefixes.update({k: v for k, v in entry.items() if isinstance(v, str)})
    return prefixes


def document_ignore_fields(document: Mapping[str, Any]) -> list[str]:
    """Event fields a document asks hash generators to leave out (`<prefix>:ignoreFields`)."""
    holders = [document]
    body = document.get("epcisBody")
    if isinstance(body, dict) and isinstance(body.get("queryResults"), dict):
        holders.append(body["queryResults"])
    fields: list[str] = []
    for key, value in (item for holder in holders for item in holder.items()):
        if _IGNORE_FIELDS_KEY.match(key) and isinstance(value, list):
            fields.extend(item for item in value if isinstance(item, str))
    return fields


def pre_hash_string(
    event: Mapping[str, Any],
    namespaces: Mapping[str, str] | None = None,
    ignore_fields: Iterable[str] = (),
) -> str:
    """The canonical pre-hash string of one event (what gets hashed)."""
    ignored = frozenset(ignore_fields)
    if not namespaces:
        simple = _simple_pre_hash(event, ignored)
        if simple is not None:
            return simple
    expanded = {k: v for k, v in _expand_terms(event).items() if k not in ignored}
    return _tree_pre_hash(expanded, dict(namespaces or {}))


def _tree_pre_hash(expanded: Mapping[str, Any], namespaces: Mapping[str, str]) -> str:
    """The general algorithm: the event as an element tree, emitted in canonical order."""
    name, _, children = _restructure(_to_node(expanded, namespaces))
    head = _ordered(children, CANONICAL_ORDER)
    rest = [child for child in children if child[0] not in NOT_HASHED]
    return f"eventType={name}{head}{_generic(rest) if rest else ''}"


# -- the same string, emitted directly for the common shape of event ---------------------------

_EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
_TEXT_FIELDS = frozenset(
    {"eventTime", "eventTimeZoneOffset", "parentID", "action", "transformationID", "bizStep",
     "disposition"}
)  # fmt: skip
_EPC_LISTS = frozenset({"epcList", "inputEPCList", "outputEPCList", "childEPCs"})
_QUANTITY_LISTS = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
_PLACES = frozenset({"readPoint", "bizLocation"})
_QUANTITY_FIELDS = ("epcClass", "quantity", "uom")
_QUANTITY_KEYS = frozenset(_QUANTITY_FIELDS)
_TERM_FIELDS = {"bizStep": BIZ_STEP, "disposition": DISPOSITION}
_ORDER_NAMES = [name for name, _ in CANONICAL_ORDER]


def _simple_pre_hash(event: Mapping[str, Any], ignored: frozenset[str] = frozenset()) -> str | None:
    """What `_tree_pre_hash` gives for the event with its terms expanded (`_expand_terms`)
    and the `ignored` fields left out, for events made only of plain standard fields (no
    namespaces, extensions, sensors, business transactions...); None for any other event.

    Each field becomes one `name...` part: text fields `name=value`, EPC lists `name` and their
    sorted `epc=value`s, quantity lists `name` and their sorted `quantityElement`s, places
    `name` and `id=value`. Empty values vanish, as they do in the tree. Of the fields whose
    terms `_expand_terms` expands, only bizStep and disposition are modelled here, and they
    are expanded here.
    """
    kind = event.get("type")
    if type(kind) is not str or kind not in _EVENT_TYPES or "type" in ignored:
        return None
    parts: dict[str, str] = {}
    for key, value in event.items():
        if key in NOT_HASHED or key in ignored:
            continue
        if key in _TEXT_FIELDS:
            if type(value) is not str:
                return None
            if key in _TERM_FIELDS:
                value = _term_uri(_TERM_FIELDS[key], value)
            if text := value.strip():
                parts[key] = f"{key}={_timestamp(text) if key == 'eventTime' else _value(text)}"
        elif key in _EPC_LISTS:
            if type(value) is not list or any(type(v) is not str for v in value):
                return None
            epcs = sorted(f"epc={_value(text)}" for v in value if (text := v.strip()))
            if epcs:
                parts[key] = key + "".join(epcs)
        elif key in _QUANTITY_LISTS:
            if type(value) is not list:
                return None
            elements = []
            for item in value:
                element = _simple_quantity(item)
                if element is None:
                    return None
                if element:
                    elements.append(element)
            if elements:
                parts[key] = key + "".join(sorted(elements))
        elif key in _PLACES:
            if type(value) is not dict or value.keys() != {"id"} or type(value["id"]) is not str:
                return None
            if text := value["id"].strip():
                parts[key] = f"{key}id={_value(text)}"
        else:
            return None
    return f"eventType={kind}" + "".join(parts[name] for name in _ORDER_NAMES if name in parts)


def _simple_quantity(item: Any) -> str | None:
    """`quantityElement...` for a plain quantity element, "" when it emits nothing, else None."""
    if type(item) is not dict or "epcClass" not in item or not item.keys() <= _QUANTITY_KEYS:
        return None
    out = []
    for key in _QUANTITY_FIELDS:
        if key not in item:
            continue
        value = item[key]
        if key == "quantity":
            if type(value) not in (int, float):
                return None
            text = str(value).strip()
        elif type(value) is str:
            text = value.strip()
        else:
            return None
        if text:
            out.append(f"{key}={_value(text)}")
    return "quantityElement" + "".join(out) if out else ""


# -- step 1: CBV terms written bare become their web URIs -------------------------------------


def _term_uri(vocabulary: Vocabulary, value: Any) -> Any:
    if not isinstance(value, str) or ":" in value or value not in vocabulary.terms:
        return value
    if vocabulary is MEASUREMENT_TYPE and value in MEASUREMENT_TYPES_AFTER_CONTEXT:
        return value  # the pinned JSON-LD context cannot expand it, so neither does the hash
    return vocabulary.uri_prefix + value


def _expand_terms(event: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(event)
    for key, vocabulary in (("bizStep", BIZ_STEP), ("disposition", DISPOSITION)):
        if key in out:
            out[key] = _term_uri(vocabulary, out[key])
    if isinstance(out.get("persistentDisposition"), dict):
        persistent = dict(out["persistentDisposition"])
        for key in ("set", "unset"):
            if isinstance(persistent.get(key), list):
                persistent[key] = [_term_uri(DISPOSITION, v) for v in persistent[key]]
        out["persistentDisposition"] = persistent
    for key, vocabulary in (
        ("bizTransactionList", BIZ_TRANSACTION_TYPE),
        ("sourceList", SOURCE_DEST_TYPE),
        ("destinationList", SOURCE_DEST_TYPE),
    ):
        out[key] = _map_items(out.get(key), {"type": vocabulary})
    if isinstance(out.get("errorDeclaration"), dict):
        out["errorDeclaration"] = _map_items([out["errorDeclaration"]], {"reason": ERROR_REASON})[0]
    if isinstance(out.get("sensorElementList"), list):
        elements = []
        for element in out["sensorElementList"]:
            if isinstance(element, dict) and "sensorReport" in element:
                reports = {
                    "type": MEASUREMENT_TYPE,
                    "exception": SENSOR_ALERT_TYPE,
                    "component": COMPONENT,
                }
                element = {**element, "sensorReport": _map_items(element["sensorReport"], reports)}
            elements.append(element)
        out["sensorElementList"] = elements
    return {k: v for k, v in out.items() if k in event}


def _map_items(items: Any, fields: Mapping[str, Vocabulary]) -> Any:
    if not isinstance(items, list):
        return items
    return [
        {k: _term_uri(fields[k], v) if k in fields else v for k, v in item.items()}
        if isinstance(item, dict)
        else item
        for item in items
    ]


# -- step 2: JSON to elements -----------------------------------------------------------------


def _with_namespace(text: str, namespaces: Mapping[str, str], brace: bool) -> str:
    if not namespaces:
        return text
    prefix, sep, local = text.partition(":")
    if sep and prefix in namespaces:
        namespace = namespaces[prefix]
        return f"{{{namespace}}}{local}" if brace else f"{namespace}{local}"
    return text


def _to_node(value: Any, namespaces: Mapping[str, str]) -> Node:
    if isinstance(value, list):
        return ("", "", [_to_node(item, namespaces) for item in value])
    if isinstance(value, dict):
        children: list[Any] = []
        for key, item in value.items():
            if key in COMMENT_KEYS or key.startswith("@xmlns"):
                continue
            child = _to_node(item, namespaces)
            name = _with_namespace(key, namespaces, brace=True)
            if isinstance(item, list):
                children.extend((name, text, grand) for _, text, grand in child[2])
            else:
                children.append((name, child[1], child[2]))
        if not _PAIR_VALUES.intersection(value):
            children.sort()
        text = value.get("#text", "")
        return (str(value.get("type", "")), text if isinstance(text, str) else str(text), children)
    if isinstance(value, str):
        return ("", _with_namespace(value, namespaces, brace=False), [])
    return ("", str(value), [])


def _restructure(node: Node) -> Node:
    """Give JSON lists the element structure of the XML binding (`epcList` holds `epc`s...)."""
    name, text, children = node
    kept: list[Any] = []
    lists: dict[str, list[Any]] = {}
    child_epcs: list[Any] = []
    for child in children:
        if isinstance(child[0], str) and child[0].endswith("List"):
            lists.setdefault(child[0], []).append((child[0][:-4], child[1], child[2]))
        elif child[0] == "childEPCs":
            child_epcs.append(("epc", child[1], []))
        else:
            kept.append(child)
    for list_name, elements in lists.items():
        if list_name in TYPED_LISTS:
            # (type, value) pairs; an element without its type stays a plain element.
            pairs = [tuple(e[2]) if len(e[2]) == 2 else e for e in elements]
            kept.append((list_name, "", pairs))
        else:
            kept.append((list_name, "", elements))
    if child_epcs:
        kept.append(("childEPCs", "", child_epcs))
    kept = [child if child[0] in TYPED_LISTS else _restructure(child) for child in kept]
    if name in _RENAMES:
        name = _RENAMES[name]
    elif name == "quantity" and kept:
        name = "quantityElement"
    return (name, text, kept)


# -- step 3: the pre-hash string ---------------------------------------------------------------


def _is_extension(name: Any) -> bool:
    return isinstance(name, str) and "{" in name and "/}" in name


def _ordered(children: list[Any], order: list[tuple[str, Any]]) -> str:
    """Emit the children named in `order`, consuming them; nested extensions go last.

    A consumed child leaves `children` once it has no grandchildren left (the caller emits
    what remains generically), so `children` is changed in place.
    """
    extensions: list[Any] = []
    is_event_level = any("eventTime" in c[0] or "action" in c[0] for c in children)
    if len(children) > 1 and not is_event_level:
        extensions = [c for c in children if isinstance(c, tuple) and _is_extension(c[0])]
        for extension in extensions:
            children.remove(extension)
    named: dict[str, list[Any]] = {}
    for child in children:
        if isinstance(child[0], str):
            named.setdefault(child[0], []).append(child)
    parts: list[str] = []
    consumed: set[str] = set()
    for name, sub_order in order:
        group = named.get(name)
        if group is None:
            continue
        consumed.add(name)
        values = [text for child in group if (text := _element(child, sub_order))]
        values.sort()
        parts.extend(values)
    if consumed:
        children[:] = [
            c for c in children if c[2] or not isinstance(c[0], str) or c[0] not in consumed
        ]
    if extensions:
        parts.append(_generic(extensions))
    return "".join(parts)


def _element(child: Node, sub_order: Any) -> str:
    name, text, grand = child
    nested = _ordered(grand, sub_order) if sub_order else ""
    value = text.strip() if text else ""
    if value:
        lowered = name.lower()
        value = (
            _timestamp(value) if "time" in lowered and "offset" not in lowered else _value(value)
        )
        value = f"={value}" if value else ""
    return f"{name}{value}{nested}" if value or nested else ""


def _generic(children: list[Any]) -> str:
    """Children not in the canonical order: `name=value` recursively, sorted."""
    parts = []
    for child in children:
        if len(child) == 2 and isinstance(child[0], tuple):
            parts.append(_generic(list(child)))
        else:
            text = child[1].strip()
            parts.append(f"{child[0]}{'=' + _value(text) if text else ''}{_generic(child[2])}")
    if len(children) > 1 and not any(
        not isinstance(c[0], tuple) and c[0] in _PAIR_VALUES for c in children
    ):
        parts.sort()
    return "".join(parts)


def _timestamp(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.utcoffset() == _ZERO and not moment.microsecond % 1000:
        # Already UTC and whole milliseconds (the usual case): nothing to convert or round.
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # outside years 1-9999 in UTC: the event model refuses it
        return text
    # Half-to-even rounding to whole milliseconds, as the reference does.
    micros = round(moment.microsecond, -3)
    moment = moment.replace(microsecond=0) + timedelta(microseconds=micros)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


@lru_cache(maxsize=1 << 16)
def _value(text: str) -> str:
    for urn, uri in _CBV_URNS:
        text = text.replace(urn, uri)
    text = _number(text)
    return canonical_object_id(text)


def _number(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number == int(number):
        return str(int(number))
    return text if math.isnan(number) else str(number)
