"""Data Integrity proofs: W3C eddsa-jcs-2022 / eddsa-rdfc-2022 vectors, tampering, DID keys."""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import integrity
from schemas.errors import InvalidRecord, ProofError, RecordError, RecordNotFound

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
VECTORS = CONFORMANCE / "vc-di-eddsa" / "TestVectors"
KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
METHOD = f"did:key:{KEY}#{KEY}"
CREATED = "2023-02-24T23:36:38Z"
SUITES = {
    integrity.JCS: ("eddsa-jcs-2022", "JCS"),
    integrity.RDFC: ("eddsa-rdfc-2022", "DataInt"),
}


@pytest.fixture
def vectors() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"W3C vc-di-eddsa vectors not found at {VECTORS}")
    return VECTORS


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def seed(vectors: Path) -> bytes:
    return integrity.decode_private_key(load(vectors / "keyPair.json")["privateKeyMultibase"])


# --- Multikey ---------------------------------------------------------------------------


def test_multikey_pair_of_the_vectors_round_trips(vectors: Path) -> None:
    pair = load(vectors / "keyPair.json")
    seed = integrity.decode_private_key(pair["privateKeyMultibase"])
    public = integrity.decode_public_key(pair["publicKeyMultibase"])
    assert integrity.public_key_from_seed(seed) == public
    assert integrity.encode_private_key(seed) == pair["privateKeyMultibase"]
    assert integrity.encode_public_key(public) == pair["publicKeyMultibase"]
    assert bytes(nacl.signing.SigningKey(seed).verify_key) == public


def test_public_key_derivation_matches_rfc8032() -> None:
    path = CONFORMANCE / "ed25519/rfc8032/rfc8032-section-7.1-ed25519.json"
    if not path.is_file():
        pytest.skip(f"RFC 8032 vectors not found at {path}")
    tests = load(path)
    cases = tests.get("tests") or tests.get("vectors") or []
    assert cases
    for case in cases:
        seed = bytes.fromhex(case["secretKey"])
        assert integrity.public_key_from_seed(seed).hex() == case["publicKey"]


@pytest.mark.parametrize(
    "value",
    ["", "z", "f00", "u" + "A" * 40, "z0OIl", integrity.encode_multibase(b"\xed\x01" + b"1" * 31)],
)
def test_malformed_multikeys_are_invalid(value: str) -> None:
    with pytest.raises(InvalidRecord):
        integrity.decode_public_key(value)


def test_public_and_private_prefixes_are_not_interchangeable(seed: bytes) -> None:
    with pytest.raises(InvalidRecord):
        integrity.decode_public_key(integrity.encode_private_key(seed))
    with pytest.raises(InvalidRecord):
        integrity.decode_private_key(integrity.encode_public_key(bytes(32)))


# --- the W3C vectors, byte for byte -----------------------------------------------------


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_signing_reproduces_the_w3c_vector_byte_for_byte(
    suite: str, vectors: Path, seed: bytes
) -> None:
    folder, tag = SUITES[suite]
    here = vectors / folder
    unsigned = load(vectors / "unsigned.json")
    config = load(here / f"proofConfig{tag}.json")
    options = {k: v for k, v in config.items() if k != "@context"}
    values = integrity.signing_input(unsigned, options)
    assert values.canonical_document == (here / f"canonDoc{tag}.txt").read_bytes()
    assert values.canonical_proof_config == (here / f"proofCanon{tag}.txt").read_bytes()
    assert values.document_hash.hex() == (here / f"docHash{tag}.txt").read_text()
    assert values.proof_config_hash.hex() == (here / f"proofHash{tag}.txt").read_text()
    assert values.hash_data.hex() == (here / f"combinedHash{tag}.txt").read_text()

    signed = integrity.create_proof(unsigned, seed, METHOD, cryptosuite=suite, created=CREATED)
    signature = integrity.decode_multibase(signed["proof"]["proofValue"])
    assert signature.hex() == (here / f"sigHex{tag}.txt").read_text()
    assert signed["proof"]["proofValue"] == (here / f"sigBTC58{tag}.txt").read_text()
    assert json.dumps(signed, indent=2) == (here / f"signed{tag}.json").read_text()


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_w3c_signed_credential_verifies(suite: str, vectors: Path) -> None:
    folder, tag = SUITES[suite]
    signed = load(vectors / folder / f"signed{tag}.json")
    result = integrity.verify(signed, integrity.did_key_resolver)
    assert [p.cryptosuite for p in result.proofs] == [suite]
    public = integrity.decode_public_key(KEY)
    assert integrity.verify(signed, {METHOD: public}).proofs[0].verification_method == METHOD


def test_signature_checks_with_an_independent_ed25519_library(vectors: Path, seed: bytes) -> None:
    unsigned = load(vectors / "unsigned.json")
    signed = integrity.create_proof(unsigned, seed, METHOD, created=CREATED)
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    values = integrity.signing_input(unsigned, options)
    signature = integrity.decode_multibase(signed["proof"]["proofValue"])
    verify_key = nacl.signing.VerifyKey(integrity.decode_public_key(KEY))
    assert verify_key.verify(values.hash_data, signature) == values.hash_data


# --- proof sets and chains --------------------------------------------------------------


def chain_keys(vectors: Path) -> dict[bytes, bytes]:
    pairs = load(vectors / "proof-set-chain/multiKeyPairs.json").values()
    return {
        integrity.decode_public_key(p["publicKeyMultibase"]): integrity.decode_private_key(
            p["privateKeyMultibase"]
        )
        for p in pairs
    }


def test_proof_sets_and_chains_are_reproduced_and_verified(vectors: Path) -> None:
    folder = vectors / "proof-set-chain"
    keys = chain_keys(vectors)
    document = load(folder / "unsigned.json")
    steps = [
        ("proofSetConfig1.json", "signedProofSet1.json", 1),
        ("proofSetConfig2.json", "signedProofSet2.json", 2),
        ("proofChainConfig1.json", "signedProofChain1.json", 3),
        ("proofChainConfig2.json", "signedProofChain2.json", 4),
    ]
    for config_file, expected_file, count in steps:
        config = load(folder / config_file)
        document = integrity.create_proof(
            document,
            keys[integrity.did_key_resolver(config["verificationMethod"])],
            config["verificationMethod"],
            cryptosuite=config["cryptosuite"],
            created=config["created"],
            proof_id=config.get("id"),
            previous_proof=config.get("previousProof"),
            proof_purpose=config["proofPurpose"],
        )
        assert json.dumps(document, indent=2) == (folder / expected_file).read_text()
        result = integrity.verify(load(folder / expected_file), integrity.did_key_resolver)
        assert len(result.proofs) == count


def test_chain_with_a_missing_previous_proof_fails(vectors: Path) -> None:
    chain = load(vectors / "proof-set-chain/signedProofChain1.json")
    del chain["proof"][0]
    with pytest.raises(ProofError) as caught:
        integrity.verify(chain, integrity.did_key_resolver)
    assert caught.value.reason == "malformed-proof" and "previous proof" in str(caught.value)


def test_chain_link_breaks_when_an_earlier_proof_changes(vectors: Path) -> None:
    chain = load(vectors / "proof-set-chain/signedProofChain1.json")
    chain["proof"][0]["created"] = "2024-01-01T00:00:00Z"
    with pytest.raises(ProofError) as caught:
        integrity.verify(chain, integrity.did_key_resolver)
    assert caught.value.path == "$.proof[0]"  # the first broken proof is named


# --- tampering ------------------------------------------------------------------------------


def tamper_cases() -> list[tuple[str, str, str]]:
    cases = []
    for suite in sorted(SUITES):
        cases += [
            (suite, "document-field", "signature-mismatch"),
            (suite, "nested-field", "signature-mismatch"),
            (suite, "proof-created", "signature-mismatch"),
            (suite, "proof-method-other-key", "signature-mismatch"),
            (suite, "proof-value-flip", "signature-mismatch"),
            (suite, "proof-value-short", "malformed-proof"),
            (suite, "cryptosuite", "unsupported-cryptosuite"),
            (suite, "unknown-method", "unknown-verification-method"),
            (suite, "no-proof", "missing-proof"),
            (suite, "purpose", "malformed-proof"),
            (suite, "created-format", "malformed-proof"),
        ]
    cases.append((integrity.JCS, "proof-context", "context-mismatch"))
    cases.append((integrity.JCS, "added-field", "signature-mismatch"))
    return cases


@pytest.mark.parametrize(("suite", "change", "reason"), tamper_cases())
def test_tampering_fails_with_a_named_reason(
    suite: str, change: str, reason: str, vectors: Path
) -> None:
    folder, tag = SUITES[suite]
    doc = load(vectors / folder / f"signed{tag}.json")
    proof = doc["proof"]
    resolver: integrity.KeyResolver = integrity.did_key_resolver
    other = "z6MktgKTsu1QhX6QPbyqG6geXdw6FQCZBPq7uQpieWbiQiG7"
    match change:
        case "document-field":
            doc["name"] = "Alumni Credential!"
        case "nested-field":
            doc["credentialSubject"]["alumniOf"] = "Another School"
        case "added-field":
            doc["extra"] = 1
        case "proof-created":
            proof["created"] = "2023-02-24T23:36:39Z"
        case "proof-method-other-key":
            proof["verificationMethod"] = f"did:key:{other}#{other}"
        case "proof-value-flip":
            signature = bytearray(integrity.decode_multibase(proof["proofValue"]))
            signature[5] ^= 1
            proof["proofValue"] = integrity.encode_multibase(bytes(signature))
        case "proof-value-short":
            proof["proofValue"] = proof["proofValue"][:-4]
        case "cryptosuite":
            proof["cryptosuite"] = "ecdsa-rdfc-2019"
        case "unknown-method":
            resolver = {}
        case "no-proof":
            del doc["proof"]
        case "purpose":
            proof["proofPurpose"] = "authentication"
        case "created-format":
            proof["created"] = "24 Feb 2023"
        case "proof-context":
            proof["@context"] = ["https://www.w3.org/ns/credentials/examples/v2"]
    with pytest.raises(ProofError) as caught:
        integrity.verify(doc, resolver)
    assert caught.value.reason == reason


def test_rdfc_refuses_properties_outside_the_signature(vectors: Path) -> None:
    doc = load(vectors / "eddsa-rdfc-2022/signedDataInt.json")
    doc["@context"] = doc["@context"][:1]  # drop the examples @vocab
    doc["proof"]["@context"] = doc["@context"]
    with pytest.raises(InvalidRecord) as caught:
        integrity.verify(doc, integrity.did_key_resolver)
    assert "$.credentialSubject.alumniOf" in caught.value.paths


def test_rdfc_is_immune_to_json_key_order_but_jcs_is_to_whitespace(
    vectors: Path, seed: bytes
) -> None:
    signed = load(vectors / "eddsa-rdfc-2022/signedDataInt.json")
    reordered = dict(reversed(list(signed.items())))
    assert integrity.verify(reordered, integrity.did_key_resolver).proofs
    jcs = json.loads(json.dumps(load(vectors / "eddsa-jcs-2022/signedJCS.json")))
    assert integrity.verify(dict(reversed(list(jcs.items()))), integrity.did_key_resolver).proofs


# --- did:web ----------------------------------------------------------------------------------


def test_did_web_document_resolves_the_signing_key(vectors: Path, seed: bytes) -> None:
    did = "did:web:node.example.com"
    public = integrity.public_key_from_seed(seed)
    document = integrity.did_document(did, public)
    method = document["assertionMethod"][0]
    assert method.startswith(did + "#z6Mk")
    assert document["verificationMethod"][0]["type"] == "Multikey"
    assert integrity.key_from_did_document(document, method) == public
    fragment = "#" + method.split("#", 1)[1]
    assert integrity.key_from_did_document(document, fragment) == public

    record = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": "VerifiableCredential"}
    for suite in sorted(SUITES):
        signed = integrity.create_proof(record, seed, method, cryptosuite=suite)
        result = integrity.verify(signed, lambda vm: integrity.key_from_did_document(document, vm))
        assert result.proofs[0].verification_method == method


def test_did_document_lookups_fail_clearly(seed: bytes) -> None:
    did = "did:web:node.example.com"
    document = integrity.did_document(did, integrity.public_key_from_seed(seed), "key-1")
    with pytest.raises(RecordNotFound):
        integrity.key_from_did_document(document, f"{did}#key-2")
    restricted = copy.deepcopy(document)
    restricted["assertionMethod"] = []
    with pytest.raises(RecordNotFound, match="assertionMethod"):
        integrity.key_from_did_document(restricted, f"{did}#key-1")
    assert integrity.key_from_did_document(restricted, "#key-1", relationship=None)
    with pytest.raises(InvalidRecord):
        integrity.did_document("did:key:z6Mk", bytes(32))


def test_verification_method_resolving_through_a_did_document_of_another_key(seed: bytes) -> None:
    did = "did:web:node.example.com"
    document = integrity.did_document(did, bytes(nacl.signing.SigningKey.generate().verify_key))
    method = document["assertionMethod"][0]
    signed = integrity.create_proof({"name": "x"}, seed, method)
    with pytest.raises(ProofError) as caught:
        integrity.verify(signed, lambda vm: integrity.key_from_did_document(document, vm))
    assert caught.value.reason == "signature-mismatch"


# --- property-based: verification of arbitrary input only raises RecordError -----------------

PROOF_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["DataIntegrityProof", "x"]) | st.integers(),
        "cryptosuite": st.sampled_from(["eddsa-jcs-2022", "eddsa-rdfc-2022", "x"]) | st.none(),
        "created": st.sampled_from([CREATED, "x"]) | st.integers(),
        "verificationMethod": st.sampled_from([METHOD, "did:web:x#k", ""]) | st.integers(),
        "proofPurpose": st.sampled_from(["assertionMethod", "x"]) | st.none(),
        "proofValue": st.text(max_size=90) | st.integers() | st.none(),
        "previousProof": st.text(max_size=5) | st.lists(st.text(max_size=5), max_size=2),
        "@context": st.sampled_from(["https://www.w3.org/ns/credentials/v2", 5, [None]]),
        "id": st.text(max_size=5),
    },
)
DOCS = st.fixed_dictionaries(
    {"proof": PROOF_FIELDS | st.lists(PROOF_FIELDS, max_size=3) | st.integers()},
    optional={
        "@context": st.sampled_from(
            [["https://www.w3.org/ns/credentials/v2"], "https://evil.example/", {"@vocab": 1}]
        ),
        "name": st.text(max_size=10) | st.floats(allow_nan=True),
    },
)


@settings(max_examples=200, deadline=None)
@given(DOCS)
def test_verifying_arbitrary_input_raises_only_record_errors(doc: dict) -> None:
    with pytest.raises(RecordError):
        integrity.verify(doc, integrity.did_key_resolver)


@given(st.text(max_size=60))
def test_multibase_decoding_of_arbitrary_text(value: str) -> None:
    with contextlib.suppress(InvalidRecord):
        integrity.decode_public_key(value)
