"""Quality records of our own (v1): inspections, certificates of analysis, notifications."""

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
