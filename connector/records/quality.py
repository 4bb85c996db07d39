"""Quality records on the node: validate, sign, store and ledger; verify what partners send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector.node import Node
from connector.peers import node_did
from connector.records.signing import Resolver, issuer_of, sign_document, verify_document
from connector.records.store import StoredRecord, save_record
from schemas.errors import InvalidRecord
from schemas.quality import CONTEXT_URL, parse_record

KIND = "quality.record"


def bare(document: Mapping[str, Any]) -> dict[str, Any]:
    """The record without its proof (what the quality schema describes)."""
    return {k: v for k, v in document.items() if k != "proof"}


def prepare(document: Any) -> dict[str, Any]:
    """Validate a quality record (schema and arithmetic: verdicts, conformity)."""
    if not isinstance(document, dict):
        raise InvalidRecord("a quality record must be a JSON object")
    doc = bare(document)
    doc.setdefault("@context", CONTEXT_URL)
    if doc["@context"] != CONTEXT_URL:
        raise InvalidRecord([("$['@context']", f"must be {CONTEXT_URL}")])
    parse_record(doc)
    return doc


def issue(node: Node, document: Any, *, created: str | None = None) -> StoredRecord:
    """Validate, sign, store and ledger a quality record this node issues."""
    doc = prepare(document)
    signed = sign_document(node, doc, created=created)
    return save_record(
        node,
        kind=KIND,
        direction="issued",
        record_type=doc["type"],
        document=signed,
        issuer=node_did(node),
        subjects=list(doc["subject"]),
    )


def receive(node: Node, signed: Any, resolve: Resolver, *, received_from: str) -> StoredRecord:
    """Verify a partner's signed quality record, validate it, store and ledger the receipt."""
    if not isinstance(signed, dict):
        raise InvalidRecord("a quality record must be a JSON object")
    verify_document(signed, resolve)
    doc = prepare(signed)
    return save_record(
        node,
        kind=KIND,
        direction="received",
        record_type=doc["type"],
        document=signed,
        issuer=issuer_of(signed),
        subjects=list(doc["subject"]),
        received_from=received_from,
    )
