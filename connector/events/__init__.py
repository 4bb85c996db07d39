"""EPCIS 2.0 events on a node: capture into the ledger, query, trace, recall, countersign."""

from connector.events.access import Caller, may_read
from connector.events.capture import Captured, capture_document
from connector.events.query import EventQuery, event_by_id, query_document, run_query
from connector.events.recall import recall
from connector.events.receipts import accept_receipt, countersign, verify_receipt
from connector.events.trace import TraceRequest, trace

__all__ = [
    "Caller",
    "Captured",
    "EventQuery",
    "TraceRequest",
    "accept_receipt",
    "capture_document",
    "countersign",
    "event_by_id",
    "may_read",
    "query_document",
    "recall",
    "run_query",
    "trace",
    "verify_receipt",
]
