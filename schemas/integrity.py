"""W3C Data Integrity proofs with Ed25519 (eddsa-jcs-2022, eddsa-rdfc-2022) and Multikey keys."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from schemas import jsonld
from schemas.contexts import BUNDLED, ContextRegistry
from schemas.errors import InvalidRecord, ProofError, RecordError, RecordNotFound

__all__ = [
    "CRYPTOSUITES",
    "JCS",
    "RDFC",
    "KeyResolver",
    "SigningInput",
    "VerificationResult",
    "VerifiedProof",
    "create_proof",
    "decode_multibase",
    "decode_private_key",
    "decode_public_key",
    "did_document",
    "did_key_resolver",
    "encode_multibase",
    "encode_private_key",
    "encode_public_key",
    "key_from_did_document",
    "public_key_from_seed",
    "signing_input",
    "verify",
]

JCS = "eddsa-jcs-2022"
RDFC = "eddsa-rdfc-2022"
CRYPTOSUITES = frozenset({JCS, RDFC})
PROOF_TYPE = "DataIntegrityProof"

# Multicodec prefixes (unsigned varints) of the two Multikey forms.
ED25519_PUB = b"\xed\x01"
ED25519_PRIV = b"\x80\x26"

DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]

# XML Schema dateTimeStamp: a dateTime that carries a time zone.
_DATETIME_STAMP = re.compile(r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")

KeyResolver = Callable[[str], bytes] | Mapping[str, bytes]
"""Maps a proof's `verificationMethod` to the 32-byte Ed25519 public key."""


# ---------------------------------------------------------------------------
# Multibase and Multikey.


def encode_multibase(data: bytes) -> str:
    """Multibase base58btc (`z` prefix) of `data`."""
    return "z" + base58.b58encode(data).decode("ascii")


def decode_multibase(value: str) -> bytes:
    """Bytes of a base58btc multibase string; InvalidRecord for any other form."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise InvalidRecord("expected a multibase base58btc string starting with 'z'")
    try:
        return base58.b58decode(value[1:])
    except ValueError as error:
        raise InvalidRecord(f"not valid base58btc: {error}") from None


def _decode_multikey(value: str, prefix: bytes, what: str) -> bytes:
    raw = decode_multibase(value)
    if len(raw) != len(prefix) + 32 or not raw.startswith(prefix):
        raise InvalidRecord(f"not an Ed25519 {what} Multikey (multicodec 0x{prefix.hex()})")
    return raw[len(prefix) :]


def encode_public_key(public_key: bytes) -> str:
    """`publicKeyMultibase` of a 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise InvalidRecord("an Ed25519 public key is 32 bytes")
    return encode_multibase(ED25519_PUB + public_key)


def decode_public_key(multibase: str) -> bytes:
    """The 32-byte Ed25519 public key inside a `publicKeyMultibase`."""
    return _decode_multikey(multibase, ED25519_PUB, "public key")


def encode_private_key(seed: bytes) -> str:
    """`privateKeyMultibase` of a 32-byte Ed25519 seed."""
    if len(seed) != 32:
        raise InvalidRecord("an Ed25519 private key seed is 32 bytes")
    return encode_multibase(ED25519_PRIV + seed)


def decode_private_key(multibase: str) -> bytes:
    """The 32-byte Ed25519 seed inside a `privateKeyMultibase`."""
    return _decode_multikey(multibase, ED25519_PRIV, "private key")


def public_key_from_seed(seed: bytes) -> bytes:
    """The Ed25519 public key of a 32-byte seed."""
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


# ---------------------------------------------------------------------------
# DID documents (did:web) and did:key.


def did_document(did: str, public_key: bytes, fragment: str | None = None) -> dict[str, Any]:
    """A did:web DID document with one Multikey verification method for assertions.

    The fragment defaults to the key's own multibase, so the method id changes with the key.
    """
    if not did.startswith("did:web:"):
        raise InvalidRecord(f"{did!r} is not a did:web DID")
    multibase = encode_public_key(public_key)
    method_id = f"{did}#{fragment or multibase}"
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multibase,
            }
        ],
        "assertionMethod": [method_id],
        "authentication": [method_id],
    }


def _absolute(method_id: str, did: str) -> str:
    return did + method_id if method_id.startswith("#") else method_id


def key_from_did_document(
    document: Mapping[str, Any],
    verification_method_id: str,
    relationship: str | None = "assertionMethod",
) -> bytes:
    """The Ed25519 key of `verification_method_id` in a DID document.

    When `relationship` is given, the method must also be listed under it (by reference or
    embedded). Raises RecordNotFound when the method is absent or not authorised for it.
    """
    did = document.get("id")
    if not isinstance(did, str):
        raise InvalidRecord("DID document has no string 'id'", "$.id")
    candidates: list[Any] = list(document.get("verificationMethod") or [])
    authorised: set[str] | None = None
    if relationship is not None:
        listed = document.get(relationship) or []
        authorised = set()
        for item in listed if isinstance(listed, list) else [listed]:
            if isinstance(item, str):
                authorised.add(_absolute(item, did))
            elif isinstance(item, Mapping) and isinstance(item.get("id"), str):
                authorised.add(_absolute(item["id"], did))
                candidates.append(item)
    wanted = _absolute(verification_method_id, did)
    if authorised is not None and wanted not in authorised:
        raise RecordNotFound(
            f"{wanted} is not listed under {relationship} in the DID document of {did}"
        )
    for method in candidates:
        if not isinstance(method, Mapping) or not isinstance(method.get("id"), str):
            continue
        if _absolute(method["id"], did) != wanted:
            continue
        if method.get("controller", did) != did:
            raise RecordNotFound(f"{wanted} is controlled by {method.get('controller')}, not {did}")
        multibase = method.get("publicKeyMultibase")
        if method.get("type") not in {"Multikey", "Ed25519VerificationKey2020"} or not multibase:
            raise RecordNotFound(f"{wanted} is not an Ed25519 Multikey verification method")
        return decode_public_key(multibase)
    raise RecordNotFound(f"verification method {wanted} is not in the DID document of {did}")


def did_key_resolver(verification_method: str) -> bytes:
    """Resolve a `did:key:z6Mk…#z6Mk…` Ed25519 method offline (the key is in the DID)."""
    match = re.fullmatch(
        r"did:key:(z[1-9A-HJ-NP-Za-km-z]+)(?:#(z[1-9A-HJ-NP-Za-km-z]+))?", verification_method
    )
    if match is None or (match.group(2) and match.group(2) != match.group(1)):
        raise RecordNotFound(f"{verification_method!r} is not an Ed25519 did:key method")
    return decode_public_key(match.group(1))


# ---------------------------------------------------------------------------
# The cryptosuites' transformation, proof configuration and hashing.


@dataclass(frozen=True)
class SigningInput:
    """The intermediate values of a cryptosuite, named as in the W3C test vectors."""

    canonical_document: bytes
    canonical_proof_config: bytes

    @property
    def document_hash(self) -> bytes:
        return hashlib.sha256(self.canonical_document).digest()

    @property
    def proof_config_hash(self) -> bytes:
        return hashlib.sha256(self.canonical_proof_config).digest()

    @property
    def hash_data(self) -> bytes:
        """SHA-256(canonical proof config) ‖ SHA-256(canonical document): the signed bytes."""
        return self.proof_config_hash + self.document_hash


def _jcs(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise InvalidRecord(f"cannot canonicalize with RFC 8785: {error}") from None


def _check_proof_options(options: Mapping[str, Any], cryptosuite: str) -> None:
    if options.get("type") != PROOF_TYPE:
        raise ProofError("unsupported-cryptosuite", f"proof type must be {PROOF_TYPE!r}")
    if options.get("cryptosuite") != cryptosuite:
        raise ProofError(
            "unsupported-cryptosuite",
            f"cryptosuite {options.get('cryptosuite')!r} is not {cryptosuite!r}",
        )
    created = options.get("created")
    if created is not None and not (
        isinstance(created, str) and _DATETIME_STAMP.fullmatch(created)
    ):
        raise ProofError("malformed-proof", f"'created' {created!r} is not an XML dateTimeStamp")
    if not isinstance(options.get("verificationMethod"), str):
        raise ProofError("malformed-proof", "'verificationMethod' must be a string")
    if not isinstance(options.get("proofPurpose"), str):
        raise ProofError("malformed-proof", "'proofPurpose' must be a string")


def signing_input(
    unsecured_document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    *,
    registry: ContextRegistry = BUNDLED,
) -> SigningInput:
    """Canonical document and proof configuration for the cryptosuite named in `proof_options`.

    `proof_options` is the proof without `proofValue`. Both suites give the proof configuration
    the document's `@context` (eddsa-jcs-2022 only when the document has one).
    """
    cryptosuite = proof_options.get("cryptosuite")
    if cryptosuite not in CRYPTOSUITES:
        raise ProofError("unsupported-cryptosuite", f"unsupported cryptosuite {cryptosuite!r}")
    _check_proof_options(proof_options, cryptosuite)
    config = dict(proof_options)
    if "@context" in unsecured_document:
        config["@context"] = unsecured_document["@context"]
    if cryptosuite == JCS:
        jsonld.check_document(dict(unsecured_document), registry=registry, contexts=False)
        return SigningInput(_jcs(unsecured_document), _jcs(config))
    # eddsa-rdfc-2022: anything expansion drops would be outside the signature, so refuse it.
    jsonld.check_no_dropped_terms(dict(unsecured_document), registry=registry)
    jsonld.check_no_dropped_terms(config, registry=registry)
    document = jsonld.canonize(dict(unsecured_document), registry=registry).encode("utf-8")
    proof = jsonld.canonize(config, registry=registry).encode("utf-8")
    if not proof:
        raise ProofError("malformed-proof", "the proof configuration has no RDF statements")
    return SigningInput(document, proof)


# ---------------------------------------------------------------------------
# Creating proofs.


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _proofs(document: Mapping[str, Any]) -> list[Any]:
    proof = document.get("proof")
    if proof is None:
        return []
    return list(proof) if isinstance(proof, list) else [proof]


def _chain_input(unsecured: dict[str, Any], all_proofs: list[Any], previous: Any) -> dict[str, Any]:
    """The document a chained proof signs: the unsecured document plus the proofs it follows."""
    wanted = [previous] if isinstance(previous, str) else previous
    if not isinstance(wanted, list) or not all(isinstance(item, str) for item in wanted):
        raise ProofError("malformed-proof", "'previousProof' must be a string or list of strings")
    by_id = {p.get("id"): p for p in all_proofs if isinstance(p, Mapping)}
    matching = []
    for proof_id in wanted:
        if proof_id not in by_id:
            raise ProofError(
                "malformed-proof", f"previous proof {proof_id!r} is not in the proof set"
            )
        matching.append(by_id[proof_id])
    return {**unsecured, "proof": matching}


def create_proof(
    document: Mapping[str, Any],
    seed: bytes,
    verification_method: str,
    *,
    cryptosuite: str = JCS,
    proof_purpose: str = "assertionMethod",
    created: str | None = None,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
    registry: ContextRegistry = BUNDLED,
) -> dict[str, Any]:
    """A copy of `document` secured with a new Data Integrity proof.

    If the document already has proofs, the new one joins the proof set; `previous_proof`
    makes it a chain link signing over the named earlier proofs. `created` defaults to now.
    """
    if cryptosuite not in CRYPTOSUITES:
        raise ProofError("unsupported-cryptosuite", f"unsupported cryptosuite {cryptosuite!r}")
    if len(seed) != 32:
        raise ProofError("invalid-key", "an Ed25519 seed is 32 bytes")
    existing = _proofs(document)
    unsecured = {k: copy.deepcopy(v) for k, v in document.items() if k != "proof"}
    options: dict[str, Any] = {"type": PROOF_TYPE}
    if proof_id is not None:
        options["id"] = proof_id
    options |= {
        "cryptosuite": cryptosuite,
        "created": created or _now(),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if previous_proof is not None:
        options["previousProof"] = previous_proof
    signed_document = (
        _chain_input(unsecured, existing, previous_proof)
        if previous_proof is not None
        else unsecured
    )
    values = signing_input(signed_document, options, registry=registry)
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(values.hash_data)
    proof = dict(options)
    if cryptosuite == JCS and "@context" in unsecured:
        proof["@context"] = copy.deepcopy(unsecured["@context"])
    proof["proofValue"] = encode_multibase(signature)
    secured = dict(unsecured)
    secured["proof"] = [*copy.deepcopy(existing), proof] if existing else proof
    return secured


# ---------------------------------------------------------------------------
# Verifying proofs.


@dataclass(frozen=True)
class VerifiedProof:
    """One proof that checked out."""

    cryptosuite: str
    verification_method: str
    proof_purpose: str
    created: str | None
    id: str | None


@dataclass(frozen=True)
class VerificationResult:
    """All proofs of a document verified; `proofs` in document order."""

    proofs: tuple[VerifiedProof, ...]


def _resolve(resolver: KeyResolver, method: str) -> bytes:
    try:
        key = resolver[method] if isinstance(resolver, Mapping) else resolver(method)
    except (LookupError, RecordError) as error:
        raise ProofError(
            "unknown-verification-method", f"cannot resolve verification method {method}: {error}"
        ) from None
    if not isinstance(key, bytes) or len(key) != 32:
        raise ProofError("invalid-key", f"{method} did not resolve to a 32-byte Ed25519 key")
    return key


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _verify_one(
    document: dict[str, Any],
    proof: Any,
    path: str,
    resolver: KeyResolver,
    proof_purpose: str | None,
    registry: ContextRegistry,
) -> VerifiedProof:
    if not isinstance(proof, Mapping):
        raise ProofError("malformed-proof", "a proof must be a JSON object", path)
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    try:
        signature = decode_multibase(proof.get("proofValue"))
    except InvalidRecord as error:
        raise ProofError("malformed-proof", f"proofValue: {error}", path) from None
    if len(signature) != 64:
        raise ProofError("malformed-proof", "proofValue is not a 64-byte Ed25519 signature", path)
    try:
        _check_proof_options(options, options.get("cryptosuite"))
        if options.get("cryptosuite") not in CRYPTOSUITES:
            raise ProofError(
                "unsupported-cryptosuite", f"unsupported cryptosuite {options.get('cryptosuite')!r}"
            )
    except ProofError as error:
        raise ProofError(error.reason, error.message, path) from None
    if proof_purpose is not None and options["proofPurpose"] != proof_purpose:
        raise ProofError(
            "malformed-proof",
            f"proofPurpose {options['proofPurpose']!r} is not the expected {proof_purpose!r}",
            path,
        )
    if "@context" in options:
        expected = _as_list(options["@context"])
        actual = _as_list(document.get("@context"))
        if actual[: len(expected)] != expected:
            raise ProofError(
                "context-mismatch",
                "the proof's @context is not the start of the document's @context",
                path,
            )
        document = {**document, "@context": options["@context"]}
    values = signing_input(document, options, registry=registry)
    key = _resolve(resolver, options["verificationMethod"])
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(signature, values.hash_data)
    except InvalidSignature:
        raise ProofError(
            "signature-mismatch",
            "signature does not verify: the document or proof was altered, or the key is wrong",
            path,
        ) from None
    return VerifiedProof(
        cryptosuite=options["cryptosuite"],
        verification_method=options["verificationMethod"],
        proof_purpose=options["proofPurpose"],
        created=options.get("created"),
        id=options.get("id"),
    )


def verify(
    document: Mapping[str, Any],
    resolve_key: KeyResolver,
    *,
    proof_purpose: str | None = "assertionMethod",
    registry: ContextRegistry = BUNDLED,
) -> VerificationResult:
    """Verify every Data Integrity proof on `document` (single proof, proof set or chain).

    `resolve_key` maps a verification method id to its public key (a mapping, or a callable
    raising LookupError/RecordError when unknown). Raises ProofError naming the failed proof
    and why; InvalidRecord when the document itself is unacceptable.
    """
    if not isinstance(document, Mapping):
        raise InvalidRecord("a secured document must be a JSON object")
    jsonld.check_document(dict(document), registry=registry, contexts=False)
    raw = document.get("proof")
    if raw is None or raw == []:
        raise ProofError("missing-proof", "the document has no proof")
    proofs = _as_list(raw)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    results = []
    for index, proof in enumerate(proofs):
        path = f"$.proof[{index}]" if isinstance(raw, list) else "$.proof"
        target = unsecured
        if isinstance(proof, Mapping) and "previousProof" in proof:
            try:
                target = _chain_input(unsecured, proofs, proof["previousProof"])
            except ProofError as error:
                raise ProofError(error.reason, error.message, path) from None
        results.append(_verify_one(target, proof, path, resolve_key, proof_purpose, registry))
    return VerificationResult(tuple(results))
