"""Reading PACT v2.x footprints and converting them to v3 with their unit semantics kept.

Unit rule, from the two schema texts: in v2.x every emission and carbon-content value is
"calculated per declared unit", the declared unit being one `declaredUnit` (one kilogram, one
liter...), while `unitaryProductAmount` only says how many declared units the product holds.
In v3 the declared unit is `declaredUnitAmount` times `declaredUnitOfMeasurement`, and every
value covers that whole amount. So a v3 value = v2 value x `unitaryProductAmount`, with
`declaredUnitAmount` = `unitaryProductAmount`. The same holds for `productMassPerDeclaredUnit`
(v2: mass of one unit; v3: mass of `declaredUnitAmount` units). Percentages and DQRs are not
per unit and are copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from schemas.errors import InvalidRecord
from schemas.pact.quantity import decimal_text, is_plain_decimal, number_to_decimal
from schemas.pact.schema import SPEC_VERSION_V3, V2
from schemas.pact.validation import check_official, check_strict

# v2 name -> v3 name, for per-declared-unit values that are scaled by unitaryProductAmount.
SCALED = {
    "pCfExcludingBiogenic": "pcfExcludingBiogenicUptake",
    "pCfIncludingBiogenic": "pcfIncludingBiogenicUptake",
    "fossilGhgEmissions": "fossilGhgEmissions",
    "fossilCarbonContent": "fossilCarbonContent",
    "biogenicCarbonContent": "biogenicCarbonContent",
    "dLucGhgEmissions": "landUseChangeGhgEmissions",
    "iLucGhgEmissions": "landCarbonLeakage",
    "biogenicCarbonWithdrawal": "biogenicCO2Uptake",
    "aircraftGhgEmissions": "aircraftGhgEmissions",
    "packagingGhgEmissions": "packagingGhgEmissions",
    "productMassPerDeclaredUnit": "productMassPerDeclaredUnit",
}
COPIED_PCF = (
    "referencePeriodStart",
    "referencePeriodEnd",
    "geographyRegionOrSubregion",
    "geographyCountry",
    "geographyCountrySubdivision",
    "boundaryProcessesDescription",
    "packagingEmissionsIncluded",
    "exemptedEmissionsDescription",
    "allocationRulesDescription",
    "secondaryEmissionFactorSources",
    "productOrSectorSpecificRules",
)
COPIED_TOP = (
    "id",
    "precedingPfIds",
    "created",
    "status",
    "validityPeriodStart",
    "validityPeriodEnd",
    "companyName",
    "companyIds",
    "productDescription",
    "productIds",
    "productClassifications",
    "productNameCompany",
    "comment",
    "extensions",
)
LOST = {
    "version": "v3 drops the version number: every change gets a new id",
    "updated": "v3 footprints are immutable; there is no update time",
    "statusComment": "no v3 field; v3 puts change explanations into comment",
    "pcf.landManagementGhgEmissions": "v3 splits land management into fossil emissions, "
    "biogenic emissions and removals; the v2 total cannot be split",
    "pcf.otherBiogenicGhgEmissions": "no v3 counterpart (biogenicNonCO2Emissions is narrower)",
    "pcf.characterizationFactors": "deprecated; superseded by ipccCharacterizationFactors",
    "pcf.biogenicAccountingMethodology": "removed in v3",
    "pcf.uncertaintyAssessmentDescription": "removed in v3",
    "pcf.dqi.coveragePercent": "removed in v3",
    "pcf.dqi.completenessDQR": "removed in v3",
    "pcf.dqi.reliabilityDQR": "removed in v3",
    "pcf.assurance.assurance": "v3 signals verification by the presence of the object",
    "pcf.assurance.level": "removed in v3",
    "pcf.assurance.boundary": "removed in v3",
}
STANDARDS = {
    "GHG Protocol Product standard": "GHGP-Product",
    "ISO Standard 14067": "ISO14067",
    "ISO Standard 14044": "ISO14040-44",
}
COVERAGE = {"product level": "product level"}
CPC_URN = "urn:pact:productclassification:un-cpc:"


@dataclass(frozen=True)
class ConversionNote:
    """One thing the conversion did: `kind` is renamed, scaled, retyped, derived or lost."""

    kind: str
    v2_path: str
    v3_path: str | None
    detail: str


@dataclass
class ConversionReport:
    """Everything `convert_v2_to_v3` changed, and whether the v3 result validates."""

    notes: list[ConversionNote] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[ConversionNote]:
        """The notes of one kind."""
        return [n for n in self.notes if n.kind == kind]

    @property
    def lost(self) -> list[str]:
        """v2 paths whose content has no place in v3."""
        return [n.v2_path for n in self.of_kind("lost")]


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, str):
        if not is_plain_decimal(value):
            raise InvalidRecord([(path, f"not a plain decimal string: {value!r}")])
        return Decimal(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_to_decimal(value)
    raise InvalidRecord([(path, f"not a number: {value!r}")])


def _walk_lost(doc: dict, report: ConversionReport) -> None:
    for dotted, reason in LOST.items():
        node: Any = doc
        for key in dotted.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            report.notes.append(ConversionNote("lost", "$." + dotted, None, reason))


def convert_v2_to_v3(doc: dict[str, Any]) -> tuple[dict[str, Any], ConversionReport]:
    """Convert a v2.x ProductFootprint to v3; the report lists every change and the problems
    the result still has (e.g. a required v3 field that v2 did not carry)."""
    report = ConversionReport()
    structural = [(f.path, f.message) for f in check_official(doc, V2) + check_strict(doc, V2)]
    if any(path == "$" or path == "$.pcf" for path, _ in structural) or "pcf" not in doc:
        raise InvalidRecord(structural or [("$.pcf", "required property is missing")])
    v2pcf: dict[str, Any] = doc["pcf"]
    amount = _decimal(v2pcf.get("unitaryProductAmount"), "$.pcf.unitaryProductAmount")
    if amount <= 0:
        raise InvalidRecord([("$.pcf.unitaryProductAmount", "must be greater than 0")])

    out: dict[str, Any] = {k: doc[k] for k in COPIED_TOP if k in doc}
    out["specVersion"] = SPEC_VERSION_V3
    report.notes.append(
        ConversionNote(
            "retyped", "$.specVersion", "$.specVersion", f"{doc.get('specVersion')} -> 3.0.0"
        )
    )
    cpc = doc.get("productCategoryCpc")
    if cpc:
        urn = CPC_URN + cpc
        classes = list(out.get("productClassifications", []))
        if urn not in classes:
            classes.append(urn)
        out["productClassifications"] = classes
        report.notes.append(
            ConversionNote(
                "renamed", "$.productCategoryCpc", "$.productClassifications", f"as {urn}"
            )
        )

    pcf: dict[str, Any] = {k: v2pcf[k] for k in COPIED_PCF if k in v2pcf}
    pcf["declaredUnitOfMeasurement"] = v2pcf.get("declaredUnit")
    pcf["declaredUnitAmount"] = decimal_text(amount)
    report.notes.append(
        ConversionNote("renamed", "$.pcf.declaredUnit", "$.pcf.declaredUnitOfMeasurement", "")
    )
    report.notes.append(
        ConversionNote("renamed", "$.pcf.unitaryProductAmount", "$.pcf.declaredUnitAmount", "")
    )
    with localcontext() as ctx:
        ctx.prec = 60
        for old, new in SCALED.items():
            if old in v2pcf:
                value = _decimal(v2pcf[old], f"$.pcf.{old}") * amount
                pcf[new] = decimal_text(value)
                report.notes.append(
                    ConversionNote(
                        "scaled",
                        f"$.pcf.{old}",
                        f"$.pcf.{new}",
                        f"per 1 {v2pcf.get('declaredUnit')} x {decimal_text(amount)}",
                    )
                )
    _derive_missing(v2pcf, pcf, amount, report)
    _copy_methodology(v2pcf, pcf, report)
    out["pcf"] = pcf
    _walk_lost(doc, report)
    result_findings = check_official(out) + check_strict(out)
    report.problems = [(f.path, f.message) for f in result_findings]
    return out, report


def _derive_missing(v2pcf: dict, pcf: dict, amount: Decimal, report: ConversionReport) -> None:
    if "pcfIncludingBiogenicUptake" not in pcf and "pcfExcludingBiogenicUptake" in pcf:
        # v3 requires it; its x-note defines it as the excluding value plus the uptake.
        uptake = Decimal(pcf.get("biogenicCO2Uptake", "0"))
        pcf["pcfIncludingBiogenicUptake"] = decimal_text(
            Decimal(pcf["pcfExcludingBiogenicUptake"]) + uptake
        )
        report.notes.append(
            ConversionNote(
                "derived",
                "$.pcf.pCfExcludingBiogenic",
                "$.pcf.pcfIncludingBiogenicUptake",
                "excluding + biogenicCO2Uptake (v2 had no pCfIncludingBiogenic)",
            )
        )
    if "productMassPerDeclaredUnit" not in pcf and v2pcf.get("declaredUnit") == "kilogram":
        pcf["productMassPerDeclaredUnit"] = decimal_text(amount)
        report.notes.append(
            ConversionNote(
                "derived",
                "$.pcf.declaredUnit",
                "$.pcf.productMassPerDeclaredUnit",
                "1 kg per kilogram x declaredUnitAmount",
            )
        )


def _copy_methodology(v2pcf: dict, pcf: dict, report: ConversionReport) -> None:
    factors = v2pcf.get("ipccCharacterizationFactorsSources")
    if factors is None and v2pcf.get("characterizationFactors"):
        factors = [v2pcf["characterizationFactors"]]
    if factors is not None:
        pcf["ipccCharacterizationFactors"] = list(factors)
        report.notes.append(
            ConversionNote(
                "renamed",
                "$.pcf.ipccCharacterizationFactorsSources",
                "$.pcf.ipccCharacterizationFactors",
                "",
            )
        )
    standards = list(v2pcf.get("crossSectoralStandards", []))
    for old in v2pcf.get("crossSectoralStandardsUsed", []):
        new = STANDARDS.get(old, old)
        if new not in standards:
            standards.append(new)
    if standards:
        pcf["crossSectoralStandards"] = standards
        report.notes.append(
            ConversionNote(
                "renamed",
                "$.pcf.crossSectoralStandardsUsed",
                "$.pcf.crossSectoralStandards",
                "names mapped to the v3 codes",
            )
        )
    for name in ("exemptedEmissionsPercent", "primaryDataShare"):
        if name in v2pcf:
            pcf[name] = decimal_text(_decimal(v2pcf[name], f"$.pcf.{name}"))
            report.notes.append(
                ConversionNote(
                    "retyped", f"$.pcf.{name}", f"$.pcf.{name}", "JSON number -> decimal string"
                )
            )
    dqi = v2pcf.get("dqi")
    if isinstance(dqi, dict):
        keys = ("technologicalDQR", "geographicalDQR", "temporalDQR")
        if all(k in dqi for k in keys):
            pcf["dqi"] = {k: decimal_text(_decimal(dqi[k], f"$.pcf.dqi.{k}")) for k in keys}
            report.notes.append(
                ConversionNote(
                    "retyped",
                    "$.pcf.dqi",
                    "$.pcf.dqi",
                    "numbers -> decimal strings; the v2 1..3 ratings are copied unchanged onto the "
                    "v3 1..5 scale (no official mapping exists)",
                )
            )
    assurance = v2pcf.get("assurance")
    if isinstance(assurance, dict) and assurance.get("assurance") is True:
        verification = {
            k: assurance[k]
            for k in ("providerName", "completedAt", "standardName", "comments")
            if k in assurance
        }
        coverage = assurance.get("coverage")
        if coverage in COVERAGE:
            verification["coverage"] = COVERAGE[coverage]
        elif coverage is not None:
            report.notes.append(
                ConversionNote(
                    "lost",
                    "$.pcf.assurance.coverage",
                    None,
                    f"{coverage!r} has no v3 coverage value",
                )
            )
        pcf["verification"] = verification
        report.notes.append(ConversionNote("renamed", "$.pcf.assurance", "$.pcf.verification", ""))
