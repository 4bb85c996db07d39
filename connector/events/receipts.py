"""Countersignature (确权): the receiver signs a receipt for a partner's shipping event into its
own ledger and hands it to the shipper, who ledgers it too; anyone can check both sides.

Receipt payload (type `epcis.receipt`, v1) on the receiver's ledger:
`{v, role: "receiver", eventID, eventHash, partner, partnerSeq, entryHash, checkpoint: {size,
root}, receiver, time}`; on the shipper's ledger: `{v, role: "shipper", eventID, eventHash,
shipper, receiver, receiverSeq, receiverEntryHash, receipt: <receiver's entry>, time}`.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import insert, select, update

from connector.events.access import SELF
from connector.events.errors import EventNotFound, InvalidQuery, PartnerError
from connector.events.partners import DEFAULT_BUDGET, Partners
from connector.events.proofs import (
    entry_hash,
    fetch_key_history,
    open_partner_log,
    verify_ledgered,
)
from connector.events.query import event_by_id
from connector.events.tables import receipt_table
from connector.node import Node
from connector.peers import Peer, PeerClient, node_did, trusted_peers
from ledger.canonical import canonical_json
from ledger.entry import entry_from_json, utc_now, verify_entry_signature
from ledger.errors import VerificationError

RECEIPT_TYPE = "epcis.receipt"


def find_partner(node: Node, ref: str) -> Peer:
    """A trusted partner by DID, base URL or name; EventNotFound when none matches."""
    ref = ref.rstrip("/")
    for peer in trusted_peers(node.engine):
        if ref in (peer.did, peer.base_url.rstrip("/"), peer.name):
            return peer
    raise EventNotFound(f"{ref!r} is not a trusted partner (add it with `tracespace peer add`)")


def _stored(node: Node, event_hash: str, partner: str, role: str) -> Any:
    t = receipt_table.c
    with node.engine.connect() as conn:
        return conn.execute(
            select(receipt_table).where(
                t.event_id == event_hash, t.partner == partner, t.role == role
            )
        ).first()


def countersign(node: Node, event_id: str, partner_ref: str) -> dict[str, Any]:
    """Receiver side: verify the partner's event, ledger a receipt, deliver it to the partner.

    Idempotent: a second call returns the same receipt and retries an undelivered one.
    """
    peer = find_partner(node, partner_ref)
    partners = Partners.for_node(node, [], DEFAULT_BUDGET)
    record, log = partners.fetch_event(peer, event_id)
    entry = record["entry"]
    event_hash = entry["payload"]["eventHash"]
    row = _stored(node, event_hash, peer.did, "receiver")
    if row is None:
        payload = {
            "v": 1,
            "role": "receiver",
            "eventID": entry["payload"]["event"].get("eventID", event_hash),
            "eventHash": event_hash,
            "partner": peer.did,
            "partnerSeq": entry["seq"],
            "entryHash": entry_hash(canonical_json(entry)),
            "checkpoint": {"size": log.size, "root": base64.b64encode(log.root).decode()},
            "receiver": node_did(node),
            "time": utc_now(),
        }
        with node.ledger.transaction() as tx:
            mine = tx.append(RECEIPT_TYPE, payload)
            tx.connection.execute(
                insert(receipt_table).values(
                    event_id=event_hash, partner=peer.did, role="receiver", seq=mine.seq
                )
            )
        seq, partner_seq = mine.seq, None
    else:
        seq, partner_seq = int(row.seq), row.partner_seq
    mine_entry = node.ledger.entry(seq)
    delivered, reason = partner_seq is not None, ""
    if not delivered:
        try:
            with PeerClient(node, peer, timeout=5.0) as client:
                answer = client.post(
                    f"/epcis/events/{quote(event_hash, safe='')}/receipts",
                    json={"v": 1, "entry": mine_entry.to_json()},
                )
            if answer.status_code not in (200, 201):
                raise PartnerError(f"HTTP {answer.status_code}: {answer.text[:200]}")
            partner_seq = int(answer.json()["seq"])
            with node.engine.begin() as conn:
                t = receipt_table.c
                conn.execute(
                    update(receipt_table)
                    .where(t.event_id == event_hash, t.partner == peer.did, t.role == "receiver")
                    .values(partner_seq=partner_seq)
                )
            delivered = True
        except (httpx.HTTPError, PartnerError, KeyError, ValueError) as exc:
            reason = str(exc)[:300]
    return {
        "v": 1,
        "eventID": mine_entry.payload["eventID"],
        "eventHash": event_hash,
        "partner": peer.did,
        "partnerSeq": mine_entry.payload["partnerSeq"],
        "receipt": {"seq": seq, "entryHash": mine_entry.hash.hex(), "node": node_did(node)},
        "partnerReceipt": {"seq": partner_seq, "node": peer.did} if delivered else None,
        "delivered": delivered,
        **({"reason": reason} if reason else {}),
    }


def accept_receipt(node: Node, event_id: str, peer: Peer, body: Any) -> dict[str, Any]:
    """Shipper side: check a partner's receipt for one of our events and ledger it."""
    if not isinstance(body, dict) or body.get("v") != 1 or not isinstance(body.get("entry"), dict):
        raise InvalidQuery('a receipt is {"v": 1, "entry": <the receiver\'s ledger entry>}')
    receipt = entry_from_json(body["entry"])
    verify_entry_signature(receipt.body, peer.public_key)
    payload = receipt.payload
    ours = event_by_id(node, event_id, SELF)  # our own event; the receipt is checked below
    expected = {
        "role": "receiver",
        "partner": node_did(node),
        "receiver": peer.did,
        "eventHash": ours.entry["payload"]["eventHash"],
        "partnerSeq": ours.seq,
        "entryHash": ours.entry_hash,
    }
    if receipt.type != RECEIPT_TYPE or not isinstance(payload, dict):
        raise VerificationError(receipt.seq, f"entry is not an {RECEIPT_TYPE}")
    wrong = [k for k, v in expected.items() if payload.get(k) != v]
    if wrong:
        raise VerificationError(receipt.seq, f"receipt does not match our event: {wrong}")
    event_hash = expected["eventHash"]
    row = _stored(node, event_hash, peer.did, "shipper")
    if row is not None:
        return {"v": 1, "seq": int(row.seq), "entryHash": node.ledger.entry(row.seq).hash.hex()}
    record = {
        "v": 1,
        "role": "shipper",
        "eventID": payload.get("eventID"),
        "eventHash": event_hash,
        "shipper": node_did(node),
        "receiver": peer.did,
        "receiverSeq": receipt.seq,
        "receiverEntryHash": receipt.hash.hex(),
        "receipt": receipt.to_json(),
        "time": utc_now(),
    }
    with node.ledger.transaction() as tx:
        entry = tx.append(RECEIPT_TYPE, record)
        tx.connection.execute(
            insert(receipt_table).values(
                event_id=event_hash,
                partner=peer.did,
                role="shipper",
                seq=entry.seq,
                partner_seq=receipt.seq,
            )
        )
    return {"v": 1, "seq": entry.seq, "entryHash": entry.hash.hex()}


def _ledgered(http: httpx.Client, base: str, seq: int) -> tuple[dict[str, Any], str]:
    """Fetch entry `seq` of the ledger at `base` and prove it against its signed checkpoint."""
    base = base.rstrip("/")
    vkey = http.get(f"{base}/ledger/key").raise_for_status().text
    note = http.get(f"{base}/ledger/checkpoint").raise_for_status().text
    log = fetch_key_history(open_partner_log(vkey, note), lambda path: http.get(base + path))
    body = http.get(f"{base}/ledger/entries/{seq}").raise_for_status().content
    proof = http.get(
        f"{base}/ledger/proof/inclusion", params={"seq": seq, "size": log.size}
    ).raise_for_status()
    entry = entry_from_json(json.loads(body), body)
    verify_ledgered(log, entry.to_json(), proof.json()["proof"])
    return entry.to_json(), log.vkey


def verify_receipt(
    receiver_url: str,
    receiver_seq: int,
    shipper_url: str,
    shipper_seq: int,
    http: httpx.Client | None = None,
) -> dict[str, Any]:
    """A third party's check, from the two public ledgers only: both receipt entries, the
    shipping event they name, every signature and every inclusion proof. Raises
    VerificationError on the first mismatch; returns what was checked."""
    own = http is None
    http = http or httpx.Client(timeout=10)
    try:
        receipt, receiver_vkey = _ledgered(http, receiver_url, receiver_seq)
        mirror, shipper_vkey = _ledgered(http, shipper_url, shipper_seq)
        r, m = receipt["payload"], mirror["payload"]
        if receipt["type"] != RECEIPT_TYPE or mirror["type"] != RECEIPT_TYPE:
            raise VerificationError(None, "both entries must be epcis.receipt entries")
        if m.get("receipt") != receipt or m.get("receiverSeq") != receipt["seq"]:
            raise VerificationError(shipper_seq, "the shipper's entry does not hold this receipt")
        event, _ = _ledgered(http, shipper_url, r["partnerSeq"])
        if entry_hash(canonical_json(event)) != r["entryHash"]:
            raise VerificationError(r["partnerSeq"], "the receipt names another shipping entry")
        if event["payload"].get("eventHash") != r["eventHash"]:
            raise VerificationError(r["partnerSeq"], "the shipping entry holds another event")
        return {
            "v": 1,
            "ok": True,
            "eventHash": r["eventHash"],
            "shipper": {
                "vkey": shipper_vkey,
                "eventSeq": r["partnerSeq"],
                "receiptSeq": shipper_seq,
            },
            "receiver": {"vkey": receiver_vkey, "receiptSeq": receiver_seq},
        }
    finally:
        if own:
            http.close()
