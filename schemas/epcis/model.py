"""Typed EPCIS 2.0 events from a validated document, with the object links a trace follows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar, Literal

from schemas.epcis.event_hash import (
    canonical_object_id,
    document_ignore_fields,
    document_namespaces,
    event_hash_id,
)
from schemas.epcis.validation import iter_events, validate_document
from schemas.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    DISPOSITION,
    SOURCE_DEST_TYPE,
    Vocabulary,
)
from schemas.errors import InvalidRecord

MODEL_VERSION = 1

Role = Literal[
    "epc",
    "quantity",
    "parent",
    "child",
    "childQuantity",
    "input",
    "inputQuantity",
    "output",
    "outputQuantity",
]
LinkKind = Literal["containment", "transformation", "observation"]


@dataclass(frozen=True)
class QuantityElement:
    """A quantity of a class of objects (`epcClass`), optionally with a UN/CEFACT unit."""

    epc_class: str
    quantity: float | None = None
    uom: str | None = None


@dataclass(frozen=True)
class ObjectRef:
    """One object an event names: its name as written, its canonical id, and its role."""

    name: str
    object_id: str
    role: Role
    quantity: QuantityElement | None = None


@dataclass(frozen=True)
class ObjectLink:
    """An edge for the trace graph, stated by one event.

    containment: `source` (parent) contains `target` (child) from `time` on when action is ADD,
    no longer from `time` on when DELETE, and was seen containing it when OBSERVE.
    transformation: `source` (input) went into `target` (output).
    observation: `target` was seen (source is None); `action` says ADD, OBSERVE or DELETE.
    """

    kind: LinkKind
    source: str | None
    target: str
    action: str | None
    time: datetime
    event_id: str


@dataclass(frozen=True)
class BizTransaction:
    """A business transaction reference; `type` in CBV short form when standard."""

    value: str
    type: str | None = None


@dataclass(frozen=True)
class SourceDestination:
    """A source or destination (`type` in CBV short form when standard)."""

    type: str
    value: str


@dataclass(frozen=True)
class EPCISEvent:
    """Fields common to the five EPCIS event types (CBV values in short form when standard)."""

    event_type: ClassVar[str] = ""

    event_id: str
    event_time: datetime
    event_time_zone_offset: str
    json_path: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    declared_event_id: str | None = None
    record_time: datetime | None = None
    action: str | None = None
    biz_step: str | None = None
    disposition: str | None = None
    read_point: str | None = None
    biz_location: str | None = None
    biz_transactions: tuple[BizTransaction, ...] = ()
    sources: tuple[SourceDestination, ...] = ()
    destinations: tuple[SourceDestination, ...] = ()
    sensor_elements: tuple[Mapping[str, Any], ...] = ()
    persistent_disposition_set: tuple[str, ...] = ()
    persistent_disposition_unset: tuple[str, ...] = ()
    certification_info: tuple[str, ...] = ()
    error_declaration: Mapping[str, Any] | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def objects(self) -> list[ObjectRef]:
        """Every object this event names, with its role, in document order."""
        return []

    def object_links(self) -> list[ObjectLink]:
        """The trace edges this event states (see ObjectLink)."""
        return [
            ObjectLink(
                "observation", None, ref.object_id, self.action, self.event_time, self.event_id
            )
            for ref in self.objects()
        ]

    def _link(self, kind: LinkKind, source: str | None, target: str) -> ObjectLink:
        return ObjectLink(kind, source, target, self.action, self.event_time, self.event_id)


@lru_cache(maxsize=1 << 16)
def object_id(name: str) -> str:
    """One canonical id per object: `identifiers.canonical` when it knows the scheme, else the
    GS1 key normalisation of the event hash (both give the same Digital Link URI for GS1 keys).

    Cached: an object is named again and again (an output lot is the next step's input).
    """
    try:
        from identifiers.canonical import canonical_object_id as shared
    except ImportError:
        return canonical_object_id(name)
    try:
        return shared(name)
    except ValueError:  # identifiers' InvalidIdentifier is a ValueError
        return canonical_object_id(name)


def _refs(role: Role, names: tuple[str, ...]) -> list[ObjectRef]:
    return [ObjectRef(name, object_id(name), role) for name in names]


def _quantity_refs(role: Role, quantities: tuple[QuantityElement, ...]) -> list[ObjectRef]:
    return [ObjectRef(q.epc_class, object_id(q.epc_class), role, q) for q in quantities]


@dataclass(frozen=True)
class ObjectEvent(EPCISEvent):
    """Objects observed, created (ADD) or retired (DELETE)."""

    event_type: ClassVar[str] = "ObjectEvent"
    epcs: tuple[str, ...] = ()
    quantities: tuple[QuantityElement, ...] = ()
    ilmd: Mapping[str, Any] | None = None

    def objects(self) -> list[ObjectRef]:
        return _refs("epc", self.epcs) + _quantity_refs("quantity", self.quantities)


@dataclass(frozen=True)
class _ParentChildEvent(EPCISEvent):
    parent_id: str | None = None
    child_epcs: tuple[str, ...] = ()
    child_quantities: tuple[QuantityElement, ...] = ()

    def _parent(self) -> list[ObjectRef]:
        return _refs("parent", (self.parent_id,)) if self.parent_id else []

    def objects(self) -> list[ObjectRef]:
        return (
            self._parent()
            + _refs("child", self.child_epcs)
            + _quantity_refs("childQuantity", self.child_quantities)
        )

    def object_links(self) -> list[ObjectLink]:
        refs = self.objects()
        if not self.parent_id:
            return [self._link("observation", None, ref.object_id) for ref in refs]
        parent, children = refs[0], refs[1:]
        links = [self._link("observation", None, parent.object_id)]
        links += [self._link("containment", parent.object_id, c.object_id) for c in children]
        return links


@dataclass(frozen=True)
class AggregationEvent(_ParentChildEvent):
    """Children packed into (ADD), unpacked from (DELETE) or seen in (OBSERVE) a parent."""

    event_type: ClassVar[str] = "AggregationEvent"


@dataclass(frozen=True)
class AssociationEvent(_ParentChildEvent):
    """Children (e.g. sensors) associated with or disassociated from a parent asset."""

    event_type: ClassVar[str] = "AssociationEvent"


@dataclass(frozen=True)
class TransactionEvent(EPCISEvent):
    """Objects tied to (ADD) or untied from (DELETE) business transactions."""

    event_type: ClassVar[str] = "TransactionEvent"
    parent_id: str | None = None
    epcs: tuple[str, ...] = ()
    quantities: tuple[QuantityElement, ...] = ()

    def objects(self) -> list[ObjectRef]:
        parent = _refs("parent", (self.parent_id,)) if self.parent_id else []
        return parent + _refs("epc", self.epcs) + _quantity_refs("quantity", self.quantities)

    def object_links(self) -> list[ObjectLink]:
        links = super().object_links()
        if self.parent_id:
            parent = object_id(self.parent_id)
            links += [
                self._link("containment", parent, ref.object_id)
                for ref in self.objects()
                if ref.role != "parent"
            ]
        return links


@dataclass(frozen=True)
class TransformationEvent(EPCISEvent):
    """Inputs consumed to make outputs (batch split, merge, processing)."""

    event_type: ClassVar[str] = "TransformationEvent"
    input_epcs: tuple[str, ...] = ()
    input_quantities: tuple[QuantityElement, ...] = ()
    output_epcs: tuple[str, ...] = ()
    output_quantities: tuple[QuantityElement, ...] = ()
    transformation_id: str | None = None
    ilmd: Mapping[str, Any] | None = None

    def inputs(self) -> list[ObjectRef]:
        """The objects consumed."""
        return _refs("input", self.input_epcs) + _quantity_refs(
            "inputQuantity", self.input_quantities
        )

    def outputs(self) -> list[ObjectRef]:
        """The objects produced."""
        return _refs("output", self.output_epcs) + _quantity_refs(
            "outputQuantity", self.output_quantities
        )

    def objects(self) -> list[ObjectRef]:
        return self.inputs() + self.outputs()

    def object_links(self) -> list[ObjectLink]:
        links = [self._link("observation", None, ref.object_id) for ref in self.objects()]
        links += [
            self._link("transformation", i.object_id, o.object_id)
            for i in self.inputs()
            for o in self.outputs()
        ]
        return links


EVENT_CLASSES: dict[str, type[EPCISEvent]] = {
    cls.event_type: cls
    for cls in (
        ObjectEvent,
        AggregationEvent,
        TransactionEvent,
        TransformationEvent,
        AssociationEvent,
    )
}


@dataclass(frozen=True)
class EPCISDocumentModel:
    """A validated EPCISDocument or EPCISQueryDocument and its typed events, in order."""

    document_type: str
    schema_version: str
    creation_date: datetime
    events: tuple[EPCISEvent, ...]
    namespaces: Mapping[str, str] = field(default_factory=dict)
    version: int = MODEL_VERSION


def parse_document(document: Any) -> EPCISDocumentModel:
    """Validate `document` (InvalidRecord lists every problem) and build its event model."""
    validate_document(document)
    namespaces = document_namespaces(document)
    ignored = document_ignore_fields(document)
    events = tuple(
        _event(event, path, event_hash_id(event, namespaces, ignored))
        for path, event in iter_events(document)
    )
    return EPCISDocumentModel(
        document_type=document["type"],
        schema_version=document["schemaVersion"],
        creation_date=_datetime(document["creationDate"], "$.creationDate"),
        events=events,
        namespaces=namespaces,
    )


_STANDARD_KEYS = frozenset(
    [
        "@context",
        "type",
        "eventTime",
        "eventTimeZoneOffset",
        "recordTime",
        "eventID",
        "action",
        "bizStep",
        "disposition",
        "readPoint",
        "bizLocation",
        "bizTransactionList",
        "sourceList",
        "destinationList",
        "sensorElementList",
        "persistentDisposition",
        "certificationInfo",
        "errorDeclaration",
        "epcList",
        "quantityList",
        "ilmd",
        "parentID",
        "childEPCs",
        "childQuantityList",
        "inputEPCList",
        "inputQuantityList",
        "outputEPCList",
        "outputQuantityList",
        "transformationID",
    ]
)


_REQUIRED_KEYS = frozenset(["type", "eventTime", "eventTimeZoneOffset"])
# Optional members -> (model field, how to read the member's value at an event's JSON path).
_OPTIONAL: dict[str, tuple[str, Callable[[Any, str], Any]]] = {
    "eventID": ("declared_event_id", lambda v, _: v),
    "recordTime": ("record_time", lambda v, path: _datetime(v, f"{path}.recordTime")),
    "action": ("action", lambda v, _: v),
    "bizStep": ("biz_step", lambda v, _: _short(BIZ_STEP, v)),
    "disposition": ("disposition", lambda v, _: _short(DISPOSITION, v)),
    "readPoint": ("read_point", lambda v, _: (v or {}).get("id")),
    "bizLocation": ("biz_location", lambda v, _: (v or {}).get("id")),
    "bizTransactionList": (
        "biz_transactions",
        lambda v, _: tuple(
            BizTransaction(t["bizTransaction"], _short(BIZ_TRANSACTION_TYPE, t.get("type")))
            for t in v or ()
        ),
    ),
    "sourceList": ("sources", lambda v, _: _source_destinations(v, "source")),
    "destinationList": ("destinations", lambda v, _: _source_destinations(v, "destination")),
    "sensorElementList": ("sensor_elements", lambda v, _: tuple(v or ())),
    "certificationInfo": (
        "certification_info",
        lambda v, _: (v,) if isinstance(v, str) else tuple(v or ()),
    ),
    "errorDeclaration": ("error_declaration", lambda v, _: v),
}
_OPTIONAL_FIELDS = {key: field for key, (field, _) in _OPTIONAL.items()}
_OPTIONAL_READERS = {key: reader for key, (_, reader) in _OPTIONAL.items()}


def _datetime(value: str, path: str) -> datetime:
    """RFC 3339 text (already format-checked) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is not None:
        try:
            moment.astimezone(UTC)  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        except OverflowError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidRecord([(path, f"{value!r} is not a date-time this system can represent")])
    return moment


def _short(vocabulary: Vocabulary, value: str | None) -> str | None:
    return None if value is None else vocabulary.normalise(value)


def _quantities(values: Any) -> tuple[QuantityElement, ...]:
    return tuple(
        QuantityElement(q["epcClass"], q.get("quantity"), q.get("uom")) for q in values or ()
    )


def _source_destinations(values: Any, key: str) -> tuple[SourceDestination, ...]:
    return tuple(
        SourceDestination(SOURCE_DEST_TYPE.normalise(v["type"]), v[key]) for v in values or ()
    )


def _event(raw: Mapping[str, Any], path: str, event_id: str) -> EPCISEvent:
    common: dict[str, Any] = {
        "event_id": event_id,
        "event_time": _datetime(raw["eventTime"], f"{path}.eventTime"),
        "event_time_zone_offset": raw["eventTimeZoneOffset"],
        "json_path": path,
        "raw": raw,
    }
    # Only the members present are looked at: an event names a few of the optional ones, and
    # the fields of the others keep their defaults (None, (), {}).
    extensions = {}
    for key in raw.keys() - _REQUIRED_KEYS:
        value = raw[key]
        if key not in _STANDARD_KEYS:
            extensions[key] = value
        elif key in _OPTIONAL_FIELDS:
            common[_OPTIONAL_FIELDS[key]] = _OPTIONAL_READERS[key](value, path)
    if extensions:
        common["extensions"] = {k: v for k, v in raw.items() if k in extensions}  # JSON order
    persistent = raw.get("persistentDisposition")
    if persistent:
        common["persistent_disposition_set"] = tuple(
            DISPOSITION.normalise(v) for v in persistent.get("set", ())
        )
        common["persistent_disposition_unset"] = tuple(
            DISPOSITION.normalise(v) for v in persistent.get("unset", ())
        )
    kind = raw["type"]
    if kind == "ObjectEvent":
        return ObjectEvent(
            **common,
            epcs=tuple(raw.get("epcList") or ()),
            quantities=_quantities(raw.get("quantityList")),
            ilmd=raw.get("ilmd"),
        )
    if kind in ("AggregationEvent", "AssociationEvent"):
        return EVENT_CLASSES[kind](  # type: ignore[call-arg]
            **common,
            parent_id=raw.get("parentID"),
            child_epcs=tuple(raw.get("childEPCs") or ()),
            child_quantities=_quantities(raw.get("childQuantityList")),
        )
    if kind == "TransactionEvent":
        return TransactionEvent(
            **common,
            parent_id=raw.get("parentID"),
            epcs=tuple(raw.get("epcList") or ()),
            quantities=_quantities(raw.get("quantityList")),
        )
    return TransformationEvent(
        **common,
        input_epcs=tuple(raw.get("inputEPCList") or ()),
        input_quantities=_quantities(raw.get("inputQuantityList")),
        output_epcs=tuple(raw.get("outputEPCList") or ()),
        output_quantities=_quantities(raw.get("outputQuantityList")),
        transformation_id=raw.get("transformationID"),
        ilmd=raw.get("ilmd"),
    )
