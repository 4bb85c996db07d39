"""EPCIS 2.0 / CBV 2.0: document validation, pinned contexts, Event Hash IDs and the event model."""

from schemas.epcis.contexts import PINNED_CONTEXTS, load_context, register_contexts
from schemas.epcis.event_hash import (
    canonical_object_id,
    document_ignore_fields,
    document_namespaces,
    event_hash_id,
    pre_hash_string,
)
from schemas.epcis.model import (
    AggregationEvent,
    AssociationEvent,
    EPCISDocumentModel,
    EPCISEvent,
    ObjectEvent,
    ObjectLink,
    ObjectRef,
    QuantityElement,
    TransactionEvent,
    TransformationEvent,
    parse_document,
)
from schemas.epcis.validation import (
    document_problems,
    iter_events,
    validate_document,
    validate_event,
)

__all__ = [
    "PINNED_CONTEXTS",
    "AggregationEvent",
    "AssociationEvent",
    "EPCISDocumentModel",
    "EPCISEvent",
    "ObjectEvent",
    "ObjectLink",
    "ObjectRef",
    "QuantityElement",
    "TransactionEvent",
    "TransformationEvent",
    "canonical_object_id",
    "document_ignore_fields",
    "document_namespaces",
    "document_problems",
    "event_hash_id",
    "iter_events",
    "load_context",
    "parse_document",
    "pre_hash_string",
    "register_contexts",
    "validate_document",
    "validate_event",
]
