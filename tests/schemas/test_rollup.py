"""BOM roll-up: exact Decimal arithmetic on a hand-computed BOM and a 10,000-part tree."""

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from decimal import localcontext
from pathlib import Path

import pytest

from schemas.errors import InvalidRecord
from schemas.pact.rollup import (
    BomLine,
    BomNode,
    ComponentFootprint,
    ProcessEmissions,
    SourceRef,
    rollup,
    rollup_footprint,
)
from schemas.pact.validation import check_official, check_strict

DATA = Path(__file__).resolve().parent / "data"
PRODUCT = {
    "companyName": "Weser Antriebe GmbH",
    "companyIds": ["urn:bpn:id:BPNL000000000WAG"],
    "productIds": ["urn:pact:weser-antriebe.example:product-id:GB-90"],
    "productNameCompany": "Gearbox GB-90",
    "productDescription": "Two-stage gearbox",
    "geographyCountry": "DE",
}


def part(name, excl, share=None, dqr=None, incl=None):
    per_unit = {
        "pcfExcludingBiogenicUptake": D(excl),
        "fossilGhgEmissions": D(excl),
        "pcfIncludingBiogenicUptake": D(incl if incl is not None else excl),
    }
    return ComponentFootprint(
        SourceRef(name, "1", 10), "piece", per_unit, D(share) if share is not None else None, dqr
    )


def test_hand_computed_two_level_bom():
    steel = part("steel", "2.5", share="40", dqr=(D(2), D(2), D(2)))
    bearing = part("bearing", "1.2", share="0", dqr=(D(4), D(4), D(4)), incl="1.0")
    shaft = BomNode(
        [BomLine(steel, D("1.6"), D("0.25"))], ProcessEmissions(scope1=D("0.3"), scope2=D("0.2"))
    )
    gearbox = BomNode(
        [BomLine(shaft, D(2)), BomLine(bearing, D(4), D("0.05"))],
        ProcessEmissions(
            scope2=D("1.5"), inbound_transport=D("0.4"), waste=D("0.1"), dqr=(D(1), D(1), D(1))
        ),
        allocation_factor=D("0.9"),
    )
    result = rollup(gearbox)
    # shaft: 1.6 x 2.5 x 1.25 + 0.5 = 5.5
    # gearbox: (2 x 5.5 + 4 x 1.2 x 1.05 + 2.0) x 0.9 = (11 + 5.04 + 2) x 0.9 = 16.236
    assert result.pcf_excluding == D("16.236")
    # including: bearing 1.0 instead of 1.2 -> (11 + 4.2 + 2) x 0.9 = 15.48
    assert result.per_unit["pcfIncludingBiogenicUptake"] == D("15.48")
    # primary: steel 2 x 1.6 x 1.25 x 2.5 x 40% = 4, shaft own 2 x 0.5 = 1, own 2 -> 7 x 0.9
    with localcontext() as ctx:
        ctx.prec = 80  # ratios are computed at the roll-up's working precision
        assert result.primary_data_share == D("6.3") / D("16.236") * 100
        # DQR weights: steel 10 (x2), bearing 5.04 (x4), own 2 (x1); shaft own has no DQR
        expected = (D(10) * 2 + D("5.04") * 4 + D(2) * 1) / (D(10) + D("5.04") + D(2))
    assert result.dqr == (expected, expected, expected)
    assert [s.footprint_id for s in result.sources] == ["bearing", "steel"]


def test_result_is_a_valid_pact_v3_footprint_with_provenance():
    supplier = json.loads((DATA / "pact-v3-footprint.json").read_text(encoding="utf-8"))
    component = ComponentFootprint.from_pact(supplier, version="2", ledger_seq=41)
    assert component.per_unit["pcfExcludingBiogenicUptake"] == D("7.25")  # 72.50 per 10 pieces
    result = rollup(BomNode([BomLine(component, D(3))], ProcessEmissions(scope1=D("1.25"))))
    assert result.pcf_excluding == D("23.00")
    doc = rollup_footprint(
        result,
        product=PRODUCT,
        declared_unit="piece",
        product_mass_per_unit=D("4.2"),
        reference_period=(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        preceding_pf_ids=["5e0f3c3a-7b1d-4c55-9f66-2a9d3b8e1c70"],
    )
    assert check_official(doc) == [] and check_strict(doc) == []
    assert D(doc["pcf"]["pcfExcludingBiogenicUptake"]) == D("23")
    assert doc["precedingPfIds"] == ["5e0f3c3a-7b1d-4c55-9f66-2a9d3b8e1c70"]
    sources = doc["extensions"][0]["data"]["sources"]
    assert sources == [{"id": supplier["id"], "version": "2", "ledgerSeq": 41}]
    again = rollup_footprint(
        result,
        product=PRODUCT,
        declared_unit="piece",
        product_mass_per_unit=D("4.2"),
        reference_period=(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
    )
    assert again["id"] != doc["id"]


def test_cycle_is_rejected():
    a = BomNode()
    b = BomNode([BomLine(a, D(1))])
    a.lines.append(BomLine(b, D(1)))
    with pytest.raises(InvalidRecord):
        rollup(a)


def test_ten_thousand_components_over_five_levels():
    # level 5: 10,000 distinct parts; levels 4..2: groups of 10; level 1 is the product.
    parts = [part(f"p{i:05d}", D(i % 97 + 1) / 100, share="50") for i in range(10_000)]
    level: list = parts
    for _ in range(3):
        level = [
            BomNode(
                [BomLine(x, D(2), D("0.01")) for x in level[i : i + 10]],
                ProcessEmissions(scope1=D("0.1")),
            )
            for i in range(0, len(level), 10)
        ]
    assert len(level) == 10
    product = BomNode([BomLine(x, D(1)) for x in level])
    result = rollup(product)
    # Closed form: each part is reached through 3 lines of quantity 2 x 1.01.
    factor = (D(2) * D("1.01")) ** 3
    parts_total = sum(D(i % 97 + 1) / 100 for i in range(10_000)) * factor
    own = D("0.1") * (1000 * D(2) * D("1.01") * D(2) * D("1.01") + 100 * D(2) * D("1.01") + 10)
    assert result.pcf_excluding == parts_total + own
    assert len(result.sources) == 10_000
    with localcontext() as ctx:
        ctx.prec = 80
        share = (parts_total / 2 + own) / (parts_total + own) * 100
    assert result.primary_data_share == share
