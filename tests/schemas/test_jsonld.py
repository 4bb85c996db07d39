"""Offline JSON-LD processing: bundled pinned contexts, hostile-input guards, dropped terms."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld as pyld

from schemas import jsonld
from schemas.contexts import BUNDLED, INDEX, ContextRegistry, register_context
from schemas.errors import ContextIntegrityError, InvalidRecord, JsonLdError, RecordError

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
VECTORS = CONFORMANCE / "vc-di-eddsa" / "TestVectors"
CREDENTIALS = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
DSPACE = "https://w3id.org/dspace/2025/1/context.jsonld"


@pytest.fixture
def conformance() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.skip(f"conformance data not found at {CONFORMANCE}")
    return CONFORMANCE


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def load(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))


# --- bundled contexts -------------------------------------------------------------------


def test_index_pins_every_bundled_file_by_sha256() -> None:
    index = json.loads(INDEX.read_text())
    assert index["v"] == 1
    assert set(index["contexts"]) >= {
        CREDENTIALS,
        EXAMPLES,
        DSPACE,
        "https://w3id.org/dspace/2025/1/odrl-profile.jsonld",
    }
    for entry in index["contexts"].values():
        data = (INDEX.parent / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert (INDEX.parent / entry["licence"]).is_file()


def test_bundled_files_are_byte_identical_to_the_published_contexts(conformance: Path) -> None:
    sources = {
        CREDENTIALS: conformance / "vc-di-eddsa/contexts/credentials-v2.jsonld",
        EXAMPLES: conformance / "vc-di-eddsa/contexts/credentials-examples-v2.jsonld",
        DSPACE: conformance / "dsp/context/dspace.jsonld",
        "https://w3id.org/dspace/2025/1/odrl-profile.jsonld": conformance
        / "dsp/context/odrl.jsonld",
    }
    for url, source in sources.items():
        assert BUNDLED.entry(url).path.read_bytes() == source.read_bytes()


def test_modified_context_file_is_caught_by_its_pin(tmp_path: Path) -> None:
    folder = tmp_path / "contexts"
    shutil.copytree(INDEX.parent, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    target = folder / "credentials-v2.jsonld"
    target.write_bytes(target.read_bytes().replace(b"https://schema.org/name", b"urn:evil:name"))
    tampered = ContextRegistry.from_index(folder / "index.json")
    with pytest.raises(ContextIntegrityError, match="modified"):
        jsonld.expand({"@context": CREDENTIALS, "name": "x"}, registry=tampered)


def test_registered_context_is_pinned_at_registration(tmp_path: Path) -> None:
    url = "https://example.test/ctx/v1"
    path = tmp_path / "ctx.jsonld"
    path.write_text(json.dumps({"@context": {"name": "https://schema.org/name"}}))
    registry = ContextRegistry()
    registry.register(url, path)
    path.write_text(json.dumps({"@context": {"name": "urn:evil:name"}}))
    with pytest.raises(ContextIntegrityError):
        registry.load(url)


def test_registered_context_with_explicit_hash_expands(tmp_path: Path) -> None:
    url = "https://example.test/ctx/v2"
    path = tmp_path / "ctx.jsonld"
    path.write_text(json.dumps({"@context": {"name": "https://schema.org/name"}}))
    registry = ContextRegistry()
    registry.register(url, path, hashlib.sha256(path.read_bytes()).hexdigest())
    expanded = jsonld.expand({"@context": url, "name": "n"}, registry=registry)
    assert expanded == [{"https://schema.org/name": [{"@value": "n"}]}]
    with pytest.raises(ContextIntegrityError):
        registry.register(url, path, "0" * 64)


def test_register_context_refuses_to_replace_a_bundled_url(tmp_path: Path) -> None:
    other = tmp_path / "other.jsonld"
    other.write_text("{}")
    with pytest.raises(ContextIntegrityError, match="already registered"):
        register_context(CREDENTIALS, other)


# --- the loader never goes remote -------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path"),
    [
        ({"@context": "https://example.org/ctx", "a": 1}, "$['@context']"),
        ({"@context": [CREDENTIALS, "https://evil.example/v1"]}, "$['@context'][1]"),
        ({"@context": "relative.jsonld", "a": 1}, "$['@context']"),
        ({"@context": {"@import": "https://evil.example/x"}}, "$['@context']['@import']"),
        (
            {"@context": {"t": {"@id": "urn:t", "@context": "https://evil.example/s"}}, "t": {}},
            "$['@context'].t['@context']",
        ),
        ({"@context": {"@vocab": "urn:v:"}, "x": {"@context": "http://h/c"}}, "$.x['@context']"),
    ],
)
def test_remote_or_unknown_contexts_are_refused(doc: object, path: str) -> None:
    with pytest.raises(JsonLdError) as caught:
        jsonld.expand(doc)
    assert path in caught.value.paths
    assert "context" in str(caught.value)


def test_loader_alone_refuses_unknown_urls_inside_pyld() -> None:
    # Bypass our pre-checks: pyld with only the loader must still fail, offline.
    options = {"documentLoader": jsonld.document_loader()}
    with pytest.raises(pyld.JsonLdError) as caught:
        pyld.expand({"@context": {"@import": "https://evil.example/x"}, "a": 1}, options)
    causes = []
    error: BaseException | None = caught.value
    while error is not None:
        causes.append(error)
        error = error.__cause__
    assert any(isinstance(cause, JsonLdError) for cause in causes)


def test_employment_vector_needs_an_unbundled_context(conformance: Path) -> None:
    # Documented gap: the `employ` rdfc vector uses https://w3id.org/citizenship/v4rc1.
    doc = load(VECTORS / "eddsa-rdfc-2022/employ/signedDataInt.json")
    with pytest.raises(JsonLdError, match="citizenship"):
        jsonld.canonize(doc)


# --- results against the W3C and DSP material -------------------------------------------


def test_canonize_reproduces_the_w3c_rdfc_vectors(conformance: Path) -> None:
    folder = VECTORS / "eddsa-rdfc-2022"
    unsigned = load(VECTORS / "unsigned.json")
    assert jsonld.canonize(unsigned) == (folder / "canonDocDataInt.txt").read_text()
    config = load(folder / "proofConfigDataInt.json")
    assert jsonld.canonize(config) == (folder / "proofCanonDataInt.txt").read_text()


def test_compact_restores_the_w3c_credential(conformance: Path) -> None:
    unsigned = load(VECTORS / "unsigned.json")
    compacted = jsonld.compact(jsonld.expand(unsigned), unsigned["@context"])
    assert compacted == unsigned


def dsp_examples(conformance: Path) -> list[Path]:
    return sorted((conformance / "dsp").glob("*/example/*.json"))


def test_dsp_examples_expand_offline_with_no_dropped_terms(conformance: Path) -> None:
    checked = 0
    for path in dsp_examples(conformance):
        doc = load(path)
        if "https://www.w3.org/ns/did/v1" in json.dumps(doc.get("@context")):
            continue  # DID context not bundled
        if "@context" not in doc:
            with pytest.raises(InvalidRecord):
                jsonld.check_no_dropped_terms(doc)  # plain JSON: every property is dropped
            continue
        jsonld.check_no_dropped_terms(doc)
        checked += 1
    assert checked >= 20


def test_expansion_does_not_depend_on_earlier_documents(conformance: Path) -> None:
    # pyld 3.3.0 leaked a Dataset's type-scoped context into a later ContractAgreementMessage.
    agreement = load(conformance / "dsp/negotiation/example/contract-agreement-message.json")
    dataset = load(conformance / "dsp/catalog/example/dataset.json")
    alone = jsonld.expand(agreement)
    jsonld.expand(dataset)
    assert jsonld.expand(agreement) == alone
    assert "https://w3id.org/dspace/2025/1/agreement" in alone[0]
    both = {
        "@context": DSPACE,
        "@graph": [
            {k: v for k, v in dataset.items() if k != "@context"},
            {k: v for k, v in agreement.items() if k != "@context"},
        ],
    }
    jsonld.check_no_dropped_terms(both)


# --- dropped terms ------------------------------------------------------------------------


def test_dropped_terms_are_reported_with_json_paths() -> None:
    doc = {
        "@context": {"a": "http://ex/a", "gone": None, "ex": "http://ex/"},
        "a": {"b": 1, "a": [{"c": 2}, {"ex:ok": 3}]},
        "x:y": 3,
        "http://ex/abs": 4,
        "zz": None,
        "gone": 5,
        "has space": 6,
        "@id": "urn:x",
    }
    with pytest.raises(InvalidRecord) as caught:
        jsonld.check_no_dropped_terms(doc)
    assert caught.value.paths == sorted(["$.a.b", "$.a.a[0].c", "$.zz", "$.gone", "$['has space']"])
    assert "mapped to null" in dict(caught.value.problems)["$.gone"]


def test_undefined_term_under_a_protected_context_is_reported(conformance: Path) -> None:
    doc = load(VECTORS / "unsigned.json")
    jsonld.check_no_dropped_terms(doc)  # the examples context has an @vocab
    doc["@context"] = [CREDENTIALS]
    with pytest.raises(InvalidRecord) as caught:
        jsonld.check_no_dropped_terms(doc)
    assert caught.value.paths == ["$.credentialSubject.alumniOf"]


# --- hostile input ------------------------------------------------------------------------


def nested(depth: int) -> dict:
    doc: dict = {"@context": {"@vocab": "http://ex/"}}
    node = doc
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return doc


def complete_blank_graph(n: int) -> dict:
    """Every blank node linked to every other: all hashes tie, so RDFC-1.0 must permute."""
    return {
        "@context": {"p": {"@id": "http://ex/p", "@type": "@id"}},
        "@graph": [
            {"@id": f"_:b{i}", "p": [f"_:b{j}" for j in range(n) if j != i]} for i in range(n)
        ],
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (nested(100_000), "nested deeper"),
        ({"@context": {"@vocab": "http://ex/"}, "a": list(range(20_000))}, "more than 10000"),
        (
            {"@context": {"@vocab": "http://ex/"}, "a": [[0] * 9_000 for _ in range(30)]},
            "JSON values",
        ),
        ({"@context": {"@vocab": "http://ex/"}, "a": "x" * 3_000_000}, "larger than"),
        ({"@context": {f"t{i}": f"http://ex/{i}" for i in range(3_000)}}, "terms"),
        ({"@context": {"@vocab": "http://ex/"}, "a": float("nan")}, "NaN"),
        ({"@context": {"@vocab": "http://ex/"}, "a": {1: 2}}, "not a string"),
        ({"@context": {"@vocab": "http://ex/"}, "a": b"bytes"}, "not a JSON value"),
        ("https://example.org/doc.jsonld", "object or array"),
    ],
)
def test_hostile_shapes_are_rejected_before_processing(doc: object, message: str) -> None:
    for operation in (jsonld.expand, jsonld.canonize, jsonld.check_no_dropped_terms):
        with pytest.raises(InvalidRecord, match=message):
            operation(doc)


def test_scoped_context_expansion_bomb_is_rejected() -> None:
    scoped = {f"t{i}": f"http://ex/t{i}" for i in range(900)}
    doc = {
        "@context": {"@vocab": "http://ex/", "T": {"@id": "http://ex/T", "@context": scoped}},
        "z": [{"@type": "T", "q": {"@type": "T", "w": i}} for i in range(2_000)],
    }
    with pytest.raises(JsonLdError, match="scoped contexts"):
        jsonld.expand(doc)


def test_poisoned_dataset_is_rejected_by_the_canonicalization_budget() -> None:
    with pytest.raises(JsonLdError, match="blank-node hashing"):
        jsonld.canonize(complete_blank_graph(12))


def test_small_symmetric_dataset_still_canonicalizes_and_is_label_independent() -> None:
    first = jsonld.canonize(complete_blank_graph(4))
    relabelled = complete_blank_graph(4)
    relabelled["@graph"].reverse()
    assert jsonld.canonize(relabelled) == first
    assert first.count("\n") == 12 and "_:c14n3" in first


def test_quadratic_value_merging_is_bounded() -> None:
    doc = {"@context": {"@vocab": "http://ex/"}, "a": [{"b": i} for i in range(5_000)]}
    jsonld.expand(doc)  # expansion itself is linear and allowed
    with pytest.raises(JsonLdError, match="value comparisons"):
        jsonld.canonize(doc)


def test_quad_and_blank_node_limits_apply() -> None:
    doc = {"@context": {"@vocab": "http://ex/"}, "@graph": [{"v": i} for i in range(50)]}
    with pytest.raises(JsonLdError, match="blank nodes"):
        jsonld.canonize(doc, limits=jsonld.Limits(max_blank_nodes=10))
    with pytest.raises(JsonLdError, match="quads"):
        jsonld.canonize(doc, limits=jsonld.Limits(max_quads=10))
    assert jsonld.canonize(doc).count("\n") == 50


def test_compact_refuses_a_remote_target_context() -> None:
    with pytest.raises(JsonLdError, match="remote or unknown"):
        jsonld.compact({"http://ex/a": 1}, "https://evil.example/ctx")


# --- property-based: any JSON is either processed or refused with a RecordError ------------

KEYS = st.sampled_from(
    [
        "@context",
        "@id",
        "@type",
        "@value",
        "@list",
        "@set",
        "@graph",
        "@reverse",
        "@vocab",
        "@language",
        "@container",
        "@import",
        "@nest",
        "@index",
        "@base",
        "@protected",
        "@propagate",
        "@version",
        "a",
        "b",
        "ex:c",
        "http://ex/d",
        "_:e",
        "name",
        "type",
        "id",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            CREDENTIALS,
            EXAMPLES,
            DSPACE,
            "http://ex/",
            "_:b",
            "@id",
            "@vocab",
            "@json",
            "en",
            "https://evil.example/c",
            "ex:",
            "a",
            "1.1",
            "@list",
            "@graph",
        ]
    )
    | st.text(max_size=8)
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(KEYS | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, JSON, max_size=5) | st.lists(JSON, max_size=3))
def test_arbitrary_json_is_processed_or_refused_cleanly(doc: object) -> None:
    for operation in (jsonld.expand, jsonld.check_no_dropped_terms, jsonld.canonize):
        with contextlib.suppress(RecordError):
            operation(doc)
