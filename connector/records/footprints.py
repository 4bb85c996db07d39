"""PACT footprints on the node: validate (three layers, v2 converted), sign, store, filter."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.node import Node
from connector.peers import node_did
from connector.records.signing import Resolver, issuer_of, sign_document, verify_document
from connector.records.store import StoredRecord, chain_version, list_records, save_record
from schemas.errors import InvalidRecord
from schemas.pact import CONTEXT_URL, Finding, convert_v2_to_v3, validate_footprint
from schemas.pact.schema import V3, spec_version_of

KIND = "pact.footprint"
ENVELOPE = ("@context", "proof")
VALIDITY_YEARS_DAYS = 3 * 365 + 1


def bare(document: Mapping[str, Any]) -> dict[str, Any]:
    """The PACT footprint without our JSON-LD context and proof (what the PACT API serves)."""
    return {k: copy.deepcopy(v) for k, v in document.items() if k not in ENVELOPE}


def prepare(document: Any) -> tuple[dict[str, Any], list[Finding], list[str]]:
    """Validate a v3 (or v2.x, converted) footprint with all three layers.

    Returns the v3 footprint, its methodology warnings and the conversion notes.
    Raises InvalidRecord with every error's JSON path.
    """
    if not isinstance(document, dict):
        raise InvalidRecord("a footprint must be a JSON object")
    doc = bare(document)
    notes: list[str] = []
    if spec_version_of(doc) != V3:
        if "proof" in document:
            raise InvalidRecord([("$.specVersion", "a signed footprint must be PACT v3")])
        validate_footprint(doc).raise_for_errors()
        doc, report = convert_v2_to_v3(doc)
        notes = [f"{n.kind} {n.v2_path}: {n.detail}" for n in report.notes]
    result = validate_footprint(doc)
    result.raise_for_errors()
    return doc, result.warnings, notes


def secured_form(doc: dict[str, Any]) -> dict[str, Any]:
    """The footprint as a JSON-LD record under our PACT context, ready to sign."""
    return {"@context": CONTEXT_URL, **bare(doc)}


def issue(
    node: Node,
    document: Any,
    subjects: Iterable[str] = (),
    *,
    created: str | None = None,
    bom_key: str = "",
    conn_hook: Any = None,
) -> tuple[StoredRecord, list[Finding]]:
    """Validate, sign with the node key, store and ledger a footprint this node issues."""
    doc, warnings, notes = prepare(document)
    signed = sign_document(node, secured_form(doc), created=created)
    preceding = list(doc.get("precedingPfIds") or [])
    extra: dict[str, Any] = {"productIds": doc["productIds"], "precedingPfIds": preceding}
    sources = rollup_sources(doc)
    if sources:
        extra["sources"] = sources
    if notes:
        extra["convertedFrom"] = "2.x"
    if bom_key:
        extra["bom"] = bom_key
    record = save_record(
        node,
        kind=KIND,
        direction="issued",
        record_type="ProductFootprint",
        document=signed,
        issuer=node_did(node),
        subjects=list(subjects),
        product_ids=doc["productIds"],
        version=chain_version(node, preceding, "issued"),
        supersedes=preceding,
        ledger_extra=extra,
        conn_hook=conn_hook,
    )
    return record, warnings


def receive(
    node: Node, signed: Any, resolve: Resolver, *, received_from: str, subjects: Iterable[str] = ()
) -> StoredRecord:
    """Verify a partner's signed footprint, validate it, then store and ledger the receipt."""
    if not isinstance(signed, dict):
        raise InvalidRecord("a footprint must be a JSON object")
    verify_document(signed, resolve)
    if signed.get("@context") != CONTEXT_URL:
        raise InvalidRecord([("$['@context']", f"must be {CONTEXT_URL}")])
    doc, _, _ = prepare(signed)
    preceding = list(doc.get("precedingPfIds") or [])
    return save_record(
        node,
        kind=KIND,
        direction="received",
        record_type="ProductFootprint",
        document=signed,
        issuer=issuer_of(signed),
        subjects=list(subjects),
        product_ids=doc["productIds"],
        received_from=received_from,
        version=chain_version(node, preceding, "received"),
        supersedes=preceding,
        ledger_extra={"productIds": doc["productIds"], "precedingPfIds": preceding},
    )


def rollup_sources(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The supplier footprints a roll-up used, from its provenance extension."""
    from schemas.pact.rollup import PROVENANCE_SCHEMA

    for extension in doc.get("extensions") or []:
        if isinstance(extension, dict) and extension.get("dataSchema") == PROVENANCE_SCHEMA:
            return list(extension.get("data", {}).get("sources", []))
    return []


def served(record: StoredRecord) -> dict[str, Any]:
    """The PACT document as served now: bare, with the status the node holds today."""
    doc = bare(record.document)
    if record.status:
        doc["status"] = record.status
    return doc


# -- ListFootprints filters ----------------------------------------------------------------


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def validity_period(doc: Mapping[str, Any]) -> tuple[datetime, datetime]:
    """PACT validity: explicit, else 3 years from the reference period end."""
    pcf = doc.get("pcf") or {}
    start_text = doc.get("validityPeriodStart") or pcf.get("referencePeriodEnd")
    start = _instant(start_text) if start_text else datetime.min.replace(tzinfo=UTC)
    end_text = doc.get("validityPeriodEnd")
    end = _instant(end_text) if end_text else start + timedelta(days=VALIDITY_YEARS_DAYS)
    return start, end


@dataclass
class FootprintFilter:
    """ListFootprints criteria: OR within a criterion, AND between criteria, case-insensitive."""

    product_ids: list[str] = field(default_factory=list)
    company_ids: list[str] = field(default_factory=list)
    geography: list[str] = field(default_factory=list)
    classification: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    valid_on: datetime | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None

    @classmethod
    def from_criteria(cls, data: Mapping[str, Any]) -> FootprintFilter:
        """From a RequestCreatedEvent's `data` (the same criteria as the query)."""

        def many(name: str) -> list[str]:
            value = data.get(name) or []
            return [value] if isinstance(value, str) else [str(v) for v in value]

        def one(name: str) -> datetime | None:
            return _instant(data[name]) if data.get(name) else None

        return cls(
            many("productId"),
            many("companyId"),
            many("geography"),
            many("classification"),
            many("status"),
            one("validOn"),
            one("validAfter"),
            one("validBefore"),
        )

    def matches(self, doc: Mapping[str, Any]) -> bool:
        def any_of(wanted: list[str], have: Iterable[Any]) -> bool:
            if not wanted:
                return True
            lowered = {str(h).lower() for h in have if h is not None}
            return any(w.lower() in lowered for w in wanted)

        pcf = doc.get("pcf") or {}
        places = (
            pcf.get("geographyRegionOrSubregion"),
            pcf.get("geographyCountry"),
            pcf.get("geographyCountrySubdivision"),
        )
        if not (
            any_of(self.product_ids, doc.get("productIds") or [])
            and any_of(self.company_ids, doc.get("companyIds") or [])
            and any_of(self.geography, places)
            and any_of(self.classification, doc.get("productClassifications") or [])
            and any_of(self.status, [doc.get("status")])
        ):
            return False
        if self.valid_on or self.valid_after or self.valid_before:
            start, end = validity_period(doc)
            if self.valid_on and not start <= self.valid_on <= end:
                return False
            if self.valid_after and not start > self.valid_after:
                return False
            if self.valid_before and not end < self.valid_before:
                return False
        return True


def issued_footprints(node: Node) -> list[StoredRecord]:
    return list_records(node, KIND, "issued")
