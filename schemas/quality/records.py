"""Typed quality records (v1) with Decimal verdicts, their JSON form, and the Catena-X CoA."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from schemas.catenax.schema import problems as catenax_problems
from schemas.errors import InvalidRecord
from schemas.pact.quantity import decimal_text

CONTEXT_URL = "https://w3id.org/tracespace/contexts/quality/v1"
KINDS = ("InspectionResult", "CertificateOfAnalysis", "QualityNotification", "QualityInvestigation")


@cache
def _validator(kind: str) -> Draft202012Validator:
    text = resources.files(__package__).joinpath("quality-v1.schema.json").read_text("utf-8")
    schema = json.loads(text)
    return Draft202012Validator(
        {"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}, format_checker=FormatChecker()
    )


def validate_record(doc: Any) -> None:
    """Raise InvalidRecord (with JSON paths) unless `doc` is a valid v1 quality record."""
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind not in KINDS:
        raise InvalidRecord([("$.type", f"must be one of {', '.join(KINDS)}")])
    found = sorted({(e.json_path, e.message) for e in _validator(kind).iter_errors(doc)})
    if found:
        raise InvalidRecord(found)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class InspectionResult:
    """One measured characteristic against nominal -tolerance_minus/+tolerance_plus."""

    subject: tuple[str, ...]
    characteristic: str
    nominal: Decimal
    tolerance_minus: Decimal
    tolerance_plus: Decimal
    measured: Decimal
    unit: str
    measured_at: datetime
    gauge: str | None = None
    operator: str | None = None
    machine: str | None = None
    material: str | None = None
    method: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.tolerance_minus < 0 or self.tolerance_plus < 0:
            raise InvalidRecord([("$.toleranceMinus", "tolerances are non-negative magnitudes")])

    @property
    def lower_limit(self) -> Decimal:
        return self.nominal - self.tolerance_minus

    @property
    def upper_limit(self) -> Decimal:
        return self.nominal + self.tolerance_plus

    @property
    def verdict(self) -> str:
        """ "pass" when the measured value lies within the limits, the limits included."""
        return "pass" if self.lower_limit <= self.measured <= self.upper_limit else "fail"

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": CONTEXT_URL,
            "v": 1,
            "type": "InspectionResult",
            "id": self.id,
            "subject": list(self.subject),
            "characteristic": self.characteristic,
            "nominal": decimal_text(self.nominal),
            "toleranceMinus": decimal_text(self.tolerance_minus),
            "tolerancePlus": decimal_text(self.tolerance_plus),
            "measured": decimal_text(self.measured),
            "unit": self.unit,
            "verdict": self.verdict,
            "measuredAt": _stamp(self.measured_at),
        }
        for name in ("gauge", "operator", "machine", "material", "method"):
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> InspectionResult:
        validate_record(doc)
        result = cls(
            id=doc["id"],
            subject=tuple(doc["subject"]),
            characteristic=doc["characteristic"],
            nominal=Decimal(doc["nominal"]),
            tolerance_minus=Decimal(doc["toleranceMinus"]),
            tolerance_plus=Decimal(doc["tolerancePlus"]),
            measured=Decimal(doc["measured"]),
            unit=doc["unit"],
            measured_at=datetime.fromisoformat(doc["measuredAt"]),
            **{k: doc.get(k) for k in ("gauge", "operator", "machine", "material", "method")},
        )
        if result.verdict != doc["verdict"]:
            raise InvalidRecord(
                [("$.verdict", f"does not match the measurement ({result.verdict})")]
            )
        return result


@dataclass(frozen=True)
class CertificateOfAnalysis:
    """A supplier's certificate: inspection results for a batch, conform when all pass."""

    subject: tuple[str, ...]
    issued: datetime
    supplier: str
    customer: str
    manufacturer_part_id: str
    product_name: str
    results: tuple[InspectionResult, ...]
    customer_part_id: str | None = None
    production_date: date | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def conform(self) -> bool:
        return all(r.verdict == "pass" for r in self.results)

    def to_document(self) -> dict[str, Any]:
        product: dict[str, Any] = {
            "manufacturerPartId": self.manufacturer_part_id,
            "name": self.product_name,
        }
        if self.customer_part_id:
            product["customerPartId"] = self.customer_part_id
        if self.production_date:
            product["productionDate"] = self.production_date.isoformat()
        results = []
        for r in self.results:
            item = r.to_document()
            item.pop("@context")
            results.append(item)
        return {
            "@context": CONTEXT_URL,
            "v": 1,
            "type": "CertificateOfAnalysis",
            "id": self.id,
            "subject": list(self.subject),
            "issued": _stamp(self.issued),
            "supplier": self.supplier,
            "customer": self.customer,
            "product": product,
            "results": results,
            "conform": self.conform,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> CertificateOfAnalysis:
        validate_record(doc)
        results = tuple(InspectionResult.from_document(r) for r in doc["results"])
        product = doc["product"]
        made = product.get("productionDate")
        coa = cls(
            id=doc["id"],
            subject=tuple(doc["subject"]),
            issued=datetime.fromisoformat(doc["issued"]),
            supplier=doc["supplier"],
            customer=doc["customer"],
            manufacturer_part_id=product["manufacturerPartId"],
            product_name=product["name"],
            customer_part_id=product.get("customerPartId"),
            production_date=date.fromisoformat(made) if made else None,
            results=results,
        )
        if coa.conform != doc["conform"]:
            raise InvalidRecord([("$.conform", "does not match the results' verdicts")])
        return coa


@dataclass(frozen=True)
class QualityNotification:
    """A quality alert sent to a partner about the batches or serials in `subject`."""

    subject: tuple[str, ...]
    created: datetime
    sender: str
    recipient: str
    severity: str
    description: str
    status: str = "created"
    due_date: date | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_document(self) -> dict[str, Any]:
        doc = {
            "@context": CONTEXT_URL,
            "v": 1,
            "type": "QualityNotification",
            "id": self.id,
            "subject": list(self.subject),
            "created": _stamp(self.created),
            "sender": self.sender,
            "recipient": self.recipient,
            "severity": self.severity,
            "status": self.status,
            "description": self.description,
        }
        if self.due_date:
            doc["dueDate"] = self.due_date.isoformat()
        validate_record(doc)
        return doc


@dataclass(frozen=True)
class QualityInvestigation:
    """An 8D-style investigation opened from one or more notifications."""

    subject: tuple[str, ...]
    opened: datetime
    notifications: tuple[str, ...]
    status: str = "open"
    disciplines: dict[str, str] = field(default_factory=dict)
    root_cause: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": CONTEXT_URL,
            "v": 1,
            "type": "QualityInvestigation",
            "id": self.id,
            "subject": list(self.subject),
            "opened": _stamp(self.opened),
            "notifications": list(self.notifications),
            "status": self.status,
            "disciplines": dict(self.disciplines),
        }
        if self.root_cause:
            doc["rootCause"] = self.root_cause
        validate_record(doc)
        return doc


def parse_record(doc: Any) -> InspectionResult | CertificateOfAnalysis | dict[str, Any]:
    """Validate any v1 quality record; inspections and CoAs come back typed."""
    validate_record(doc)
    if doc["type"] == "InspectionResult":
        return InspectionResult.from_document(doc)
    if doc["type"] == "CertificateOfAnalysis":
        return CertificateOfAnalysis.from_document(doc)
    return doc


def coa_to_catenax(coa: CertificateOfAnalysis) -> dict[str, Any]:
    """Our CoA in the Catena-X certificate_of_analysis 2.0.0 shape, validated by its schema.

    Catena-X identifies the parties by BPNL, so `supplier` and `customer` must be BPNLs;
    subjects become `batchId` local identifiers.
    """
    made = coa.production_date or coa.issued.date()
    product_type: dict[str, Any] = {
        "manufacturerPartId": coa.manufacturer_part_id,
        "nameAtManufacturer": coa.product_name,
    }
    if coa.customer_part_id:
        product_type["customerPartId"] = coa.customer_part_id
    properties = []
    for r in coa.results:
        prop: dict[str, Any] = {
            "name": r.characteristic,
            "description": r.method or r.characteristic,
            "value": decimal_text(r.measured),
            "lowerLimit": decimal_text(r.lower_limit),
            "upperLimit": decimal_text(r.upper_limit),
            "dataType": "xsd:decimal",
            "unit": r.unit if ":" in r.unit else f"unit:{r.unit}",
        }
        if r.method:
            prop["method"] = [{"methodStandard": r.method, "methodDescription": r.method}]
        properties.append(prop)
    doc = {
        "customer": coa.customer,
        "supplier": coa.supplier,
        "certificateMetaData": {
            "issueDate": _stamp(coa.issued),
            "isConformWithSpecification": coa.conform,
        },
        "materialProperties": properties,
        "productTypeInformation": product_type,
        "productInstanceInformation": {
            "localIdentifiers": [{"key": "batchId", "value": s} for s in coa.subject],
            "manufacturingInformation": {"productionDate": made.isoformat()},
        },
    }
    found = catenax_problems(doc, "io.catenax.certificate_of_analysis:2.0.0")
    if found:
        raise InvalidRecord(found)
    return doc
