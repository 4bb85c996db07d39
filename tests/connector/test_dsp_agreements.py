"""Agreement signatures, checked with an independent Ed25519 implementation, and offers."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from connector.dsp import offers
from connector.dsp.agreements import DOMAIN, sign_agreement, verify_signature
from connector.dsp.assets import (
    AssetProvider,
    JsonDocumentProvider,
    provider_for,
    register_provider,
)
from connector.dsp.settings import Settings
from ledger.errors import VerificationError
from policies import Request, parse_policy

AGREEMENT = {
    "@id": "urn:uuid:1",
    "@type": "Agreement",
    "target": "pcf",
    "assigner": "did:web:provider",
    "assignee": "did:web:consumer",
    "timestamp": "2025-01-01T00:00:00Z",
    "permission": [{"action": "use"}],
}


def test_signature_is_ed25519_over_domain_and_canonical_json() -> None:
    key = SigningKey(bytes(range(32)))
    sig = sign_agreement(AGREEMENT, "provider", "did:web:provider", key, "2025-01-01T00:00:01Z")
    # ASCII-only, so sorted compact json.dumps equals RFC 8785 here: an independent encoder.
    statement = {
        "agreement": AGREEMENT,
        "role": "provider",
        "signer": "did:web:provider",
        "created": "2025-01-01T00:00:01Z",
    }
    signed = DOMAIN + json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    public = Ed25519PublicKey.from_public_bytes(bytes(key.verify_key))
    public.verify(base64.b64decode(sig["value"]), signed)  # raises if wrong
    verify_signature(AGREEMENT, sig, "provider", "did:web:provider", bytes(key.verify_key))


@pytest.mark.parametrize(
    "change",
    [
        {"assignee": "did:web:mallory"},
        {"permission": [{"action": "distribute"}]},
        {"timestamp": "2025-01-02T00:00:00Z"},
    ],
)
def test_any_change_to_the_agreement_breaks_the_signature(change: dict) -> None:
    key = SigningKey.generate()
    sig = sign_agreement(AGREEMENT, "consumer", "did:web:consumer", key, "t")
    with pytest.raises(VerificationError):
        verify_signature(
            {**AGREEMENT, **change}, sig, "consumer", "did:web:consumer", bytes(key.verify_key)
        )


def test_role_signer_and_key_are_bound() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    sig = sign_agreement(AGREEMENT, "consumer", "did:web:consumer", key, "t")
    public = bytes(key.verify_key)
    for role, signer, pk in (
        ("provider", "did:web:consumer", public),
        ("consumer", "did:web:provider", public),
        ("consumer", "did:web:consumer", bytes(other.verify_key)),
    ):
        with pytest.raises(VerificationError):
            verify_signature(AGREEMENT, sig, role, signer, pk)
    with pytest.raises(VerificationError):
        verify_signature(AGREEMENT, None, "consumer", "did:web:consumer", public)


def test_offer_ids_round_trip_and_reject_foreign_ids() -> None:
    assert offers.split_offer_id(offers.offer_id("d-1", "a/b")) == ("d-1", "a/b")
    for bad in ("urn:x", "urn:tracespace:offer:", "urn:tracespace:offer:d-1/", 3):
        assert offers.split_offer_id(bad) is None


def test_same_terms_ignores_ids_and_parties_but_not_constraints() -> None:
    base = {"@type": "Offer", "@id": "urn:a", "permission": [{"action": "use"}]}
    same = {**base, "@id": "urn:b", "target": "x", "assigner": "did:web:p"}
    other = {
        **base,
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": "1"}],
            }
        ],
    }
    assert offers.same_terms(parse_policy(base), parse_policy(same))
    assert not offers.same_terms(parse_policy(base), parse_policy(other))


def _role_policy(operand: str) -> dict:
    return {
        "@type": "Offer",
        "@id": "urn:a",
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": operand, "operator": "eq", "rightOperand": "ts:supplier"}
                ],
            }
        ],
    }


def test_catalog_visibility_decides_catalog_time_operands_only() -> None:
    role = parse_policy(_role_policy("partnerRole"))
    purpose = parse_policy(_role_policy("purpose"))
    supplier = Request(assignee="did:web:c", partner_role="ts:supplier")
    stranger = Request(assignee="did:web:c")
    assert offers.visible(role, supplier)
    assert not offers.visible(role, stranger)
    # A purpose is declared at each access, so it never hides an offer.
    assert offers.visible(purpose, stranger)
    assigned = parse_policy({**_role_policy("purpose"), "assignee": "did:web:other"})
    assert not offers.visible(assigned, stranger)


def test_backoff_doubles_and_is_capped() -> None:
    settings_ = Settings(retry_base=0.5, retry_max=3.0)
    assert [settings_.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_asset_provider_protocol_and_registry() -> None:
    provider = provider_for("json-document")
    assert isinstance(provider, AssetProvider) and isinstance(provider, JsonDocumentProvider)
    assert provider.check({}) == [("$.source.document", "required")]
    register_provider(provider)  # the same object again is fine
    with pytest.raises(ValueError):
        register_provider(JsonDocumentProvider())
    with pytest.raises(TypeError):
        register_provider(object())  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_split_offer_id_never_crashes(value: str) -> None:
    parts = offers.split_offer_id(value)
    if parts is not None:
        assert offers.offer_id(*parts) == value
