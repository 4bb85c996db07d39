"""GS1 resolver decisions checked against the GS1 Resolver CE data entries and front-end
expectations, its linkset example and its /.well-known/gs1resolver document."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from identifiers.digital_link import DigitalLink
from identifiers.linkset import (
    LINKSET_MEDIA_TYPE,
    LinkEntry,
    LinkSet,
    choose_by_language,
    linkset_json,
    normalise_link_type,
    parse_accept_language,
    resolve,
    resolve_request,
    resolver_description,
)

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
RESOLVER_CE = CONFORMANCE / "gs1-digital-link" / "resolver-ce"
# The compression pair is a separate GS1 feature (compressed Digital Links) not built here.
UNSUPPORTED = {"/01/09506000134376/10/LOT01?compress=true", "/ARFKk4XB0CDKWcnpq"}


def _load(path: Path) -> object:
    if not RESOLVER_CE.exists():
        pytest.skip(f"conformance data not found at {RESOLVER_CE}")
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="module")
def ce_linksets() -> list[LinkSet]:
    if not RESOLVER_CE.exists():
        pytest.skip(f"conformance data not found at {RESOLVER_CE}")
    entries: list[dict] = []
    for path in sorted((RESOLVER_CE / "tests").glob("test_*.json")):
        data = _load(path)
        entries.extend(data if isinstance(data, list) else [data])
    return [LinkSet.from_resolver_entry(entry) for entry in entries]


def _cases() -> list[dict]:
    path = RESOLVER_CE / "frontend-expectations.json"
    if not path.exists():
        return []
    return json.loads(path.read_text("utf-8"))["cases"]


def _case_id(case: dict) -> str:
    return case["request"] + " " + case.get("headers", {}).get("Accept-Language", "")


@pytest.mark.parametrize("case", _cases(), ids=_case_id)
def test_resolver_ce_frontend_expectations(case: dict, ce_linksets: list[LinkSet]) -> None:
    if case["request"] in UNSUPPORTED:
        pytest.skip("compressed Digital Links are not supported")
    parts = urlsplit(case["request"])
    answer = resolve_request(
        parts.path,
        ce_linksets,
        query=dict(parse_qsl(parts.query)),
        headers=case.get("headers", {}),
    )
    assert answer.status == case["expectStatus"], answer.reason
    if "expectLocation" in case:
        assert answer.location == case["expectLocation"]
    for fragment in case.get("expectLocationContains", []):
        assert fragment in answer.location
    if "expectLinksetHrefs" in case:
        (context,) = answer.linkset["linkset"]
        hrefs = [
            t["href"]
            for key, ts in context.items()
            if key != "anchor"
            for t in ts
            if isinstance(ts, list)
        ]
        for href in case["expectLinksetHrefs"]:
            assert href in hrefs


def test_all_expectation_cases_were_loaded() -> None:
    if not RESOLVER_CE.exists():
        pytest.skip(f"conformance data not found at {RESOLVER_CE}")
    assert len(_cases()) == 31


def test_linkset_matches_the_resolver_ce_example() -> None:
    # Documentation/linkset.json is the linkset of Documentation/proposed_input.json. The two
    # differ in one `context` list, so relations, hrefs and the default link are compared.
    (entry,) = _load(RESOLVER_CE / "Documentation" / "proposed_input.json")
    (expected,) = _load(RESOLVER_CE / "Documentation" / "linkset.json")["linkset"]
    linkset = LinkSet.from_resolver_entry(entry)
    base = "https://<resolver-web-server-domain>"
    (ours,) = linkset_json(linkset, DigitalLink.parse(linkset.anchor), base=base)["linkset"]
    assert ours["anchor"] == expected["anchor"]
    assert ours["itemDescription"] == expected["itemDescription"]
    assert set(ours) == set(expected)
    for relation, targets in expected.items():
        if isinstance(targets, list):
            assert [t["href"] for t in ours[relation]] == [t["href"] for t in targets], relation
            assert [t.get("hreflang") for t in ours[relation]] == [
                t.get("hreflang") for t in targets
            ], relation
    assert ours["https://gs1.org/voc/defaultLink"] == expected["https://gs1.org/voc/defaultLink"]


def test_linkset_requests(ce_linksets: list[LinkSet]) -> None:
    link = DigitalLink.parse("/01/09506000134376/21/SER%2F1")
    for kwargs in ({"link_type": "linkset"}, {"link_type": "all"}, {"accept": LINKSET_MEDIA_TYPE}):
        answer = resolve(link, ce_linksets, base="https://r.example", **kwargs)
        assert answer.status == 200 and answer.location is None
        (context,) = answer.linkset["linkset"]
        assert context["anchor"] == "https://r.example/01/09506000134376/21/SER%2F1"
        assert [t["href"] for t in context["https://gs1.org/voc/pip"]] == [
            "https://dalgiardino.com/medicinal-compound/pil.html?serial=SER%2F1"
        ]
        json.dumps(answer.linkset)


def test_qualifier_fallback_and_unknown_keys(ce_linksets: list[LinkSet]) -> None:
    # /10/LOT01/21/X has no entry of its own: the lot entry serves it.
    answer = resolve(DigitalLink.parse("/01/09506000134376/10/LOT01/21/X"), ce_linksets)
    assert answer.location == "https://dalgiardino.com/medicinal-compound/pil.html?lot=LOT01"
    missing = resolve(DigitalLink.parse("/01/09506000134352/21/X"), [])
    assert missing.status == 404
    other = resolve(DigitalLink.parse("/00/106141411234567897"), ce_linksets)
    assert other.status == 404


def test_link_type_forms() -> None:
    assert normalise_link_type("https://gs1.org/voc/pip") == "gs1:pip"
    assert normalise_link_type("http://gs1.org/voc/pip") == "gs1:pip"
    assert normalise_link_type("http://schema.org/offers") == "schema:offers"
    assert normalise_link_type("gs1:traceability") == "gs1:traceability"


def test_accept_language_parsing_and_choice() -> None:
    assert parse_accept_language("fr;q=0.5, de , en;q=0.9, it;q=0") == ["de", "en", "fr"]
    assert parse_accept_language("en;q=abc") == []
    links = [
        LinkEntry("gs1:pip", "https://x/fr", languages=("fr",)),
        LinkEntry("gs1:pip", "https://x/en-gb", languages=("en-GB",)),
        LinkEntry("gs1:pip", "https://x/any"),
    ]
    assert [x.href for x in choose_by_language(links, "fr-CH, en")] == ["https://x/fr"]
    assert [x.href for x in choose_by_language(links, "en")] == ["https://x/en-gb"]
    assert [x.href for x in choose_by_language(links, "ja")] == ["https://x/any"]
    assert len(choose_by_language(links, None)) == 3


def test_default_link_without_language_redirects_to_the_first(
    ce_linksets: list[LinkSet],
) -> None:
    answer = resolve(DigitalLink.parse("/01/09506000134352"), ce_linksets)
    assert answer.status == 307
    assert "test_lt=gs1:sustainabilityInfo&test_lang=en" in answer.location


def test_resolver_description_has_the_resolver_ce_shape() -> None:
    reference = _load(RESOLVER_CE / "web_server" / "src" / "public" / "gs1resolver.json")
    ours = resolver_description(
        "https://id.example.org/",
        active_link_types={"gs1:pip": {"title": "Product information page", "description": "x"}},
    )
    assert ours["resolverRoot"] == "https://id.example.org"
    for key, value in ours.items():
        assert key in reference, key
        assert type(value) is type(reference[key]), key
    assert ours["activeLinkTypes"]["en"]["gs1:pip"]["url"] == "https://gs1.org/voc/pip"
    sample = reference["activeLinkTypes"]["en"]["gs1:certificationInfo"]
    assert set(ours["activeLinkTypes"]["en"]["gs1:pip"]) == set(sample)
