"""Assemble what the consumer page shows for one object: product, journey, footprint,
certificate and the server's verification of every signature and inclusion proof on the path.

The result is a plain JSON-able dict (format `"v": 1`): the HTML page renders it, and
`GET /provenance/{id}` serves it so anyone can re-check the evidence it links to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import select

from connector.events.access import SELF
from connector.events.errors import EventError
from connector.events.objects import object_key
from connector.events.proofs import PartnerLog, open_partner_log, verify_ledgered
from connector.events.trace import TraceRequest, trace
from connector.node import Node
from connector.pages.disclosure import public_kinds
from connector.peers import node_did
from connector.records.tables import record_table
from identifiers.digital_link import DigitalLink
from identifiers.errors import InvalidIdentifier
from identifiers.handle import Handle
from ledger.errors import LedgerError
from ledger.keyhistory import export_key_history, has_rotated

PARTNER_TIMEOUT = 3.0
TRACE_BUDGET = 10.0

# How a partner's disclosure is fetched: base URL -> set of public kinds (empty on failure).
DisclosureFetch = Callable[[str], frozenset[str]]


def fetch_disclosure(base_url: str) -> frozenset[str]:
    """The kinds a partner node discloses, read from its public `GET /pages/disclosure`."""
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/pages/disclosure", timeout=PARTNER_TIMEOUT)
        response.raise_for_status()
        return frozenset(str(k) for k in response.json().get("public") or ())
    except (httpx.HTTPError, ValueError, AttributeError):
        return frozenset()


def identity(link: DigitalLink | None, handle: Handle | None) -> dict[str, Any]:
    """The identifiers shown on the page (GTIN, serial, lot, handle)."""
    out: dict[str, Any] = {"gtin": None, "serial": None, "lot": None, "handle": None}
    if link is not None:
        if link.key_ai == "01":
            out["gtin"] = link.key
        qualifiers = dict(link.qualifiers)
        out["serial"] = qualifiers.get("21")
        out["lot"] = qualifiers.get("10")
    if handle is not None:
        out["handle"] = str(handle)
    return out


def product_ids(link: DigitalLink | None, object_id: str) -> set[str]:
    """The PACT productIds that name this object's product (lower-case)."""
    ids = {object_id.lower()}
    if link is not None and link.key_ai == "01":
        gtin = link.key
        ids |= {f"urn:gtin:{gtin}", f"urn:gtin:{gtin.lstrip('0')}", f"urn:gtin:{gtin[1:]}"}
        ids.add(DigitalLink.build("01", gtin).uri().lower())
    return ids


def _records(node: Node, kind: str) -> list[dict[str, Any]]:
    t = record_table.c
    query = select(t.id, t.status, t.subjects, t.product_ids, t.document, t.ledger_seq, t.issuer)
    query = query.where(t.kind == kind).order_by(t.ledger_seq)
    with node.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def latest_footprint(node: Node, ids: set[str]) -> dict[str, Any] | None:
    """The latest Active footprint on this node for any of `ids` (productIds)."""
    found = None
    for row in _records(node, "pact.footprint"):
        if row["status"] == "Active" and ids & {p.lower() for p in json.loads(row["product_ids"])}:
            found = row
    if found is None:
        return None
    doc = json.loads(found["document"])
    pcf = doc.get("pcf") or {}
    return {
        "id": doc.get("id"),
        "value": pcf.get("pcfExcludingBiogenicUptake"),
        "unit": "kg CO2e",
        "declaredUnitAmount": pcf.get("declaredUnitAmount"),
        "declaredUnit": pcf.get("declaredUnitOfMeasurement"),
        "productName": doc.get("productNameCompany"),
        "companyName": doc.get("companyName"),
        "issuer": found["issuer"],
        "ledgerSeq": found["ledger_seq"],
    }


def _key(name: str) -> str | None:
    try:
        return object_key(name)
    except (InvalidIdentifier, ValueError):
        return None


def certificate_for(node: Node, subjects: set[str]) -> dict[str, Any] | None:
    """The latest certificate of analysis whose subject is one of `subjects` (object keys)."""
    found = None
    for row in _records(node, "quality.record"):
        doc = json.loads(row["document"])
        if doc.get("type") != "CertificateOfAnalysis":
            continue
        if subjects & {_key(s) for s in json.loads(row["subjects"])}:
            found = (row, doc)
    if found is None:
        return None
    row, doc = found
    return {
        "id": doc.get("id"),
        "subject": doc.get("subject"),
        "product": (doc.get("product") or {}).get("name"),
        "issued": doc.get("issued"),
        "supplier": doc.get("supplier"),
        "conform": bool(doc.get("conform")),
        "results": [
            {
                "characteristic": r.get("characteristic"),
                "measured": r.get("measured"),
                "unit": r.get("unit"),
                "verdict": r.get("verdict"),
            }
            for r in doc.get("results") or ()
        ],
        "issuer": row["issuer"],
        "ledgerSeq": row["ledger_seq"],
    }


def _place(event: dict[str, Any]) -> str | None:
    for member in ("bizLocation", "readPoint"):
        value = event.get(member)
        if isinstance(value, dict) and value.get("id"):
            return str(value["id"])
    return None


def _evidence(base: str, seq: int, size: int | None) -> dict[str, str]:
    base = base.rstrip("/")
    links = {
        "entry": f"{base}/ledger/entries/{seq}",
        "checkpoint": f"{base}/ledger/checkpoint",
        "key": f"{base}/ledger/key",
    }
    if size:
        links["proof"] = f"{base}/ledger/proof/inclusion?seq={seq}&size={size}"
    return links


def _verify_local(log: PartnerLog, events: list[dict[str, Any]]) -> None:
    """Check the node's own events against its signed checkpoint `log`."""
    for ev in events:
        if ev.get("source") != "local":
            continue
        try:
            verify_ledgered(log, ev.get("entry"), ev.get("proof"))
            if ev["entry"]["payload"]["eventHash"] != ev.get("eventHash"):
                raise LedgerError("entry holds another event")
            ev["verified"] = True
        except (LedgerError, ValueError, KeyError, TypeError) as exc:
            ev["verified"] = False
            ev["reason"] = str(exc)[:200]


def provenance(
    node: Node,
    object_id: str,
    *,
    link: DigitalLink | None = None,
    handle: Handle | None = None,
    description: str = "",
    disclosure: DisclosureFetch = fetch_disclosure,
) -> dict[str, Any]:
    """The page model for `object_id` (a canonical object key), public data only."""
    me = node_did(node)
    base = node.config.public_url
    note = node.ledger.checkpoint()
    # Only a rotated log needs its history (the page is a hot path: skip the proofs else).
    history = export_key_history(node.ledger, note) if has_rotated(node.ledger, note) else None
    log = open_partner_log(node.vkey, note, node.public_key, history)
    size = log.size
    try:
        graph = trace(
            node,
            TraceRequest(object_id, "upstream", proof_size=size, budget=TRACE_BUDGET),
            SELF,
        )
    except EventError:
        graph = {"events": [], "hops": [], "nodes": [], "complete": False, "unreachable": []}
    events = graph["events"]
    _verify_local(log, events)
    urls = {me: base}
    names = {me: node.config.name}
    sizes = {me: size}
    for hop in graph["hops"]:
        urls.setdefault(hop["partner"], hop.get("url") or "")
        names.setdefault(hop["partner"], hop.get("name") or hop["partner"])
        if hop.get("size"):
            sizes[hop["partner"]] = int(hop["size"])
    local_public = public_kinds(node)
    public = {me: local_public}
    steps, hidden = [], 0
    for ev in sorted(events, key=lambda e: str(e["event"].get("eventTime", ""))):
        where = ev.get("node", me)
        if where not in public:
            public[where] = disclosure(urls[where]) if urls.get(where) else frozenset()
        if "events" not in public[where]:
            hidden += 1
            continue
        event = ev["event"]
        steps.append(
            {
                "time": event.get("eventTime"),
                "bizStep": event.get("bizStep"),
                "type": event.get("type"),
                "place": _place(event),
                "party": names.get(where, where),
                "node": where,
                "seq": ev.get("seq"),
                "eventID": ev.get("eventID"),
                "verified": bool(ev.get("verified")),
                "evidence": _evidence(urls.get(where) or base, ev.get("seq", 0), sizes.get(where)),
            }
        )
    verified = (
        bool(events)
        and all(ev.get("verified") is True for ev in events)
        and all(hop.get("verified") is True for hop in graph["hops"])
        and bool(graph.get("complete"))
    )
    lots = {n["id"] for n in graph["nodes"] if n.get("kind") in ("lot", "class")}
    footprint = (
        latest_footprint(node, product_ids(link, object_id))
        if "footprints" in local_public
        else None
    )
    certificate = certificate_for(node, lots | {object_id}) if "quality" in local_public else None
    name = description or (footprint or {}).get("productName") or object_id
    maker = (footprint or {}).get("companyName") or node.config.name
    return {
        "v": 1,
        "object": object_id,
        "node": me,
        "product": {"name": name, "maker": maker, **identity(link, handle)},
        "steps": steps,
        "hiddenSteps": hidden,
        "footprint": footprint,
        "certificate": certificate,
        "verified": verified,
        "complete": bool(graph.get("complete")),
        "checked": {
            "events": len(events),
            "failed": [
                {"node": ev.get("node"), "seq": ev.get("seq"), "reason": ev.get("reason", "")}
                for ev in events
                if ev.get("verified") is not True
            ],
            "hops": [
                {k: hop.get(k) for k in ("partner", "url", "size", "verified", "vkey")}
                for hop in graph["hops"]
            ],
        },
        "nodes": [{"did": d, "name": names.get(d, d), "url": u} for d, u in urls.items()],
        "evidence": f"{base.rstrip('/')}/provenance/{quote(object_id, safe='')}",
    }
