"""Agreements in force: listing, revocation after FINALIZED, duties, pulls and proofs.

Revocation and duty notices are tracespace extensions of DSP, sent to the peer's
`/dsp/agreements/{id}/revocation` and `/dsp/agreements/{id}/duties/{duty}`; the regulator
proof fetches the peer's ledger evidence from `/dsp/agreements/{id}/evidence`.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from connector.dsp import messages, transfer
from connector.dsp.agreements import PROOF_TYPE, ledger_evidence, verify_proof
from connector.dsp.duties import duties_of, duty_json, note
from connector.dsp.errors import AccessDenied, IllegalTransition, InvalidMessage, ProcessNotFound
from connector.dsp.negotiation import dsp_base, peer_of
from connector.dsp.records import get_row, load, record, set_row, utc_now
from connector.dsp.service import DspService
from connector.dsp.state import STARTED
from connector.dsp.tables import agreement_table, duty_table, transfer_table
from connector.peers import Peer

A = agreement_table


def view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "role": row.role,
        "state": row.state,
        "reason": row.reason,
        "provider": row.provider_did,
        "consumer": row.consumer_did,
        "asset": row.asset_id,
        "negotiation": row.negotiation_id,
        "agreement": load(row.body),
        "signatures": {
            "provider": load(row.provider_signature),
            "consumer": load(row.consumer_signature),
        },
        "ledger_seq": row.ledger_seq,
        "created": row.created,
        "updated": row.updated,
    }


def _get(conn: Any, agreement_id: str) -> Any:
    row = get_row(conn, A, id=agreement_id)
    if row is None:
        raise ProcessNotFound(f"no agreement {agreement_id}")
    return row


def get(svc: DspService, agreement_id: str) -> dict[str, Any]:
    with svc.node.engine.connect() as conn:
        out = view(_get(conn, agreement_id))
        out["duties"] = duties_of(conn, agreement_id)
    return out


def listing(svc: DspService) -> list[dict[str, Any]]:
    with svc.node.engine.connect() as conn:
        return [view(r) for r in conn.execute(select(A).order_by(A.c.created)).all()]


def _peer_did(row: Any) -> str:
    return row.consumer_did if row.role == "provider" else row.provider_did


def _revoke(svc: DspService, tx: Any, row: Any, reason: str, by: str) -> None:
    set_row(tx.connection, A, row.id, state="revoked", reason=reason, updated=utc_now())
    record(tx, "dsp.agreement-revocation", {"agreement": row.id, "by": by, "reason": reason})
    transfer.terminate_for_agreement(tx, svc, row.id, f"agreement revoked: {reason}")


def revoke(svc: DspService, agreement_id: str, reason: str) -> dict[str, Any]:
    """Operator: end an agreement now; the data plane refuses the next access, the peer is told."""
    if not reason:
        raise InvalidMessage("a revocation needs a reason", "$.reason")
    with svc.node.ledger.transaction() as tx:
        row = _get(tx.connection, agreement_id)
        if row.state != "active":
            raise IllegalTransition(row.state, "revocation of the agreement")
        _revoke(svc, tx, row, reason, "operator")
        peer = peer_of(svc, _peer_did(row))
        body = {
            "v": 1,
            "@type": "AgreementRevocationMessage",
            "agreementId": row.id,
            "reason": reason,
        }
        svc.enqueue(
            tx.connection,
            peer.did,
            f"{dsp_base(peer)}/agreements/{row.id}/revocation",
            body,
            "agreement",
            row.id,
            "agreement.revocation",
        )
    svc.changed()
    return get(svc, agreement_id)


def _for_peer(conn: Any, agreement_id: str, peer: Peer) -> Any:
    row = get_row(conn, A, id=agreement_id)
    if row is None or _peer_did(row) != peer.did:
        raise ProcessNotFound(f"no agreement {agreement_id}")
    return row


def receive_revocation(svc: DspService, peer: Peer, agreement_id: str, body: Any) -> None:
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason:
        raise InvalidMessage("reason is required", "$.reason")
    with svc.node.ledger.transaction() as tx:
        row = _for_peer(tx.connection, agreement_id, peer)
        if row.state == "revoked":
            return
        _revoke(svc, tx, row, f"revoked by {peer.did}: {reason}", peer.did)
    svc.changed()


def evidence(svc: DspService, peer: Peer, agreement_id: str) -> dict[str, Any]:
    """For the counterpart only: our ledger entry of the agreement with its audit proof."""
    with svc.node.engine.connect() as conn:
        row = _for_peer(conn, agreement_id, peer)
    if row.ledger_seq is None:
        raise ProcessNotFound(f"agreement {agreement_id} is not recorded yet")
    return ledger_evidence(svc.node.ledger, row.ledger_seq)


def prove(svc: DspService, agreement_id: str) -> dict[str, Any]:
    """A bundle proving who agreed to what and when, verifiable offline (`verify_proof`)."""
    with svc.node.engine.connect() as conn:
        row = _get(conn, agreement_id)
    if row.ledger_seq is None:
        raise IllegalTransition(row.state, "a proof of an agreement that is not finalized")
    peer = peer_of(svc, _peer_did(row))
    response = svc.client(peer).get(f"{dsp_base(peer)}/agreements/{agreement_id}/evidence")
    if response.status_code != 200:
        raise ProcessNotFound(f"{peer.did} gave no evidence: HTTP {response.status_code}")
    ours = ledger_evidence(svc.node.ledger, row.ledger_seq)
    theirs = response.json()
    bundle = {
        "v": 1,
        "type": PROOF_TYPE,
        "agreement": load(row.body),
        "signatures": {
            "provider": load(row.provider_signature),
            "consumer": load(row.consumer_signature),
        },
        "ledgers": {
            row.role: ours,
            "consumer" if row.role == "provider" else "provider": theirs,
        },
    }
    verify_proof(bundle)
    return bundle


# -- duties ----------------------------------------------------------------------------------


def duties(svc: DspService) -> list[dict[str, Any]]:
    with svc.node.engine.connect() as conn:
        return duties_of(conn)


def fulfil(svc: DspService, duty_id: str, text: str = "") -> dict[str, Any]:
    """Consumer: confirm a duty (e.g. deletion); the provider is notified."""
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        row = get_row(conn, duty_table, id=duty_id)
        if row is None:
            raise ProcessNotFound(f"no duty {duty_id}")
        if row.role != "consumer":
            raise IllegalTransition(row.status, "confirmation by the provider (the consumer does)")
        if row.status == "fulfilled":
            raise IllegalTransition(row.status, "a second confirmation")
        agreement = _get(conn, row.agreement_id)
        at = utc_now()
        set_row(conn, duty_table, duty_id, status="fulfilled", fulfilled=at, notes=note(row, text))
        record(tx, "dsp.duty", {"duty": duty_id, "agreement": agreement.id, "fulfilled": at})
        peer = peer_of(svc, agreement.provider_did)
        body = {"v": 1, "@type": "DutyNotice", "action": row.action, "at": at, "note": text}
        svc.enqueue(
            conn,
            peer.did,
            f"{dsp_base(peer)}/agreements/{agreement.id}/duties/{duty_id}",
            body,
            "agreement",
            agreement.id,
            "agreement.duty",
        )
        result = duty_json(get_row(conn, duty_table, id=duty_id))
    svc.changed()
    return result


def receive_duty_notice(svc: DspService, peer: Peer, agreement_id: str, duty_id: str, body: Any):
    """Provider: the consumer reports a duty done (deletion) or a use (`inform`)."""
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        _for_peer(conn, agreement_id, peer)
        row = get_row(conn, duty_table, id=duty_id)
        if row is None or row.agreement_id != agreement_id:
            raise ProcessNotFound(f"no duty {duty_id}")
        text = body.get("note", "") if isinstance(body, dict) else ""
        at = utc_now()
        set_row(
            conn, duty_table, duty_id, status="fulfilled", fulfilled=at, notes=note(row, text or "")
        )
        record(tx, "dsp.duty", {"duty": duty_id, "agreement": agreement_id, "reported": at})
    svc.changed()


# -- consumer pull ---------------------------------------------------------------------------


def pull(svc: DspService, transfer_id: str, purpose: str | None, params: dict[str, str]):
    """Consumer: fetch the data of a STARTED transfer from the provider's data plane.

    An `inform` duty of the agreement is honoured by notifying the provider of the use.
    """
    with svc.node.engine.connect() as conn:
        row = get_row(conn, transfer_table, id=transfer_id)
        if row is None or row.role != "consumer":
            raise ProcessNotFound(f"no transfer {transfer_id} as consumer")
        if row.state != STARTED or not row.data_address:
            raise IllegalTransition(row.state, "a pull")
        inform = [
            r
            for r in conn.execute(
                select(duty_table).where(
                    duty_table.c.agreement_id == row.agreement_id, duty_table.c.action == "inform"
                )
            ).all()
        ]
    address = load(row.data_address)
    query = dict(params)
    if purpose:
        query["purpose"] = purpose
    response = httpx.get(
        address["endpoint"],
        params=query,
        headers={"Authorization": f"Bearer {messages.address_token(address)}"},
        timeout=svc.settings.timeout,
    )
    if response.status_code == 403:
        body = response.json()
        raise AccessDenied(body.get("detail", "denied"), body.get("errors", []))
    response.raise_for_status()
    if inform:
        peer = peer_of(svc, row.peer_did)
        with svc.node.ledger.transaction() as tx:
            for duty in inform:
                body = {"v": 1, "@type": "DutyNotice", "action": "inform", "at": utc_now()}
                svc.enqueue(
                    tx.connection,
                    peer.did,
                    f"{dsp_base(peer)}/agreements/{row.agreement_id}/duties/{duty.id}",
                    body,
                    "agreement",
                    row.agreement_id,
                    "agreement.duty",
                )
                record(tx, "dsp.duty", {"duty": duty.id, "agreement": row.agreement_id, "use": 1})
        svc.changed()
    return response.content, response.headers.get("content-type", "application/octet-stream")
