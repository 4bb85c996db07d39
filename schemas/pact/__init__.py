"""PACT product carbon footprints: v3.0 validation and model, v2.x conversion, BOM roll-up."""

from pathlib import Path

from schemas.contexts import register_context
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
CONTEXT_SHA256 = "bc7f3033e6e09ff4482e842544067173828e7765bbf1d44eaff1f421fd313326"

register_context(CONTEXT_URL, Path(__file__).with_name("context-v1.jsonld"), CONTEXT_SHA256)

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
