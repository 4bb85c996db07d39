"""Walk an object's chain (upstream and downstream traces across nodes) and verify, from each
node's public ledger routes only: every entry signature (with the key that held its
position, following the log's own key rotations) and hash link, every traced event's
inclusion proof, every checkpoint seen against the latest (consistency proofs), every receipt.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from connector.events.proofs import PartnerLog, open_partner_log
from connector.events.receipts import verify_receipt
from ledger import keys, merkle
from ledger.canonical import canonical_json
from ledger.entry import verify_entry_signature
from ledger.errors import LedgerError, VerificationError
from ledger.keyschedule import KEY_ENTRY_TYPES, KeySchedule

PAGE = 1000
_KEY_ENTRY_MARK = b'"type":"ledger.'  # cheap filter before parsing a candidate key entry
TraceFetch = Callable[[str], dict[str, Any]]  # direction -> trace answer


@dataclass
class Audit:
    """What was checked and what failed, per node."""

    start: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def ok(self, check: str, n: int = 1) -> None:
        self.counts[check] = self.counts.get(check, 0) + n

    def fail(self, check: str, node: str, reason: str, seq: int | None = None) -> None:
        self.failures.append({"check": check, "node": node, "seq": seq, "reason": reason[:300]})


def _b64(hashes: list[str]) -> list[bytes]:
    return [base64.b64decode(h, validate=True) for h in hashes]


def collect(traces: list[dict[str, Any]], start_did: str, start_url: str) -> Audit:
    """Merge the traces into one graph: nodes (DID -> url, name), events, edges."""
    audit = Audit(start_did)
    audit.nodes[start_did] = {"did": start_did, "url": start_url, "name": "", "seen": []}
    seen_events: set[tuple[str, str]] = set()
    seen_edges: set[str] = set()
    for graph in traces:
        for hop in graph.get("hops") or ():
            node = audit.nodes.setdefault(
                hop["partner"], {"did": hop["partner"], "url": hop.get("url"), "seen": []}
            )
            node["name"] = hop.get("name") or node.get("name", "")
            if hop.get("checkpoint"):
                node["seen"].append(hop["checkpoint"])
        for ev in graph.get("events") or ():
            key = (ev.get("node", start_did), ev.get("eventHash", ""))
            if key in seen_events:
                continue
            seen_events.add(key)
            event = ev.get("event") or {}
            audit.events.append(
                {
                    "node": key[0],
                    "seq": ev.get("seq"),
                    "eventHash": key[1],
                    "eventID": ev.get("eventID"),
                    "type": event.get("type"),
                    "bizStep": event.get("bizStep"),
                    "time": event.get("eventTime"),
                }
            )
        for edge in graph.get("edges") or ():
            text = json.dumps(edge, sort_keys=True)
            if text not in seen_edges:
                seen_edges.add(text)
                audit.edges.append(edge)
        for item in graph.get("unreachable") or ():
            audit.fail("reachability", item.get("partner", "?"), item.get("reason", ""))
    audit.events.sort(key=lambda e: str(e.get("time")))
    return audit


def _entries(http: httpx.Client, url: str, size: int) -> list[bytes]:
    bodies: list[bytes] = []
    while len(bodies) < size:
        end = min(size, len(bodies) + PAGE)
        page = http.get(f"{url}/ledger/entries", params={"start": len(bodies), "end": end})
        page.raise_for_status()
        # the served JSON objects re-serialised canonically are the leaves
        bodies += [canonical_json(e) for e in page.json()["entries"]]
    return bodies


def verify_node(
    audit: Audit, did: str, http: httpx.Client, state: dict[str, Any], now: str
) -> None:
    """Every check for one node; failures are recorded, never raised."""
    info = audit.nodes[did]
    url = (info.get("url") or "").rstrip("/")
    if not url:
        audit.fail("reachability", did, "no URL known for this node")
        return
    try:
        vkey = http.get(f"{url}/ledger/key").raise_for_status().text.strip()
        note = http.get(f"{url}/ledger/checkpoint").raise_for_status().text
        log = open_partner_log(vkey, note)
    except (httpx.HTTPError, LedgerError, ValueError) as exc:
        audit.fail("checkpoint", did, f"cannot read a signed checkpoint: {exc}")
        return
    audit.ok("checkpoint")
    root = base64.b64encode(log.root).decode()
    info.update(vkey=vkey, checkpoint={"size": log.size, "root": root})
    _consistency(audit, did, url, http, log, info.pop("seen"), state, now)
    try:
        bodies = _entries(http, url, log.size)
    except (httpx.HTTPError, LedgerError, ValueError, KeyError) as exc:
        audit.fail("entries", did, f"cannot read the entries: {exc}")
        return
    signer_of = _key_schedule(audit, did, bodies, log)
    prev = "0" * 64
    leaves = []
    for seq, body in enumerate(bodies):
        leaves.append(merkle.leaf_hash(body))
        try:
            kid, public_key = signer_of(seq)
            links = verify_entry_signature(body, public_key)
            if links.kid != kid:
                raise LedgerError(f"entry names key {links.kid}; {kid} held its position")
            if links.seq != seq or links.prev != prev:
                raise LedgerError(f"hash link broken (seq {links.seq}, prev {links.prev[:12]}…)")
            audit.ok("signature")
        except (LedgerError, ValueError, AttributeError) as exc:
            audit.fail("signature", did, str(exc), seq)
        prev = hashlib.sha256(body).hexdigest()
    if leaves and merkle.root_of(leaves) != log.root:
        audit.fail("tree", did, f"the entries do not rebuild the checkpoint root at {log.size}")
    else:
        audit.ok("tree")
    info["entries"] = len(bodies)
    mine = [e for e in audit.events if e["node"] == did]
    for ev in mine:
        _inclusion(audit, did, url, http, log, bodies, ev)
    _receipts(audit, did, url, http, bodies, {e["eventHash"] for e in audit.events})


def _key_schedule(
    audit: Audit, did: str, bodies: list[bytes], log: PartnerLog
) -> Callable[[int], tuple[str, bytes]]:
    """Which key signed each entry, from the log's own genesis and rotation entries (the
    tree check covers them); a history that does not end at the served key is a failure,
    and the entries are then checked against the served key alone."""
    current = (keys.public_key_id(log.public_key), log.public_key)
    key_bodies = [
        (seq, body)
        for seq, body in enumerate(bodies)
        if _KEY_ENTRY_MARK in body and json.loads(body).get("type") in KEY_ENTRY_TYPES
    ]
    try:
        schedule = KeySchedule.from_entries(key_bodies)
        if schedule.key_for(len(bodies))[1] != log.public_key:
            raise VerificationError(len(bodies), "the key history does not end at the served key")
    except VerificationError as exc:
        audit.fail("keys", did, exc.reason, exc.seq)
        return lambda seq: current
    audit.ok("keys")
    return schedule.key_for


def _consistency(audit, did, url, http, log, seen, state, now) -> None:
    record = state["nodes"].setdefault(did, {"url": url, "checkpoints": []})
    earlier = [(c["size"], c["root"]) for c in record["checkpoints"]]
    for note in seen:
        try:
            cp = open_partner_log(audit.nodes[did]["vkey"], note)
            earlier.append((cp.size, base64.b64encode(cp.root).decode()))
        except (LedgerError, ValueError) as exc:
            audit.fail("checkpoint", did, f"a checkpoint seen in the trace does not open: {exc}")
    for size, root in sorted(set(earlier)):
        try:
            if size > log.size:
                raise LedgerError(f"the log shrank from {size} to {log.size}")
            if size == log.size:
                if base64.b64decode(root) != log.root:
                    raise LedgerError(f"two roots for size {size}: a split view")
            else:
                proof = http.get(
                    f"{url}/ledger/proof/consistency", params={"first": size, "second": log.size}
                ).raise_for_status()
                merkle.verify_consistency(
                    size, log.size, _b64(proof.json()["proof"]), base64.b64decode(root), log.root
                )
            audit.ok("consistency")
        except (httpx.HTTPError, LedgerError, ValueError) as exc:
            audit.fail("consistency", did, f"checkpoint {size} vs latest {log.size}: {exc}")
    root = base64.b64encode(log.root).decode()
    if (log.size, root) not in {(c["size"], c["root"]) for c in record["checkpoints"]}:
        record["checkpoints"].append({"size": log.size, "root": root, "seen": now})
    record["url"] = url


def _inclusion(audit, did, url, http, log, bodies, ev) -> None:
    seq = ev.get("seq")
    try:
        if not isinstance(seq, int) or seq >= len(bodies):
            raise LedgerError("the event's entry is not covered by the latest checkpoint")
        body = bodies[seq]
        proof = http.get(
            f"{url}/ledger/proof/inclusion", params={"seq": seq, "size": log.size}
        ).raise_for_status()
        merkle.verify_inclusion(
            merkle.leaf_hash(body), seq, log.size, _b64(proof.json()["proof"]), log.root
        )
        if json.loads(body)["payload"].get("eventHash") != ev["eventHash"]:
            raise LedgerError("the ledger entry holds another event than the trace says")
        ev["verified"] = True
        audit.ok("inclusion")
    except (httpx.HTTPError, LedgerError, ValueError, KeyError) as exc:
        ev["verified"] = False
        audit.fail("inclusion", did, str(exc), seq)


def _receipts(audit, did, url, http, bodies, hashes) -> None:
    """Shipper-side receipt entries for traced events: the third-party receipt check."""
    for seq, body in enumerate(bodies):
        try:
            entry = json.loads(body)
        except ValueError:
            continue
        payload = entry.get("payload") or {}
        if entry.get("type") != "epcis.receipt" or payload.get("eventHash") not in hashes:
            continue
        if payload.get("role") != "shipper":
            continue
        receiver = audit.nodes.get(payload.get("receiver", ""), {}).get("url")
        item = {
            "shipper": did,
            "shipperSeq": seq,
            "receiver": payload.get("receiver"),
            "receiverSeq": payload.get("receiverSeq"),
            "eventHash": payload["eventHash"],
        }
        try:
            if not receiver:
                raise LedgerError("the receiver's node is not on the audited chain")
            verify_receipt(receiver, int(payload["receiverSeq"]), url, seq, http)
            item["verified"] = True
            audit.ok("receipt")
        except (httpx.HTTPError, LedgerError, ValueError, KeyError, TypeError) as exc:
            item["verified"] = False
            audit.fail("receipt", did, str(exc), seq)
        audit.receipts.append(item)


def run_audit(
    start: str, start_did: str, start_url: str, fetch: TraceFetch, state: dict[str, Any]
) -> dict[str, Any]:
    """Audit `start`: traces from `fetch`, checks against each node's public ledger routes."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    traces = [fetch("upstream"), fetch("downstream")]
    audit = collect(traces, start_did, start_url)
    with httpx.Client(timeout=10) as http:
        for did in list(audit.nodes):
            verify_node(audit, did, http, state, now)
    return report(audit, start, now)


def report(audit: Audit, start: str, now: str) -> dict[str, Any]:
    return {
        "v": 1,
        "type": "tracespace-audit-report",
        "from": start,
        "time": now,
        "ok": not audit.failures,
        "parties": list(audit.nodes.values()),
        "events": audit.events,
        "edges": audit.edges,
        "receipts": audit.receipts,
        "verified": audit.counts,
        "failures": audit.failures,
    }
