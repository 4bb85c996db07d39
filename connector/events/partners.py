"""Reaching partner nodes during a trace: who a party or an object belongs to, bounded remote
calls with the node's own credentials, and verification of what partners send back."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from connector.events.errors import PartnerError
from connector.events.objects import owned_by
from connector.events.proofs import (
    PartnerLog,
    fetch_key_history,
    open_partner_log,
    verify_ledgered,
)
from connector.node import Node
from connector.peers import Peer, PeerClient, fetch_did_document, node_did, trusted_peers
from ledger.errors import LedgerError

CALL_TIMEOUT = 3.0
"""Seconds one partner request may take (connect + read), capped by the trace budget."""
DEFAULT_BUDGET = 10.0
"""Seconds a whole trace may spend on partners, shared down the chain of nodes."""
MIN_CALL = 0.2
_PREFIX_TTL = 300.0
_prefix_cache: dict[str, tuple[float, list[str], list[str]]] = {}


def announced_prefixes(did_document: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(handle prefixes, GS1 company prefixes) a DID document announces in its services."""
    handles: list[str] = []
    gs1: list[str] = []
    for service in did_document.get("service") or ():
        if isinstance(service, dict):
            handles += [str(p) for p in service.get("handlePrefixes") or ()]
            gs1 += [str(p) for p in service.get("gs1CompanyPrefixes") or ()]
    return handles, gs1


@dataclass
class Partners:
    """The trusted partners one trace may call, its remaining time, and who was unreachable."""

    node: Node
    via: set[str]
    deadline: float
    peers: dict[str, Peer] = field(default_factory=dict)
    logs: dict[str, PartnerLog] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)
    purpose: str | None = None
    transport: httpx.BaseTransport | None = None

    @classmethod
    def for_node(
        cls, node: Node, via: list[str], budget: float, purpose: str | None = None
    ) -> Partners:
        me = node_did(node)
        partners = cls(node, set(via) | {me}, time.monotonic() + budget, purpose=purpose)
        partners.peers = {p.did: p for p in trusted_peers(node.engine) if p.did != me}
        return partners

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def for_party(self, value: str) -> Peer | None:
        """The trusted partner a source/destination value names (its DID, URL or name)."""
        value = value.rstrip("/")
        for peer in self.peers.values():
            if value in (peer.did, peer.base_url.rstrip("/"), f"tracespace:{peer.name}"):
                return peer
        return None

    def for_object(self, key: str) -> Peer | None:
        """The trusted partner whose announced prefixes cover this object id, if any."""
        if not key.startswith(("https://id.gs1.org/", "hdl:")):
            return None
        for peer in self.peers.values():
            handles, gs1 = self._prefixes(peer)
            if owned_by(key, handles, gs1):
                return peer
        return None

    def _prefixes(self, peer: Peer) -> tuple[list[str], list[str]]:
        cached = _prefix_cache.get(peer.did)
        if cached and cached[0] > time.monotonic():
            return cached[1], cached[2]
        handles: list[str] = []
        gs1: list[str] = []
        if peer.did not in self.unreachable and self.remaining > MIN_CALL:
            try:
                with httpx.Client(timeout=self._timeout(), transport=self.transport) as client:
                    handles, gs1 = announced_prefixes(fetch_did_document(peer.base_url, client))
            except (httpx.HTTPError, ValueError):
                pass  # no announcement means no prefix-based routing to this partner
        _prefix_cache[peer.did] = (time.monotonic() + _PREFIX_TTL, handles, gs1)
        return handles, gs1

    def _timeout(self) -> float:
        return max(0.05, min(CALL_TIMEOUT, self.remaining))

    def _log(self, client: PeerClient, peer: Peer) -> PartnerLog:
        if peer.did not in self.logs:
            vkey = client.get("/ledger/key")
            note = client.get("/ledger/checkpoint")
            vkey.raise_for_status()
            note.raise_for_status()
            log = open_partner_log(vkey.text, note.text, peer.public_key)
            self.logs[peer.did] = fetch_key_history(log, client.get)
        return self.logs[peer.did]

    def trace(
        self, peer: Peer, key: str, params: dict[str, Any]
    ) -> tuple[dict[str, Any], PartnerLog] | None:
        """The partner's trace of `key` (None when unreachable or refused: the reason is
        recorded in `unreachable` or `refused`). Our `purpose` goes along for its policy."""
        if peer.did in self.unreachable or peer.did in self.refused:
            return None
        if self.remaining < MIN_CALL:
            self.unreachable[peer.did] = "time budget exhausted before the call"
            return None
        try:
            with PeerClient(self.node, peer, self._timeout(), self.transport) as client:
                log = self._log(client, peer)
                query = dict(params)
                query.update(
                    proofSize=log.size,
                    via=",".join(sorted(self.via)),
                    budget=f"{max(self.remaining - 0.5, MIN_CALL):.3f}",
                )
                if self.purpose:
                    query["purpose"] = self.purpose
                response = client.get(f"/trace/{quote(key, safe='')}", params=query)
            if response.status_code == 404:
                return {"nodes": [], "edges": [], "events": [], "hops": []}, log
            if response.status_code == 403:
                self.refused[peer.did] = refusal(response)
                return None
            if response.status_code != 200:
                raise PartnerError(f"HTTP {response.status_code}: {response.text[:200]}")
            return response.json(), log
        except (httpx.HTTPError, PartnerError, LedgerError, ValueError) as exc:
            self.unreachable[peer.did] = f"{type(exc).__name__}: {exc}"[:300]
            return None

    def fetch_event(self, peer: Peer, event_id: str) -> tuple[dict[str, Any], PartnerLog]:
        """A partner's event by id with its ledger entry, verified against its checkpoint."""
        try:
            with PeerClient(self.node, peer, self._timeout(), self.transport) as client:
                log = self._log(client, peer)
                params: dict[str, Any] = {"proofSize": log.size}
                if self.purpose:
                    params["purpose"] = self.purpose
                response = client.get(f"/epcis/events/{quote(event_id, safe='')}", params=params)
        except httpx.HTTPError as exc:
            raise PartnerError(f"{peer.name} is unreachable: {exc}") from None
        if response.status_code != 200:
            raise PartnerError(
                f"{peer.name} answered HTTP {response.status_code}: {response.text[:200]}"
            )
        record = response.json()
        verify_ledgered(log, record["entry"], record["proof"])
        return record, log


def refusal(response: httpx.Response) -> dict[str, Any]:
    """What a partner said when it refused a call (403): its reason and failed constraints."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    reason = body.get("detail") or body.get("title") or f"HTTP {response.status_code}"
    return {"reason": str(reason)[:500], "errors": errors[:20]}
