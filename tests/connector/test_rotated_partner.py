"""A partner that rotated its key: its older entries still verify, through its key history.

Entries written before a rotation are signed by the earlier key. Trace hops, receipts,
the audit and the provenance page learn that key from `GET /ledger/keys`, proven against
a checkpoint signed by the current key, and relay it with the checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.audit.verify import Audit, verify_node
from connector.events.proofs import (
    PartnerLog,
    fetch_key_history,
    open_partner_log,
    verify_ledgered,
)
from connector.events.receipts import _ledgered
from connector.node import Node, init_node
from ledger import keys
from ledger.errors import VerificationError

BEFORE, ROTATION, AFTER = 3, 5, 7  # entry positions: before the rotation, it, after it


@pytest.fixture
def rotated(tmp_path: Path, database_url: str):
    node = init_node(tmp_path / "mill", "mill", ["88.100.1"], database_url=database_url)
    node.ledger.append_many([("lot.event", {"n": i}) for i in range(1, ROTATION)])
    node.ledger.rotate_key(keys.generate())
    node.ledger.append_many([("lot.event", {"n": i}) for i in range(ROTATION, ROTATION + 4)])
    with TestClient(create_app(node)) as client:
        yield node, client
    node.close()


def partner_log(client: TestClient) -> PartnerLog:
    return open_partner_log(client.get("/ledger/key").text, client.get("/ledger/checkpoint").text)


def ledgered(client: TestClient, seq: int, size: int) -> tuple[dict, list[str]]:
    entry = client.get(f"/ledger/entries/{seq}").json()
    proof = client.get("/ledger/proof/inclusion", params={"seq": seq, "size": size}).json()
    return entry, proof["proof"]


def test_entries_before_the_rotation_need_the_key_history(rotated: tuple[Node, TestClient]):
    _, client = rotated
    log = partner_log(client)
    with pytest.raises(VerificationError, match=r"key history .* is unknown"):
        verify_ledgered(log, *ledgered(client, BEFORE, log.size))
    verify_ledgered(log, *ledgered(client, AFTER, log.size))  # the current key's own

    log = fetch_key_history(log, client.get)
    assert log.schedule is not None and log.schedule.starts == [0, ROTATION + 1]
    for seq in (0, BEFORE, ROTATION, AFTER, log.size - 1):
        verify_ledgered(log, *ledgered(client, seq, log.size))


def test_the_history_travels_with_a_relayed_checkpoint(rotated: tuple[Node, TestClient]):
    _, client = rotated
    relayed = fetch_key_history(partner_log(client), client.get).to_json()
    assert "keyHistory" in relayed  # what a trace hop carries for a rotated log
    log = open_partner_log(relayed["vkey"], relayed["checkpoint"], None, relayed["keyHistory"])
    verify_ledgered(log, *ledgered(client, BEFORE, log.size))


def test_an_entry_under_the_wrong_key_for_its_position_fails(rotated: tuple[Node, TestClient]):
    _, client = rotated
    log = fetch_key_history(partner_log(client), client.get)
    entry, proof = ledgered(client, AFTER, log.size)
    old_kid = log.schedule.kids[0]
    with pytest.raises(VerificationError):
        verify_ledgered(log, {**entry, "kid": old_kid}, proof)


def test_a_never_rotated_log_relays_no_history(tmp_path: Path):
    node = init_node(tmp_path / "plant", "plant", ["88.100.2"])
    node.ledger.append("lot.event", {"n": 1})
    with TestClient(create_app(node)) as client:
        log = fetch_key_history(partner_log(client), client.get)
        assert log.schedule is not None and len(log.schedule.kids) == 1
        assert "keyHistory" not in log.to_json()
        verify_ledgered(log, *ledgered(client, 1, log.size))
    node.close()


def answer(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "http://mill/ledger/keys"), **kwargs)


@pytest.mark.parametrize(
    ("response", "problem"),
    [
        (answer(404), "serves no key history"),  # a node of an older release
        (answer(500), "fetching its key history failed"),
        (answer(200, content=b"<html>"), "not JSON"),
        (answer(200, json={"v": 2}), "does not verify"),
    ],
)
def test_without_a_history_only_current_key_entries_verify(rotated, response, problem):
    _, client = rotated
    log = fetch_key_history(partner_log(client), lambda path: response)
    assert log.schedule is None and problem in log.history_problem
    verify_ledgered(log, *ledgered(client, AFTER, log.size))
    with pytest.raises(VerificationError, match=problem):
        verify_ledgered(log, *ledgered(client, BEFORE, log.size))


def test_a_forged_history_is_refused(rotated: tuple[Node, TestClient]):
    _, client = rotated
    history = client.get("/ledger/keys").json()
    del history["key_entries"][1]
    log = fetch_key_history(partner_log(client), lambda path: answer(200, json=history))
    assert log.schedule is None and "does not verify" in log.history_problem
    with pytest.raises(VerificationError):
        verify_ledgered(log, *ledgered(client, BEFORE, log.size))


def test_receipt_checks_fetch_old_entries(rotated: tuple[Node, TestClient]):
    _, client = rotated
    entry, vkey = _ledgered(client, "", BEFORE)
    assert entry["seq"] == BEFORE and vkey == client.get("/ledger/key").text.strip()


def test_the_audit_checks_each_entry_with_the_key_of_its_position(rotated):
    node, client = rotated
    did = "did:web:mill.example"
    audit = Audit(did)
    audit.nodes[did] = {"did": did, "url": str(client.base_url), "name": "mill", "seen": []}
    verify_node(audit, did, client, {"nodes": {}}, "2026-11-22T00:00:00Z")
    assert audit.failures == []
    assert audit.counts["signature"] == node.ledger.size
    assert audit.counts["keys"] == 1
