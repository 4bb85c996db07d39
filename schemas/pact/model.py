"""Typed PACT v3 ProductFootprint model, with `Decimal` for every quantity."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.errors import InvalidRecord
from schemas.pact.schema import V3, spec_version_of
from schemas.pact.validation import validate_footprint


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class DataQualityIndicators:
    """Data quality ratings, each between 1 (best) and 5."""

    technological_dqr: Decimal
    geographical_dqr: Decimal
    temporal_dqr: Decimal


@dataclass(frozen=True)
class CarbonFootprint:
    """The `pcf` object: every emission value is kgCO2e per `declared_unit_amount` units."""

    declared_unit_of_measurement: str
    declared_unit_amount: Decimal
    product_mass_per_declared_unit: Decimal
    reference_period_start: datetime
    reference_period_end: datetime
    pcf_excluding_biogenic_uptake: Decimal
    pcf_including_biogenic_uptake: Decimal
    fossil_ghg_emissions: Decimal
    fossil_carbon_content: Decimal
    ipcc_characterization_factors: tuple[str, ...]
    cross_sectoral_standards: tuple[str, ...]
    exempted_emissions_percent: Decimal
    geography_region_or_subregion: str | None = None
    geography_country: str | None = None
    geography_country_subdivision: str | None = None
    boundary_processes_description: str | None = None
    biogenic_carbon_content: Decimal | None = None
    recycled_carbon_content: Decimal | None = None
    land_use_change_ghg_emissions: Decimal | None = None
    land_carbon_leakage: Decimal | None = None
    land_management_fossil_ghg_emissions: Decimal | None = None
    land_management_biogenic_co2_emissions: Decimal | None = None
    land_management_biogenic_co2_removals: Decimal | None = None
    biogenic_co2_uptake: Decimal | None = None
    biogenic_non_co2_emissions: Decimal | None = None
    land_area_occupation: Decimal | None = None
    aircraft_ghg_emissions: Decimal | None = None
    packaging_emissions_included: bool | None = None
    packaging_ghg_emissions: Decimal | None = None
    packaging_biogenic_carbon_content: Decimal | None = None
    outbound_logistics_ghg_emissions: Decimal | None = None
    ccs_technological_co2_capture_included: bool | None = None
    ccs_technological_co2_capture: Decimal | None = None
    technological_co2_capture_origin: str | None = None
    technological_co2_removals: Decimal | None = None
    ccu_carbon_content: Decimal | None = None
    ccu_calculation_approach: str | None = None
    ccu_credit_certification: str | None = None
    product_or_sector_specific_rules: tuple[dict[str, Any], ...] = ()
    exempted_emissions_description: str | None = None
    allocation_rules_description: str | None = None
    secondary_emission_factor_sources: tuple[dict[str, str], ...] = ()
    primary_data_share: Decimal | None = None
    dqi: DataQualityIndicators | None = None
    verification: dict[str, Any] | None = None

    def per_declared_unit(self, value: Decimal) -> Decimal:
        """Scale a value of this footprint to one unit of `declared_unit_of_measurement`."""
        return value / self.declared_unit_amount


@dataclass(frozen=True)
class ProductFootprint:
    """A PACT v3 ProductFootprint (an immutable version; updates get a new id)."""

    id: str
    spec_version: str
    created: datetime
    status: str
    company_name: str
    company_ids: tuple[str, ...]
    product_description: str
    product_ids: tuple[str, ...]
    product_name_company: str
    pcf: CarbonFootprint
    preceding_pf_ids: tuple[str, ...] = ()
    validity_period_start: datetime | None = None
    validity_period_end: datetime | None = None
    product_classifications: tuple[str, ...] = ()
    comment: str | None = None
    extensions: tuple[dict[str, Any], ...] = field(default_factory=tuple)


# JSON names whose snake_case spelling differs from the mechanical conversion.
_JSON_NAME = {
    "land_management_biogenic_co2_emissions": "landManagementBiogenicCO2Emissions",
    "land_management_biogenic_co2_removals": "landManagementBiogenicCO2Removals",
    "biogenic_co2_uptake": "biogenicCO2Uptake",
    "biogenic_non_co2_emissions": "biogenicNonCO2Emissions",
    "ccs_technological_co2_capture_included": "ccsTechnologicalCO2CaptureIncluded",
    "ccs_technological_co2_capture": "ccsTechnologicalCO2Capture",
    "technological_co2_capture_origin": "technologicalCO2CaptureOrigin",
    "technological_co2_removals": "technologicalCO2Removals",
    "technological_dqr": "technologicalDQR",
    "geographical_dqr": "geographicalDQR",
    "temporal_dqr": "temporalDQR",
}


def _json_name(attr: str) -> str:
    if attr in _JSON_NAME:
        return _JSON_NAME[attr]
    head, *rest = attr.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _convert(value: Any, annotation: str) -> Any:
    if value is None:
        return None
    if "Decimal" in annotation:
        return Decimal(value)
    if "datetime" in annotation:
        return datetime.fromisoformat(value)
    if annotation.startswith("tuple"):
        return tuple(value)
    return value


def _build(cls: type, data: dict[str, Any]) -> Any:
    kwargs = {}
    for f in fields(cls):
        name = _json_name(f.name)
        if name not in data:
            continue
        if f.name == "pcf":
            kwargs[f.name] = _build(CarbonFootprint, data[name])
        elif f.name == "dqi":
            kwargs[f.name] = _build(DataQualityIndicators, data[name])
        else:
            kwargs[f.name] = _convert(data[name], str(f.type))
    return cls(**kwargs)


def parse_footprint(doc: Any) -> ProductFootprint:
    """Validate (layers 1 and 2) and parse a v3 footprint; raises InvalidRecord on errors."""
    if spec_version_of(doc) != V3:
        raise InvalidRecord(
            [("$.specVersion", "not a v3 footprint: convert it with convert_v2_to_v3")]
        )
    validate_footprint(doc).raise_for_errors()
    return _build(ProductFootprint, doc)
