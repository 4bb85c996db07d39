"""Mapping between Catena-X PCF aspects (9.0.0, 10.0.0) and PACT v3 footprints, reporting
every loss.

Both models express emissions per `declaredUnitAmount` of the declared unit (the Catena-X text
says the PCF is based on the declared unit amount rather than one unit), so values map 1:1;
Catena-X JSON numbers become PACT decimal strings and back. Catena-X nests every group in a
one-element array; only the first element of each group is mapped, and any further element is
reported as lost. The two versions share this structure; where they differ is listed in
`schemas.catenax.pcf_versions`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from schemas.catenax.pcf_versions import DEFAULT_VERSION, PcfVersion, pcf_version, version_of
from schemas.catenax.schema import problems as catenax_problems
from schemas.errors import InvalidRecord, json_path
from schemas.pact.quantity import decimal_text, is_plain_decimal, number_to_decimal
from schemas.pact.schema import SPEC_VERSION_V3
from schemas.pact.validation import check_official, check_strict

UUID_URN = "urn:uuid:"
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

PRODUCT = ("companyAndProductInformation", "productInformation")
COMPANY = ("companyAndProductInformation", "companyInformation")
PRODUCTION = ("productLifeCycleStagesAndEmissions", "productionStage")
PACKAGING = ("productLifeCycleStagesAndEmissions", "packagingStage")
DISTRIBUTION = ("productLifeCycleStagesAndEmissions", "distributionStage")
QUALITY = ("pcfAssessmentAndMethodology", "dataSourcesAndQuality")
INFO = ("pcfAssessmentAndMethodology", "pcfAssessmentInformation")
TECHNOLOGY = (*INFO, "technology")
IDS = (*INFO, "idAndVersion")
BOUNDARY = (*INFO, "boundarySpecifications")
GEOGRAPHY = (*INFO, "geography")
TIME = (*INFO, "time")
METHODOLOGY = ("pcfAssessmentAndMethodology", "pcfMethodology")
STANDARDS = (*METHODOLOGY, "standards")
GWP = (*METHODOLOGY, "gwpCharacterizationFactorDetails")
MASS_BALANCING = (*METHODOLOGY, "massBalancingInformation")
ALLOCATION = (*METHODOLOGY, "allocationInForeground")

# (Catena-X group, Catena-X name, PACT path, numeric?) for fields that map one to one.
DIRECT: list[tuple[tuple[str, ...], str, tuple[str, ...], bool]] = [
    (PRODUCT, "productNameCompany", ("productNameCompany",), False),
    (PRODUCT, "productIds", ("productIds",), False),
    (PRODUCT, "productClassifications", ("productClassifications",), False),
    (PRODUCT, "productDescription", ("productDescription",), False),
    (PRODUCT, "declaredUnitOfMeasurement", ("pcf", "declaredUnitOfMeasurement"), False),
    (PRODUCT, "declaredUnitAmount", ("pcf", "declaredUnitAmount"), True),
    (PRODUCT, "productMassPerDeclaredUnit", ("pcf", "productMassPerDeclaredUnit"), True),
    (COMPANY, "companyName", ("companyName",), False),
    (COMPANY, "companyIds", ("companyIds",), False),
    (("general",), "comment", ("comment",), False),
    (("carbonContent",), "fossilCarbonContent", ("pcf", "fossilCarbonContent"), True),
    (("carbonContent",), "biogenicCarbonContent", ("pcf", "biogenicCarbonContent"), True),
    (("carbonContent",), "recycledCarbonContent", ("pcf", "recycledCarbonContent"), True),
    (
        ("carbonContent",),
        "packagingBiogenicCarbonContent",
        ("pcf", "packagingBiogenicCarbonContent"),
        True,
    ),
    (QUALITY, "primaryDataShare", ("pcf", "primaryDataShare"), True),
    (
        TECHNOLOGY,
        "ccsTechnologicalCO2CaptureIncluded",
        ("pcf", "ccsTechnologicalCO2CaptureIncluded"),
        False,
    ),
    (TECHNOLOGY, "boundaryProcessesDescription", ("pcf", "boundaryProcessesDescription"), False),
    (BOUNDARY, "exemptedEmissionsPercent", ("pcf", "exemptedEmissionsPercent"), True),
    (BOUNDARY, "exemptedEmissionsDescription", ("pcf", "exemptedEmissionsDescription"), False),
    (TIME, "referencePeriodStart", ("pcf", "referencePeriodStart"), False),
    (TIME, "referencePeriodEnd", ("pcf", "referencePeriodEnd"), False),
    (TIME, "created", ("created",), False),
    (TIME, "validityPeriodStart", ("validityPeriodStart",), False),
    (TIME, "validityPeriodEnd", ("validityPeriodEnd",), False),
    (IDS, "status", ("status",), False),
    (PACKAGING, "packagingEmissionsIncluded", ("pcf", "packagingEmissionsIncluded"), False),
    (ALLOCATION, "allocationRulesDescription", ("pcf", "allocationRulesDescription"), False),
] + [
    (PRODUCTION, name, ("pcf", name), True)
    for name in (
        "pcfExcludingBiogenicUptake",
        "pcfIncludingBiogenicUptake",
        "fossilGhgEmissions",
        "biogenicNonCO2Emissions",
        "biogenicCO2Uptake",
        "landUseChangeGhgEmissions",
        "landManagementBiogenicCO2Emissions",
        "landManagementBiogenicCO2Removals",
        "aircraftGhgEmissions",
    )
]
STANDARD_TO_PACT = {
    "ISO 14067": "ISO14067",
    "ISO 14040-44": "ISO14040-44",
    "GHG Protocol Product": "GHGP-Product",
    "PAS 2050": "PAS2050",
    "PEF": "PEF",
    "Pathfinder v1": "PACT-1.0",
    "PACT-1.0": "PACT-1.0",
    "Pathfinder v2": "PACT-2.0",
    "PACT-2.0": "PACT-2.0",
    "Pathfinder v3": "PACT-3.0",
    "PACT-3.0": "PACT-3.0",
}
STANDARD_TO_CX = {
    "ISO14067": "ISO 14067",
    "ISO14040-44": "ISO 14040-44",
    "GHGP-Product": "GHG Protocol Product",
    "PAS2050": "PAS 2050",
    "PEF": "PEF",
    "PACT-1.0": "PACT-1.0",
    "PACT-2.0": "PACT-2.0",
    "PACT-3.0": "PACT-3.0",
}
ATTESTATION_TO_COVERAGE = {
    "PCF Program Certification": "PCF program",
    "PCF Product Verification": "product level",
}


@dataclass(frozen=True)
class FieldNote:
    """A field of the source that was lost, or a target field that had to be derived."""

    path: str
    reason: str


@dataclass
class LossReport:
    """What a mapping could not carry over (`lost`), what it made up (`derived`), and the
    schema problems the result still has against the target model (`problems`)."""

    lost: list[FieldNote] = field(default_factory=list)
    derived: list[FieldNote] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def lost_paths(self) -> list[str]:
        """The source JSON paths that did not survive the mapping."""
        return [note.path for note in self.lost]


def _path(keys: tuple[str | int, ...]) -> str:
    out = "$"
    for key in keys:
        out = json_path(out, key)
    return out


def _leaves(node: Any, keys: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict):
        if not node:
            return [keys]
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*keys, k))]
    if isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*keys, i))]
    return [keys]


def _at(node: Any, keys: tuple[str | int, ...]) -> Any:
    """The value at `keys`, or None when the path does not exist."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or len(node) <= key:
                return None
        elif not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


class _Reader:
    """Reads a source document and remembers which parts were used."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.used: set[tuple[str | int, ...]] = set()

    def get(self, *keys: str | int) -> Any:
        node = _at(self.doc, keys)
        if node is not None:
            self.used.add(keys)
        return node

    def unused(self) -> list[tuple[str | int, ...]]:
        return [
            leaf
            for leaf in _leaves(self.doc)
            if not any(leaf[: len(used)] == used for used in self.used)
        ]


def _cx(group: tuple[str, ...], name: str | None = None) -> tuple[str | int, ...]:
    keys: list[str | int] = []
    for part in group:
        keys += [part, 0]
    return (*keys, name) if name else tuple(keys)


def _put(doc: dict[str, Any], keys: tuple[str | int, ...], value: Any) -> None:
    node: Any = doc
    for key, following in itertools.pairwise(keys):
        if isinstance(key, int):
            while len(node) <= key:
                node.append({})
            node = node[key]
        else:
            node = node.setdefault(key, [] if isinstance(following, int) else {})
    node[keys[-1]] = value


def _to_number(value: Any, path: str, report: LossReport) -> int | float:
    exact = Decimal(value)
    if exact == exact.to_integral_value():
        return int(exact)
    number = float(exact)
    if Decimal(repr(number)) != exact:
        report.derived.append(FieldNote(path, f"{value} rounded to the JSON number {number!r}"))
    return number


def catenax_to_pact(doc: dict[str, Any]) -> tuple[dict[str, Any], LossReport]:
    """Map a Catena-X PCF aspect to a PACT v3 footprint, with its LossReport.

    The aspect's `scopeOfPcfForm[0].specVersion` picks the version (9.0.0 or 10.0.0). Raise
    InvalidRecord, with the JSON path of every problem, for an unknown version or an aspect
    that does not satisfy its version's schema."""
    if not isinstance(doc, dict):
        raise InvalidRecord([("$", "a Catena-X PCF aspect must be a JSON object")])
    version = version_of(doc)
    found = catenax_problems(doc, version.model)
    if found:
        raise InvalidRecord(found)
    src, report, out = _Reader(doc), LossReport(), {"specVersion": SPEC_VERSION_V3}
    src.get(*_cx(("scopeOfPcfForm",), "specVersion"))
    scope = src.get(*_cx(("scopeOfPcfForm",), "partialFullPcf"))
    if scope not in (None, "Cradle-to-gate"):
        report.lost.append(
            FieldNote(
                "$.scopeOfPcfForm[0].partialFullPcf",
                f"PACT footprints are cradle-to-gate, not {scope}",
            )
        )
    for group, name, target, numeric in DIRECT:
        value = src.get(*_cx(group, name))
        if value is None:
            continue
        if numeric:
            value = decimal_text(number_to_decimal(value))
        _put(out, target, value)
    pf_id = src.get(*_cx(IDS, "id"))
    if isinstance(pf_id, str):
        out["id"] = pf_id.removeprefix(UUID_URN)
    if version.preceding_ids:
        _preceding_to_pact(src, out, report)
    if "productDescription" not in out:
        out["productDescription"] = ""
        report.derived.append(FieldNote("$.productDescription", "required by PACT; left empty"))
    pcf = out.setdefault("pcf", {})
    _geography_to_pact(src, pcf, report)
    _methodology_to_pact(src, pcf, report)
    _stages_to_pact(src, pcf, report)
    _attestation_to_pact(src, pcf, report)
    reasons = {
        "version": "a technical constant (0) in Catena-X; PACT v3 has no version",
        "packagingPcfExcludingBiogenicUptake": "mapped only when packagingEmissionsIncluded",
        "distributionStagePcfExcludingBiogenicUptake": (
            "mapped only when distributionStageIncluded"
        ),
    }
    for leaf in src.unused():
        value = src.get(*leaf) if leaf else doc
        if value in (None, "", [], {}):
            continue
        reason = reasons.get(str(leaf[-1]), "no PACT v3 counterpart")
        if any(isinstance(k, int) and k > 0 for k in leaf):
            reason = "only the first entity of each Catena-X group is mapped"
        report.lost.append(FieldNote(_path(leaf), reason))
    report.problems = [(f.path, f.message) for f in check_official(out) + check_strict(out)]
    return out, report


def _preceding_to_pact(src: _Reader, out: dict, report: LossReport) -> None:
    keys = _cx(IDS, "precedingPfIds")
    kept: list[str] = []
    for i, text in enumerate(src.get(*keys) or []):
        bare = text.removeprefix(UUID_URN) if isinstance(text, str) else ""
        if UUID_PATTERN.fullmatch(bare):
            kept.append(bare)
        else:
            report.lost.append(FieldNote(_path((*keys, i)), "PACT precedingPfIds are UUIDs"))
    if kept:
        out["precedingPfIds"] = list(dict.fromkeys(kept))


def _geography_to_pact(src: _Reader, pcf: dict, report: LossReport) -> None:
    # PACT allows one granularity only; keep the most specific one Catena-X gives.
    chosen = None
    for name in ("geographyCountrySubdivision", "geographyCountry", "geographyRegionOrSubregion"):
        value = src.get(*_cx(GEOGRAPHY, name))
        if not value:
            continue
        if chosen is None:
            pcf[name] = value
            chosen = name
        else:
            report.lost.append(
                FieldNote(
                    _path(_cx(GEOGRAPHY, name)),
                    f"PACT keeps one geography; {chosen} is more specific",
                )
            )


def _methodology_to_pact(src: _Reader, pcf: dict, report: LossReport) -> None:
    keys = _cx(STANDARDS, "crossSectoralStandards")
    standards = src.get(*keys)
    # 10.0.0 names one standard, 9.0.0 an array of them.
    named = (
        [(keys, standards)]
        if isinstance(standards, str)
        else [((*keys, i), name) for i, name in enumerate(standards or [])]
    )
    kept = []
    for where, name in named:
        if name == "Other":
            report.lost.append(FieldNote(_path(where), "'Other' names no standard PACT can carry"))
        else:
            kept.append(STANDARD_TO_PACT.get(name, name))
    if kept:
        pcf["crossSectoralStandards"] = list(dict.fromkeys(kept))
    rules = src.get(*_cx(STANDARDS, "productOrSectorSpecificRules"))
    if rules:
        pcf["productOrSectorSpecificRules"] = [
            {"operator": "Other", "ruleNames": list(rules), "otherOperatorName": "unspecified"}
        ]
        report.derived.append(
            FieldNote(
                "$.pcf.productOrSectorSpecificRules[0].operator",
                "Catena-X names rules without their operator; set to Other/unspecified",
            )
        )
    factor = src.get(*_cx(GWP, "ipccCharacterizationFactors"))
    if factor and factor != "unspecified":
        pcf["ipccCharacterizationFactors"] = [factor]
    elif factor:
        report.lost.append(
            FieldNote(
                _path(_cx(GWP, "ipccCharacterizationFactors")),
                "PACT needs named IPCC reports (ARn)",
            )
        )
    sources = src.get(*_cx(QUALITY, "secondaryEmissionFactorSources"))
    if sources:
        pcf["secondaryEmissionFactorSources"] = [_split_source(s, report) for s in sources]
    dqrs = {
        n: src.get(*_cx(QUALITY, n)) for n in ("technologicalDQR", "geographicalDQR", "temporalDQR")
    }
    if all(v is not None for v in dqrs.values()):
        pcf["dqi"] = {n: decimal_text(number_to_decimal(v)) for n, v in dqrs.items()}
    else:
        for name, value in dqrs.items():
            if value is not None:
                report.lost.append(
                    FieldNote(_path(_cx(QUALITY, name)), "PACT dqi needs all three ratings")
                )


def _split_source(text: str, report: LossReport) -> dict[str, str]:
    name, _, version = text.rpartition(" ")
    if name and version[:1].isdigit():
        return {"name": name, "version": version}
    report.derived.append(
        FieldNote(
            "$.pcf.secondaryEmissionFactorSources", f"no version in {text!r}; set to 'unspecified'"
        )
    )
    return {"name": text, "version": "unspecified"}


def _stages_to_pact(src: _Reader, pcf: dict, report: LossReport) -> None:
    if pcf.get("packagingEmissionsIncluded"):
        value = src.get(*_cx(PACKAGING, "packagingPcfExcludingBiogenicUptake"))
        if value is not None:
            pcf["packagingGhgEmissions"] = decimal_text(number_to_decimal(value))
    if src.get(*_cx(DISTRIBUTION, "distributionStageIncluded")):
        value = src.get(*_cx(DISTRIBUTION, "distributionStagePcfExcludingBiogenicUptake"))
        if value is not None:
            pcf["outboundLogisticsGhgEmissions"] = decimal_text(number_to_decimal(value))


def _attestation_to_pact(src: _Reader, pcf: dict, report: LossReport) -> None:
    # Look without reading: the fields PACT has no place for must stay unused (reported lost).
    if _at(src.doc, _cx(("attestationOfConformance",))) is None:
        return
    verification = {}
    for name in ("providerName", "completedAt", "standardName"):
        value = src.get(*_cx(("attestationOfConformance",), name))
        if value is not None:
            verification[name] = value
    kind = src.get(*_cx(("attestationOfConformance",), "attestationType"))
    if kind in ATTESTATION_TO_COVERAGE:
        verification["coverage"] = ATTESTATION_TO_COVERAGE[kind]
    elif kind is not None:
        report.lost.append(
            FieldNote(
                "$.attestationOfConformance[0].attestationType",
                f"{kind!r} has no PACT coverage value",
            )
        )
    pcf["verification"] = verification


def pact_to_catenax(
    doc: dict[str, Any], version: str = DEFAULT_VERSION
) -> tuple[dict[str, Any], LossReport]:
    """Map a PACT v3 footprint to a Catena-X PCF aspect of `version` ("9.0.0" by default, or
    "10.0.0"), with its LossReport; ValueError for a version we do not map."""
    cx = pcf_version(version)
    if not isinstance(doc, dict) or not isinstance(doc.get("pcf"), dict):
        raise InvalidRecord([("$.pcf", "a PACT footprint with a pcf object is required")])
    src, report, out = _Reader(doc), LossReport(), {}
    src.get("specVersion")
    _put(out, _cx(("scopeOfPcfForm",), "specVersion"), cx.spec_version)
    _put(out, _cx(("scopeOfPcfForm",), "partialFullPcf"), "Cradle-to-gate")
    for group, name, source, numeric in DIRECT:
        value = src.get(*source)
        if value is None:
            continue
        if numeric and is_plain_decimal(value):
            value = _to_number(value, _path(source), report)
        _put(out, _cx(group, name), value)
    if src.get("id") is not None:
        _put(out, _cx(IDS, "id"), doc["id"])
    preceding = doc.get("precedingPfIds")
    if cx.preceding_ids and isinstance(preceding, list):
        src.get("precedingPfIds")
        _put(out, _cx(IDS, "precedingPfIds"), list(preceding))
    _put(out, _cx(IDS, "version"), 0)
    _put(out, _cx(IDS, "retroOrProspectivePcfType"), "Retrospective PCF")
    report.derived.append(
        FieldNote(
            _path(_cx(IDS, "retroOrProspectivePcfType")),
            "PACT has no such field; 'Retrospective PCF' assumed",
        )
    )
    pcf = doc["pcf"]
    for name in ("geographyRegionOrSubregion", "geographyCountry", "geographyCountrySubdivision"):
        if src.get("pcf", name) is not None:
            _put(out, _cx(GEOGRAPHY, name), pcf[name])
    _defaults_to_catenax(doc, out, report, cx)
    _methodology_to_catenax(src, out, report, cx)
    if pcf.get("packagingEmissionsIncluded") and src.get("pcf", "packagingGhgEmissions"):
        value = _to_number(pcf["packagingGhgEmissions"], "$.pcf.packagingGhgEmissions", report)
        _put(out, _cx(PACKAGING, "packagingPcfExcludingBiogenicUptake"), value)
    outbound = src.get("pcf", "outboundLogisticsGhgEmissions")
    _put(out, _cx(DISTRIBUTION, "distributionStageIncluded"), outbound is not None)
    if outbound is not None:
        value = _to_number(outbound, "$.pcf.outboundLogisticsGhgEmissions", report)
        _put(out, _cx(DISTRIBUTION, "distributionStagePcfExcludingBiogenicUptake"), value)
    reasons = {
        "precedingPfIds": (
            "Catena-X takes a list of ids"
            if cx.preceding_ids
            else f"the Catena-X {cx.number} PrecedingPfId entity has no properties"
        ),
        "verification": "Catena-X attestations need an id and attestation standard PACT lacks",
        "operator": "Catena-X lists rule names without their operator",
        "otherOperatorName": "Catena-X lists rule names without their operator",
    }
    for leaf in src.unused():
        key = next((str(k) for k in leaf if str(k) in reasons), str(leaf[-1]) if leaf else "")
        report.lost.append(FieldNote(_path(leaf), reasons.get(key, "no Catena-X counterpart")))
    report.problems = catenax_problems(out, cx.model)
    return out, report


def _defaults_to_catenax(doc: dict, out: dict, report: LossReport, cx: PcfVersion) -> None:
    pcf = doc["pcf"]
    required_defaults = [
        (TECHNOLOGY, "ccsTechnologicalCO2CaptureIncluded", False, "ccs"),
        (PACKAGING, "packagingEmissionsIncluded", False, "packaging"),
        *((MASS_BALANCING, n, v, "mass balancing") for n, v in cx.mass_balancing_defaults),
        (
            ALLOCATION,
            "allocationWasteIncineration",
            "polluter pays principle",
            "the Catena-X rulebook default",
        ),
    ]
    for group, name, value, why in required_defaults:
        keys = _cx(group, name)
        if _at(out, keys) is None:
            _put(out, keys, value)
            report.derived.append(FieldNote(_path(keys), f"required by Catena-X ({why})"))
    if "validityPeriodEnd" not in doc:
        end = pcf.get("referencePeriodEnd")
        if isinstance(end, str) and len(end) >= 4 and end[:4].isdigit():
            # PACT: without a validity period a footprint is valid 3 years after the
            # reference period end.
            valid_to = f"{int(end[:4]) + 3:04d}{end[4:]}"
            _put(out, _cx(TIME, "validityPeriodEnd"), valid_to)
            report.derived.append(
                FieldNote(
                    _path(_cx(TIME, "validityPeriodEnd")),
                    "PACT default: reference period end + 3 years",
                )
            )
    fossil, biogenic = pcf.get("fossilCarbonContent"), pcf.get("biogenicCarbonContent")
    if is_plain_decimal(fossil) and is_plain_decimal(biogenic):
        keys = _cx(("carbonContent",), "carbonContentTotal")
        total = decimal_text(Decimal(fossil) + Decimal(biogenic))
        _put(out, keys, _to_number(total, _path(keys), report))
        report.derived.append(FieldNote(_path(keys), "fossil + biogenic carbon content"))


def _methodology_to_catenax(src: _Reader, out: dict, report: LossReport, cx: PcfVersion) -> None:
    names = [STANDARD_TO_CX.get(s, s) for s in src.get("pcf", "crossSectoralStandards") or []]
    keys = _cx(STANDARDS, "crossSectoralStandards")
    _put(out, keys, _one_standard(names, cx, report) if cx.single_standard else names)
    # Read rule names one by one so that operators stay unused and are reported lost.
    rules = src.doc["pcf"].get("productOrSectorSpecificRules") or []
    rule_names: list[str] = []
    for i in range(len(rules)):
        rule_names += src.get("pcf", "productOrSectorSpecificRules", i, "ruleNames") or []
    _put(out, _cx(STANDARDS, "productOrSectorSpecificRules"), list(dict.fromkeys(rule_names)))
    factors = src.get("pcf", "ipccCharacterizationFactors") or []
    if factors:
        latest = max(factors, key=lambda f: int(f[2:]) if f[2:].isdigit() else -1)
        _put(out, _cx(GWP, "ipccCharacterizationFactors"), latest)
        for i, other in enumerate(factors):
            if other != latest:
                report.lost.append(
                    FieldNote(
                        f"$.pcf.ipccCharacterizationFactors[{i}]",
                        f"Catena-X takes one report; {latest} kept",
                    )
                )
    sources = src.get("pcf", "secondaryEmissionFactorSources") or []
    if sources:
        _put(
            out,
            _cx(QUALITY, "secondaryEmissionFactorSources"),
            [f"{s.get('name')} {s.get('version')}" for s in sources],
        )
    dqi = src.get("pcf", "dqi") or {}
    for name in ("technologicalDQR", "geographicalDQR", "temporalDQR"):
        if is_plain_decimal(dqi.get(name)):
            _put(out, _cx(QUALITY, name), _to_number(dqi[name], f"$.pcf.dqi.{name}", report))


def _one_standard(names: list[str], cx: PcfVersion, report: LossReport) -> str:
    """The one cross-sectoral standard a version that takes a single name gets from PACT's list:
    the first PACT standard with a name in that version; every other one is reported lost."""
    allowed = cx.standards or frozenset()
    chosen = None
    for i, name in enumerate(names):
        where = f"$.pcf.crossSectoralStandards[{i}]"
        if name not in allowed:
            report.lost.append(FieldNote(where, f"{name!r} is not a Catena-X {cx.number} name"))
        elif chosen is None:
            chosen = name
        elif name != chosen:
            report.lost.append(
                FieldNote(where, f"Catena-X {cx.number} takes one standard; {chosen} kept")
            )
    if chosen is not None:
        return chosen
    report.derived.append(
        FieldNote(
            _path(_cx(STANDARDS, "crossSectoralStandards")),
            "required by Catena-X; no PACT standard has a Catena-X name, so 'Other'",
        )
    )
    return "Other"
