"""Agreement signatures (Ed25519 over RFC 8785 JSON, domain-separated) and regulator proofs.

Each party signs `DOMAIN + JCS({"agreement", "role", "signer", "created"})`. The node's DID
key is also its ledger key, so a proof bundle ties each signature to the signer's ledger:
the bundle holds the agreement, both signatures and, for each party, an audit bundle of
the ledger entry that recorded the agreement, anchored to a signed checkpoint.
"""

from __future__ import annotations

import base64
from typing import Any

import rfc8785
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from ledger.bundle import export_bundle, verify_bundle
from ledger.errors import VerificationError
from ledger.log import Ledger
from ledger.note import parse_vkey

DOMAIN = b"tracespace/dsp-agreement/v1\n"
PROOF_TYPE = "tracespace-agreement-proof"
ROLES = ("provider", "consumer")


def _signed_bytes(agreement: dict[str, Any], role: str, signer: str, created: str) -> bytes:
    statement = {"agreement": agreement, "role": role, "signer": signer, "created": created}
    return DOMAIN + rfc8785.dumps(statement)


def sign_agreement(
    agreement: dict[str, Any], role: str, signer: str, key: SigningKey, created: str
) -> dict[str, Any]:
    """A signature object for `agreement` by `signer` (a DID) acting as `role`."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    value = key.sign(_signed_bytes(agreement, role, signer, created)).signature
    return {
        "v": 1,
        "alg": "Ed25519",
        "role": role,
        "signer": signer,
        "publicKey": base64.b64encode(bytes(key.verify_key)).decode(),
        "created": created,
        "value": base64.b64encode(value).decode(),
    }


def verify_signature(
    agreement: dict[str, Any], signature: Any, role: str, signer: str, public_key: bytes
) -> None:
    """Raise VerificationError unless `signature` is `signer`'s, as `role`, over `agreement`."""
    if not isinstance(signature, dict) or signature.get("v") != 1:
        raise VerificationError(None, f"{role} signature is missing or not version 1")
    if signature.get("role") != role or signature.get("signer") != signer:
        raise VerificationError(None, f"{role} signature is not by {signer} as {role}")
    try:
        claimed = base64.b64decode(str(signature.get("publicKey")), validate=True)
        value = base64.b64decode(str(signature.get("value")), validate=True)
        if claimed != public_key:
            raise VerificationError(None, f"{role} signature names another key than {signer}'s")
        VerifyKey(public_key).verify(
            _signed_bytes(agreement, role, signer, str(signature.get("created"))), value
        )
    except (BadSignatureError, ValueError) as exc:
        raise VerificationError(None, f"{role} signature does not verify: {exc}") from None


def ledger_evidence(ledger: Ledger, seq: int) -> dict[str, Any]:
    """An audit bundle holding the single ledger entry `seq`, with the node's verifier key."""
    return export_bundle(ledger, seq, seq)


def verify_proof(bundle: Any) -> dict[str, Any]:
    """Check an agreement proof bundle offline; a summary, or VerificationError."""
    if not isinstance(bundle, dict) or bundle.get("type") != PROOF_TYPE or bundle.get("v") != 1:
        raise VerificationError(None, "not a version 1 tracespace agreement proof")
    agreement = bundle["agreement"]
    parties = {"provider": agreement.get("assigner"), "consumer": agreement.get("assignee")}
    summary: dict[str, Any] = {"v": 1, "ok": True, "agreement": agreement.get("@id")}
    for role in ROLES:
        signature = bundle["signatures"][role]
        evidence = bundle["ledgers"][role]
        verifier = parse_vkey(evidence["vkey"])
        public_key = base64.b64decode(signature["publicKey"])
        if verifier.public_key != public_key:
            raise VerificationError(None, f"{role}'s ledger key is not the key that signed")
        verify_signature(agreement, signature, role, str(parties[role]), public_key)
        report = verify_bundle(evidence, evidence["vkey"])
        entry = evidence["entries"][0]
        payload = entry.get("payload", {})
        if entry.get("type") != "dsp.agreement" or payload.get("agreement") != agreement:
            raise VerificationError(entry.get("seq"), f"{role}'s ledger entry is another agreement")
        for other in ROLES:
            if payload.get("signatures", {}).get(other) != bundle["signatures"][other]:
                raise VerificationError(
                    entry.get("seq"), f"{role}'s ledger entry holds another {other} signature"
                )
        summary[role] = {
            "did": parties[role],
            "signed": signature["created"],
            "ledger": report.origin,
            "seq": entry.get("seq"),
            "recorded": entry.get("ts"),
            "checkpoint_size": report.size,
        }
    return summary
