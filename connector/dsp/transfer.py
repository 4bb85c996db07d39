"""Transfer processes, provider and consumer side: HTTP pull through the provider's data plane.

The provider starts a transfer as soon as it accepts the request: the start message
carries a data address on its data plane with a short-lived bearer token bound to the
transfer (and so to the agreement). Only the token's SHA-256 is stored; it is kept after
the transfer ends so that a refused access can say why (the transfer or agreement state).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from sqlalchemy import Connection, insert, select

from connector.dsp import messages
from connector.dsp.errors import IllegalTransition, InvalidMessage, ProcessNotFound
from connector.dsp.negotiation import CONSUMER, PROVIDER, callback_base, check, dsp_base
from connector.dsp.records import (
    add_history,
    dump,
    get_row,
    load,
    new_pid,
    record,
    set_row,
    utc_now,
)
from connector.dsp.service import DspService, on_delivery
from connector.dsp.state import (
    REQUESTED,
    STARTED,
    TERMINATED,
    TRANSFER_FINAL,
    next_transfer_state,
)
from connector.dsp.tables import agreement_table, transfer_table
from connector.peers import Peer

T = transfer_table
_KINDS = {
    "start": "TransferStartMessage",
    "completion": "TransferCompletionMessage",
    "suspension": "TransferSuspensionMessage",
    "termination": "TransferTerminationMessage",
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find(conn: Connection, role: str, pid: str, peer: Peer) -> Any:
    column = T.c.provider_pid if role == PROVIDER else T.c.consumer_pid
    row = conn.execute(select(T).where(T.c.role == role, column == pid)).first()
    if row is None or row.peer_did != peer.did:
        raise ProcessNotFound(f"no transfer process {pid}")
    return row


def view(row: Any) -> dict[str, Any]:
    out = {
        "id": row.id,
        "role": row.role,
        "state": row.state,
        "providerPid": row.provider_pid,
        "consumerPid": row.consumer_pid,
        "agreement": row.agreement_id,
        "peer": row.peer_did,
        "format": row.format,
        "reason": row.reason,
        "history": load(row.history),
        "created": row.created,
        "updated": row.updated,
    }
    if row.role == CONSUMER and row.data_address:
        address = load(row.data_address)
        out["endpoint"] = address.get("endpoint")
    return out


def _move(tx: Any, row: Any, event: str, state: str, reason: str | None = None, **values: Any):
    conn = tx.connection
    history = add_history(row, state, event, reason)
    if reason is not None:
        values["reason"] = reason
    set_row(conn, T, row.id, state=state, history=history, updated=utc_now(), **values)
    record(
        tx,
        "dsp.transfer",
        {
            "id": row.id,
            "role": row.role,
            "agreement": row.agreement_id,
            "providerPid": values.get("provider_pid", row.provider_pid),
            "consumerPid": values.get("consumer_pid", row.consumer_pid),
            "peer": row.peer_did,
            "event": event,
            "state": state,
            "reason": reason,
        },
    )
    return get_row(conn, T, id=row.id)


def _send(svc: DspService, conn: Connection, row: Any, suffix: str, body: dict, purpose: str):
    pid = row.consumer_pid if row.role == PROVIDER else row.provider_pid
    url = f"{row.peer_address}/transfers/{pid}/{suffix}"
    svc.enqueue(conn, row.peer_did, url, body, "transfer", row.id, purpose)


def _start_out(svc: DspService, tx: Any, row: Any, event: str) -> Any:
    """Provider: issue a fresh data-plane token and send the start message."""
    token = secrets.token_urlsafe(32)
    expires = int(time.time()) + svc.settings.token_lifetime
    row = _move(tx, row, event, STARTED, token_hash=token_hash(token), token_expires=expires)
    endpoint = f"{svc.node.config.public_url}/dataplane/{row.provider_pid}"
    body = messages.message(
        "TransferStartMessage",
        providerPid=row.provider_pid,
        consumerPid=row.consumer_pid,
        dataAddress=messages.data_address(endpoint, token),
    )
    _send(svc, tx.connection, row, "start", body, "transfer.start")
    return row


# -- provider side ---------------------------------------------------------------------------


def receive_request(svc: DspService, peer: Peer, msg: Any) -> dict[str, Any]:
    msg = check(svc, msg, "TransferRequestMessage")
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        agreement = get_row(conn, agreement_table, id=msg["agreementId"])
        if agreement is None or agreement.role != PROVIDER or agreement.consumer_did != peer.did:
            raise ProcessNotFound(f"no agreement {msg['agreementId']} with {peer.did}")
        if agreement.state != "active":
            reason = agreement.reason or "not finalized"
            raise IllegalTransition(agreement.state, f"a transfer under agreement ({reason})")
        if msg.get("format") != messages.HTTP_PULL:
            raise InvalidMessage(
                f"format {msg.get('format')!r} is not offered; use {messages.HTTP_PULL}",
                "$.format",
            )
        pid = new_pid()
        conn.execute(
            insert(T).values(
                id=pid,
                role=PROVIDER,
                provider_pid=pid,
                consumer_pid=msg["consumerPid"],
                agreement_id=agreement.id,
                peer_did=peer.did,
                peer_address=callback_base(peer, msg.get("callbackAddress")),
                state=REQUESTED,
                format=msg["format"],
                history="[]",
                created=utc_now(),
                updated=utc_now(),
            )
        )
        row = _move(tx, get_row(conn, T, id=pid), "request-received", REQUESTED)
        _start_out(svc, tx, row, "start-sent")
        answer = messages.transfer_process(pid, msg["consumerPid"], REQUESTED)
    svc.changed()
    return answer


def receive(svc: DspService, peer: Peer, msg: Any, pid: str, role: str, kind: str) -> None:
    """A start, completion, suspension or termination message from the other side."""
    msg = check(svc, msg, _KINDS[kind])
    with svc.node.ledger.transaction() as tx:
        row = find(tx.connection, role, pid, peer)
        for key, have in (("providerPid", row.provider_pid), ("consumerPid", row.consumer_pid)):
            if have is not None and msg.get(key) not in (None, have):
                raise InvalidMessage(f"{key} does not belong to this transfer", f"$.{key}")
        target = next_transfer_state(row.state, kind)
        reasons = msg.get("reason")
        reason = None
        if kind in ("suspension", "termination"):
            text = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
            reason = f"{kind} by {peer.did}" + (f": {text}" if text else "")
        if kind == "start" and role == PROVIDER:
            # The consumer asks to resume: the provider answers with a fresh data address.
            _start_out(svc, tx, row, "resume-requested")
        elif kind == "start":
            values: dict[str, Any] = {"data_address": dump(msg.get("dataAddress"))}
            if row.provider_pid is None:
                values["provider_pid"] = msg["providerPid"]
            _move(tx, row, "start-received", target, **values)
        else:
            _move(tx, row, f"{kind}-received", target, reason)
    svc.changed()


def state_of(svc: DspService, peer: Peer, pid: str, role: str) -> dict[str, Any]:
    with svc.node.engine.connect() as conn:
        row = find(conn, role, pid, peer)
    return messages.transfer_process(row.provider_pid, row.consumer_pid, row.state)


# -- consumer side and operator actions ------------------------------------------------------


def start(svc: DspService, agreement_id: str) -> dict[str, Any]:
    """Consumer: ask the provider for a pull transfer under an active agreement."""
    from connector.dsp.negotiation import peer_of

    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        agreement = get_row(conn, agreement_table, id=agreement_id)
        if agreement is None or agreement.role != CONSUMER:
            raise ProcessNotFound(f"no agreement {agreement_id} as consumer")
        if agreement.state != "active":
            raise IllegalTransition(agreement.state, "a transfer under this agreement")
        peer = peer_of(svc, agreement.provider_did)
        pid = new_pid()
        body = messages.message(
            "TransferRequestMessage",
            consumerPid=pid,
            agreementId=agreement_id,
            format=messages.HTTP_PULL,
            callbackAddress=svc.node.config.public_url + "/dsp",
        )
        conn.execute(
            insert(T).values(
                id=pid,
                role=CONSUMER,
                consumer_pid=pid,
                agreement_id=agreement_id,
                peer_did=peer.did,
                peer_address=dsp_base(peer),
                state=REQUESTED,
                history="[]",
                created=utc_now(),
                updated=utc_now(),
            )
        )
        row = _move(tx, get_row(conn, T, id=pid), "request-sent", REQUESTED)
        svc.enqueue(
            conn,
            peer.did,
            f"{row.peer_address}/transfers/request",
            body,
            "transfer",
            pid,
            "transfer.initial-request",
        )
        result = view(row)
    svc.changed()
    return result


@on_delivery("transfer.initial-request")
def _initial_request_done(svc: DspService, row: Any, response: Any, error: str | None) -> None:
    provider_pid, problem = messages.provider_pid_of(response, "transfer request")
    error = error or problem
    with svc.node.ledger.transaction() as tx:
        tp = get_row(tx.connection, T, id=row.process_id)
        if tp is None:
            return
        if provider_pid is not None and tp.provider_pid is None:
            set_row(tx.connection, T, tp.id, provider_pid=provider_pid)
        if error is not None and tp.state not in TRANSFER_FINAL:
            _move(tx, tp, "delivery-failed", TERMINATED, error)


@on_delivery("transfer")
def _delivery_done(svc: DspService, row: Any, response: Any, error: str | None) -> None:
    if error is None:
        return
    with svc.node.ledger.transaction() as tx:
        tp = get_row(tx.connection, T, id=row.process_id)
        if tp is not None and tp.state not in TRANSFER_FINAL:
            _move(tx, tp, "delivery-failed", TERMINATED, error)


def act(svc: DspService, transfer_id: str, kind: str, reason: str = "") -> dict[str, Any]:
    """Operator: suspend, resume (start), complete or terminate a transfer; the peer is told."""
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        row = get_row(conn, T, id=transfer_id)
        if row is None:
            raise ProcessNotFound(f"no transfer {transfer_id}")
        target = next_transfer_state(row.state, kind)
        if kind == "start" and row.role == PROVIDER:
            row = _start_out(svc, tx, row, "resumed")
        elif kind == "start":
            if row.state == REQUESTED:
                raise IllegalTransition(row.state, "a resume by the consumer")
            body = messages.message(
                "TransferStartMessage", providerPid=row.provider_pid, consumerPid=row.consumer_pid
            )
            _send(svc, conn, row, "start", body, "transfer.resume")
        else:
            fields: dict[str, Any] = {
                "providerPid": row.provider_pid,
                "consumerPid": row.consumer_pid,
            }
            if kind in ("suspension", "termination"):
                fields.update(code=kind, reason=[reason or f"{kind} by the operator"])
            body = messages.message(_KINDS[kind], **fields)
            text = (reason or f"{kind} by the operator") if kind != "completion" else None
            row = _move(tx, row, f"{kind}-sent", target, text)
            _send(svc, conn, row, kind, body, f"transfer.{kind}")
        result = view(row)
    svc.changed()
    return result


def terminate_for_agreement(tx: Any, svc: DspService, agreement_id: str, reason: str) -> int:
    """End every open transfer under a revoked agreement (the peer is told)."""
    conn = tx.connection
    rows = conn.execute(select(T).where(T.c.agreement_id == agreement_id)).all()
    ended = 0
    for row in rows:
        if row.state in TRANSFER_FINAL:
            continue
        row = _move(tx, row, "agreement-revoked", TERMINATED, reason)
        if row.provider_pid and row.consumer_pid:
            body = messages.message(
                "TransferTerminationMessage",
                providerPid=row.provider_pid,
                consumerPid=row.consumer_pid,
                code="agreement-revoked",
                reason=[reason],
            )
            _send(svc, conn, row, "termination", body, "transfer.termination")
        ended += 1
    return ended


def get(svc: DspService, transfer_id: str) -> dict[str, Any]:
    with svc.node.engine.connect() as conn:
        row = get_row(conn, T, id=transfer_id)
    if row is None:
        raise ProcessNotFound(f"no transfer {transfer_id}")
    return view(row)


def listing(svc: DspService) -> list[dict[str, Any]]:
    with svc.node.engine.connect() as conn:
        return [view(r) for r in conn.execute(select(T).order_by(T.c.created)).all()]
