"""The access decision under DSP agreements (`connector.dsp.grants`), records and events.

Agreements are written as rows the way negotiation leaves them (provider side, `active`
after FINALIZED), so every policy outcome is checked without running a second node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from connector.dsp import grants
from connector.dsp.errors import AccessDenied
from connector.dsp.records import dump, now_iso, utc_now
from connector.dsp.tables import agreement_table, asset_table
from connector.events.access import Caller, check_permitted, may_read
from connector.node import Node, init_node
from connector.peers import Peer
from connector.records import sharing

PARTNER = "did:web:oem.example"
OTHER = "did:web:stranger.example"


@pytest.fixture()
def node(tmp_path: Path):
    opened = init_node(tmp_path / "n", "supplier", [])
    yield opened
    opened.close()


@dataclass
class FakeRecord:
    id: str
    product_ids: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    direction: str = "issued"
    status: str = "Active"
    kind: str = "pact.footprint"


def agree(
    node: Node,
    kind: str,
    source: dict,
    constraints: list[dict] | None = None,
    *,
    consumer: str = PARTNER,
    ident: str = "a1",
) -> str:
    permission: dict = {"action": "use"}
    if constraints:
        permission["constraint"] = constraints
    body = {
        "@id": f"urn:uuid:{ident}",
        "@type": "Agreement",
        "target": f"asset-{ident}",
        "assigner": "did:web:supplier.example",
        "assignee": consumer,
        "timestamp": now_iso(),
        "permission": [permission],
    }
    with node.engine.begin() as conn:
        conn.execute(
            insert(asset_table).values(
                id=f"asset-{ident}", kind=kind, source=dump(source), created=utc_now()
            )
        )
        conn.execute(
            insert(agreement_table).values(
                id=body["@id"],
                negotiation_id="n",
                role="provider",
                provider_did=body["assigner"],
                consumer_did=consumer,
                asset_id=body["target"],
                body=dump(body),
                provider_signature="{}",
                state="active",
                created=utc_now(),
                updated=utc_now(),
            )
        )
    return body["@id"]


def access_entries(node: Node) -> list[dict]:
    found = []
    for seq in range(node.ledger.size):
        entry = json.loads(node.ledger.entry(seq).body)
        if entry["type"] == "dsp.access":
            found.append(entry["payload"])
    return found


def test_no_agreement_is_denied_and_ledgered(node: Node) -> None:
    access = grants.authorize(node, PARTNER, grants.FOOTPRINTS, channel="records")
    assert not access.permitted
    assert "no agreement" in access.failures[0]["message"]
    (entry,) = access_entries(node)
    assert entry["agreement"] is None and entry["permitted"] is False
    assert entry["consumer"] == PARTNER and entry["channel"] == "records"
    with pytest.raises(AccessDenied) as caught:
        raise access.denied()
    assert caught.value.reasons == access.failures


def test_active_agreement_permits_what_its_asset_covers(node: Node) -> None:
    agree(node, grants.FOOTPRINTS, {"product_ids": ["urn:gtin:1"]})
    access = grants.authorize(node, PARTNER, grants.FOOTPRINTS, channel="records")
    assert access.permitted
    assert access.covers_record(FakeRecord("x", product_ids=("urn:gtin:1",)))
    assert not access.covers_record(FakeRecord("y", product_ids=("urn:gtin:2",)))
    assert not access.covers_record(FakeRecord("z", ("urn:gtin:1",), direction="received"))
    # Another partner, or another asset kind, holds nothing.
    assert not grants.authorize(node, OTHER, grants.FOOTPRINTS, channel="records").permitted
    assert not grants.authorize(node, PARTNER, grants.QUALITY, channel="records").permitted
    assert [e["permitted"] for e in access_entries(node)] == [True, False, False]


def test_subject_and_id_filters_narrow_a_record_asset(node: Node) -> None:
    agree(node, grants.QUALITY, {"subjects": ["88.1/batch-42"], "ids": ["q1", "q2"]})
    access = sharing.decide(node, PARTNER, "quality.record")
    assert access.covers_record(FakeRecord("q1", subjects=("88.1/batch-42",)))
    assert not access.covers_record(FakeRecord("q2", subjects=("88.1/batch-7",)))
    assert not access.covers_record(FakeRecord("q3", subjects=("88.1/batch-42",)))
    # One record by id: only agreements covering it are considered.
    assert sharing.may_share(
        node, PARTNER, FakeRecord("q1", subjects=("88.1/batch-42",), kind="quality.record")
    )
    assert not sharing.may_share(node, PARTNER, FakeRecord("q9", kind="quality.record"))
    assert access_entries(node)[-1]["reasons"][0]["message"].endswith("(this item)")


def test_revocation_denies_at_once(node: Node) -> None:
    agreement = agree(node, grants.FOOTPRINTS, {})
    assert grants.authorize(node, PARTNER, grants.FOOTPRINTS, channel="records").permitted
    with node.engine.begin() as conn:
        conn.execute(
            update(agreement_table)
            .where(agreement_table.c.id == agreement)
            .values(state="revoked", reason="breach")
        )
    access = grants.authorize(node, PARTNER, grants.FOOTPRINTS, channel="records")
    assert not access.permitted
    assert "revoked" in access.failures[0]["message"] and "breach" in access.failures[0]["message"]
    assert grants.holders(node, grants.FOOTPRINTS) == set()


def test_count_is_shared_with_every_access_and_exhaustion_names_the_constraint(
    node: Node,
) -> None:
    agree(
        node,
        grants.FOOTPRINTS,
        {},
        [{"leftOperand": "count", "operator": "lteq", "rightOperand": "2"}],
    )
    first = grants.authorize(node, PARTNER, grants.FOOTPRINTS, channel="records")
    second = grants.authorize(node, PARTNER, grants.FOOTPRINTS, channel="pact")
    third = grants.authorize(node, PARTNER, grants.FOOTPRINTS, channel="records")
    assert first.permitted and second.permitted and not third.permitted
    (reason,) = third.failures
    assert reason["leftOperand"] == "count" and reason["operator"] == "lteq"
    assert [e["count_before"] for e in access_entries(node)] == [0, 1, 2]
    # A denied access does not use up the count: still refused, still count 2.
    assert access_entries(node)[-1]["permitted"] is False


def test_purpose_must_match_the_policy(node: Node) -> None:
    purpose = [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "recall"}]
    agree(node, grants.EVENTS, {}, purpose)
    wrong = grants.authorize(node, PARTNER, grants.EVENTS, purpose="marketing", channel="trace")
    missing = grants.authorize(node, PARTNER, grants.EVENTS, channel="trace")
    right = grants.authorize(node, PARTNER, grants.EVENTS, purpose="recall", channel="trace")
    assert not wrong.permitted and wrong.failures[0]["leftOperand"] == "purpose"
    assert not missing.permitted
    assert right.permitted
    assert [e["purpose"] for e in access_entries(node)] == ["marketing", None, "recall"]


def test_event_reads_follow_the_asset_query(node: Node) -> None:
    agree(node, grants.EVENTS, {"query": {"EQ_bizStep": "shipping"}})
    shipped = {7}
    access = grants.authorize(
        node,
        PARTNER,
        grants.EVENTS,
        channel="epcis",
        matcher=lambda source, seq: (
            source["query"] == {"EQ_bizStep": "shipping"} and seq in shipped
        ),
    )
    peer = Caller("peer", Peer(PARTNER, "oem", "http://oem.example", b"k" * 32), access)
    check_permitted(peer)  # permitted: no exception

    @dataclass
    class Ev:
        seq: int

    assert may_read(peer, Ev(7)) and not may_read(peer, Ev(8))
    assert may_read(Caller("operator"), Ev(8))
    stranger = Caller("peer", Peer(OTHER, "x", "http://x", b"k" * 32))
    assert not may_read(stranger, Ev(7))
    with pytest.raises(AccessDenied):
        check_permitted(stranger)


def test_operator_override_is_kept_apart_from_agreements(node: Node) -> None:
    sharing.grant(node, PARTNER, "pact.footprint")
    access = sharing.decide(node, PARTNER, "pact.footprint")
    assert access.permitted and access.covered[0].agreement == sharing.OVERRIDE
    assert access_entries(node) == []  # overrides are ledgered as records.share-grant
    assert sharing.recipients(node, "pact.footprint") == {PARTNER}
    sharing.revoke(node, PARTNER, "pact.footprint")
    assert not sharing.decide(node, PARTNER, "pact.footprint").permitted
