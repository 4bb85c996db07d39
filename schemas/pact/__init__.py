"""PACT product carbon footprints: v3.0 validation and model, v2.x conversion, BOM roll-up."""

from schemas.pact.model import ProductFootprint, parse_footprint
from schemas.pact.v2 import ConversionReport, convert_v2_to_v3
from schemas.pact.validation import (
    Finding,
    ValidationReport,
    validate_component,
    validate_footprint,
)

CONTEXT_URL = "https://w3id.org/tracespace/contexts/pact/v1"
"""Our JSON-LD context for PACT v3 (PACT publishes none): the file `context-v1.jsonld`."""

__all__ = [
    "CONTEXT_URL",
    "ConversionReport",
    "Finding",
    "ProductFootprint",
    "ValidationReport",
    "convert_v2_to_v3",
    "parse_footprint",
    "validate_component",
    "validate_footprint",
]
