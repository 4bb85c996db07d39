"""Property tests for the parsers no other test fuzzes: tlog-proof, audit bundles, entries.

Each parser, fed arbitrary or mutated input, either returns a value or raises the library's
own error type (LedgerError and its subclasses) — never anything else; and a real proof or
bundle from a node, once changed, no longer verifies.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.node import Node, init_node
from ledger import merkle
from ledger.bundle import export_bundle, verify_bundle
from ledger.entry import parse_entry, read_links
from ledger.errors import LedgerError
from ledger.tlog_proof import TlogProof, format_tlog_proof, parse_tlog_proof, verify_tlog_proof

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def small_ledger(tmp_path_factory: pytest.TempPathFactory) -> Any:
    node = init_node(tmp_path_factory.mktemp("parsers") / "n", "parsers", [], port=9)
    for i in range(6):
        node.ledger.append("test.item", {"i": i})
    yield node
    node.close()


def _tlog_proof(node: Node, seq: int) -> tuple[str, bytes]:
    from ledger.checkpoint import open_checkpoint

    text = node.ledger.checkpoint()
    cp, _ = open_checkpoint(text, node.vkey)
    leaf = node.ledger.entry_bytes(seq)
    path = node.ledger.inclusion_proof(seq, cp.size)
    return format_tlog_proof(TlogProof(seq, tuple(path), text)), merkle.leaf_hash(leaf)


@SETTINGS
@given(st.text(max_size=400) | st.binary(max_size=400))
def test_tlog_proof_parser_total(data: str | bytes) -> None:
    with contextlib.suppress(LedgerError):
        parse_tlog_proof(data)


@SETTINGS
@given(
    st.integers(min_value=0, max_value=2**40),
    st.lists(st.binary(min_size=32, max_size=32), max_size=8),
    st.none() | st.binary(min_size=1, max_size=40),
)
def test_tlog_proof_round_trip(
    small_ledger: Node, index: int, hashes: list[bytes], extra: bytes | None
) -> None:
    checkpoint = small_ledger.ledger.checkpoint()
    proof = TlogProof(index, tuple(hashes), checkpoint, extra)
    assert parse_tlog_proof(format_tlog_proof(proof)) == proof


@SETTINGS
@given(data=st.data())
def test_mutated_tlog_proof_never_verifies(small_ledger: Node, data: st.DataObject) -> None:
    text, leaf = _tlog_proof(small_ledger, 3)
    raw = bytearray(text.encode())
    pos = data.draw(st.integers(0, len(raw) - 1))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
    raw[pos] = new
    try:
        verify_tlog_proof(bytes(raw).decode("utf-8", "strict"), leaf, small_ledger.vkey)
    except (LedgerError, UnicodeDecodeError):
        return
    pytest.fail(f"a proof changed at byte {pos} still verifies")


@SETTINGS
@given(json_values)
def test_bundle_verifier_total(value: Any) -> None:
    vkey = "parsers+00000000+AWR9ZzA4Y2QxZTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY="
    with contextlib.suppress(LedgerError):
        verify_bundle(value, vkey)


@SETTINGS
@given(data=st.data())
def test_mutated_bundle_never_verifies(small_ledger: Node, data: st.DataObject) -> None:
    bundle = export_bundle(small_ledger.ledger, 0)
    text = json.dumps(bundle)
    verified = verify_bundle(json.loads(text), small_ledger.vkey)
    pos = data.draw(st.integers(0, len(text) - 1))
    char = data.draw(st.sampled_from('0aZ=+/{}[]",: '))
    mutated = text[:pos] + char + text[pos + 1 :]
    if mutated == text:
        return
    try:
        doc = json.loads(mutated)
    except json.JSONDecodeError:
        return
    if doc == bundle:
        return  # whitespace only
    try:
        report = verify_bundle(doc, small_ledger.vkey)
    except LedgerError:
        return
    # Only a field the verifier ignores (the informational top-level "origin") may change,
    # and then the verified facts, taken from the signed checkpoint, are the same.
    where = text[max(0, pos - 20) : pos + 20]
    assert report.to_json() == verified.to_json(), f"a bundle changed at {pos} ({where!r})"


@SETTINGS
@given(
    st.binary(max_size=600)
    | st.text(max_size=600).map(str.encode)
    | json_values.map(lambda v: json.dumps(v).encode())
)
def test_entry_parsers_total(body: bytes) -> None:
    for parse in (parse_entry, read_links):
        with contextlib.suppress(LedgerError):
            parse(body)


def test_real_entries_parse(small_ledger: Node) -> None:
    for seq in range(small_ledger.ledger.size):
        body = small_ledger.ledger.entry_bytes(seq)
        assert parse_entry(body).seq == seq == read_links(body).seq
