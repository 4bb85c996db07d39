"""Cradle-to-gate roll-up of a product's footprint over its bill of materials (BOM).

For one unit of a node: (sum over lines of quantity x component value per unit x
(1 + yield loss) + own process emissions) x allocation factor. Sub-assemblies are nodes
themselves and are computed bottom-up (each shared node once). Own process emissions (scope 1,
scope 2, inbound transport, waste) count as fossil emissions and as primary data. Primary
data share and DQRs are weighted by each input's `pcfExcludingBiogenicUptake` contribution;
inputs without a DQR are left out of the DQR weighting, inputs without a primary data share
count as secondary data. Carbon contents follow the product's mass: quantity only, without
yield loss or allocation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from typing import Any

from schemas.errors import InvalidRecord
from schemas.pact.quantity import decimal_text
from schemas.pact.schema import SPEC_VERSION_V3

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
# Additive per-unit quantities that a roll-up carries, by their PACT v3 names.
EMISSIONS = (
    "pcfExcludingBiogenicUptake",
    "pcfIncludingBiogenicUptake",
    "fossilGhgEmissions",
    "landUseChangeGhgEmissions",
    "landManagementBiogenicCO2Emissions",
    "landManagementBiogenicCO2Removals",
    "biogenicCO2Uptake",
    "biogenicNonCO2Emissions",
    "technologicalCO2Removals",
    "ccsTechnologicalCO2Capture",
    "aircraftGhgEmissions",
)
CONTENTS = ("fossilCarbonContent", "biogenicCarbonContent")
DQRS = ("technologicalDQR", "geographicalDQR", "temporalDQR")
PROVENANCE_SCHEMA = "https://w3id.org/tracespace/schemas/pact-rollup-sources/v1"
PRECISION = 80


@dataclass(frozen=True)
class SourceRef:
    """A supplier footprint a roll-up used: its id, version and the ledger sequence number."""

    footprint_id: str
    version: str
    ledger_seq: int


@dataclass(frozen=True)
class ComponentFootprint:
    """A supplier footprint reduced to values per ONE unit of its declared unit."""

    source: SourceRef
    unit: str
    per_unit: dict[str, Decimal]
    primary_data_share: Decimal | None = None
    dqr: tuple[Decimal, Decimal, Decimal] | None = None

    @classmethod
    def from_pact(cls, doc: dict[str, Any], *, version: str, ledger_seq: int) -> ComponentFootprint:
        """Take a (validated) PACT v3 footprint; values are divided by declaredUnitAmount."""
        pcf = doc["pcf"]
        amount = Decimal(pcf["declaredUnitAmount"])
        if amount <= 0:
            raise InvalidRecord([("$.pcf.declaredUnitAmount", "must be greater than 0")])
        with localcontext() as ctx:
            ctx.prec = PRECISION
            per_unit = {
                name: Decimal(pcf[name]) / amount for name in EMISSIONS + CONTENTS if name in pcf
            }
        share = pcf.get("primaryDataShare")
        dqi = pcf.get("dqi")
        return cls(
            source=SourceRef(doc["id"], version, ledger_seq),
            unit=pcf["declaredUnitOfMeasurement"],
            per_unit=per_unit,
            primary_data_share=Decimal(share) if share is not None else None,
            dqr=tuple(Decimal(dqi[k]) for k in DQRS) if dqi else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class ProcessEmissions:
    """A node's own gate-to-gate emissions per unit produced, in kgCO2e (primary data)."""

    scope1: Decimal = ZERO
    scope2: Decimal = ZERO
    inbound_transport: Decimal = ZERO
    waste: Decimal = ZERO
    dqr: tuple[Decimal, Decimal, Decimal] | None = None

    @property
    def total(self) -> Decimal:
        """Sum of the four process emission sources."""
        return self.scope1 + self.scope2 + self.inbound_transport + self.waste


@dataclass
class BomLine:
    """`quantity` units of a component (a supplier footprint or an own sub-assembly)."""

    component: ComponentFootprint | BomNode
    quantity: Decimal
    yield_loss: Decimal = ZERO


@dataclass
class BomNode:
    """Something the node makes: its BOM lines, own process emissions and allocation factor."""

    lines: list[BomLine] = field(default_factory=list)
    process: ProcessEmissions = field(default_factory=ProcessEmissions)
    allocation_factor: Decimal = ONE


@dataclass(frozen=True)
class RollupResult:
    """Per-unit roll-up of a node: emission totals, weighted data quality and sources used."""

    per_unit: dict[str, Decimal]
    primary_data_share: Decimal | None
    dqr: tuple[Decimal, Decimal, Decimal] | None
    sources: tuple[SourceRef, ...]

    @property
    def pcf_excluding(self) -> Decimal:
        """kgCO2e per unit, excluding biogenic uptake."""
        return self.per_unit["pcfExcludingBiogenicUptake"]


@dataclass
class _Totals:
    per_unit: dict[str, Decimal]
    primary: Decimal  # emissions (excluding uptake) that come from primary data
    dqr_weight: Decimal
    dqr_sums: list[Decimal]
    sources: dict[tuple[str, str, int], SourceRef]


def _component_totals(c: ComponentFootprint) -> _Totals:
    excl = c.per_unit.get("pcfExcludingBiogenicUptake", ZERO)
    share = c.primary_data_share if c.primary_data_share is not None else ZERO
    weight = excl if c.dqr is not None else ZERO
    sums = [weight * d for d in c.dqr] if c.dqr is not None else [ZERO, ZERO, ZERO]
    key = (c.source.footprint_id, c.source.version, c.source.ledger_seq)
    return _Totals(dict(c.per_unit), excl * share / HUNDRED, weight, sums, {key: c.source})


def _node_totals(node: BomNode, done: dict[int, _Totals]) -> _Totals:
    per_unit = {name: ZERO for name in EMISSIONS + CONTENTS}
    primary, weight, sums, sources = ZERO, ZERO, [ZERO, ZERO, ZERO], {}
    for line in node.lines:
        child = line.component
        t = done[id(child)]
        factor = line.quantity * (ONE + line.yield_loss)
        for name, value in t.per_unit.items():
            per_unit[name] += value * (line.quantity if name in CONTENTS else factor)
        primary += t.primary * factor
        weight += t.dqr_weight * factor
        sums = [s + v * factor for s, v in zip(sums, t.dqr_sums, strict=True)]
        sources.update(t.sources)
    own = node.process.total
    for name in ("pcfExcludingBiogenicUptake", "pcfIncludingBiogenicUptake", "fossilGhgEmissions"):
        per_unit[name] += own
    primary += own
    if node.process.dqr is not None:
        weight += own
        sums = [s + own * d for s, d in zip(sums, node.process.dqr, strict=True)]
    a = node.allocation_factor
    for name in EMISSIONS:
        per_unit[name] *= a
    return _Totals(per_unit, primary * a, weight * a, [s * a for s in sums], sources)


def rollup(root: BomNode) -> RollupResult:
    """Compute one unit of `root` bottom-up over its BOM tree (or DAG), exactly in Decimal."""
    done: dict[int, _Totals] = {}
    with localcontext() as ctx:
        ctx.prec = PRECISION
        stack: list[tuple[ComponentFootprint | BomNode, bool]] = [(root, False)]
        on_path: set[int] = set()
        while stack:
            item, expanded = stack.pop()
            key = id(item)
            if key in done:
                continue
            if isinstance(item, ComponentFootprint):
                done[key] = _component_totals(item)
            elif expanded:
                on_path.discard(key)
                done[key] = _node_totals(item, done)
            else:
                if key in on_path:
                    raise InvalidRecord([("$", "the BOM contains a cycle")])
                on_path.add(key)
                stack.append((item, True))
                stack.extend(
                    (line.component, False) for line in item.lines if id(line.component) not in done
                )
        t = done[id(root)]
        excl = t.per_unit["pcfExcludingBiogenicUptake"]
        share = t.primary / excl * HUNDRED if excl > 0 else None
        dqr = tuple(s / t.dqr_weight for s in t.dqr_sums) if t.dqr_weight > 0 else None
    sources = tuple(sorted(t.sources.values(), key=lambda s: (s.footprint_id, s.version)))
    return RollupResult(t.per_unit, share, dqr, sources)  # type: ignore[arg-type]


def _rounded(value: Decimal, places: int) -> str:
    return decimal_text(value.quantize(Decimal(1).scaleb(-places)))


def rollup_footprint(
    result: RollupResult,
    *,
    product: dict[str, Any],
    declared_unit: str,
    product_mass_per_unit: Decimal,
    reference_period: tuple[datetime, datetime],
    preceding_pf_ids: list[str] | None = None,
    created: datetime | None = None,
    places: int = 6,
) -> dict[str, Any]:
    """Publish a roll-up as a PACT v3 footprint for ONE declared unit, with a fresh id.

    `product` gives companyName, companyIds, productIds, productNameCompany and
    productDescription (and optionally productClassifications and geography fields).
    The supplier footprints used are recorded in a data model extension.
    """
    created = created or datetime.now(UTC)
    start, end = reference_period

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    per_unit = result.per_unit
    pcf: dict[str, Any] = {
        "declaredUnitOfMeasurement": declared_unit,
        "declaredUnitAmount": "1",
        "productMassPerDeclaredUnit": decimal_text(product_mass_per_unit),
        "referencePeriodStart": stamp(start),
        "referencePeriodEnd": stamp(end),
    }
    for name in ("geographyRegionOrSubregion", "geographyCountry", "geographyCountrySubdivision"):
        if name in product:
            pcf[name] = product[name]
    for name in EMISSIONS + CONTENTS:
        if per_unit.get(name) or name in (
            "pcfExcludingBiogenicUptake",
            "pcfIncludingBiogenicUptake",
            "fossilGhgEmissions",
            "fossilCarbonContent",
        ):
            pcf[name] = _rounded(per_unit.get(name, ZERO), places)
    pcf["ipccCharacterizationFactors"] = product.get("ipccCharacterizationFactors", ["AR6"])
    pcf["crossSectoralStandards"] = product.get("crossSectoralStandards", ["ISO14067", "PACT-3.0"])
    pcf["exemptedEmissionsPercent"] = product.get("exemptedEmissionsPercent", "0")
    pcf["ccsTechnologicalCO2CaptureIncluded"] = bool(per_unit.get("ccsTechnologicalCO2Capture"))
    if result.primary_data_share is not None:
        share = min(max(result.primary_data_share, ZERO), HUNDRED)
        pcf["primaryDataShare"] = _rounded(share, 2)
    if result.dqr is not None:
        pcf["dqi"] = {k: _rounded(v, 2) for k, v in zip(DQRS, result.dqr, strict=True)}
    doc: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "specVersion": SPEC_VERSION_V3,
        "created": stamp(created),
        "status": "Active",
        "companyName": product["companyName"],
        "companyIds": list(product["companyIds"]),
        "productDescription": product.get("productDescription", ""),
        "productIds": list(product["productIds"]),
        "productNameCompany": product["productNameCompany"],
        "pcf": pcf,
        "extensions": [
            {
                "specVersion": "2.0.0",
                "dataSchema": PROVENANCE_SCHEMA,
                "data": {
                    "v": 1,
                    "sources": [
                        {"id": s.footprint_id, "version": s.version, "ledgerSeq": s.ledger_seq}
                        for s in result.sources
                    ],
                },
            }
        ],
    }
    if product.get("productClassifications"):
        doc["productClassifications"] = list(product["productClassifications"])
    if preceding_pf_ids:
        doc["precedingPfIds"] = list(preceding_pf_ids)
    return doc
