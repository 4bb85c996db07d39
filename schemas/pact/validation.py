"""Three-layer validation of PACT footprints: official schema, strict overlay, methodology."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from schemas.errors import InvalidRecord, json_path
from schemas.pact.quantity import is_plain_decimal
from schemas.pact.schema import V2, V3, bundle, official_validator, spec_version_of

# RFC 8141: "urn:" NID ":" NSS, the NID being 2..32 letters, digits or inner hyphens.
URN_PATTERN = re.compile(r"urn:[a-z0-9][a-z0-9-]{0,30}[a-z0-9]:\S+", re.ASCII | re.IGNORECASE)

# Component schemas that describe a closed record; DataModelExtension.data stays open because
# its shape is defined by the extension's own schema.
CLOSED_COMPONENTS = frozenset(
    {
        "ProductFootprint",
        "CarbonFootprint",
        "DataModelExtension",
        "ProductOrSectorSpecificRule",
        "EmissionFactorSource",
        "EmissionFactorDatabases",
        "DataQualityIndicators",
        "Verification",
        "Assurance",
    }
)
SIGN_RULES = {">= 0": lambda d: d >= 0, "<= 0": lambda d: d <= 0, "> 0": lambda d: d > 0}
OVERLAY_KEYWORDS = frozenset({"additionalProperties", "x-plain-decimal", "x-urn", "x-comment"})

# v3 x-note of pcfExcludingBiogenicUptake: the seven terms whose sum it is.
EXCLUDING_TERMS = (
    "fossilGhgEmissions",
    "landUseChangeGhgEmissions",
    "landManagementBiogenicCO2Emissions",
    "landManagementBiogenicCO2Removals",
    "technologicalCO2Removals",
    "ccsTechnologicalCO2Capture",
    "biogenicNonCO2Emissions",
)
THREE_YEARS_DAYS = 3 * 365 + 1


class Finding(NamedTuple):
    """One validation result: where (JSONPath), what, and which layer (1, 2 or 3) found it."""

    path: str
    message: str
    layer: int


@dataclass
class ValidationReport:
    """Errors (layers 1 and 2) make a footprint unacceptable; warnings (layer 3) do not."""

    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise InvalidRecord carrying every error's JSON path and message."""
        if self.errors:
            raise InvalidRecord([(f.path, f.message) for f in self.errors])


def _findings(errors: Iterable[ValidationError], layer: int) -> Iterator[Finding]:
    for error in errors:
        where = error.json_path
        if error.validator == "required":
            missing = [p for p in error.validator_value if p not in error.instance]
            for name in missing:
                yield Finding(json_path(where, name), "required property is missing", layer)
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            for name in error.instance:
                if name not in known:
                    yield Finding(json_path(where, name), "unknown property", layer)
        else:
            yield Finding(where, error.message, layer)


def check_official(doc: Any, version: str | None = None, component: str = "ProductFootprint"):
    """Layer 1: findings of the official PACT schema, formats included."""
    version = version or spec_version_of(doc)
    validator = official_validator(version, component)
    return sorted(set(_findings(validator.iter_errors(doc), 1)))


def _plain_decimal(validator, enabled, instance, schema):
    if enabled and isinstance(instance, str) and not is_plain_decimal(instance):
        yield ValidationError(
            f"{instance!r} is not a plain decimal string "
            "(ASCII digits, optional leading '-', optional fraction; no exponent, unit or space)"
        )


def _urn(validator, enabled, instance, schema):
    if enabled and isinstance(instance, str) and not URN_PATTERN.fullmatch(instance):
        yield ValidationError(f"{instance!r} is not an RFC 8141 URN (urn:<NID>:<NSS>)")


def _sign(validator, comment, instance, schema):
    rule = SIGN_RULES.get(comment) if isinstance(comment, str) else None
    if rule and is_plain_decimal(instance) and not rule(Decimal(instance)):
        yield ValidationError(f"{instance} violates the sign rule '{comment}' of the PACT spec")


StrictValidator = validators.extend(
    Draft202012Validator,
    {"x-plain-decimal": _plain_decimal, "x-urn": _urn, "x-comment": _sign},
)


def _mark(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("format") == "decimal":
            node["x-plain-decimal"] = True
        if node.get("format") == "urn":
            node["x-urn"] = True
        for value in node.values():
            _mark(value)
    elif isinstance(node, list):
        for value in node:
            _mark(value)


@cache
def _strict_validator(version: str, component: str) -> Draft202012Validator:
    defs = copy.deepcopy(bundle(version)["$defs"])
    _mark(defs)
    for name in CLOSED_COMPONENTS & defs.keys():
        defs[name]["additionalProperties"] = False
    if version == V2:
        # v2.x describes landManagementGhgEmissions as "emissions and removals" while its
        # x-comment says '>= 0'; the description wins, so no sign rule there.
        defs["CarbonFootprint"]["properties"]["landManagementGhgEmissions"].pop("x-comment")
    schema = {"$ref": f"#/$defs/{component}", "$defs": defs}
    return StrictValidator(schema, format_checker=FormatChecker())


def _get(doc: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _dec(value: Any) -> Decimal | None:
    return Decimal(value) if is_plain_decimal(value) else None


def _range(path: str, value: Any, low: int, high: int, what: str, layer: int):
    number = _dec(value) if isinstance(value, str) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = Decimal(repr(value))
    if number is not None and not low <= number <= high:
        yield Finding(path, f"{what} must be between {low} and {high} inclusive", layer)


def _semantic_overlay(doc: Any, version: str) -> Iterator[Finding]:
    if not isinstance(doc, dict):
        return
    pf_id = doc.get("id")
    preceding = doc.get("precedingPfIds")
    if isinstance(preceding, list) and pf_id in preceding:
        yield Finding("$.precedingPfIds", "a footprint cannot precede itself", 2)
    pcf = doc.get("pcf")
    if not isinstance(pcf, dict):
        return
    if pcf.get("packagingEmissionsIncluded") is False and "packagingGhgEmissions" in pcf:
        yield Finding(
            "$.pcf.packagingGhgEmissions",
            "must be undefined when packagingEmissionsIncluded is false",
            2,
        )
    if version == V3:
        if pcf.get("ccsTechnologicalCO2CaptureIncluded") is False:
            for name in (
                "ccsTechnologicalCO2Capture",
                "technologicalCO2Removals",
                "technologicalCO2CaptureOrigin",
            ):
                if name in pcf:
                    yield Finding(
                        f"$.pcf.{name}",
                        "must be undefined when ccsTechnologicalCO2CaptureIncluded is false",
                        2,
                    )
        dqi = pcf.get("dqi")
        if isinstance(dqi, dict):
            for name in ("technologicalDQR", "geographicalDQR", "temporalDQR"):
                yield from _range(f"$.pcf.dqi.{name}", dqi.get(name), 1, 5, name, 2)
        for name in ("primaryDataShare", "exemptedEmissionsPercent"):
            yield from _range(f"$.pcf.{name}", pcf.get(name), 0, 100, name, 2)
    rules = pcf.get("productOrSectorSpecificRules")
    if isinstance(rules, list):
        for i, rule in enumerate(rules):
            other = isinstance(rule, dict) and rule.get("operator") == "Other"
            if other and not rule.get("otherOperatorName"):
                yield Finding(
                    f"$.pcf.productOrSectorSpecificRules[{i}].otherOperatorName",
                    "required when operator is 'Other'",
                    2,
                )


def check_strict(doc: Any, version: str | None = None) -> list[Finding]:
    """Layer 2: what the official schema misses (decimal syntax, signs, URNs, closed records)."""
    version = version or spec_version_of(doc)
    validator = _strict_validator(version, "ProductFootprint")
    overlay = (e for e in validator.iter_errors(doc) if e.validator in OVERLAY_KEYWORDS)
    found = set(_findings(overlay, 2)) | set(_semantic_overlay(doc, version))
    return sorted(found)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_methodology(doc: Any, now: datetime | None = None) -> list[Finding]:
    """Layer 3 (v3): sum identities, data-quality fields and reference period, as warnings."""
    now = now or datetime.now(UTC)
    pcf = _get(doc, "pcf")
    if not isinstance(pcf, dict):
        return []
    found: list[Finding] = []
    excluding = _dec(pcf.get("pcfExcludingBiogenicUptake"))
    including = _dec(pcf.get("pcfIncludingBiogenicUptake"))
    terms = [_dec(pcf.get(name)) or Decimal(0) for name in EXCLUDING_TERMS]
    if excluding is not None and sum(terms) != excluding:
        found.append(
            Finding(
                "$.pcf.pcfExcludingBiogenicUptake",
                f"{excluding} differs from the sum of its x-note terms ({sum(terms)})",
                3,
            )
        )
    uptake = _dec(pcf.get("biogenicCO2Uptake")) or Decimal(0)
    if excluding is not None and including is not None and excluding + uptake != including:
        found.append(
            Finding(
                "$.pcf.pcfIncludingBiogenicUptake",
                f"{including} differs from pcfExcludingBiogenicUptake + biogenicCO2Uptake "
                f"({excluding + uptake})",
                3,
            )
        )
    fossil = _dec(pcf.get("fossilGhgEmissions"))
    land_fossil = _dec(pcf.get("landManagementFossilGhgEmissions"))
    if fossil is not None and land_fossil is not None and land_fossil > fossil:
        found.append(
            Finding(
                "$.pcf.landManagementFossilGhgEmissions",
                "exceeds fossilGhgEmissions, which already includes it",
                3,
            )
        )
    if "dqi" not in pcf:
        found.append(Finding("$.pcf.dqi", "data quality indicators missing (SHALL by 2027)", 3))
    if "primaryDataShare" not in pcf:
        found.append(Finding("$.pcf.primaryDataShare", "primary data share missing (SHALL)", 3))
    factors = pcf.get("ipccCharacterizationFactors")
    if isinstance(factors, list) and factors and "AR6" not in factors:
        found.append(
            Finding(
                "$.pcf.ipccCharacterizationFactors", "the latest IPCC factors (AR6) are not used", 3
            )
        )
    if pcf.get("packagingEmissionsIncluded") is True and "packagingGhgEmissions" not in pcf:
        found.append(
            Finding("$.pcf.packagingGhgEmissions", "should be given when packaging is included", 3)
        )
    found.extend(_period_findings(doc, pcf, now))
    return found


def _period_findings(doc: dict, pcf: dict, now: datetime) -> Iterator[Finding]:
    start = _when(pcf.get("referencePeriodStart"))
    end = _when(pcf.get("referencePeriodEnd"))
    if start and end and start >= end:
        yield Finding("$.pcf.referencePeriodEnd", "reference period ends before it starts", 3)
    if end and end > now:
        yield Finding("$.pcf.referencePeriodEnd", "reference period ends in the future", 3)
    if start and start > now:
        yield Finding("$.pcf.referencePeriodStart", "reference period starts in the future", 3)
    valid_from = _when(doc.get("validityPeriodStart"))
    valid_to = _when(doc.get("validityPeriodEnd"))
    if valid_from and end and valid_from < end:
        yield Finding(
            "$.validityPeriodStart", "validity starts before the reference period ends", 3
        )
    if valid_from and valid_to and valid_to <= valid_from:
        yield Finding("$.validityPeriodEnd", "validity period ends before it starts", 3)
    if valid_to and end and (valid_to - end).days > THREE_YEARS_DAYS:
        yield Finding(
            "$.validityPeriodEnd", "validity exceeds 3 years after the reference period", 3
        )


def validate_footprint(doc: Any, *, now: datetime | None = None) -> ValidationReport:
    """All three layers for a v3 (or v2.x, by `specVersion`) ProductFootprint."""
    version = spec_version_of(doc)
    errors = check_official(doc, version) + check_strict(doc, version)
    warnings = check_methodology(doc, now) if version == V3 else []
    return ValidationReport(errors=errors, warnings=warnings)


def validate_component(doc: Any, component: str, version: str = V3) -> ValidationReport:
    """Layer 1 for another PACT component (an Error, or a CloudEvent such as PublishedEvent)."""
    return ValidationReport(errors=check_official(doc, version, component))
