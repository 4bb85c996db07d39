"""Two real nodes: records and trace hops flow only under a DSP agreement negotiated over the
management API, both ledgers record the exchange, and a revocation refuses at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from connector.dsp.loopback import LoopbackNode, running
from connector.events import example as ex
from tests.network.agreements import negotiate, offer, revoke
from tests.network.test_records_exchange import footprint

PF = "33333333-3333-4333-8333-333333333333"
TRACEABILITY = {
    "permission": [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "purpose", "operator": "eq", "rightOperand": "traceability"}
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackNode, ...]]:
    root: Path = tmp_path_factory.mktemp("agreed")
    with running(root, ["resin", "mill"]) as (resin, mill):
        resin.call(
            "POST", "/management/records/footprints", 201, json={"footprint": footprint(PF, "3.0")}
        )
        for node, events in (
            (resin, ex.resin_plant(mill.did)),
            (mill, ex.yarn_mill(resin.did, "did:web:nobody.example")),
        ):
            node.call("POST", "/epcis/capture", 200, json=ex.document(events))
        offer(resin.url, resin.token, "footprints", "footprints", {})
        offer(resin.url, resin.token, "events", "epcis-events", {}, TRACEABILITY)
        yield resin, mill


def pull(mill: LoopbackNode, resin: LoopbackNode):
    return mill.call("POST", "/management/records/pull", json={"peer": resin.did})


def trace(mill: LoopbackNode, **params) -> dict:
    response = mill.call("GET", f"/trace/{quote(ex.YARN, safe='')}", 200, params=params)
    return response.json()


def entries(node: LoopbackNode, kind: str) -> list[dict]:
    found = node.call("GET", "/ledger/entries", 200).json()["entries"]
    return [e["payload"] for e in found if e["type"] == kind]


def test_refused_without_an_agreement(pair) -> None:
    resin, mill = pair
    refused = pull(mill, resin)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    graph = trace(mill, direction="upstream")
    (hop,) = [h for h in graph["hops"] if h["partner"] == resin.did]
    assert hop["status"] == "refused" and "no agreement" in hop["reason"]
    assert graph["refused"][0]["partner"] == resin.did
    assert graph["unreachable"] == [] and not graph["complete"]
    denied = [e for e in entries(resin, "dsp.access") if e["consumer"] == mill.did]
    assert {e["channel"] for e in denied} >= {"records", "trace"}
    assert not any(e["permitted"] for e in denied)


def test_agreed_exchange_and_trace_then_revocation(pair) -> None:
    resin, mill = pair
    footprints = negotiate(mill.url, mill.token, resin.did, "footprints")
    events = negotiate(mill.url, mill.token, resin.did, "events")

    pulled = pull(mill, resin)
    assert pulled.status_code == 200, pulled.text
    assert [r["id"] for r in pulled.json()["received"]] == [PF]
    graph = trace(mill, direction="upstream")
    (hop,) = [h for h in graph["hops"] if h["partner"] == resin.did]
    assert hop.get("status") != "refused" and hop["verified"] and hop["events"] > 0
    assert graph["complete"], graph
    assert any(e["node"] == resin.did and e["verified"] for e in graph["events"])

    # The partner's policy sees the declared purpose.
    other = trace(mill, direction="upstream", purpose="marketing")
    (refusal,) = other["refused"]
    assert any(e.get("leftOperand") == "purpose" for e in refusal["errors"])

    # Both ledgers record the exchange.
    granted = [e for e in entries(resin, "dsp.access") if e["permitted"]]
    assert {(e["agreement"], e["channel"]) for e in granted} >= {
        (footprints, "records"),
        (events, "trace"),
    }
    assert any(PF in [r["id"] for r in e["records"]] for e in entries(resin, "records.exchange"))
    received = [e for e in entries(mill, "pact.footprint") if e["direction"] == "received"]
    assert [e["id"] for e in received] == [PF]

    # Revoked by the provider: refused at once, on both channels.
    revoke(resin.url, resin.token, footprints, "audit")
    revoke(resin.url, resin.token, events, "audit")
    again = pull(mill, resin)
    assert again.status_code == 403 and "revoked" in again.text
    after = trace(mill, direction="upstream")
    assert after["refused"] and "revoked" in after["refused"][0]["reason"]
