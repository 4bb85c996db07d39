"""Handle syntax: RFC 3650/3651 names, normalisation, references and the parser's robustness."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identifiers.errors import InvalidHandle
from identifiers.handle import MAX_HANDLE_BYTES, Handle, parse_handle_reference


@pytest.mark.parametrize(
    ("text", "prefix", "suffix"),
    [
        ("20.500.12345/abc", "20.500.12345", "abc"),
        ("88.100.1/Part-0001", "88.100.1", "Part-0001"),
        ("0.NA/20.500", "0.na", "20.500"),
        ("10.1000/ABC/def/ghi", "10.1000", "ABC/def/ghi"),
        ("Tracespace.Plant_1/零件 001", "tracespace.plant_1", "零件 001"),
    ],
)
def test_parse_valid_handles(text: str, prefix: str, suffix: str) -> None:
    handle = Handle.parse(text)
    assert (handle.prefix, handle.suffix) == (prefix, suffix)
    assert str(handle) == f"{prefix}/{suffix}"


def test_prefix_is_case_insensitive_suffix_is_not() -> None:
    assert Handle.parse("20.500.ABC/x") == Handle.parse("20.500.abc/x")
    assert Handle.parse("20.500/X") != Handle.parse("20.500/x")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no-slash", "no '/'"),
        ("/suffix", "empty prefix"),
        ("20.500/", "empty suffix"),
        ("20..500/x", "empty segment 2"),
        ("20.500./x", "empty segment 3"),
        ("20.5 00/x", "may only contain"),
        ("20.ü/x", "may only contain"),
        ("20.500/a\x00b", "control character U+0000"),
        ("20.500/a\nb", "control character U+000A"),
        ("20.500/a\x85b", "control character U+0085"),
        ("20.500/a\ud800", "surrogate"),
        ("1." + "9" * 64 + "/x", "longer than 63"),
        ("20.500/" + "x" * MAX_HANDLE_BYTES, "longer than"),
    ],
)
def test_parse_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidHandle, match=re.escape(reason)):
        Handle.parse(text)


def test_direct_construction_requires_normalised_prefix() -> None:
    with pytest.raises(InvalidHandle, match="not normalised"):
        Handle("20.500.ABC", "x")
    assert Handle.of("20.500.ABC", "x") == Handle("20.500.abc", "x")


@pytest.mark.parametrize(
    "text",
    [
        "20.500.1/a b/c",
        "hdl:20.500.1/a b/c",
        "HDL:20.500.1/a b/c",
        "doi:20.500.1/a b/c",
        "https://hdl.handle.net/20.500.1/a%20b/c",
        "http://node.example:8080/20.500.1/a%20b/c?noredirect",
    ],
)
def test_reference_forms(text: str) -> None:
    assert parse_handle_reference(text) == Handle("20.500.1", "a b/c")


def test_reference_rejects_bad_utf8_and_hostless_url() -> None:
    with pytest.raises(InvalidHandle, match="UTF-8"):
        parse_handle_reference("https://h.example/20.500/%ff")
    with pytest.raises(InvalidHandle, match="no host"):
        parse_handle_reference("https:///20.500/x")
    with pytest.raises(InvalidHandle, match="malformed"):
        parse_handle_reference("https://[/20.500/x")


def test_proxy_url_round_trip() -> None:
    handle = Handle.parse("20.500.1/lot 7/ä?#")
    url = handle.proxy_url("https://node.example/")
    assert url == "https://node.example/20.500.1/lot%207/%C3%A4%3F%23"
    assert parse_handle_reference(url) == handle
    assert handle.uri() == "hdl:20.500.1/lot 7/ä?#"
    assert handle.prefix_handle == Handle("0.na", "20.500.1")


segment = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=1,
    max_size=10,
)
prefixes = st.lists(segment, min_size=1, max_size=4).map(".".join)
suffixes = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40
)


@given(prefixes, suffixes)
def test_parse_of_printed_handle_is_identity(prefix: str, suffix: str) -> None:
    handle = Handle.of(prefix, suffix)
    assert Handle.parse(str(handle)) == handle
    assert parse_handle_reference(handle.uri()) == handle
    assert parse_handle_reference(handle.proxy_url("https://n.example")) == handle
    assert handle.prefix == prefix.lower() and handle.suffix == suffix


@given(st.text(max_size=60))
def test_parser_raises_only_invalid_handle(text: str) -> None:
    for parse, candidate in (
        (Handle.parse, text),
        (parse_handle_reference, text),
        (parse_handle_reference, "https://" + text),
    ):
        try:
            handle = parse(candidate)
        except InvalidHandle:
            continue
        assert "/" not in handle.prefix and handle.suffix
