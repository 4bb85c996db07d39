"""GS1 Digital Link parse/build: GS1 examples, rejects with reasons, and round trips checked
against biip's independent Digital Link parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identifiers.digital_link import DigitalLink
from identifiers.errors import InvalidGs1
from identifiers.gs1_ai import CSET82, check_digit

biip_dl = pytest.importorskip("biip.gs1_digital_link_uris")


@pytest.mark.parametrize(
    ("uri", "canonical", "hri"),
    [
        (
            "https://id.gs1.org/01/09506000134352",
            "https://id.gs1.org/01/09506000134352",
            "(01)09506000134352",
        ),
        (
            "https://example.com/01/9506000134352",  # GTIN-13 padded to GTIN-14
            "https://id.gs1.org/01/09506000134352",
            "(01)09506000134352",
        ),
        (
            "https://example.com/01/96385074/21/7",  # GTIN-8
            "https://id.gs1.org/01/00000096385074/21/7",
            "(01)00000096385074(21)7",
        ),
        (
            "https://brand.example/a/b/01/09506000134352/22/2A/10/ABC%2F1/21/12345?17=260101",
            "https://id.gs1.org/01/09506000134352/22/2A/10/ABC%2F1/21/12345?17=260101",
            "(01)09506000134352(22)2A(10)ABC/1(21)12345(17)260101",
        ),
        (
            "http://id.gs1.org/00/106141411234567897",
            "https://id.gs1.org/00/106141411234567897",
            "(00)106141411234567897",
        ),
        (
            "https://id.gs1.org/414/0614141000005/254/A1",
            "https://id.gs1.org/414/0614141000005/254/A1",
            "(414)0614141000005(254)A1",
        ),
        (
            "https://id.gs1.org/8004/0950600013430000001",
            "https://id.gs1.org/8004/0950600013430000001",
            "(8004)0950600013430000001",
        ),
    ],
)
def test_valid_links(uri: str, canonical: str, hri: str) -> None:
    link = DigitalLink.parse(uri)
    assert link.uri() == canonical
    assert link.element_string() == hri
    assert DigitalLink.parse(canonical) == link
    assert DigitalLink.from_element_string(hri) == link
    theirs = biip_dl.GS1DigitalLinkURI.parse(uri)
    assert theirs.as_gs1_message().as_hri() == hri


def test_attributes_and_other_query_parameters() -> None:
    link = DigitalLink.parse("/01/09506000134352/10/L1?linkType=gs1:pip&3103=000500&15=261231")
    assert link.attributes == (("15", "261231"), ("3103", "000500"))
    assert link.uri("https://r.example/") == (
        "https://r.example/01/09506000134352/10/L1?15=261231&3103=000500"
    )
    assert link.path() == "/01/09506000134352/10/L1"
    assert (link.gtin, link.lot, link.serial, link.get("3103")) == (
        "09506000134352",
        "L1",
        None,
        "000500",
    )
    assert link.without_attributes().attributes == ()


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("https://id.gs1.org/01/09506000134353", "wrong check digit"),
        ("https://id.gs1.org/01/09506000134", "too short"),
        ("https://id.gs1.org/01/09506000134352/21/S/10/L", "not permitted after (01)"),
        ("https://id.gs1.org/01/09506000134352/22/A/10/L/235/X", "not permitted after (01)"),
        ("https://id.gs1.org/01/09506000134352/254/A", "not permitted after (01)"),
        ("https://id.gs1.org/00/106141411234567897/10/L", "not permitted after (00)"),
        ("https://id.gs1.org/10/LOT01", "no GS1 primary key"),
        ("https://id.gs1.org/01/09506000134376/badrequest", "must end in /AI/value pairs"),
        ("https://id.gs1.org/01/09506000134352/99x/1", "must end in /AI/value pairs"),
        ("https://id.gs1.org/01/09506000134352/23/1", "unknown GS1 Application Identifier"),
        ("https://id.gs1.org/01/09506000134352/10/L%20", "not allowed"),
        ("https://id.gs1.org/01/09506000134352/10/%FF", "not UTF-8"),
        ("https://id.gs1.org/01/09506000134352?21=S1", "not permitted as a Digital Link data"),
        ("https://id.gs1.org/01/09506000134352?01=09506000134352", "more than once"),
        ("https://id.gs1.org/01/09506000134352?17=261332", "YYMMDD"),
        ("ftp://id.gs1.org/01/09506000134352", "http(s)"),
        ("01/09506000134352", "start with '/'"),
        ("https://id.gs1.org/01/09506000134352 ", "whitespace"),
        ("", "non-empty"),
        ("http://[/01/09506000134352", "not a valid URI"),
    ],
)
def test_invalid_links(uri: str, reason: str) -> None:
    with pytest.raises(InvalidGs1) as caught:
        DigitalLink.parse(uri)
    assert reason in str(caught.value)


def test_build_validates_like_parse() -> None:
    link = DigitalLink.build("01", "9506000134352", {"10": "A", "21": "B"}, {"17": "260101"})
    assert link.uri() == "https://id.gs1.org/01/09506000134352/10/A/21/B?17=260101"
    with pytest.raises(InvalidGs1, match="not a GS1 Digital Link primary key"):
        DigitalLink.build("10", "LOT")
    with pytest.raises(InvalidGs1, match="repeated qualifier"):
        DigitalLink.build("01", "09506000134352", [("10", "A"), ("10", "B")])
    with pytest.raises(InvalidGs1, match="not a bracketed"):
        DigitalLink.from_element_string("01 09506000134352")


def _with_check(payload: str) -> str:
    return payload + str(check_digit(payload))


cset82_text = st.text(alphabet=sorted(CSET82 - set("()")), min_size=1, max_size=20)
gtins = st.text(alphabet="0123456789", min_size=13, max_size=13).map(_with_check)
ssccs = st.text(alphabet="0123456789", min_size=17, max_size=17).map(_with_check)
glns = st.text(alphabet="0123456789", min_size=12, max_size=12).map(_with_check)
dates = st.dates().map(lambda d: d.strftime("%y%m%d"))


@st.composite
def links(draw: st.DrawFn) -> DigitalLink:
    kind = draw(st.sampled_from(["gtin", "sscc", "gln"]))
    attributes = draw(st.dictionaries(st.sampled_from(["11", "13", "15"]), dates, max_size=2))
    if kind == "gtin":
        qualifiers = [(ai, draw(cset82_text)) for ai in ("22", "10", "21") if draw(st.booleans())]
        return DigitalLink.build("01", draw(gtins), qualifiers, attributes)
    if kind == "sscc":
        return DigitalLink.build("00", draw(ssccs), (), {"400": draw(cset82_text)})
    extension = [("254", draw(cset82_text))] if draw(st.booleans()) else []
    return DigitalLink.build("414", draw(glns), extension)


@settings(max_examples=200)
@given(links())
def test_parse_of_built_link_is_identity(link: DigitalLink) -> None:
    assert DigitalLink.parse(link.uri()) == link
    assert DigitalLink.parse(link.uri("https://r.example/prefix/01/x")) == link
    assert DigitalLink.from_element_string(link.element_string()) == link
    theirs = biip_dl.GS1DigitalLinkURI.parse(link.uri())
    assert theirs.as_gs1_message().as_hri() == link.element_string()


@given(st.text(max_size=80))
def test_parser_raises_only_invalid_gs1(text: str) -> None:
    candidates = (
        text,
        "http://" + text,
        "https://id.gs1.org/" + text,
        "/01/09506000134352/" + text,
    )
    for candidate in candidates:
        try:
            link = DigitalLink.parse(candidate)
        except InvalidGs1:
            continue
        assert DigitalLink.parse(link.uri()) == link
