"""The direct EPC URN -> Digital Link URI path and the check digit give what the general
`from_epc_urn` / DigitalLink validation gives, on generated and on corpus names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from identifiers.canonical import canonical_object_id
from identifiers.epc import LGTIN, SGLN, SGTIN, SSCC_URN, common_urn_uri, from_epc_urn
from identifiers.errors import InvalidGs1, InvalidIdentifier
from identifiers.gs1_ai import check_digit, has_valid_check_digit

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "epcis"
HEADERS = [SGTIN, LGTIN, SSCC_URN, SGLN, SGTIN.upper(), "urn:epc:id:sgtin", "urn:epc:id:giai:"]
# Near the edges of the common form: escapes, characters outside GS1 set 82 or outside the
# URI unreserved set, non-ASCII digits, dots, the SGLN "no extension" value.
TAIL_PIECES = st.sampled_from([*"09AZaz-._~%/'!*é٣ \n", "%2F", "%41", "%zz"])
DIGITS = st.text("0123456789٣", max_size=14)
PLAIN = "-.0123456789ABCXYZ_abcxyz"
TAILS = st.one_of(
    st.just("0"),
    st.text(PLAIN, min_size=1, max_size=21),
    st.lists(TAIL_PIECES, max_size=23).map("".join),
)


def general_uri(urn: str) -> str | None:
    try:
        return from_epc_urn(urn).without_attributes().uri()
    except InvalidGs1:
        return None


TOTALS = {SGTIN: 13, LGTIN: 13, SSCC_URN: 17, SGLN: 12}


@st.composite
def urns(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(HEADERS))
    if draw(st.booleans()):  # lengths at or next to the valid ones, so the direct path runs
        company_length = draw(st.integers(5, 13))
        total = TOTALS.get(header.lower(), 13) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        company = draw(st.text("0123456789", min_size=company_length, max_size=company_length))
        rest = max(0, total - company_length)
        reference = draw(st.text("0123456789", min_size=rest, max_size=rest))
    else:
        company, reference = draw(DIGITS), draw(DIGITS)
    parts = [company, reference, draw(TAILS)]
    keep = draw(st.sampled_from([3, 3, 3, 2, 1]))
    return header + ".".join(parts[:keep])


@settings(max_examples=3000, deadline=None)
@given(urns())
@example("urn:epc:id:sgln:401234500001..x")  # 12-digit prefix: empty location reference
@example("urn:epc:id:sgln:4012345.00001.0")
@example("urn:epc:id:sgtin:4055555.033333.A.B")
def test_direct_uri_equals_the_general_mapping(urn: str) -> None:
    direct = common_urn_uri(urn)
    if direct is not None:
        assert direct == general_uri(urn)


@pytest.mark.parametrize(
    "urn",
    [
        "urn:epc:id:sgtin:4055555.033333.1001",
        "urn:epc:class:lgtin:4012345.012345.RESIN-1A",
        "urn:epc:id:sscc:4098765.0000000001",
        "urn:epc:id:sgln:4012345.00001.0",
        "urn:epc:id:sgln:4012345.00001.ext_1",
    ],
)
def test_common_urns_take_the_direct_path(urn: str) -> None:
    assert common_urn_uri(urn) == general_uri(urn) is not None
    assert canonical_object_id(urn) == general_uri(urn)


def test_other_forms_still_take_the_general_path() -> None:
    escaped = "urn:epc:id:sgtin:4055555.033333.A%2FB"
    assert common_urn_uri(escaped) is None
    assert canonical_object_id(escaped) == "https://id.gs1.org/01/04055555333338/21/A%2FB"
    assert common_urn_uri("URN:EPC:ID:SSCC:4098765.0000000001") is None
    assert canonical_object_id("URN:EPC:ID:SSCC:4098765.0000000001").endswith(
        "/00/040987650000000010"
    )
    with pytest.raises(InvalidIdentifier):
        canonical_object_id("urn:epc:id:sgtin:4055555.033333.bad~char")


@pytest.mark.skipif(
    not CORPUS.is_dir(), reason="conformance data ../shared/conformance/epcis is absent"
)
def test_corpus_urns_agree() -> None:
    names = set()
    for path in CORPUS.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".jsonld", ".xml"):
            text = path.read_text("utf-8", errors="replace")
            names.update(re.findall(r"urn:epc:(?:id|class):[a-z]+:[^\"'<>\s]+", text))
    direct = [name for name in names if common_urn_uri(name) is not None]
    assert len(direct) > 50
    for name in names:
        if (uri := common_urn_uri(name)) is not None:
            assert uri == general_uri(name), name


def _reference_check_digit(payload: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


@given(st.text("0123456789", min_size=1, max_size=20))
def test_check_digit_equals_the_textbook_formula(payload: str) -> None:
    assert check_digit(payload) == _reference_check_digit(payload)
    assert has_valid_check_digit(payload + str(_reference_check_digit(payload)))


@pytest.mark.parametrize("payload", ["", "12a", "١٢٣", "12 3"])
def test_check_digit_refuses_what_is_not_ascii_digits(payload: str) -> None:
    with pytest.raises(InvalidGs1):
        check_digit(payload)
    assert not has_valid_check_digit(payload + "0")
