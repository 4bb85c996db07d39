"""The consumer page on one node: content negotiation on the GS1 resolver and handle proxy,
zh/en, the public-access rule, escaping, the QR code, and the verified badge under tamper."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from connector.app import create_app
from connector.events import example as ex
from connector.events.objects import object_key
from connector.node import Node, init_node
from connector.pages.i18n import pick_language
from connector.records import footprints, quality
from identifiers.canonical import gs1_to_handle
from identifiers.digital_link import DigitalLink
from ledger import keys
from schemas.quality import CertificateOfAnalysis, InspectionResult

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'
ITEM = object_key(ex.GARMENTS[0])
LINK = DigitalLink.parse(ITEM)
PATH = LINK.path()
GTIN = LINK.key


def footprint_document() -> dict:
    value = "4.2"
    return {
        "id": "0b7e3f0a-9c1d-4e2f-8a3b-5c6d7e8f9a0b",
        "specVersion": "3.0.0",
        "created": "2026-03-02T09:00:00Z",
        "status": "Active",
        "companyName": "Green Garments Ltd",
        "companyIds": ["urn:uuid:6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"],
        "productDescription": "T-shirt, recycled polyester",
        "productIds": [f"urn:gtin:{GTIN}"],
        "productNameCompany": "Recycled tee",
        "pcf": {
            "declaredUnitOfMeasurement": "piece",
            "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": "0.2",
            "referencePeriodStart": "2025-01-01T00:00:00Z",
            "referencePeriodEnd": "2026-01-01T00:00:00Z",
            "geographyCountry": "CN",
            "pcfExcludingBiogenicUptake": value,
            "pcfIncludingBiogenicUptake": value,
            "fossilGhgEmissions": value,
            "fossilCarbonContent": "0.1",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
            "primaryDataShare": "60",
            "dqi": {"technologicalDQR": "2", "geographicalDQR": "1.5", "temporalDQR": "1"},
        },
    }


def certificate_document() -> dict:
    measured = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    result = InspectionResult(
        subject=(ex.YARN,), characteristic="tenacity", nominal=Decimal("4.0"),
        tolerance_minus=Decimal("0.5"), tolerance_plus=Decimal("1.0"), measured=Decimal("4.3"),
        unit="cN/dtex", measured_at=measured,
    )  # fmt: skip
    coa = CertificateOfAnalysis(
        subject=(ex.YARN,), issued=measured, supplier="mill", customer="maker",
        manufacturer_part_id="YARN-5", product_name="rPET yarn 150D", results=(result,),
    )  # fmt: skip
    return coa.to_document()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Node, TestClient]]:
    node = init_node(tmp_path / "maker", "maker", ["20.500.77"], port=18555)
    client = TestClient(create_app(node), headers={"Authorization": ""})
    operator = {"Authorization": f"Bearer {node.operator_token}"}
    r = client.post(
        "/epcis/capture", json=ex.document(ex.garment_maker("did:web:mill")), headers=operator
    )
    assert r.status_code == 200, r.text
    footprints.issue(node, footprint_document())
    quality.issue(node, certificate_document())
    linkset = {
        "anchor": f"/01/{GTIN}",
        "itemDescription": "Recycled tee",
        "links": [{"linktype": "gs1:pip", "href": "https://brand.example/tee", "title": "Tee"}],
    }
    assert client.put("/management/gs1/linksets", json=linkset, headers=operator).is_success
    public = {"public": ["events", "footprints", "quality"]}
    r = client.put("/management/pages/disclosure", json=public, headers=operator)
    assert r.status_code == 200, r.text
    client.headers.pop("Authorization")
    yield node, client
    node.close()


def _visible(html: str) -> str:
    """The page text a person reads: tags and the inline style/svg dropped."""
    html = re.sub(r"<(style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_browser_gets_the_page_with_journey_footprint_certificate_badge_and_qr(site) -> None:
    _, client = site
    r = client.get(PATH, headers=BROWSER)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Accept-Language" in r.headers["vary"]
    text_ = _visible(r.text)
    assert "Recycled tee" in text_ and GTIN in text_ and "1001" in text_
    # the journey on this node: made, packed, shipped, received, unpacked, sold
    for step in ("Processed", "Packed", "Shipped", "Received", "Unpacked", "Sold"):
        assert step in text_, step
    assert ex.STORE in text_
    assert "4.2 kg CO2e" in text_ and "per 1 piece" in text_
    assert "Conforms to specification" in text_ and "tenacity" in text_
    assert 'id="verified-badge"' in r.text
    svg = re.search(r"<svg\b.*?</svg>", r.text, flags=re.S)
    assert svg and "<path" in svg.group(0)
    assert "http://" not in re.sub(r'(href|xmlns)="[^"]*"', "", r.text)  # nothing fetched
    assert "/ledger/proof/inclusion?seq=" in r.text and "/provenance/" in r.text


def test_every_proof_link_rechecks_with_the_public_routes(site) -> None:
    """The evidence the page links to verifies with an independent path computation."""
    import base64

    from ledger import merkle
    from ledger.checkpoint import open_checkpoint
    from ledger.note import parse_vkey

    node, client = site
    model = client.get(f"/provenance/{ITEM}").json()
    assert model["verified"] and model["steps"]
    vkey = client.get("/ledger/key").text.strip()
    for step in model["steps"]:
        links = {k: v.replace(node.config.public_url, "") for k, v in step["evidence"].items()}
        body = client.get(links["entry"]).content
        proof = client.get(links["proof"]).json()
        note = client.get(links["checkpoint"]).text
        cp, _ = open_checkpoint(note, parse_vkey(vkey))
        assert proof["size"] <= cp.size
        path = [base64.b64decode(h) for h in proof["proof"]]
        root = merkle.root_from_inclusion(merkle.leaf_hash(body), step["seq"], proof["size"], path)
        if proof["size"] == cp.size:
            assert root == cp.root


def test_chinese_by_accept_language_and_the_switch_link(site) -> None:
    _, client = site
    r = client.get(PATH, headers={**BROWSER, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert '<html lang="zh-CN">' in r.text
    text_ = _visible(r.text)
    assert "产品溯源" in text_ and "已验证" in text_ and "碳足迹" in text_ and "装箱" in text_
    switch = re.search(r'id="lang-switch" href="([^"]+)"', r.text).group(1)
    assert switch.endswith("lang=en")
    english = client.get(switch.replace("&amp;", "&"), headers={**BROWSER, "Accept-Language": "zh"})
    assert '<html lang="en">' in english.text and "Journey" in english.text


def test_other_accept_values_keep_the_resolver_behaviour(site) -> None:
    _, client = site
    r = client.get(PATH, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "https://brand.example/tee"
    r = client.get(PATH, headers={"Accept": "application/json"}, follow_redirects=False)
    assert r.status_code == 307
    r = client.get(PATH + "?linkType=linkset", headers=BROWSER)
    assert r.headers["content-type"].startswith("application/linkset+json")
    r = client.get(PATH, headers={"Accept": "application/linkset+json"})
    assert r.headers["content-type"].startswith("application/linkset+json")
    r = client.get("/01/09506000134352/21/1", headers=BROWSER)
    assert r.status_code == 404


def test_handle_proxy_serves_the_page_to_browsers_only(site) -> None:
    node, client = site
    handle = gs1_to_handle(LINK, "20.500.77")
    operator = {"Authorization": f"Bearer {node.operator_token}"}
    values = {
        "values": [
            {
                "index": 1,
                "type": "URL",
                "data": {"format": "string", "value": "https://brand.example/tee/1001"},
            }
        ]
    }
    assert client.put(f"/api/handles/{handle}", json=values, headers=operator).is_success
    r = client.get(f"/{handle}", follow_redirects=False)
    assert r.status_code == 302
    r = client.get(f"/{handle}?noredirect", headers=BROWSER)
    assert r.headers["content-type"].startswith("application/json")
    r = client.get(f"/{handle}", headers=BROWSER)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert str(handle) in _visible(r.text) and 'id="verified-badge"' in r.text


def test_non_public_data_is_absent(site) -> None:
    node, client = site
    operator = {"Authorization": f"Bearer {node.operator_token}"}
    r = client.put("/management/pages/disclosure", json={"public": ["events"]}, headers=operator)
    assert r.json()["private"] == ["footprints", "quality"]
    text_ = _visible(client.get(PATH, headers=BROWSER).text)
    assert "4.2" not in text_ and "tenacity" not in text_ and "No public carbon footprint" in text_
    model = client.get(f"/provenance/{ITEM}").json()
    assert model["footprint"] is None and model["certificate"] is None
    client.put("/management/pages/disclosure", json={"public": []}, headers=operator)
    page = client.get(PATH, headers=BROWSER).text
    assert ex.STORE not in page and "retail" not in page and 'id="hidden-steps"' in page
    model = client.get(f"/provenance/{ITEM}").json()
    assert model["steps"] == [] and model["hiddenSteps"] > 0
    assert ex.STORE not in str(model)


def test_disclosure_needs_the_operator_and_known_kinds(site) -> None:
    node, client = site
    assert client.put("/management/pages/disclosure", json={"public": []}).status_code == 401
    operator = {"Authorization": f"Bearer {node.operator_token}"}
    r = client.put("/management/pages/disclosure", json={"public": ["gossip"]}, headers=operator)
    assert r.status_code == 400 and "gossip" in r.text
    size = node.ledger.size
    client.put("/management/pages/disclosure", json={"public": ["quality"]}, headers=operator)
    assert node.ledger.size == size + 1
    assert node.ledger.entry(size).type == "pages.disclosure"
    assert client.get("/pages/disclosure").json()["public"] == ["quality"]


def test_hostile_product_name_is_escaped(site) -> None:
    node, client = site
    operator = {"Authorization": f"Bearer {node.operator_token}"}
    linkset = {"anchor": f"/01/{GTIN}", "itemDescription": HOSTILE,
               "links": [{"linktype": "gs1:pip", "href": "https://brand.example/tee"}]}  # fmt: skip
    assert client.put("/management/gs1/linksets", json=linkset, headers=operator).is_success
    r = client.get(PATH, headers=BROWSER)
    assert "<script>" not in r.text and "<img" not in r.text and 'onerror="' not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_a_tampered_event_entry_loses_the_badge(site) -> None:
    node, client = site
    seq = client.get(f"/provenance/{ITEM}").json()["steps"][0]["seq"]
    with node.engine.begin() as conn:
        body = conn.execute(text("SELECT body FROM ledger_entry WHERE seq = :s"), {"s": seq})
        raw = bytearray(body.scalar_one())
        at = raw.index(b'"bizStep":"') + len(b'"bizStep":"')
        raw[at] ^= 0x20  # one letter changes case: still valid JSON
        conn.execute(
            text("UPDATE ledger_entry SET body = :b WHERE seq = :s"), {"b": bytes(raw), "s": seq}
        )
    r = client.get(PATH, headers=BROWSER)
    assert 'id="unverified-badge"' in r.text and 'id="verified-badge"' not in r.text
    failed = client.get(f"/provenance/{ITEM}").json()["checked"]["failed"]
    assert [f["seq"] for f in failed] == [seq]


def test_the_badge_survives_a_key_rotation(site) -> None:
    # The journey's events were signed before the rotation; the page checks them with the
    # key that held their positions, from the node's own key history.
    node, client = site
    node.ledger.rotate_key(keys.generate())
    r = client.get(PATH, headers=BROWSER)
    assert 'id="verified-badge"' in r.text, _visible(r.text)[:500]
    assert client.get(f"/provenance/{ITEM}").json()["checked"]["failed"] == []


@given(st.text(max_size=80))
def test_language_choice_never_fails(header: str) -> None:
    assert pick_language(header) in ("zh", "en")


@pytest.mark.parametrize(
    ("header", "lang"),
    [("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,zh;q=0.5", "en"), ("zh-TW", "zh"),
     ("fr-FR", "en"), ("", "en"), ("zh;q=0, en", "en"), ("de, zh;q=0.7", "zh")],
)  # fmt: skip
def test_language_by_accept_language(header: str, lang: str) -> None:
    assert pick_language(header) == lang
