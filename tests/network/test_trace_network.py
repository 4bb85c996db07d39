"""Three real nodes on loopback (resin plant -> yarn mill -> garment maker): trace upstream and
recall downstream across nodes with verified inclusion proofs, countersigned receipts checked
by a third party, and a partial answer when a partner is down."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from connector.events import example as ex
from connector.events.objects import object_key
from connector.events.receipts import verify_receipt
from ledger.errors import VerificationError
from tests.network.chain import NAMES, operator_client, running_chain, tracespace


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    with running_chain(tmp_path_factory.mktemp("chain")) as nodes:
        yield nodes


_http = operator_client


def _get(node: dict, route: str, name: str, **params) -> dict:
    with _http(node) as http:
        response = http.get(f"/{route}/{quote(name, safe='')}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_upstream_trace_from_the_sold_garment_reaches_the_resin_batch(chain) -> None:
    graph = _get(chain["maker"], "trace", ex.GARMENTS[0], direction="upstream")
    assert graph["complete"], graph["unreachable"]
    ids = {n["id"]: n for n in graph["nodes"]}
    assert chain["resin"]["did"] in ids[object_key(ex.RESIN)]["seenAt"]
    assert chain["mill"]["did"] in ids[object_key(ex.DYE)]["seenAt"]
    assert object_key(ex.RESIN_B) not in ids  # the other half of the split is not provenance
    by_node: dict[str, list[dict]] = {}
    for event in graph["events"]:
        by_node.setdefault(event["node"], []).append(event)
    assert set(by_node) == {chain[n]["did"] for n in NAMES}
    for name in ("resin", "mill"):
        events = by_node[chain[name]["did"]]
        assert events and all(e["verified"] is True for e in events), events
        assert all(isinstance(e["seq"], int) and e["signer"] for e in events)
    hops = {(h["from"], h["partner"]) for h in graph["hops"]}
    assert (chain["maker"]["did"], chain["mill"]["did"]) in hops
    assert (chain["mill"]["did"], chain["resin"]["did"]) in hops
    assert all(h["verified"] for h in graph["hops"])


def test_tampered_partner_evidence_does_not_verify(chain) -> None:
    """The proof in a hop really is checked: change one byte and it fails."""
    from connector.events.proofs import open_partner_log, verify_ledgered

    graph = _get(chain["maker"], "trace", ex.GARMENTS[0], direction="upstream")
    hop = next(h for h in graph["hops"] if h["partner"] == chain["resin"]["did"])
    event = next(e for e in graph["events"] if e["node"] == chain["resin"]["did"])
    log = open_partner_log(hop["vkey"], hop["checkpoint"], chain["resin"]["key"])
    assert verify_ledgered(log, event["entry"], event["proof"])
    forged = json.loads(json.dumps(event["entry"]))
    forged["payload"]["event"]["bizStep"] = "destroying"
    with pytest.raises(VerificationError):
        verify_ledgered(log, forged, event["proof"])


def test_recall_from_the_resin_batch_finds_everything_downstream(chain) -> None:
    body = _get(chain["resin"], "recall", ex.RESIN)
    assert body["complete"], body["unreachable"]
    affected = body["affected"]
    lots = {i["id"] for i in affected["lots"]}
    assert {object_key(n) for n in (ex.RESIN, ex.RESIN_A, ex.RESIN_B, ex.YARN)} <= lots
    assert object_key(ex.DYE) not in lots
    serials = {i["id"]: i for i in affected["serials"]}
    assert set(serials) == {object_key(g) for g in ex.GARMENTS}
    cartons = {i["id"] for i in affected["cartons"]}
    assert {object_key(c) for c in [ex.YARN_CARTON, *ex.CARTONS]} <= cartons
    sold = serials[object_key(ex.GARMENTS[0])]["lastKnown"]
    assert sold["bizLocation"] == ex.STORE and sold["node"] == chain["maker"]["did"]
    parties = {p["id"] for p in body["parties"]}
    assert {chain[n]["did"] for n in NAMES} <= parties


def test_countersigned_receipt_is_on_both_ledgers_and_verifies_for_a_third_party(chain) -> None:
    shipping = chain["mill"]["captured"][4]  # the carton shipped to the garment maker
    result = tracespace(
        "events", "countersign", shipping["eventID"],
        "--from", chain["mill"]["url"], "--dir", str(chain["maker"]["dir"]),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    receipt = json.loads(result.stdout)
    assert receipt["delivered"] and receipt["partnerSeq"] == shipping["seq"]
    report = verify_receipt(
        chain["maker"]["url"],
        receipt["receipt"]["seq"],
        chain["mill"]["url"],
        receipt["partnerReceipt"]["seq"],
    )
    assert report["ok"] and report["shipper"]["eventSeq"] == shipping["seq"]
    # Idempotent over HTTP too: the same receipt comes back.
    with _http(chain["maker"]) as http:
        again = http.post(
            f"/epcis/events/{quote(shipping['eventID'], safe='')}/countersign",
            json={"from": chain["mill"]["did"]},
        )
    assert again.status_code == 200, again.text
    assert again.json()["receipt"]["seq"] == receipt["receipt"]["seq"]
    # A receipt pointing at another ledger entry is refused by the third-party check.
    with pytest.raises(VerificationError):
        verify_receipt(
            chain["maker"]["url"], receipt["receipt"]["seq"], chain["mill"]["url"], shipping["seq"]
        )


def test_a_partner_down_gives_a_partial_answer(chain) -> None:
    mill = chain["mill"]["proc"]
    mill.terminate()
    mill.wait(timeout=10)
    graph = _get(chain["maker"], "trace", ex.GARMENTS[0], direction="upstream", budget=5)
    assert not graph["complete"]
    assert [u["partner"] for u in graph["unreachable"]] == [chain["mill"]["did"]]
    ids = {n["id"] for n in graph["nodes"]}
    assert object_key(ex.YARN) in ids and object_key(ex.RESIN) not in ids
