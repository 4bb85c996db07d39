"""Quality records of our own (v1): inspections, certificates of analysis, notifications."""

from pathlib import Path

from schemas.contexts import register_context
from schemas.quality.records import (
    CONTEXT_URL,
    CertificateOfAnalysis,
    InspectionResult,
    QualityInvestigation,
    QualityNotification,
    coa_to_catenax,
    parse_record,
    validate_record,
)

CONTEXT_SHA256 = "ca7e83b07f5a11ccee70afbbcbd5149240a25ad74d883e809ffbe63438c9c643"

register_context(CONTEXT_URL, Path(__file__).with_name("context-v1.jsonld"), CONTEXT_SHA256)

__all__ = [
    "CONTEXT_URL",
    "CertificateOfAnalysis",
    "InspectionResult",
    "QualityInvestigation",
    "QualityNotification",
    "coa_to_catenax",
    "parse_record",
    "validate_record",
]
