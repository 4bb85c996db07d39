"""DSP 2025-1 between real node processes on loopback: provider, consumer and a third party.

Test names follow the DSP TCK case ids where a case maps (`CN`, `CN_C`, `TP`, `CAT`, `MET`).
Where a test must send a message no honest node would send, it signs it with a node's own
key (opening that node's folder) and posts it straight to the other node.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.dsp.agreements import verify_proof
from connector.dsp.loopback import LoopbackNode, running
from connector.dsp.messages import CONTEXT, SIGNATURE
from connector.node import Node
from connector.peers import Peer, PeerClient, did_for_url, trust_peer
from ledger.errors import VerificationError

SHORT_RETRIES = {
    "TRACESPACE_DSP_RETRY_ATTEMPTS": "3",
    "TRACESPACE_DSP_RETRY_BASE": "0.05",
    "TRACESPACE_DSP_RETRY_MAX": "0.2",
    "TRACESPACE_DSP_TIMEOUT": "2",
}
POLICIES = {
    "use-twice": {
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": "2"}],
            }
        ]
    },
    "quality-only": {
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {
                        "leftOperand": "purpose",
                        "operator": "eq",
                        "rightOperand": "ts:qualityControl",
                    }
                ],
            }
        ]
    },
    "suppliers": {
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "partnerRole", "operator": "eq", "rightOperand": "ts:supplier"}
                ],
            }
        ]
    },
    "delete-30d": {
        "permission": [
            {
                "action": "use",
                "duty": [
                    {
                        "action": "delete",
                        "constraint": [
                            {"leftOperand": "elapsedTime", "operator": "eq", "rightOperand": "P30D"}
                        ],
                    }
                ],
            }
        ]
    },
    "open": {"permission": [{"action": "use"}]},
}
DEFINITIONS = [
    ("d-count", "use-twice", ["pcf"], "auto"),
    ("d-purpose", "quality-only", ["quality"], "auto"),
    ("d-role", "suppliers", ["secret"], "auto"),
    ("d-duty", "delete-30d", ["pcf"], "auto"),
    ("d-manual", "open", ["pcf"], "manual"),
]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LoopbackNode]]:
    saved = {k: os.environ.get(k) for k in SHORT_RETRIES}
    os.environ.update(SHORT_RETRIES)
    try:
        with running(tmp_path_factory.mktemp("dsp"), ["provider", "consumer", "third"]) as trio:
            p, c, _ = trio
            for asset in ("pcf", "quality", "secret"):
                body = {"id": asset, "kind": "json-document", "source": {"document": {"a": asset}}}
                p.call("POST", "/management/assets", 201, json=body)
            for name, policy in POLICIES.items():
                p.call("POST", "/management/policies", 201, json={"id": name, "policy": policy})
            for did, policy, assets, approval in DEFINITIONS:
                body = {"id": did, "policy": policy, "assets": assets, "approval": approval}
                p.call("POST", "/management/contract-definitions", 201, json=body)
            p.call(
                "PUT", "/management/partners", 200, json={"did": c.did, "roles": ["ts:supplier"]}
            )
            yield trio
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def offer_for(c: LoopbackNode, p: LoopbackNode, dataset: str, definition: str) -> dict:
    catalog = c.call("POST", "/management/catalog", 200, json={"peer": p.did}).json()["catalog"]
    for item in catalog.get("dataset", []):
        for offer in item["hasPolicy"]:
            if item["@id"] == dataset and f":{definition}/" in offer["@id"]:
                return {**offer, "target": dataset}
    raise AssertionError(f"no offer {definition} for {dataset}")


def negotiate(c: LoopbackNode, p: LoopbackNode, dataset: str, definition: str, wait="FINALIZED"):
    offer = offer_for(c, p, dataset, definition)
    started = c.call("POST", "/management/negotiations", 201, json={"peer": p.did, "offer": offer})
    return wait_state(c, "negotiations", started.json()["id"], wait)


def wait_state(node: LoopbackNode, kind: str, pid: str, *states: str) -> dict[str, Any]:
    params = [("wait", s) for s in states] + [("timeout", "20")]
    return node.call("GET", f"/management/{kind}/{pid}", 200, params=params).json()


def provider_view(p: LoopbackNode, consumer_pid: str) -> dict[str, Any] | None:
    for item in p.call("GET", "/management/negotiations", 200).json()["negotiations"]:
        if item["consumerPid"] == consumer_pid:
            return item
    return None


def wait_until(probe, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def signed_as(sender: LoopbackNode, receiver: LoopbackNode) -> PeerClient:
    """A client that signs with `sender`'s node key (for crafted messages)."""
    node = Node.open(sender.folder)
    return PeerClient(node, receiver.peer())


def transfer(c: LoopbackNode, agreement: str) -> dict[str, Any]:
    started = c.call("POST", "/management/transfers", 201, json={"agreement": agreement}).json()
    return wait_state(c, "transfers", started["id"], "STARTED")


# -- version document and catalog ------------------------------------------------------------


def test_MET_01_01_version_document(nodes) -> None:
    from schemas.dsp import validate_message

    doc = nodes[0].call("GET", "/.well-known/dspace-version", 200).json()
    assert validate_message(doc, "ProtocolVersions") == []
    assert doc["protocolVersions"][0]["version"] == "2025-1"
    assert doc["protocolVersions"][0]["path"] == "/dsp"


def test_CAT_01_01_catalog_filtered_by_partner_role(nodes) -> None:
    p, c, third = nodes
    seen_by_c = c.call("POST", "/management/catalog", 200, json={"peer": p.did}).json()["catalog"]
    ids = {d["@id"] for d in seen_by_c["dataset"]}
    assert ids == {"pcf", "quality", "secret"}
    seen_by_third = third.call("POST", "/management/catalog", 200, json={"peer": p.did}).json()
    assert {d["@id"] for d in seen_by_third["catalog"]["dataset"]} == {"pcf", "quality"}


def test_CAT_01_01_catalog_pagination_link_header(nodes) -> None:
    p, c, _ = nodes
    with signed_as(c, p) as client:
        message = {"@context": CONTEXT, "@type": "CatalogRequestMessage", "filter": []}
        first = client.post("/dsp/catalog/request", json=message, params={"size": 1})
        assert first.status_code == 200
        assert [d["@id"] for d in first.json()["dataset"]] == ["pcf"]
        assert first.links["next"]["url"].endswith("page=2&size=1")
        last = client.post("/dsp/catalog/request", json=message, params={"page": 3, "size": 1})
        assert "next" not in last.links and "previous" in last.links
        bad = client.post("/dsp/catalog/request", json={"@type": "CatalogRequestMessage"})
        assert bad.status_code == 400 and bad.json()["@type"] == "CatalogError"


def test_CAT_01_02_and_03_dataset_request(nodes) -> None:
    p, c, third = nodes
    with signed_as(c, p) as client:
        found = client.get("/dsp/catalog/datasets/secret")
        assert found.status_code == 200 and found.json()["@id"] == "secret"
        assert client.get("/dsp/catalog/datasets/nothing").status_code == 404
    with signed_as(third, p) as client:
        # A dataset the participant may not see is indistinguishable from a missing one.
        hidden = client.get("/dsp/catalog/datasets/secret")
        missing = client.get("/dsp/catalog/datasets/nothing")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json()


def test_dsp_routes_need_a_signed_peer_token(nodes) -> None:
    p = nodes[0]
    response = p.http.post("/dsp/catalog/request", json={}, headers={"Authorization": ""})
    assert response.status_code == 401


# -- contract negotiation, our node as provider (CN) and consumer (CN_C) ---------------------


def test_CN_03_01_request_agree_verify_finalize_with_signed_ledgered_agreement(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-count")
    assert done["state"] == "FINALIZED", done["reason"]
    assert [h["state"] for h in done["history"]] == ["REQUESTED", "AGREED", "VERIFIED", "FINALIZED"]
    theirs = provider_view(p, done["consumerPid"])
    assert theirs["state"] == "FINALIZED"
    assert [h["state"] for h in theirs["history"]] == [
        "REQUESTED",
        "AGREED",
        "VERIFIED",
        "FINALIZED",
    ]
    mine = c.call("GET", f"/management/agreements/{done['agreement']}", 200).json()
    other = p.call("GET", f"/management/agreements/{done['agreement']}", 200).json()
    assert mine["state"] == other["state"] == "active"
    assert mine["signatures"] == other["signatures"]
    assert mine["agreement"]["assigner"] == p.did and mine["agreement"]["assignee"] == c.did
    for node, agreement in ((c, mine), (p, other)):
        entry = node.call("GET", f"/ledger/entries/{agreement['ledger_seq']}", 200).json()
        assert entry["type"] == "dsp.agreement"
        assert entry["payload"]["signatures"] == mine["signatures"]


def test_agreement_proof_verifies_offline_and_detects_tampering(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-count")
    bundle = c.call("GET", f"/management/agreements/{done['agreement']}/proof", 200).json()
    summary = verify_proof(bundle)
    assert summary["provider"]["did"] == p.did and summary["consumer"]["did"] == c.did
    tampered = {**bundle, "agreement": {**bundle["agreement"], "assignee": "did:web:evil"}}
    with pytest.raises(VerificationError):
        verify_proof(tampered)
    swapped = {
        **bundle,
        "ledgers": {
            "provider": bundle["ledgers"]["consumer"],
            "consumer": bundle["ledgers"]["provider"],
        },
    }
    with pytest.raises(VerificationError):
        verify_proof(swapped)


def test_cli_prove_and_verify(nodes, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-count")
    out = tmp_path / "proof.json"
    runner = CliRunner()
    made = runner.invoke(
        app, ["contract", "prove", done["agreement"], "--out", str(out), "--dir", str(p.folder)]
    )
    assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["contract", "verify", str(out)]).exit_code == 0
    bundle = json.loads(out.read_text())
    bundle["signatures"]["consumer"]["created"] = "2000-01-01T00:00:00Z"
    out.write_text(json.dumps(bundle))
    broken = runner.invoke(app, ["contract", "verify", str(out)])
    assert broken.exit_code != 0 and "Traceback" not in broken.output


def test_CN_01_01_request_counter_offer_consumer_terminates(nodes) -> None:
    p, c, _ = nodes
    started = negotiate(c, p, "pcf", "d-manual", wait="REQUESTED")
    theirs = wait_until(lambda: provider_view(p, started["consumerPid"]))
    assert theirs["pending"] == "manual approval"
    counter = {
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": "1"}],
            }
        ]
    }
    p.call(
        "POST", f"/management/negotiations/{theirs['id']}/counter", 200, json={"policy": counter}
    )
    offered = wait_state(c, "negotiations", started["id"], "OFFERED")
    assert offered["state"] == "OFFERED" and offered["pending"] == "counter-offer"
    c.call(
        "POST",
        f"/management/negotiations/{started['id']}/reject",
        200,
        json={"reason": "one use is not enough"},
    )
    ended = wait_until(
        lambda: (v := provider_view(p, started["consumerPid"]))["state"] == "TERMINATED" and v
    )
    assert "one use is not enough" in ended["reason"] and c.did in ended["reason"]


def test_CN_01_02_offer_accept_agree_verify_finalize(nodes) -> None:
    p, c, _ = nodes
    started = negotiate(c, p, "pcf", "d-manual", wait="REQUESTED")
    theirs = wait_until(lambda: provider_view(p, started["consumerPid"]))
    p.call(
        "POST",
        f"/management/negotiations/{theirs['id']}/counter",
        200,
        json={"policy": POLICIES["use-twice"]},
    )
    wait_state(c, "negotiations", started["id"], "OFFERED")
    c.call("POST", f"/management/negotiations/{started['id']}/approve", 200)
    done = wait_state(c, "negotiations", started["id"], "FINALIZED")
    assert [h["state"] for h in done["history"]] == [
        "REQUESTED",
        "OFFERED",
        "ACCEPTED",
        "AGREED",
        "VERIFIED",
        "FINALIZED",
    ]


def test_CN_02_01_consumer_counter_request_provider_terminates_via_cli(nodes) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    p, c, _ = nodes
    started = negotiate(c, p, "pcf", "d-manual", wait="REQUESTED")
    theirs = wait_until(lambda: provider_view(p, started["consumerPid"]))
    p.call(
        "POST",
        f"/management/negotiations/{theirs['id']}/counter",
        200,
        json={"policy": POLICIES["use-twice"]},
    )
    wait_state(c, "negotiations", started["id"], "OFFERED")
    c.call(
        "POST",
        f"/management/negotiations/{started['id']}/counter",
        200,
        json={"policy": POLICIES["open"]},
    )
    wait_until(lambda: provider_view(p, started["consumerPid"])["pending"] == "manual approval")
    result = CliRunner().invoke(
        app, ["contract", "reject", theirs["id"], "--reason", "no open use", "--dir", str(p.folder)]
    )
    assert result.exit_code == 0, result.output
    ended = wait_state(c, "negotiations", started["id"], "TERMINATED")
    assert "no open use" in ended["reason"]


def test_manual_approval_via_cli(nodes) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    p, c, _ = nodes
    started = negotiate(c, p, "pcf", "d-manual", wait="REQUESTED")
    theirs = wait_until(lambda: provider_view(p, started["consumerPid"]))
    runner = CliRunner()
    listed = runner.invoke(app, ["contract", "negotiations", "--dir", str(p.folder)])
    assert "awaiting operator" in listed.output
    result = runner.invoke(app, ["contract", "approve", theirs["id"], "--dir", str(p.folder)])
    assert result.exit_code == 0, result.output
    assert wait_state(c, "negotiations", started["id"], "FINALIZED")["state"] == "FINALIZED"
    again = runner.invoke(app, ["contract", "approve", theirs["id"], "--dir", str(p.folder)])
    assert again.exit_code != 0 and "Traceback" not in again.output


def _termination(pids: dict[str, str]) -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "@type": "ContractNegotiationTerminationMessage",
        **pids,
        "code": "x",
        "reason": ["test"],
    }


def test_CN_negative_cases_as_provider(nodes) -> None:
    p, c, third = nodes
    started = negotiate(c, p, "pcf", "d-manual", wait="REQUESTED")
    theirs = wait_until(lambda: provider_view(p, started["consumerPid"]))
    pids = {"providerPid": theirs["providerPid"], "consumerPid": theirs["consumerPid"]}
    base = f"/dsp/negotiations/{theirs['providerPid']}"
    with signed_as(c, p) as client:
        # Invalid verification: the negotiation is REQUESTED, not AGREED.
        verification = {
            "@context": CONTEXT,
            "@type": "ContractAgreementVerificationMessage",
            **pids,
        }
        refused = client.post(f"{base}/agreement/verification", json=verification)
        assert refused.status_code == 400
        assert refused.json()["@type"] == "ContractNegotiationError"
        # A second request while REQUESTED (double counter-offer).
        request = {
            "@context": CONTEXT,
            "@type": "ContractRequestMessage",
            **pids,
            "offer": {
                "@type": "Offer",
                "@id": "urn:x",
                "target": "pcf",
                "permission": [{"action": "use"}],
            },
        }
        assert client.post(f"{base}/request", json=request).status_code == 400
        # Schema violation.
        assert client.post(f"{base}/termination", json={"@type": "nope"}).status_code == 400
        # Unknown process.
        unknown = client.post(
            "/dsp/negotiations/urn:uuid:0/termination",
            json=_termination({"providerPid": "urn:uuid:0", "consumerPid": pids["consumerPid"]}),
        )
        assert unknown.status_code == 404
        assert client.get(f"{base}").json()["state"] == "REQUESTED"
    with signed_as(third, p) as client:
        # Another participant's negotiation: the same 404 body as an unknown one.
        foreign = client.post(
            "/dsp/negotiations/urn:uuid:0/termination",
            json=_termination({"providerPid": "urn:uuid:0", "consumerPid": pids["consumerPid"]}),
        )
        stolen = client.post(
            f"/dsp/negotiations/{theirs['providerPid']}/termination",
            json=_termination({**pids, "providerPid": "urn:uuid:0"}),
        )
        assert foreign.status_code == stolen.status_code == 404
        assert foreign.json() == stolen.json()
        assert client.get(base).status_code == 404
    with signed_as(c, p) as client:
        assert client.post(f"{base}/termination", json=_termination(pids)).status_code == 200
        # A message in a terminal state is refused, not acknowledged.
        assert client.post(f"{base}/termination", json=_termination(pids)).status_code == 400
    assert wait_state(c, "negotiations", started["id"], "TERMINATED")["state"] == "REQUESTED"


def test_CN_termination_after_finalized_is_refused(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-count")
    pids = {"providerPid": done["providerPid"], "consumerPid": done["consumerPid"]}
    with signed_as(c, p) as client:
        response = client.post(
            f"/dsp/negotiations/{done['providerPid']}/termination", json=_termination(pids)
        )
    assert response.status_code == 400
    assert "FINALIZED" in response.json()["reason"][0]


def test_CN_C_invalid_finalize_agreement_and_offer_from_provider(nodes) -> None:
    p, c, _ = nodes
    started = negotiate(c, p, "pcf", "d-manual", wait="REQUESTED")
    theirs = wait_until(lambda: provider_view(p, started["consumerPid"]))
    pids = {"providerPid": theirs["providerPid"], "consumerPid": theirs["consumerPid"]}
    base = f"/dsp/negotiations/{started['consumerPid']}"
    with signed_as(p, c) as client:
        finalize = {
            "@context": CONTEXT,
            "@type": "ContractNegotiationEventMessage",
            **pids,
            "eventType": "FINALIZED",
        }
        assert client.post(f"{base}/events", json=finalize).status_code == 400
        offer = {
            "@context": CONTEXT,
            "@type": "ContractOfferMessage",
            **pids,
            "offer": {"@type": "Offer", "@id": "urn:o", "permission": "use"},
        }
        assert client.post(f"{base}/offers", json=offer).status_code == 400
        agreement = {
            "@context": CONTEXT,
            "@type": "ContractAgreementMessage",
            **pids,
            "agreement": {
                "@id": "urn:uuid:forged",
                "@type": "Agreement",
                "target": "pcf",
                "assigner": p.did,
                "assignee": c.did,
                "timestamp": "2025-01-01T00:00:00Z",
                "permission": [{"action": "use"}],
            },
            SIGNATURE: {"v": 1, "role": "provider", "signer": p.did},
        }
        forged = client.post(f"{base}/agreement", json=agreement)
        assert forged.status_code == 400
        assert "invalid agreement" in forged.json()["reason"][0]
    ended = wait_state(c, "negotiations", started["id"], "TERMINATED")
    assert ended["reason"].startswith("invalid agreement")
    assert wait_until(lambda: provider_view(p, started["consumerPid"])["state"] == "TERMINATED")


def test_unanswered_peer_terminates_with_readable_reason(nodes) -> None:
    _, c, _ = nodes
    dead = f"http://127.0.0.1:{_dead_port()}"
    ghost = Peer(did_for_url(dead), "ghost", dead, Node.open(nodes[2].folder).public_key)
    opened = Node.open(c.folder)
    trust_peer(opened.engine, ghost)
    offer = {
        "@type": "Offer",
        "@id": "urn:tracespace:offer:x/y",
        "target": "y",
        "permission": [{"action": "use"}],
    }
    started = c.call(
        "POST", "/management/negotiations", 201, json={"peer": ghost.did, "offer": offer}
    ).json()
    ended = wait_state(c, "negotiations", started["id"], "TERMINATED")
    assert ended["state"] == "TERMINATED"
    assert "did not answer" in ended["reason"] and "after 3 attempts" in ended["reason"]
    assert ended["history"][-1]["event"] == "delivery-failed"


def _dead_port() -> int:
    from connector.demo import free_port

    return free_port()  # nothing listens there


# -- transfer process and data-plane enforcement ---------------------------------------------


def test_TP_01_01_start_pull_complete_and_refuse_after(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-count")
    started = transfer(c, done["agreement"])
    assert started["state"] == "STARTED" and started["endpoint"].startswith(p.url)
    assert c.call("GET", f"/management/transfers/{started['id']}/data", 200).json() == {"a": "pcf"}
    c.call("POST", f"/management/transfers/{started['id']}/complete", 200)
    ours = next(
        t
        for t in p.call("GET", "/management/transfers").json()["transfers"]
        if t["consumerPid"] == started["consumerPid"]
    )
    assert wait_state(p, "transfers", ours["id"], "COMPLETED")["state"] == "COMPLETED"
    pids = {"providerPid": ours["providerPid"], "consumerPid": ours["consumerPid"]}
    with signed_as(c, p) as client:
        suspension = {
            "@context": CONTEXT,
            "@type": "TransferSuspensionMessage",
            **pids,
            "code": "x",
            "reason": ["late"],
        }
        late = client.post(f"/dsp/transfers/{ours['providerPid']}/suspension", json=suspension)
        assert late.status_code == 400 and late.json()["@type"] == "TransferError"
        assert client.get(f"/dsp/transfers/{ours['providerPid']}").json()["state"] == "COMPLETED"
        assert client.get("/dsp/transfers/urn:uuid:0").status_code == 404


def test_TP_02_01_provider_suspends_resumes_and_consumer_terminates(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-count")
    started = transfer(c, done["agreement"])
    ours = wait_until(
        lambda: [
            t
            for t in p.call("GET", "/management/transfers").json()["transfers"]
            if t["consumerPid"] == started["consumerPid"]
        ]
    )[0]
    p.call("POST", f"/management/transfers/{ours['id']}/suspend", 200, json={"reason": "audit"})
    suspended = wait_state(c, "transfers", started["id"], "SUSPENDED")
    assert suspended["state"] == "SUSPENDED" and "audit" in suspended["reason"]
    blocked = c.call("GET", f"/management/transfers/{started['id']}/data")
    assert blocked.status_code == 400  # the consumer knows it is suspended
    p.call("POST", f"/management/transfers/{ours['id']}/resume", 200)
    assert wait_state(c, "transfers", started["id"], "STARTED")["state"] == "STARTED"
    c.call("POST", f"/management/transfers/{started['id']}/terminate", 200, json={"reason": "done"})
    assert wait_state(p, "transfers", ours["id"], "TERMINATED")["state"] == "TERMINATED"
    # Completion after termination is an illegal transition for the operator too.
    assert c.call("POST", f"/management/transfers/{started['id']}/complete").status_code == 400


def test_dataplane_count_exhausted_is_403_with_reason(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-count")
    started = transfer(c, done["agreement"])
    for _ in range(2):
        c.call("GET", f"/management/transfers/{started['id']}/data", 200)
    denied = c.call("GET", f"/management/transfers/{started['id']}/data")
    assert denied.status_code == 403
    errors = denied.json()["errors"]
    assert [(e["leftOperand"], e["operator"], e["actual"]) for e in errors] == [
        ("count", "lteq", 3)
    ]
    log = p.call(
        "GET", "/management/access-log", 200, params={"agreement": done["agreement"]}
    ).json()["accesses"]
    assert [a["permitted"] for a in log] == [True, True, False]
    entry = p.call("GET", f"/ledger/entries/{log[-1]['seq']}", 200).json()
    assert entry["type"] == "dsp.access" and entry["payload"]["permitted"] is False


def test_dataplane_purpose_mismatch_and_token(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "quality", "d-purpose")
    started = transfer(c, done["agreement"])
    path = f"/management/transfers/{started['id']}/data"
    wrong = c.call("GET", path, params={"purpose": "ts:marketing"})
    assert wrong.status_code == 403
    assert wrong.json()["errors"][0]["leftOperand"] == "purpose"
    missing = c.call("GET", path)
    assert missing.status_code == 403 and "no value for purpose" in missing.json()["detail"]
    assert c.call("GET", path, params={"purpose": "ts:qualityControl"}).status_code == 200
    endpoint = started["endpoint"]
    assert httpx.get(endpoint, headers={"Authorization": "Bearer forged"}).status_code == 403
    assert httpx.get(endpoint).status_code == 401


def test_revoked_agreement_is_refused_at_once_on_both_sides(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-duty")
    started = transfer(c, done["agreement"])
    path = f"/management/transfers/{started['id']}/data"
    assert c.call("GET", path).status_code == 200
    revoked = p.call(
        "POST",
        f"/management/agreements/{done['agreement']}/revoke",
        200,
        json={"reason": "contract breach"},
    ).json()
    assert revoked["state"] == "revoked"
    # The provider's data plane refuses the very next access with the consumer's real token.
    token = _consumer_token(c, started["id"])
    denied = httpx.get(started["endpoint"], headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
    assert "agreement is revoked: contract breach" in denied.json()["detail"]
    mine = wait_until(
        lambda: (
            (a := c.call("GET", f"/management/agreements/{done['agreement']}").json())["state"]
            == "revoked"
            and a
        )
    )
    assert "contract breach" in mine["reason"]
    assert wait_state(c, "transfers", started["id"], "TERMINATED")["state"] == "TERMINATED"
    assert (
        c.call("POST", "/management/transfers", json={"agreement": done["agreement"]}).status_code
        == 400
    )


def _consumer_token(c: LoopbackNode, transfer_id: str) -> str:
    from connector.dsp.messages import address_token
    from connector.dsp.records import get_row, load
    from connector.dsp.tables import transfer_table

    with Node.open(c.folder).engine.connect() as conn:
        row = get_row(conn, transfer_table, id=transfer_id)
    return str(address_token(load(row.data_address)))


def test_duty_delete_after_30_days_tracked_and_confirmed(nodes) -> None:
    p, c, _ = nodes
    done = negotiate(c, p, "pcf", "d-duty")
    duties = c.call("GET", f"/management/agreements/{done['agreement']}", 200).json()["duties"]
    assert [(d["action"], d["status"], d["role"]) for d in duties] == [
        ("delete", "pending", "consumer")
    ]
    assert duties[0]["due"] > done["created"][:10]
    c.call("POST", f"/management/duties/{duties[0]['id']}/fulfil", 200, json={"note": "wiped"})

    def provider_duty() -> dict | None:
        found = p.call("GET", f"/management/agreements/{done['agreement']}").json()["duties"]
        return found[0] if found[0]["status"] == "fulfilled" else None

    assert wait_until(provider_duty)["notes"][0]["note"] == "wiped"


def test_management_needs_operator_token_and_reports_policy_paths(nodes) -> None:
    p = nodes[0]
    assert p.http.get("/management/agreements", headers={"Authorization": ""}).status_code == 401
    bad = {
        "id": "bad",
        "policy": {
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {"leftOperand": "count", "operator": "within", "rightOperand": "1"}
                    ],
                }
            ]
        },
    }
    response = p.call("POST", "/management/policies", 400, json=bad).json()
    assert response["errors"][0]["path"].startswith("$.policy.permission[0].constraint[0]")
    number = {
        "id": "num",
        "policy": {
            "permission": [
                {
                    "action": "use",
                    "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": 3}],
                }
            ]
        },
    }
    response = p.call("POST", "/management/policies", 400, json=number).json()
    assert any("DSP 2025-1" in e["message"] for e in response["errors"])
