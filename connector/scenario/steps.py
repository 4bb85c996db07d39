"""The demo's steps, each driving the nodes through their public HTTP APIs only.

Every step returns one short fact for the step line; what it produced for the summary
(files, URLs, counts) is kept on the `Scenario`.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from connector.scenario import chain
from connector.scenario.network import CallFailed, Network, RunningNode
from connector.scenario.parties import BY_NAME, ENTERPRISES, HIERARCHY, PARTIES, trusted_by

PURPOSE = "ts:carbonAccounting"


@dataclass
class Scenario:
    """The running network plus what the steps have produced so far."""

    net: Network
    out: Path
    dids: dict[str, str] = field(default_factory=dict)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    agreements: list[dict[str, str]] = field(default_factory=list)
    footprints: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)

    def node(self, name: str) -> RunningNode:
        return self.net[name]

    def write(self, relative: str, data: Any) -> Path:
        path = self.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        elif isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        self.files.append(path)
        return path


def _capture(node: RunningNode, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return node.json("POST", "/epcis/capture", 200, json=chain.document(events))["events"]


def _put_handle(node: RunningNode, handle: str, values: list[tuple[str, str]]) -> None:
    body = {
        "values": [
            {"index": n, "type": kind, "data": {"format": "string", "value": value}, "ttl": 300}
            for n, (kind, value) in enumerate(values, start=1)
        ]
    }
    node.call("PUT", f"/api/handles/{handle}", 200, 201, json=body)


# -- set-up --------------------------------------------------------------------------------------


def connect(s: Scenario) -> str:
    """Partners trust each other's DID documents; each hierarchy level delegates its prefix."""
    s.dids = {name: node.did for name, node in s.net.nodes.items()}
    links = 0
    for party in PARTIES:
        for other in trusted_by(party):
            s.node(party.name).call(
                "POST",
                "/management/peers",
                201,
                json={"url": s.node(other).url, "did": s.dids[other]},
            )
            links += 1
    delegations = 0
    for party in PARTIES:
        if party.parent and party.prefix:
            parent = s.node(party.parent)
            _put_handle(parent, f"0.na/{party.prefix}", [("URL", s.node(party.name).url)])
            delegations += 1
    levels = " → ".join(p.name for p in HIERARCHY)
    return f"{links} trust links (DID documents), {delegations} prefix delegations {levels}"


# -- 1 -------------------------------------------------------------------------------------------

LOTS = {
    "flake-plant": ([chain.FLAKE, chain.FLAKE_A, chain.FLAKE_B], [chain.FLAKE_PALLET]),
    "yarn-mill": ([chain.MASTERBATCH, chain.YARN], [chain.YARN_CARTON]),
    "garment-maker": ([chain.FABRIC], chain.GARMENT_CARTONS),
}


def register_identifiers(s: Scenario) -> str:
    lots = cartons = 0
    for name, (batches, boxes) in LOTS.items():
        node = s.node(name)
        prefix = BY_NAME[name].prefix
        for epc in batches:
            _put_handle(node, chain.handle_of(epc, prefix), [
                ("URL", node.url + chain.dl_path(epc)),
                ("TS_CLASS", "batch"), ("TS_GS1", chain.link(epc)),
            ])  # fmt: skip
            lots += 1
        for epc in boxes:
            _put_handle(node, chain.handle_of(epc, prefix), [
                ("TS_CLASS", "carton"), ("TS_GS1", chain.link(epc)),
            ])  # fmt: skip
            cartons += 1
    brand = s.node("brand")
    bulk = brand.json("POST", "/management/handles/bulk", 201, json={
        "batch": chain.GARMENT_BATCH, "class": "part",
        "range": {"start": 1, "count": chain.GARMENT_COUNT, "width": 4},
    })  # fmt: skip
    # Resolution from the top: root -> national -> secondary -> the yarn mill.
    yarn = chain.handle_of(chain.YARN, BY_NAME["yarn-mill"].prefix)
    resolved = s.node("root").json("GET", f"/api/handles/{yarn}", 200)
    assert resolved["handle"] == yarn
    return (
        f"{lots} lot and {cartons} carton handles (GTIN+lot, SSCC), {bulk['created']} garment "
        f"serials in one bulk call; {yarn} resolved from the root"
    )


# -- 2 -------------------------------------------------------------------------------------------


def capture_production(s: Scenario) -> str:
    count = 0
    for party in ENTERPRISES:
        events = chain.production(party.name, s.dids)
        if events:
            count += len(_capture(s.node(party.name), events))
    return (
        f"{count} EPCIS events: flake lot split 1000 kg → 600 + 400 kg, merge flake + "
        f"masterbatch → yarn, yarn → fabric → {chain.GARMENT_COUNT} T-shirts"
    )


# -- 3 -------------------------------------------------------------------------------------------


def pack_and_ship(s: Scenario) -> str:
    cartons = 0
    for party in ENTERPRISES:
        events = chain.packing_and_shipping(party.name, s.dids)
        if not events:
            continue
        captured = _capture(s.node(party.name), events)
        cartons += sum(1 for e in events if e["type"] == "AggregationEvent")
        s.shipments[party.name] = captured[-1]
    return (
        f"{cartons} cartons packed (AggregationEvent), {len(s.shipments)} shipments naming "
        "the receiver's DID in destinationList"
    )


# -- 4 -------------------------------------------------------------------------------------------

RECEIVERS = {"yarn-mill": "flake-plant", "garment-maker": "yarn-mill", "brand": "garment-maker"}


def receive(s: Scenario) -> str:
    receipts = []
    for receiver, shipper in RECEIVERS.items():
        node = s.node(receiver)
        _capture(node, chain.receiving(receiver, s.dids))
        event_id = s.shipments[shipper]["eventID"]
        receipt = node.json(
            "POST",
            f"/epcis/events/{quote(event_id, safe='')}/countersign",
            200,
            json={"from": s.dids[shipper]},
        )
        if not receipt.get("delivered"):
            raise CallFailed(f"{receiver}: receipt for {shipper}'s shipment was not delivered")
        receipts.append(receipt)
    return f"{len(receipts)} receipts countersigned by the receivers, on both parties' ledgers"


# -- contracts ----------------------------------------------------------------------------------

OFFERS = {  # provider: the asset kinds it offers (asset id = kind)
    "flake-plant": ("epcis-events", "footprints"),
    "yarn-mill": ("epcis-events", "footprints", "quality-records"),
    "garment-maker": ("epcis-events", "footprints"),
    "brand": ("epcis-events",),
}
CONTRACTS = (  # consumer, provider, asset: upstream for traces, downstream for recalls
    ("yarn-mill", "flake-plant", "epcis-events"),
    ("garment-maker", "yarn-mill", "epcis-events"),
    ("brand", "garment-maker", "epcis-events"),
    ("yarn-mill", "garment-maker", "epcis-events"),
    ("garment-maker", "brand", "epcis-events"),
    ("yarn-mill", "flake-plant", "footprints"),
    ("garment-maker", "yarn-mill", "footprints"),
    ("brand", "garment-maker", "footprints"),
    ("garment-maker", "yarn-mill", "quality-records"),
    ("regulator", "brand", "epcis-events"),
    ("regulator", "yarn-mill", "epcis-events"),
)
POLICIES = {
    # Events and certificates: any use by the partner the node signed with.
    "partner-use": {"permission": [{"action": "use"}]},
    # Footprints: only for carbon accounting, checked at every access.
    "carbon-accounting": {
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "purpose", "operator": "eq", "rightOperand": PURPOSE}
                ],
            }
        ]
    },
}
SOURCES = {"epcis-events": {"query": {}}, "footprints": {}, "quality-records": {}}


def _offer(node: RunningNode, kinds: tuple[str, ...]) -> None:
    for policy_id, policy in POLICIES.items():
        node.call("POST", "/management/policies", 201, json={"id": policy_id, "policy": policy})
    for kind in kinds:
        node.call("POST", "/management/assets", 201, json={
            "id": kind, "kind": kind, "title": f"{node.name} {kind}", "source": SOURCES[kind],
        })  # fmt: skip
        policy = "carbon-accounting" if kind == "footprints" else "partner-use"
        node.call("POST", "/management/contract-definitions", 201, json={
            "id": kind, "policy": policy, "assets": [kind], "approval": "auto",
        })  # fmt: skip


def _negotiate(s: Scenario, consumer: str, provider: str, dataset: str) -> dict[str, str]:
    node = s.node(consumer)
    catalog = node.json("POST", "/management/catalog", 200, json={"peer": s.dids[provider]})
    offers = [
        {**offer, "target": item["@id"]}
        for item in catalog["catalog"].get("dataset", [])
        if item["@id"] == dataset
        for offer in item["hasPolicy"]
    ]
    if not offers:
        raise CallFailed(f"{consumer}: {provider}'s catalog offers no {dataset}")
    started = node.json(
        "POST", "/management/negotiations", 201, json={"peer": s.dids[provider], "offer": offers[0]}
    )
    done = node.json(
        "GET",
        f"/management/negotiations/{started['id']}",
        200,
        params={"wait": "FINALIZED", "timeout": "30"},
    )
    if done["state"] != "FINALIZED":
        raise CallFailed(f"{consumer}: negotiation with {provider} ended {done['state']}")
    agreement = done.get("agreement")
    if isinstance(agreement, dict):
        agreement = agreement.get("@id")
    return {"consumer": consumer, "provider": provider, "dataset": dataset, "id": str(agreement)}


def negotiate_contracts(s: Scenario) -> str:
    for provider, kinds in OFFERS.items():
        _offer(s.node(provider), kinds)
    by_consumer: dict[str, list[tuple[str, str, str]]] = {}
    for contract in CONTRACTS:
        by_consumer.setdefault(contract[0], []).append(contract)

    def run(contracts: list[tuple[str, str, str]]) -> list[dict[str, str]]:
        return [_negotiate(s, *c) for c in contracts]

    # One thread per consumer: negotiations wait on the partner's outbox, not on the CPU.
    with ThreadPoolExecutor(len(by_consumer)) as pool:
        for done in pool.map(run, by_consumer.values()):
            s.agreements.extend(done)
    # The data plane checks the agreed purpose at every access.
    maker = s.node("garment-maker")
    agreement = next(
        a["id"]
        for a in s.agreements
        if a["consumer"] == "garment-maker" and a["dataset"] == "footprints"
    )
    transfer = maker.json("POST", "/management/transfers", 201, json={"agreement": agreement})
    maker.json(
        "GET", f"/management/transfers/{transfer['id']}", 200,
        params={"wait": "STARTED", "timeout": "20"},
    )  # fmt: skip
    refused = maker.call(
        "GET", f"/management/transfers/{transfer['id']}/data", 403, params={"purpose": "ts:ads"}
    )
    maker.call(
        "GET", f"/management/transfers/{transfer['id']}/data", 200, params={"purpose": PURPOSE}
    )
    s.write("contracts/agreements.json", s.agreements)
    kinds = sorted({a["dataset"] for a in s.agreements})
    return (
        f"{len(s.agreements)} DSP agreements signed by both sides ({', '.join(kinds)}); "
        f"footprints only for {PURPOSE}: another purpose gets HTTP {refused.status_code}"
    )


# -- 6 -------------------------------------------------------------------------------------------


SUPPLIERS = (
    ("yarn-mill", "flake-plant"),
    ("garment-maker", "yarn-mill"),
    ("brand", "garment-maker"),
)


def _pcf(document: dict[str, Any]) -> str:
    value = Decimal(str(document["pcf"]["pcfExcludingBiogenicUptake"])).normalize()
    return f"{value:f}"


def exchange_footprints(s: Scenario) -> str:
    flake = s.node("flake-plant")
    issued = flake.json(
        "POST", "/management/records/footprints", 201,
        json={"footprint": chain.flake_footprint(), "subjects": [chain.link(chain.FLAKE_A)]},
    )  # fmt: skip
    s.footprints["flake-plant"] = _pcf(issued["document"])
    for party, (supplier, quantity, process) in chain.BOMS.items():
        s.node(party).call(
            "PUT",
            f"/management/boms/{party}",
            200,
            json=chain.bom(party, supplier, quantity, process),
        )
    for consumer, provider in SUPPLIERS:
        node = s.node(consumer)
        pulled = node.json(
            "POST", "/management/records/pull", 200,
            json={"peer": s.dids[provider], "purpose": PURPOSE},
        )  # fmt: skip
        if not pulled["received"]:
            raise CallFailed(f"{consumer}: no footprint received from {provider}")
        if pulled["recalculated"]:
            record_id = pulled["recalculated"][-1]["id"]
            document = node.json("GET", f"/management/records/{record_id}", 200)["document"]
        else:
            document = node.json("POST", f"/management/boms/{consumer}/calculate", 201)["document"]
        s.footprints[consumer] = _pcf(document)
    final = s.node("brand").json("GET", "/management/boms/brand", 200)
    s.write("footprints/brand-garment.json", final)
    f = s.footprints
    return (
        f"PACT roll-up: flake {f['flake-plant']} kg CO2e/kg → yarn {f['yarn-mill']} kg CO2e/kg "
        f"→ T-shirt {f['garment-maker']} ex works → {f['brand']} kg CO2e at the brand"
    )


# -- 7 -------------------------------------------------------------------------------------------


def issue_certificate(s: Scenario) -> str:
    mill, maker = s.node("yarn-mill"), s.node("garment-maker")
    coa = chain.yarn_certificate(s.dids["yarn-mill"], s.dids["garment-maker"])
    stored = mill.json("POST", "/management/records/quality", 201, json=coa)
    pulled = maker.json(
        "POST", "/management/records/pull", 200,
        json={"peer": s.dids["yarn-mill"], "kind": "quality.record"},
    )  # fmt: skip
    s.write("quality/yarn-coa.json", stored["document"])
    verdict = "conform" if stored["document"]["conform"] else "NOT conform"
    return (
        f"CoA for yarn lot YARN-5: {verdict}, {len(coa['results'])} results, signed by the "
        f"mill; the maker holds {len(pulled['received'])} verified copy"
    )


# -- 8 -------------------------------------------------------------------------------------------


def consumer_scan(s: Scenario) -> str:
    brand = s.node("brand")
    path = chain.dl_path(chain.GARMENTS[0])
    url = brand.url + path
    s.urls["consumer page"] = url
    qr = brand.call("GET", f"/api/qr{path}", 200, params={"format": "svg"})
    s.write("consumer/garment-qr.svg", qr.content)
    with httpx.Client(timeout=30) as http:  # a phone: no operator token
        page = http.get(url, headers={"Accept": "text/html", "Accept-Language": "zh-CN,en;q=0.5"})
    kind = page.headers.get("content-type", "").split(";")[0]
    if page.status_code == 200 and kind == "text/html":
        s.write("consumer/garment-page.html", page.text)
        what = f"HTML page ({len(page.content) // 1024} kB)"
    elif page.is_redirect:
        what = f"HTTP {page.status_code} → {page.headers.get('location')} (no HTML page yet)"
    else:
        what = f"HTTP {page.status_code} {kind} (no HTML page yet)"
    return f"QR encodes {qr.headers.get('x-qr-content', url)}; scanning it gives {what}"


# -- 9 -------------------------------------------------------------------------------------------


def _bundle_over_http(node: RunningNode) -> tuple[dict[str, Any], str]:
    """A full audit bundle built from the node's public ledger routes, and its verifier key."""
    from ledger.tlog_proof import TlogProof, format_tlog_proof

    with httpx.Client(base_url=node.url, timeout=30) as http:
        vkey = http.get("/ledger/key").text.strip()
        note = http.get("/ledger/checkpoint").text
        size = int(note.split("\n")[1])
        entries: list[dict[str, Any]] = []
        while len(entries) < size:
            page = http.get("/ledger/entries", params={"start": len(entries), "end": size})
            page.raise_for_status()
            entries.extend(page.json()["entries"])
        key_entries = []
        for entry in entries:
            if entry["type"] in ("ledger.genesis", "ledger.key-rotation"):
                proof = http.get(
                    "/ledger/proof/inclusion", params={"seq": entry["seq"], "size": size}
                ).json()["proof"]
                path = tuple(base64.b64decode(h) for h in proof)
                proved = TlogProof(index=entry["seq"], proof=path, checkpoint=note)
                key_entries.append({"entry": entry, "proof": format_tlog_proof(proved)})
    origin = note.split("\n")[0]
    bundle = {
        "v": 1, "type": "tracespace-ledger-bundle", "origin": origin, "vkey": vkey,
        "checkpoint": note, "from": 0, "to": size - 1, "entries": entries,
        "range_proof": [], "key_entries": key_entries,
    }  # fmt: skip
    return bundle, vkey


def verify_ledgers(s: Scenario) -> tuple[int, int]:
    from ledger.bundle import verify_bundle

    total = 0
    for name, node in s.net.nodes.items():
        bundle, vkey = _bundle_over_http(node)
        report = verify_bundle(bundle, vkey)
        total += report.size
        s.write(f"audit/ledgers/{name}.bundle.json", bundle)
        s.write(f"audit/ledgers/{name}.vkey", vkey + "\n")
        s.audit.setdefault("ledgers", {})[name] = {"ok": True, "size": report.size, "vkey": vkey}
    return len(s.net.nodes), total


def _as_regulator(s: Scenario, target: str):
    from connector.node import Node
    from connector.peers import PeerClient, find_peer

    regulator = Node.open(s.node("regulator").folder)
    peer = find_peer(regulator.engine, s.dids[target])
    if peer is None:
        raise CallFailed(f"regulator does not trust {target}")
    return regulator, PeerClient(regulator, peer, timeout=60)


def _audit_command() -> bool:
    """Whether this install has `tracespace audit` (the regulator's report)."""
    from connector.cli import app

    return any(c.name == "audit" for c in app.registered_commands)


def _start_audit(s: Scenario, garment: str) -> subprocess.Popen[str] | None:
    """`tracespace audit` over the garment's chain, started in the background."""
    if not _audit_command():
        return None
    brand = s.node("brand")
    command = [
        sys.executable, "-m", "connector", "audit", "--from", garment, "--url", brand.url,
        "--dir", str(brand.folder), "--out", str(s.out / "audit" / "report"),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish_audit(s: Scenario, proc: subprocess.Popen[str] | None) -> str:
    if proc is None:
        return "tracespace audit is not installed: report skipped"
    output, _ = proc.communicate(timeout=60)
    folder = s.out / "audit" / "report"
    for name in ("report.json", "report.html"):
        if (folder / name).exists():
            s.files.append(folder / name)
    if (folder / "report.html").exists():
        s.urls["audit report"] = (folder / "report.html").as_uri()
    if proc.returncode != 0:
        last = output.strip().splitlines()[-1] if output.strip() else ""
        raise CallFailed(f"tracespace audit exited {proc.returncode}: {last}")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    checks = sum(report.get("verified", {}).values())
    return f"audit report: {checks} checks passed, 0 failed"


def audit_chain(s: Scenario) -> str:
    garment = chain.link(chain.GARMENTS[0])
    proc = _start_audit(s, garment)
    try:
        nodes, entries = verify_ledgers(s)
        regulator, brand = _as_regulator(s, "brand")
        try:
            trace = brand.get(f"/trace/{quote(garment, safe='')}", params={"direction": "upstream"})
        finally:
            brand.close()
            regulator.close()
        if trace.status_code != 200:
            raise CallFailed(f"brand: trace -> HTTP {trace.status_code}: {trace.text[:300]}")
        graph = trace.json()
        s.write("audit/trace-garment.json", graph)
        regulator, mill = _as_regulator(s, "yarn-mill")
        try:
            recall = mill.get(f"/recall/{quote(chain.link(chain.YARN), safe='')}")
        finally:
            mill.close()
            regulator.close()
        if recall.status_code != 200:
            raise CallFailed(f"yarn-mill: recall -> HTTP {recall.status_code}: {recall.text[:300]}")
        report = _finish_audit(s, proc)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    body = recall.json()
    s.write("audit/recall-yarn-5.json", body)
    parties = {e["node"] for e in graph["events"]}
    verified = graph["complete"] and all(e.get("verified", True) for e in graph["events"])
    affected = body["affected"]
    s.audit.update(
        trace={"complete": graph["complete"], "parties": len(parties), "verified": verified},
        recall={k: len(v) for k, v in affected.items()},
    )
    s.write("audit/summary.json", s.audit)
    if not verified:
        raise CallFailed(f"the trace from the brand is not fully verified: {graph['unreachable']}")
    return (
        f"{nodes} ledgers verified ({entries} entries, from public routes, each with its key); "
        f"trace of a T-shirt reaches {len(parties)} parties, every hop verified; recall of "
        f"YARN-5: {len(affected['serials'])} serials, {len(affected['cartons'])} cartons, "
        f"{len(body['parties'])} parties; {report}"
    )


STEPS = (
    ("register identifiers", register_identifiers),
    ("negotiate contracts", negotiate_contracts),
    ("capture production", capture_production),
    ("pack and ship", pack_and_ship),
    ("receive and countersign", receive),
    ("exchange and roll up footprints", exchange_footprints),
    ("issue a quality certificate", issue_certificate),
    ("consumer scans the QR code", consumer_scan),
    ("regulator audits the chain", audit_chain),
)
