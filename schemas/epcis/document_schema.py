"""Our JSON Schema (draft 2020-12) for EPCIS 2.0 documents and events, written from the standard."""

from __future__ import annotations

from typing import Any

from schemas.epcis.vocabulary import ACTIONS

SCHEMA_ID = "https://tracespace.dev/schemas/epcis/2.0/epcis-document.schema.json"
SCHEMA_VERSION = 1
"""Version of this schema text; bump on any change that alters which documents are accepted."""

EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransformationEvent",
    "TransactionEvent",
    "AssociationEvent",
)

# Any key with a namespace prefix (`ext1:foo`, `cbvmda:lotNumber`, a full IRI) is an extension.
EXTENSION_KEY = r"^[^:\s]+:\S+$"
EXTENSIONS = {EXTENSION_KEY: {}}

URI = {"type": "string", "format": "uri"}
DATE_TIME = {"type": "string", "format": "date-time"}
NUMBER = {"type": "number"}
# Vocabulary-typed strings: bare CBV term, CURIE or URI; checked against CBV in validation.py.
TERM = {"type": "string", "minLength": 1}


def _object(
    properties: dict[str, Any], required: tuple[str, ...] = (), extensible: bool = True
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if extensible:
        schema["patternProperties"] = EXTENSIONS
    if required:
        schema["required"] = list(required)
    return schema


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


def _defs() -> dict[str, Any]:
    quantity_element = _object(
        {
            "epcClass": URI,
            "quantity": NUMBER,
            "uom": {"type": "string", "pattern": "^[A-Z0-9]{2,3}$"},
        },
        required=("epcClass",),
        extensible=False,
    )
    # A unit of measure is meaningless without the quantity it qualifies.
    quantity_element["dependentRequired"] = {"uom": ["quantity"]}
    sensor_metadata = _object(
        {
            "time": DATE_TIME,
            "startTime": DATE_TIME,
            "endTime": DATE_TIME,
            "deviceID": URI,
            "deviceMetadata": URI,
            "rawData": URI,
            "dataProcessingMethod": URI,
            "bizRules": URI,
        }
    )
    sensor_report = _object(
        {
            "type": TERM,
            "exception": TERM,
            "deviceID": URI,
            "deviceMetadata": URI,
            "rawData": URI,
            "dataProcessingMethod": URI,
            "time": DATE_TIME,
            "microorganism": URI,
            "chemicalSubstance": URI,
            "value": NUMBER,
            "component": TERM,
            "stringValue": {"type": "string"},
            "booleanValue": {"type": "boolean"},
            "hexBinaryValue": {"type": "string", "pattern": "^([0-9A-Fa-f]{2})*$"},
            "uriValue": URI,
            "minValue": NUMBER,
            "maxValue": NUMBER,
            "meanValue": NUMBER,
            "sDev": NUMBER,
            "percRank": NUMBER,
            "percValue": NUMBER,
            "uom": {"type": "string", "pattern": "^[A-Z0-9]{2,3}$"},
            "coordinateReferenceSystem": URI,
            # Not in the 2.0 context's sensorReport, but used by GS1's own examples.
            "bizRules": URI,
        }
    )
    return {
        "uri": URI,
        "epcList": _list_of(URI),
        "quantityList": _list_of({"$ref": "#/$defs/quantityElement"}),
        "quantityElement": quantity_element,
        "location": _object({"id": URI}, required=("id",)),
        "bizTransactionList": _list_of(
            _object({"type": TERM, "bizTransaction": URI}, ("bizTransaction",), extensible=False)
        ),
        "sourceList": _list_of(_object({"type": TERM, "source": URI}, ("type", "source"), False)),
        "destinationList": _list_of(
            _object({"type": TERM, "destination": URI}, ("type", "destination"), False)
        ),
        "persistentDisposition": {
            **_object({"set": _list_of(TERM), "unset": _list_of(TERM)}, extensible=False),
            "minProperties": 1,
        },
        "errorDeclaration": _object(
            {"declarationTime": DATE_TIME, "reason": TERM, "correctiveEventIDs": _list_of(URI)},
            required=("declarationTime",),
        ),
        "certificationInfo": {
            "anyOf": [URI, _list_of(URI)],
            "x-message": "certificationInfo must be a URI or a list of URIs",
        },
        "sensorElementList": _list_of(
            _object(
                {
                    "sensorMetadata": sensor_metadata,
                    "sensorReport": {**_list_of(sensor_report), "minItems": 1},
                },
                required=("sensorReport",),
            )
        ),
        # ilmd holds only namespaced master-data attributes.
        "ilmd": _object({}),
        "context": {"anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}]},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


COMMON_EVENT_PROPERTIES = {
    "@context": _ref("context"),
    "eventTime": DATE_TIME,
    "recordTime": DATE_TIME,
    "eventTimeZoneOffset": {"type": "string", "pattern": r"^[+-]((0\d|1[0-3]):[0-5]\d|14:00)$"},
    "eventID": URI,
    "certificationInfo": _ref("certificationInfo"),
    "errorDeclaration": _ref("errorDeclaration"),
    "bizStep": TERM,
    "disposition": TERM,
    "persistentDisposition": _ref("persistentDisposition"),
    "readPoint": _ref("location"),
    "bizLocation": _ref("location"),
    "bizTransactionList": _ref("bizTransactionList"),
    "sourceList": _ref("sourceList"),
    "destinationList": _ref("destinationList"),
    "sensorElementList": _ref("sensorElementList"),
}
COMMON_REQUIRED = ("type", "eventTime", "eventTimeZoneOffset")
ACTION = {"enum": list(ACTIONS)}


def _event(
    type_name: str, properties: dict[str, Any], required: tuple[str, ...], **rules: Any
) -> dict[str, Any]:
    schema = _object(
        {"type": {"const": type_name}, **COMMON_EVENT_PROPERTIES, **properties},
        required=COMMON_REQUIRED + required,
    )
    schema.update(rules)
    return schema


def _when_action(actions: list[str], then: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"action": {"enum": actions}}, "required": ["action"]},
        "then": then,
    }


def _some_of(*names: str, message: str) -> dict[str, Any]:
    return {"anyOf": [{"required": [name]} for name in names], "x-message": message}


EVENT_SCHEMAS = {
    "ObjectEvent": _event(
        "ObjectEvent",
        {
            "action": ACTION,
            "epcList": _ref("epcList"),
            "quantityList": _ref("quantityList"),
            "ilmd": _ref("ilmd"),
        },
        ("action",),
        allOf=[
            _some_of("epcList", "quantityList", message="needs epcList or quantityList"),
            _when_action(["OBSERVE", "DELETE"], {"not": {"required": ["ilmd"]}}),
        ],
    ),
    "AggregationEvent": _event(
        "AggregationEvent",
        {
            "action": ACTION,
            "parentID": URI,
            "childEPCs": _ref("epcList"),
            "childQuantityList": _ref("quantityList"),
        },
        ("action",),
        allOf=[_when_action(["ADD", "DELETE"], {"required": ["parentID"]})],
    ),
    "TransactionEvent": _event(
        "TransactionEvent",
        {
            "action": ACTION,
            "parentID": URI,
            "epcList": _ref("epcList"),
            "quantityList": _ref("quantityList"),
        },
        ("action", "bizTransactionList"),
    ),
    "TransformationEvent": _event(
        "TransformationEvent",
        {
            "inputEPCList": _ref("epcList"),
            "inputQuantityList": _ref("quantityList"),
            "outputEPCList": _ref("epcList"),
            "outputQuantityList": _ref("quantityList"),
            "transformationID": URI,
            "ilmd": _ref("ilmd"),
        },
        (),
        anyOf=[
            {"required": ["transformationID"]},
            {
                "allOf": [
                    {
                        "anyOf": [
                            {"required": ["inputEPCList"]},
                            {"required": ["inputQuantityList"]},
                        ]
                    },
                    {
                        "anyOf": [
                            {"required": ["outputEPCList"]},
                            {"required": ["outputQuantityList"]},
                        ]
                    },
                ]
            },
        ],
        **{"x-message": "needs a transformationID, or at least one input and one output"},
    ),
    "AssociationEvent": _event(
        "AssociationEvent",
        {
            "action": ACTION,
            "parentID": URI,
            "childEPCs": _ref("epcList"),
            "childQuantityList": _ref("quantityList"),
        },
        ("action", "parentID"),
    ),
}

EVENT = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": list(EVENT_TYPES)}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"$ref": f"#/$defs/{name}"},
        }
        for name in EVENT_TYPES
    ],
}

EVENT_LIST = {"type": "array", "items": _ref("event")}

_DOCUMENT_COMMON = {
    "@context": _ref("context"),
    "id": URI,
    "schemaVersion": {"type": "string", "pattern": r"^2\.\d+$"},
    "creationDate": DATE_TIME,
    "sender": {"type": "string"},
    "receiver": {"type": "string"},
    "instanceIdentifier": {"type": "string"},
    "epcisHeader": {"type": "object"},
}

EPCIS_DOCUMENT = _object(
    {
        "type": {"const": "EPCISDocument"},
        **_DOCUMENT_COMMON,
        "epcisBody": {
            **_object({"eventList": EVENT_LIST, "event": _ref("event")}, extensible=False),
            "oneOf": [{"required": ["eventList"]}, {"required": ["event"]}],
            "x-message": "epcisBody needs exactly one of eventList and event",
        },
    },
    required=("@context", "type", "schemaVersion", "creationDate", "epcisBody"),
)

EPCIS_QUERY_DOCUMENT = _object(
    {
        "type": {"const": "EPCISQueryDocument"},
        **_DOCUMENT_COMMON,
        "epcisBody": _object(
            {
                "queryResults": _object(
                    {
                        "subscriptionID": {"type": "string"},
                        "queryName": {"type": "string"},
                        "resultsBody": _object(
                            {"eventList": EVENT_LIST}, ("eventList",), extensible=False
                        ),
                    },
                    required=("queryName", "resultsBody"),
                )
            },
            required=("queryResults",),
            extensible=False,
        ),
    },
    required=("@context", "type", "schemaVersion", "creationDate", "epcisBody"),
)

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "EPCIS 2.0 document (tracespace schema v1)",
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["EPCISDocument", "EPCISQueryDocument"]}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "EPCISDocument"}}, "required": ["type"]},
            "then": _ref("EPCISDocument"),
        },
        {
            "if": {"properties": {"type": {"const": "EPCISQueryDocument"}}, "required": ["type"]},
            "then": _ref("EPCISQueryDocument"),
        },
    ],
    "$defs": {
        **_defs(),
        **EVENT_SCHEMAS,
        "event": EVENT,
        "EPCISDocument": EPCIS_DOCUMENT,
        "EPCISQueryDocument": EPCIS_QUERY_DOCUMENT,
    },
}
