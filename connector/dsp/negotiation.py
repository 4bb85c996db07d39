"""Contract negotiation, provider and consumer side, over the DSP 2025-1 state machine.

Every inbound message is validated, checked against the state machine and the caller's
identity, and applied in one database transaction with its ledger entry and the outbound
message it causes (queued in the outbox, sent at once by the worker).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy import Connection, insert, select

from connector.dsp import messages, offers
from connector.dsp.agreements import sign_agreement, verify_signature
from connector.dsp.duties import create_duties
from connector.dsp.errors import IllegalTransition, InvalidMessage, ProcessNotFound
from connector.dsp.records import (
    add_history,
    dump,
    get_row,
    load,
    new_pid,
    now_iso,
    record,
    set_row,
    utc_now,
)
from connector.dsp.service import DspService, on_delivery
from connector.dsp.state import (
    ACCEPTED,
    AGREED,
    FINALIZED,
    NEGOTIATION_FINAL,
    OFFERED,
    REQUESTED,
    TERMINATED,
    VERIFIED,
    next_negotiation_state,
)
from connector.dsp.tables import agreement_table, negotiation_table
from connector.peers import Peer, find_peer, node_did
from ledger.errors import VerificationError
from policies.literals import parse_datetime
from schemas.dsp import validate_message

PROVIDER, CONSUMER = "provider", "consumer"
T = negotiation_table


def check(svc: DspService, msg: Any, kind: str) -> dict[str, Any]:
    problems = validate_message(msg, kind, jsonld_check=svc.settings.jsonld)
    if problems:
        raise InvalidMessage(problems)
    return msg


def callback_base(peer: Peer, address: Any) -> str:
    """The peer's callback address, which must be on the peer's own base URL."""
    if not isinstance(address, str) or not address:
        raise InvalidMessage("callbackAddress is required", "$.callbackAddress")
    address = address.rstrip("/")
    base = peer.base_url.rstrip("/")
    if address != base and not address.startswith(base + "/"):
        raise InvalidMessage(
            f"callbackAddress must be under {base}, the address {peer.did} is trusted at",
            "$.callbackAddress",
        )
    return address


def dsp_base(peer: Peer) -> str:
    return peer.base_url.rstrip("/") + "/dsp"


def find(conn: Connection, role: str, pid: str, peer: Peer) -> Any:
    """The negotiation `pid` names on our side; another participant's is 'not found' too."""
    column = T.c.provider_pid if role == PROVIDER else T.c.consumer_pid
    row = conn.execute(select(T).where(T.c.role == role, column == pid)).first()
    if row is None or row.peer_did != peer.did:
        raise ProcessNotFound(f"no negotiation {pid}")
    return row


def _pids_match(row: Any, msg: dict[str, Any]) -> None:
    for key, have in (("providerPid", row.provider_pid), ("consumerPid", row.consumer_pid)):
        sent = msg.get(key)
        if sent is not None and have is not None and sent != have:
            raise InvalidMessage(f"{key} {sent} does not belong to this negotiation", f"$.{key}")


def view(row: Any) -> dict[str, Any]:
    """The management view of a negotiation: state, pids, history and reason."""
    return {
        "id": row.id,
        "role": row.role,
        "state": row.state,
        "providerPid": row.provider_pid,
        "consumerPid": row.consumer_pid,
        "peer": row.peer_did,
        "asset": row.asset_id,
        "offer": load(row.offer),
        "pending": row.pending,
        "agreement": row.agreement_id,
        "reason": row.reason,
        "history": load(row.history),
        "created": row.created,
        "updated": row.updated,
    }


def _move(svc: DspService, tx: Any, row: Any, event: str, state: str, reason=None, **values):
    """Change state in `tx`: row, history and a `dsp.negotiation` ledger entry."""
    conn = tx.connection
    history = add_history(row, state, event, reason)
    set_row(conn, T, row.id, state=state, history=history, updated=utc_now(), **values)
    if reason is not None:
        set_row(conn, T, row.id, reason=reason)
    record(
        tx,
        "dsp.negotiation",
        {
            "id": row.id,
            "role": row.role,
            "providerPid": values.get("provider_pid", row.provider_pid),
            "consumerPid": values.get("consumer_pid", row.consumer_pid),
            "peer": row.peer_did,
            "event": event,
            "state": state,
            "reason": reason,
        },
    )
    return get_row(conn, T, id=row.id)


def _send(svc: DspService, conn: Connection, row: Any, path: str, body: dict, purpose: str):
    svc.enqueue(
        conn, row.peer_did, f"{row.peer_address}{path}", body, "negotiation", row.id, purpose
    )


def _peer_path(row: Any, suffix: str) -> str:
    pid = row.consumer_pid if row.role == PROVIDER else row.provider_pid
    return f"/negotiations/{pid}/{suffix}"


def _terminate_out(svc: DspService, tx: Any, row: Any, reason: str, code: str) -> Any:
    row = _move(svc, tx, row, "terminated-by-us", TERMINATED, reason, pending=None)
    if row.provider_pid and row.consumer_pid:
        body = messages.message(
            "ContractNegotiationTerminationMessage",
            providerPid=row.provider_pid,
            consumerPid=row.consumer_pid,
            code=code,
            reason=[reason],
        )
        _send(
            svc, tx.connection, row, _peer_path(row, "termination"), body, "negotiation.termination"
        )
    return row


# -- provider side ---------------------------------------------------------------------------


def _agree(svc: DspService, tx: Any, row: Any) -> Any:
    """Provider: turn the current offer into a signed agreement and send it."""
    conn = tx.connection
    policy = offers.parse(load(row.offer))
    agreement = {
        "@id": new_pid(),
        "@type": "Agreement",
        "target": row.asset_id,
        "assigner": node_did(svc.node),
        "assignee": row.peer_did,
        "timestamp": now_iso(),
    }
    agreement.update(offers.terms(policy))
    signature = sign_agreement(
        agreement, PROVIDER, node_did(svc.node), svc.node.signing_key, utc_now()
    )
    conn.execute(
        insert(agreement_table).values(
            id=agreement["@id"],
            negotiation_id=row.id,
            role=PROVIDER,
            provider_did=agreement["assigner"],
            consumer_did=row.peer_did,
            asset_id=row.asset_id,
            body=dump(agreement),
            provider_signature=dump(signature),
            state="pending",
            created=utc_now(),
            updated=utc_now(),
        )
    )
    row = _move(svc, tx, row, "agreement-sent", AGREED, pending=None, agreement_id=agreement["@id"])
    body = messages.message(
        "ContractAgreementMessage",
        providerPid=row.provider_pid,
        consumerPid=row.consumer_pid,
        agreement=agreement,
    )
    body[messages.SIGNATURE] = signature
    _send(svc, conn, row, _peer_path(row, "agreement"), body, "negotiation.agreement")
    return row


def _decide_request(svc: DspService, tx: Any, row: Any, ours: Any, definition: Any) -> Any:
    """Provider: agree at once when allowed, else wait for the operator."""
    requested = offers.parse(load(row.offer))
    if (
        definition is not None
        and definition.approval == "auto"
        and offers.same_terms(requested, ours)
    ):
        return _agree(svc, tx, row)
    why = "manual approval" if definition is None or definition.approval != "auto" else "counter"
    set_row(tx.connection, T, row.id, pending=why)
    return get_row(tx.connection, T, id=row.id)


def receive_request(svc: DspService, peer: Peer, msg: Any, pid: str | None = None) -> dict:
    """ContractRequestMessage: initial (`pid` None) or a counter-request on OFFERED."""
    msg = check(svc, msg, "ContractRequestMessage")
    offer = msg["offer"]
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        request = offers.partner_request(conn, peer.did)
        if pid is None:
            if msg.get("providerPid"):
                raise InvalidMessage("an initial request carries no providerPid", "$.providerPid")
            callback = callback_base(peer, msg.get("callbackAddress"))
            found = offers.resolve_offer(conn, offer.get("@id"), offer.get("target"), request)
            if found is None:
                raise ProcessNotFound(f"no offer {offer.get('@id')} for {peer.did}")
            definition, ours, asset = found
            offers.parse(offer, "$.offer")
            row_id = new_pid()
            conn.execute(
                insert(T).values(
                    id=row_id,
                    role=PROVIDER,
                    provider_pid=row_id,
                    consumer_pid=msg["consumerPid"],
                    peer_did=peer.did,
                    peer_address=callback,
                    state=REQUESTED,
                    asset_id=asset.id,
                    offer=dump({**offer, "target": asset.id}),
                    definition_id=definition.id,
                    history="[]",
                    created=utc_now(),
                    updated=utc_now(),
                )
            )
            row = get_row(conn, T, id=row_id)
            row = _move(svc, tx, row, "request-received", REQUESTED)
        else:
            row = find(conn, PROVIDER, pid, peer)
            _pids_match(row, msg)
            next_negotiation_state(row.state, "request")
            policy = offers.parse(offer, "$.offer")
            if offer.get("target") not in (None, row.asset_id):
                raise InvalidMessage("a counter-offer cannot change the target", "$.offer.target")
            definition = (
                get_row(conn, offers.definition_table, id=row.definition_id)
                if row.definition_id
                else None
            )
            ours = offers.policy_of(conn, definition.policy_id) if definition else policy
            set_row(conn, T, row.id, offer=dump({**offer, "target": row.asset_id}))
            row = _move(svc, tx, get_row(conn, T, id=row.id), "counter-request-received", REQUESTED)
        row = _decide_request(svc, tx, row, ours, definition)
        answer = messages.negotiation(row.provider_pid, row.consumer_pid, REQUESTED)
    svc.changed()
    return answer


def receive_event(svc: DspService, peer: Peer, msg: Any, pid: str, role: str) -> None:
    """ContractNegotiationEventMessage: ACCEPTED (at the provider) or FINALIZED (consumer)."""
    msg = check(svc, msg, "ContractNegotiationEventMessage")
    event = msg.get("eventType")
    with svc.node.ledger.transaction() as tx:
        row = find(tx.connection, role, pid, peer)
        _pids_match(row, msg)
        if role == PROVIDER:
            if event != "ACCEPTED":
                raise IllegalTransition(row.state, f"event {event} sent to the provider")
            next_negotiation_state(row.state, "accepted")
            row = _move(svc, tx, row, "accepted-received", ACCEPTED)
            row = _agree(svc, tx, row)
        else:
            if event != "FINALIZED":
                raise IllegalTransition(row.state, f"event {event} sent to the consumer")
            next_negotiation_state(row.state, "finalized")
            row = _move(svc, tx, row, "finalized-received", FINALIZED)
            _activate(svc, tx, row)
    svc.changed()


def receive_verification(svc: DspService, peer: Peer, msg: Any, pid: str) -> None:
    """Provider: the consumer's verification, with its signature → VERIFIED, FINALIZED."""
    msg = check(svc, msg, "ContractAgreementVerificationMessage")
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        row = find(conn, PROVIDER, pid, peer)
        _pids_match(row, msg)
        next_negotiation_state(row.state, "verification")
        agreement_row = get_row(conn, agreement_table, id=row.agreement_id)
        signature = msg.get(messages.SIGNATURE)
        try:
            verify_signature(
                load(agreement_row.body), signature, CONSUMER, peer.did, peer.public_key
            )
        except VerificationError as exc:
            reason = f"invalid agreement verification: {exc.reason}"
            _terminate_out(svc, tx, row, reason, "invalid-verification")
            bad = exc
        else:
            bad = None
            set_row(conn, agreement_table, agreement_row.id, consumer_signature=dump(signature))
            row = _move(svc, tx, row, "verification-received", VERIFIED)
            row = _move(svc, tx, row, "finalized-sent", FINALIZED)
            _activate(svc, tx, row)
            body = messages.message(
                "ContractNegotiationEventMessage",
                providerPid=row.provider_pid,
                consumerPid=row.consumer_pid,
                eventType="FINALIZED",
            )
            _send(svc, conn, row, _peer_path(row, "events"), body, "negotiation.finalized")
    svc.changed()
    if bad is not None:
        raise InvalidMessage(str(bad), "$['" + messages.SIGNATURE + "']")


def _activate(svc: DspService, tx: Any, row: Any) -> None:
    """Both signatures are in: record the agreement in the ledger and track its duties."""
    conn = tx.connection
    agreement_row = get_row(conn, agreement_table, id=row.agreement_id)
    agreement = load(agreement_row.body)
    seq = record(
        tx,
        "dsp.agreement",
        {
            "agreement": agreement,
            "signatures": {
                PROVIDER: load(agreement_row.provider_signature),
                CONSUMER: load(agreement_row.consumer_signature),
            },
            "negotiation": {"providerPid": row.provider_pid, "consumerPid": row.consumer_pid},
            "role": row.role,
        },
    )
    set_row(
        conn, agreement_table, agreement_row.id, state="active", ledger_seq=seq, updated=utc_now()
    )
    start = parse_datetime(agreement["timestamp"]).astimezone(UTC)
    create_duties(conn, agreement_row.id, row.role, offers.parse(agreement), start)


def receive_termination(svc: DspService, peer: Peer, msg: Any, pid: str, role: str) -> None:
    msg = check(svc, msg, "ContractNegotiationTerminationMessage")
    with svc.node.ledger.transaction() as tx:
        row = find(tx.connection, role, pid, peer)
        _pids_match(row, msg)
        next_negotiation_state(row.state, "termination")
        reasons = msg.get("reason") or []
        text = "; ".join(str(r) for r in reasons) if isinstance(reasons, list) else str(reasons)
        reason = f"terminated by {peer.did}" + (f" (code {msg['code']})" if msg.get("code") else "")
        reason += f": {text}" if text else ""
        _move(svc, tx, row, "termination-received", TERMINATED, reason, pending=None)
    svc.changed()


def state_of(svc: DspService, peer: Peer, pid: str, role: str) -> dict[str, Any]:
    with svc.node.engine.connect() as conn:
        row = find(conn, role, pid, peer)
    return messages.negotiation(row.provider_pid, row.consumer_pid, row.state)


# -- consumer side ---------------------------------------------------------------------------


def start(svc: DspService, peer: Peer, offer: dict[str, Any]) -> dict[str, Any]:
    """Consumer: request `offer` (from the peer's catalog; must carry `target`)."""
    if not isinstance(offer, dict) or not isinstance(offer.get("target"), str):
        raise InvalidMessage("the offer needs its target (the dataset id)", "$.offer.target")
    offer = {**offer, "@type": "Offer"}
    offers.parse(offer, "$.offer")
    consumer_pid = new_pid()
    body = messages.message(
        "ContractRequestMessage",
        consumerPid=consumer_pid,
        offer=offer,
        callbackAddress=svc.node.config.public_url + "/dsp",
    )
    check(svc, body, "ContractRequestMessage")
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        conn.execute(
            insert(T).values(
                id=consumer_pid,
                role=CONSUMER,
                consumer_pid=consumer_pid,
                peer_did=peer.did,
                peer_address=dsp_base(peer),
                state=REQUESTED,
                asset_id=offer["target"],
                offer=dump(offer),
                history="[]",
                created=utc_now(),
                updated=utc_now(),
            )
        )
        row = _move(svc, tx, get_row(conn, T, id=consumer_pid), "request-sent", REQUESTED)
        _send(svc, conn, row, "/negotiations/request", body, "negotiation.initial-request")
        result = view(row)
    svc.changed()
    return result


@on_delivery("negotiation.initial-request")
def _initial_request_done(svc: DspService, row: Any, response: Any, error: str | None) -> None:
    provider_pid, problem = messages.provider_pid_of(response, "request")
    error = error or problem
    with svc.node.ledger.transaction() as tx:
        neg = get_row(tx.connection, T, id=row.process_id)
        if neg is None:
            return
        if provider_pid is not None and neg.provider_pid is None:
            set_row(tx.connection, T, neg.id, provider_pid=provider_pid)
        if error is not None and neg.state not in NEGOTIATION_FINAL:
            _move(svc, tx, neg, "delivery-failed", TERMINATED, error, pending=None)


@on_delivery("negotiation")
def _delivery_done(svc: DspService, row: Any, response: Any, error: str | None) -> None:
    if error is None:
        return
    with svc.node.ledger.transaction() as tx:
        neg = get_row(tx.connection, T, id=row.process_id)
        if neg is None or neg.state in NEGOTIATION_FINAL:
            if neg is not None and row.purpose == "negotiation.finalized":
                set_row(tx.connection, T, neg.id, reason=f"finalized, but {error}")
            return
        neg = _move(svc, tx, neg, "delivery-failed", TERMINATED, error, pending=None)
        if row.purpose != "negotiation.termination" and neg.provider_pid and neg.consumer_pid:
            body = messages.message(
                "ContractNegotiationTerminationMessage",
                providerPid=neg.provider_pid,
                consumerPid=neg.consumer_pid,
                code="peer-unreachable",
                reason=[error],
            )
            _send(
                svc,
                tx.connection,
                neg,
                _peer_path(neg, "termination"),
                body,
                "negotiation.termination",
            )


def receive_offer(svc: DspService, peer: Peer, msg: Any, pid: str | None = None) -> dict | None:
    """Consumer: a provider's offer, initial (`pid` None) or a counter-offer on REQUESTED."""
    msg = check(svc, msg, "ContractOfferMessage")
    offer = msg["offer"]
    offers.parse(offer, "$.offer")
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        if pid is None:
            if msg.get("consumerPid"):
                raise InvalidMessage("an initial offer carries no consumerPid", "$.consumerPid")
            if not isinstance(offer.get("target"), str):
                raise InvalidMessage("an initial offer names its target", "$.offer.target")
            consumer_pid = new_pid()
            conn.execute(
                insert(T).values(
                    id=consumer_pid,
                    role=CONSUMER,
                    consumer_pid=consumer_pid,
                    provider_pid=msg["providerPid"],
                    peer_did=peer.did,
                    peer_address=callback_base(peer, msg.get("callbackAddress")),
                    state=OFFERED,
                    asset_id=offer["target"],
                    offer=dump(offer),
                    pending="manual approval",
                    history="[]",
                    created=utc_now(),
                    updated=utc_now(),
                )
            )
            row = _move(svc, tx, get_row(conn, T, id=consumer_pid), "offer-received", OFFERED)
            answer = messages.negotiation(row.provider_pid, row.consumer_pid, OFFERED)
        else:
            row = find(conn, CONSUMER, pid, peer)
            _pids_match(row, msg)
            next_negotiation_state(row.state, "offer")
            if offer.get("target") not in (None, row.asset_id):
                raise InvalidMessage("a counter-offer cannot change the target", "$.offer.target")
            values = {"offer": dump({**offer, "target": row.asset_id}), "pending": "counter-offer"}
            if row.provider_pid is None:
                values["provider_pid"] = msg["providerPid"]
            row = _move(svc, tx, row, "offer-received", OFFERED, **values)
            answer = None
    svc.changed()
    return answer


def receive_agreement(svc: DspService, peer: Peer, msg: Any, pid: str) -> None:
    """Consumer: check the provider's signed agreement, countersign and verify it."""
    msg = check(svc, msg, "ContractAgreementMessage")
    agreement = msg["agreement"]
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        row = find(conn, CONSUMER, pid, peer)
        _pids_match(row, msg)
        next_negotiation_state(row.state, "agreement")
        if row.provider_pid is None:
            set_row(conn, T, row.id, provider_pid=msg["providerPid"])
            row = get_row(conn, T, id=row.id)
        problem = _agreement_problem(svc, row, peer, agreement, msg.get(messages.SIGNATURE))
        if problem is not None:
            _terminate_out(svc, tx, row, f"invalid agreement: {problem}", "invalid-agreement")
        else:
            ours = sign_agreement(
                agreement, CONSUMER, node_did(svc.node), svc.node.signing_key, utc_now()
            )
            conn.execute(
                insert(agreement_table).values(
                    id=agreement["@id"],
                    negotiation_id=row.id,
                    role=CONSUMER,
                    provider_did=peer.did,
                    consumer_did=node_did(svc.node),
                    asset_id=row.asset_id,
                    body=dump(agreement),
                    provider_signature=dump(msg[messages.SIGNATURE]),
                    consumer_signature=dump(ours),
                    state="pending",
                    created=utc_now(),
                    updated=utc_now(),
                )
            )
            row = _move(svc, tx, row, "agreement-received", AGREED, agreement_id=agreement["@id"])
            row = _move(svc, tx, row, "verification-sent", VERIFIED, pending=None)
            body = messages.message(
                "ContractAgreementVerificationMessage",
                providerPid=row.provider_pid,
                consumerPid=row.consumer_pid,
            )
            body[messages.SIGNATURE] = ours
            _send(
                svc,
                conn,
                row,
                _peer_path(row, "agreement/verification"),
                body,
                "negotiation.verification",
            )
    svc.changed()
    if problem is not None:
        raise InvalidMessage(f"invalid agreement: {problem}", "$.agreement")


def _agreement_problem(svc: DspService, row: Any, peer: Peer, agreement: dict, signature: Any):
    if agreement.get("target") != row.asset_id:
        return f"target {agreement.get('target')} is not the requested {row.asset_id}"
    if agreement.get("assigner") != peer.did:
        return f"assigner {agreement.get('assigner')} is not the provider {peer.did}"
    if agreement.get("assignee") != node_did(svc.node):
        return f"assignee {agreement.get('assignee')} is not this node"
    with svc.node.engine.connect() as conn:
        if get_row(conn, agreement_table, id=agreement.get("@id")) is not None:
            return f"agreement id {agreement.get('@id')} is already in use"
    try:
        policy = offers.parse(agreement, "$.agreement")
        parse_datetime(str(agreement.get("timestamp")))
    except (InvalidMessage, ValueError) as exc:
        return str(exc)
    if not offers.same_terms(policy, offers.parse(load(row.offer))):
        return "its terms differ from the last offer"
    try:
        verify_signature(agreement, signature, PROVIDER, peer.did, peer.public_key)
    except VerificationError as exc:
        return exc.reason
    return None


# -- operator actions ------------------------------------------------------------------------


def _own(conn: Connection, negotiation_id: str) -> Any:
    row = get_row(conn, T, id=negotiation_id)
    if row is None:
        raise ProcessNotFound(f"no negotiation {negotiation_id}")
    return row


def approve(svc: DspService, negotiation_id: str) -> dict[str, Any]:
    """Operator: agree (provider, REQUESTED) or accept the offer (consumer, OFFERED)."""
    with svc.node.ledger.transaction() as tx:
        row = _own(tx.connection, negotiation_id)
        if row.role == PROVIDER:
            if row.state != REQUESTED:
                raise IllegalTransition(row.state, "approval by the provider")
            row = _agree(svc, tx, row)
        else:
            next_negotiation_state(row.state, "accepted")
            row = _move(svc, tx, row, "accepted-sent", ACCEPTED, pending=None)
            body = messages.message(
                "ContractNegotiationEventMessage",
                providerPid=row.provider_pid,
                consumerPid=row.consumer_pid,
                eventType="ACCEPTED",
            )
            _send(svc, tx.connection, row, _peer_path(row, "events"), body, "negotiation.accepted")
        result = view(row)
    svc.changed()
    return result


def counter(svc: DspService, negotiation_id: str, policy_json: dict[str, Any]) -> dict[str, Any]:
    """Operator: answer with another offer (provider) or another request (consumer)."""
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        row = _own(conn, negotiation_id)
        offer = {
            **{k: v for k, v in policy_json.items() if k not in ("@context",)},
            "@type": "Offer",
            "@id": policy_json.get("@id") or new_pid(),
            "target": row.asset_id,
        }
        offers.parse(offer, "$.policy")
        if row.role == PROVIDER:
            next_negotiation_state(row.state, "offer")
            row = _move(svc, tx, row, "offer-sent", OFFERED, offer=dump(offer), pending=None)
            body = messages.message(
                "ContractOfferMessage",
                providerPid=row.provider_pid,
                consumerPid=row.consumer_pid,
                offer=offer,
            )
            _send(svc, conn, row, _peer_path(row, "offers"), body, "negotiation.offer")
        else:
            next_negotiation_state(row.state, "request")
            row = _move(svc, tx, row, "request-sent", REQUESTED, offer=dump(offer), pending=None)
            body = messages.message(
                "ContractRequestMessage",
                providerPid=row.provider_pid,
                consumerPid=row.consumer_pid,
                offer=offer,
            )
            _send(svc, conn, row, _peer_path(row, "request"), body, "negotiation.request")
        check(svc, body, body["@type"])
        result = view(row)
    svc.changed()
    return result


def terminate(svc: DspService, negotiation_id: str, reason: str) -> dict[str, Any]:
    """Operator: reject or end a negotiation that is not final; the peer is told why."""
    with svc.node.ledger.transaction() as tx:
        row = _own(tx.connection, negotiation_id)
        next_negotiation_state(row.state, "termination")
        row = _terminate_out(svc, tx, row, reason or "terminated by the operator", "operator")
        result = view(row)
    svc.changed()
    return result


def get(svc: DspService, negotiation_id: str) -> dict[str, Any]:
    with svc.node.engine.connect() as conn:
        return view(_own(conn, negotiation_id))


def listing(svc: DspService, state: str | None = None) -> list[dict[str, Any]]:
    query = select(T).order_by(T.c.created)
    if state:
        query = query.where(T.c.state == state)
    with svc.node.engine.connect() as conn:
        return [view(r) for r in conn.execute(query).all()]


def peer_of(svc: DspService, did: str) -> Peer:
    peer = find_peer(svc.node.engine, did)
    if peer is None:
        raise ProcessNotFound(f"{did} is not on the trust list")
    return peer
