"""EPC URNs ⇄ Digital Links: TDS examples, rejects, and round trips checked against epcpy."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identifiers.canonical import canonical_object_id, gs1_to_handle, handle_to_gs1
from identifiers.digital_link import DigitalLink
from identifiers.epc import from_epc_urn, to_epc_urn
from identifiers.errors import InvalidGs1, InvalidIdentifier
from identifiers.gs1_ai import CSET82, check_digit
from identifiers.handle import Handle

epc_schemes = pytest.importorskip("epcpy.epc_schemes")


@pytest.mark.parametrize(
    ("urn", "hri", "prefix_length"),
    [
        # Tag Data Standard examples.
        ("urn:epc:id:sgtin:0614141.812345.6789", "(01)80614141123458(21)6789", 7),
        ("urn:epc:id:sgtin:0614141.812345.A%2FB", "(01)80614141123458(21)A/B", 7),
        ("urn:epc:class:lgtin:4012345.012345.998877", "(01)04012345123456(10)998877", 7),
        ("urn:epc:id:sscc:0614141.1234567890", "(00)106141412345678908", 7),
        ("urn:epc:id:sgln:0614141.12345.400", "(414)0614141123452(254)400", 7),
        ("urn:epc:id:sgln:0614141.12345.0", "(414)0614141123452", 7),
        ("urn:epc:id:sgln:061414112345..0", "(414)0614141123452", 12),
    ],
)
def test_tds_examples(urn: str, hri: str, prefix_length: int) -> None:
    link = from_epc_urn(urn)
    assert link.element_string() == hri
    assert to_epc_urn(link, prefix_length) == urn


@pytest.mark.parametrize(
    ("urn", "reason"),
    [
        ("urn:epc:id:sgtin:0614141.81234.6789", "total 13 digits"),
        ("urn:epc:id:sgtin:06141.8123456.6789", "6..12"),
        ("urn:epc:id:sgtin:0614141.812345", "3 non-empty"),
        ("urn:epc:id:sgtin:0614141.812345.", "3 non-empty"),
        ("urn:epc:id:sgtin:0614141.812345.A B", "not allowed"),
        ("urn:epc:id:sgtin:0614141.812345.A%2", "malformed %-escape"),
        ("urn:epc:id:sgtin:0614141.81234X.1", "must be digits"),
        ("urn:epc:id:sscc:0614141.123456789", "total 17 digits"),
        ("urn:epc:id:sgln:0614141.1234.0", "total 12 digits"),
        ("urn:epc:id:grai:0614141.12345.1", "not an SGTIN"),
    ],
)
def test_invalid_urns(urn: str, reason: str) -> None:
    with pytest.raises(InvalidGs1) as caught:
        from_epc_urn(urn)
    assert reason in str(caught.value)


def test_to_urn_needs_a_supported_link() -> None:
    with pytest.raises(InvalidGs1, match=r"serial \(SGTIN\) or a lot"):
        to_epc_urn(DigitalLink.parse("/01/09506000134352"), 7)
    with pytest.raises(InvalidGs1, match=re.escape("6..12")):
        to_epc_urn(DigitalLink.parse("/00/106141412345678908"), 13)
    with pytest.raises(InvalidGs1, match="no supported EPC scheme"):
        to_epc_urn(DigitalLink.parse("/8004/0950600013430000001"), 7)


def _with_check(payload: str) -> str:
    return payload + str(check_digit(payload))


digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
text82 = st.text(alphabet=sorted(CSET82), min_size=1, max_size=20)


@st.composite
def keyed(draw: st.DrawFn) -> tuple[DigitalLink, int]:
    length = draw(st.integers(6, 12))
    kind = draw(st.sampled_from(["sgtin", "lgtin", "sscc", "sgln"]))
    if kind in ("sgtin", "lgtin"):
        gtin = _with_check(draw(st.text(alphabet="0123456789", min_size=13, max_size=13)))
        ai = "21" if kind == "sgtin" else "10"
        return DigitalLink.build("01", gtin, [(ai, draw(text82))]), length
    if kind == "sscc":
        sscc = _with_check(draw(st.text(alphabet="0123456789", min_size=17, max_size=17)))
        return DigitalLink.build("00", sscc), length
    gln = _with_check(draw(st.text(alphabet="0123456789", min_size=12, max_size=12)))
    extension = draw(st.one_of(st.none(), text82.filter(lambda t: t != "0")))
    return DigitalLink.build("414", gln, [("254", extension)] if extension else []), length


SCHEMES = {"sgtin": "SGTIN", "lgtin": "LGTIN", "sscc": "SSCC", "sgln": "SGLN"}


@settings(max_examples=300)
@given(keyed())
def test_round_trip_and_epcpy_agree(case: tuple[DigitalLink, int]) -> None:
    link, length = case
    urn = to_epc_urn(link, length)
    assert from_epc_urn(urn) == link
    if any(escape in urn for escape in ("%2F", "%3C", "%3E", "%3F")):
        return  # epcpy 0.1.8 only decodes escapes made of two decimal digits
    if link.key_ai == "414" and link.get("254") is None:
        return  # epcpy writes a missing GLN extension as (254)0
    scheme = getattr(epc_schemes, SCHEMES[urn.split(":")[3]])
    assert scheme(urn).gs1_element_string() == link.element_string()
    made = scheme.from_gs1_element_string(link.element_string(), company_prefix_length=length)
    assert made.epc_uri == urn


@given(st.text(max_size=60))
def test_urn_parser_raises_only_invalid_gs1(text: str) -> None:
    for candidate in (text, "urn:epc:id:sgtin:" + text, "urn:epc:id:sgln:" + text):
        with contextlib.suppress(InvalidGs1):
            from_epc_urn(candidate)


def test_canonical_object_id() -> None:
    dl = "https://id.gs1.org/01/80614141123458/21/6789"
    assert canonical_object_id("urn:epc:id:sgtin:0614141.812345.6789") == dl
    assert canonical_object_id("https://r.example/x/01/80614141123458/21/6789?17=260101") == dl
    assert canonical_object_id("/01/80614141123458/21/6789") == dl
    assert canonical_object_id("(01)80614141123458(21)6789") == dl
    assert canonical_object_id("20.500.ABC/Part 1") == "hdl:20.500.abc/Part 1"
    assert canonical_object_id("hdl:20.500.abc/Part 1") == "hdl:20.500.abc/Part 1"
    for bad in ("", "https://example.com/page", "urn:isbn:123", "just-text"):
        with pytest.raises(InvalidIdentifier):
            canonical_object_id(bad)


def test_gs1_handles() -> None:
    link = DigitalLink.parse("/01/09506000134352/10/LOT.1%2F2/21/S1?17=260101")
    handle = gs1_to_handle(link, "20.500.1")
    assert str(handle) == "20.500.1/01.09506000134352.10.LOT%2E1%2F2.21.S1"
    assert handle_to_gs1(handle) == link.without_attributes()
    for suffix in ("part-1", "01.09506000134352.10", "01.09506000134353", "01.0950600013435%32"):
        with pytest.raises(InvalidGs1):
            handle_to_gs1(Handle("20.500.1", suffix))


@given(keyed())
def test_gs1_handle_round_trip(case: tuple[DigitalLink, int]) -> None:
    link, _ = case
    assert handle_to_gs1(gs1_to_handle(link, "88.100.1")) == link


@given(st.one_of(st.text(max_size=60), st.sampled_from(["urn:epc:", "https://", "(01)", "/01/"])))
def test_canonical_object_id_raises_only_invalid_identifier(text: str) -> None:
    with contextlib.suppress(InvalidIdentifier):
        assert canonical_object_id(canonical_object_id(text)) == canonical_object_id(text)
