"""Catena-X aspect models: bundled schemas (CC-BY-4.0), PCF 9.0.0/10.0.0 <-> PACT v3 mapping."""

from schemas.catenax.pcf import LossReport, catenax_to_pact, pact_to_catenax
from schemas.catenax.pcf_versions import VERSIONS as PCF_VERSIONS
from schemas.catenax.schema import validate_aspect

__all__ = ["PCF_VERSIONS", "LossReport", "catenax_to_pact", "pact_to_catenax", "validate_aspect"]
