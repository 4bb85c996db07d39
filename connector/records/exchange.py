"""Records between nodes: the provider serves what agreements permit, the partner pulls,
verifies each proof against the provider's key, and ledgers the receipt; both sides ledger.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from connector.dsp.errors import AccessDenied
from connector.node import Node
from connector.peers import Peer, PeerClient, trusted_peers
from connector.records import bom, footprints, quality
from connector.records.sharing import decide, may_share, recipients
from connector.records.signing import Resolver, did_document_resolver
from connector.records.store import KINDS, StoredRecord, get_record, list_records
from ledger.errors import InvalidInput, NotAllowed, NotFound
from schemas.errors import RecordError
from schemas.integrity import did_document

SHARED_PATH = "/records/shared"
PUBLISHED = "org.wbcsd.pact.ProductFootprint.PublishedEvent.3"
log = logging.getLogger("tracespace.records")


# -- provider side ------------------------------------------------------------------------


def shared_with(
    node: Node, partner: str, kind: str, purpose: str | None = None
) -> list[StoredRecord]:
    """Our issued records of `kind` that `partner` may receive now; AccessDenied (naming
    every failed constraint) when no agreement permits the access."""
    access = decide(node, partner, kind, purpose=purpose, channel="records")
    if not access.permitted:
        raise access.denied()
    return [r for r in list_records(node, kind, "issued") if access.covers_record(r)]


def shared_record(
    node: Node, partner: str, record_id: str, purpose: str | None = None
) -> StoredRecord:
    """One record `partner` may receive; NotFound alike for unknown and not covered."""
    try:
        record = get_record(node, record_id)
    except NotFound:
        record = None
    if record is None or not may_share(node, partner, record, purpose=purpose):
        raise NotFound(f"no record {record_id} for {partner}")
    return record


def ledger_provided(node: Node, partner: str, records: list[StoredRecord]) -> None:
    """The provider's ledger entry for records handed to a partner."""
    if not records:
        return
    node.ledger.append(
        "records.exchange",
        {
            "v": 1,
            "direction": "provided",
            "peer": partner,
            "records": [{"id": r.id, "kind": r.kind, "hash": r.digest} for r in records],
        },
    )


# -- partner side -------------------------------------------------------------------------


@dataclass
class PullReport:
    """What a pull brought: records stored now, and ids already held (unchanged)."""

    received: list[StoredRecord] = field(default_factory=list)
    already_held: list[str] = field(default_factory=list)
    recalculated: list[StoredRecord] = field(default_factory=list)


def peer_resolver(peer: Peer) -> Resolver:
    """Accept proofs only by the peer's key as the trust list holds it (its DID document)."""
    return did_document_resolver(did_document(peer.did, peer.public_key))


def find_trusted(node: Node, did: str) -> Peer:
    for peer in trusted_peers(node.engine):
        if peer.did == did:
            return peer
    raise NotFound(f"{did} is not on the trust list")


def _held(node: Node, record_id: str) -> StoredRecord | None:
    try:
        return get_record(node, record_id)
    except NotFound:
        return None


def pull(
    node: Node,
    peer: Peer,
    kind: str,
    ids: list[str] | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    recalculate: bool = True,
    purpose: str | None = None,
) -> PullReport:
    """Fetch records of `kind` (or just `ids`) that `peer` shares with us; verify and store.

    `purpose` is declared to the provider's policy. A refusal of the whole pull raises
    AccessDenied with the provider's reasons; refused or unknown `ids` are skipped.
    Received footprints trigger the recalculation of every BOM that uses them.
    """
    if kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} must be one of {', '.join(KINDS)}")
    resolve = peer_resolver(peer)
    report = PullReport()
    with PeerClient(node, peer, transport=transport) as client:
        extra = {"purpose": purpose} if purpose else {}
        if ids is None:
            response = client.get(SHARED_PATH, params={"kind": kind, **extra})
            if response.status_code == 403:
                raise _refused(peer, response)
            response.raise_for_status()
            documents = response.json()["records"]
        else:
            documents = []
            for record_id in ids:
                response = client.get(f"{SHARED_PATH}/{record_id}", params=extra)
                if response.status_code in (403, 404):
                    log.info("%s does not share %s with us", peer.did, record_id)
                    continue
                response.raise_for_status()
                documents.append(response.json())
    receive = footprints.receive if kind == footprints.KIND else quality.receive
    for document in documents:
        record_id = str(document.get("id", "")) if isinstance(document, dict) else ""
        if _held(node, record_id) is not None:
            report.already_held.append(record_id)
            continue
        report.received.append(receive(node, document, resolve, received_from=peer.did))
    if recalculate and kind == footprints.KIND and report.received:
        product_ids = {p for r in report.received for p in r.product_ids}
        report.recalculated = bom.recalculate_for(node, product_ids)
        notify_published(node, report.recalculated, transport=transport)
    return report


def _refused(peer: Peer, response: httpx.Response) -> AccessDenied:
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    detail = body.get("detail") or body.get("title") or f"HTTP {response.status_code}"
    return AccessDenied(f"{peer.did} refused: {detail}", errors)


def published_event(node: Node, records: list[StoredRecord]) -> dict[str, Any]:
    return {
        "type": PUBLISHED,
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": node.config.public_url,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {"pfIds": [r.id for r in records]},
    }


def notify_published(
    node: Node, records: list[StoredRecord], *, transport: httpx.BaseTransport | None = None
) -> list[str]:
    """Send a PublishedEvent to every trusted peer that may receive footprints (under an
    agreement or an override); best effort.

    Returns the DIDs that accepted it. Each sent event is ledgered as `pact.event`.
    """
    if not records:
        return []
    allowed = recipients(node, footprints.KIND)
    reached = []
    for peer in trusted_peers(node.engine):
        if peer.did not in allowed:
            continue
        event = published_event(node, records)
        try:
            with PeerClient(node, peer, transport=transport) as client:
                response = client.post(
                    "/3/events",
                    json=event,
                    headers={"Content-Type": "application/cloudevents+json"},
                )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("PublishedEvent to %s failed: %s", peer.did, exc)
            continue
        node.ledger.append(
            "pact.event",
            {
                "v": 1,
                "direction": "sent",
                "type": PUBLISHED,
                "id": event["id"],
                "source": event["source"],
                "peer": peer.did,
                "pfIds": event["data"]["pfIds"],
            },
        )
        reached.append(peer.did)
    return reached


def pull_quietly(
    node: Node, peer_did: str, ids: list[str], transport: httpx.BaseTransport | None = None
) -> None:
    """Background form of `pull` for events: failures are logged, never raised."""
    try:
        pull(node, find_trusted(node, peer_did), footprints.KIND, ids, transport=transport)
    except (httpx.HTTPError, RecordError, InvalidInput, NotFound, NotAllowed) as exc:
        # NotAllowed covers AccessDenied: the provider's policy refused this pull.
        log.warning("pulling %s from %s failed: %s", ids, peer_did, exc)
