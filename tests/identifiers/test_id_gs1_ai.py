"""The GS1 AI table against the Syntax Dictionary and biip's independent table; check digits
against known keys and biip; AI value validation."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identifiers.errors import InvalidGs1
from identifiers.gs1_ai import (
    ai_table,
    check_digit,
    has_valid_check_digit,
    lookup_ai,
    parse_dictionary,
    validate_ai_value,
)

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
DICTIONARY = CONFORMANCE / "gs1-digital-link" / "gs1-syntax-engine" / "gs1-syntax-dictionary.txt"

biip_ai = pytest.importorskip("biip.gs1_application_identifiers")
biip_checksums = pytest.importorskip("biip.checksums")


def test_bundled_dictionary_is_the_conformance_copy() -> None:
    if not DICTIONARY.exists():
        pytest.skip(f"conformance data not found at {DICTIONARY}")
    bundled = resources.files("identifiers.data").joinpath("gs1-syntax-dictionary.txt")
    assert bundled.read_bytes() == DICTIONARY.read_bytes()
    assert parse_dictionary(DICTIONARY.read_text("utf-8")) == ai_table()


def test_table_entries_from_the_dictionary() -> None:
    table = ai_table()
    assert len(table) == 541  # every AI, with ranges such as 3100-3105 expanded
    gtin = table["01"]
    assert gtin.predefined_length and gtin.dl_data_attribute
    assert gtin.dl_qualifiers == (("22", "10", "21"), ("235",))
    assert [(c.charset, c.min_length, c.max_length) for c in gtin.components] == [("N", 14, 14)]
    assert gtin.components[0].linters == ("csum", "gcppos2")
    assert table["00"].dl_qualifiers == ((),)
    assert table["414"].dl_qualifiers == (("254",), ("7040",))
    assert table["10"].dl_qualifiers is None and table["10"].title == "BATCH/LOT"
    assert table["3103"].title == "NET WEIGHT (kg)"
    optional = table["8003"].components[-1]
    assert (optional.charset, optional.optional, optional.max_length) == ("X", True, 16)
    with pytest.raises(InvalidGs1, match="unknown GS1 Application Identifier"):
        lookup_ai("23")


def _biip_max_length(fmt: str) -> int:
    """Maximum data length from a biip format such as `N4+N14[+X..16]`."""
    # The first part is the AI itself; "[-]" is biip's optional literal hyphen.
    parts = re.findall(r"(\[-\])|[NXYZ](\d*)(?:\.\.[NXYZ]?(\d+))?", fmt)[1:]
    return sum(1 if hyphen else int(maximum or fixed) for hyphen, fixed, maximum in parts)


def test_table_agrees_with_biip() -> None:
    table = ai_table()
    theirs = biip_ai._GS1_APPLICATION_IDENTIFIERS
    assert set(table) == set(theirs)
    for ai, entry in table.items():
        other = theirs[ai]
        assert entry.max_length == _biip_max_length(other.format), ai
        assert entry.predefined_length == (not other.separator_required), ai


@pytest.mark.parametrize(
    "key",
    [
        "09506000134352",  # GTIN-14 (GS1 examples)
        "9506000134352",  # GTIN-13
        "614141000036",  # GTIN-12
        "96385074",  # GTIN-8
        "106141411234567897",  # SSCC
        "0614141000005",  # GLN
        "4012345000009",  # GLN
    ],
)
def test_known_keys_check(key: str) -> None:
    assert has_valid_check_digit(key)
    wrong = key[:-1] + str((int(key[-1]) + 1) % 10)
    assert not has_valid_check_digit(wrong)


@given(st.text(alphabet="0123456789", min_size=1, max_size=17))
def test_check_digit_agrees_with_biip(payload: str) -> None:
    assert check_digit(payload) == biip_checksums.gs1_standard_check_digit(payload)


def test_check_digit_rejects_non_digits() -> None:
    with pytest.raises(InvalidGs1):
        check_digit("12a")
    assert not has_valid_check_digit("1")


@pytest.mark.parametrize(
    ("ai", "value"),
    [
        ("01", "09506000134352"),
        ("00", "106141411234567897"),
        ("10", "L/1!%&'()*+,-.:;<=>"),
        ("10", "?_az"),
        ("7006", "280229"),  # 2028 is a leap year
        ("11", "250100"),  # yymmd0: day 00 allowed
        ("8003", "0950600013435212345"),  # GRAI with serial
        ("8003", "09506000134352"),
        ("3103", "001250"),
        ("8006", "095060001343520102"),
        ("4321", "1"),
        ("8030", "YWJj_-="),
    ],
)
def test_valid_ai_values(ai: str, value: str) -> None:
    validate_ai_value(ai, value)


@pytest.mark.parametrize(
    ("ai", "value", "reason"),
    [
        ("01", "09506000134353", "wrong check digit"),
        ("01", "0950600013435", "too short"),
        ("01", "095060001343520", "longer than 14"),
        ("01", "0950600013435A", "not allowed"),
        ("10", "LOT 1", "not allowed"),
        ("10", "L" * 21, "longer than 20"),
        ("10", "", "empty"),
        ("17", "260230", "not a valid YYMMDD"),
        ("15", "261300", "not a valid YYMMDD"),
        ("7006", "260100", "not a valid YYMMDD"),  # yymmdd: no day 00
        ("8003", "19506000134352", "must be zero"),
        ("8006", "095060001343520300", "piece number"),
        ("4321", "2", "must be 0 or 1"),
        ("8011", "012", "must not start with 0"),
        ("4300", "A%2", "bad %-escape"),
    ],
)
def test_invalid_ai_values(ai: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidGs1, match=re.escape(reason)):
        validate_ai_value(ai, value)


CHECKED_AIS = ["00", "01", "10", "11", "17", "21", "22", "254", "414", "8003", "8004", "3103"]


@settings(max_examples=300)
@given(st.sampled_from(CHECKED_AIS), st.data())
def test_accepted_values_match_biip_pattern(ai: str, data: st.DataObject) -> None:
    pattern = biip_ai._GS1_APPLICATION_IDENTIFIERS[ai].pattern
    # Strings from biip's pattern (minus its AI prefix) and arbitrary strings alike: whatever
    # we accept must match biip's pattern, and we never raise anything but InvalidGs1.
    body = pattern[len("^" + ai) :] if pattern.startswith("^" + ai) else pattern
    value = data.draw(st.one_of(st.from_regex(body, fullmatch=True), st.text(max_size=25)))
    try:
        validate_ai_value(ai, value)
    except InvalidGs1:
        return
    assert re.fullmatch(pattern.lstrip("^").rstrip("$"), ai + value)
