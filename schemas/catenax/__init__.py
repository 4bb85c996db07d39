"""Catena-X aspect models: bundled schemas (CC-BY-4.0), PCF 9.0.0 <-> PACT v3 mapping."""

from schemas.catenax.pcf import LossReport, catenax_to_pact, pact_to_catenax
from schemas.catenax.schema import validate_aspect

__all__ = ["LossReport", "catenax_to_pact", "pact_to_catenax", "validate_aspect"]
