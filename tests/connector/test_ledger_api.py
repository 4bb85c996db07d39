"""The `/ledger/*` HTTP API of a node, on SQLite and PostgreSQL, through FastAPI's TestClient.

What the API serves is checked the way a remote client would: the checkpoint with the
served verifier key, the entries against the checkpoint root (recomputed independently
with pymerkle from the served bytes), and the proofs with `ledger.merkle`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import rfc8785
from fastapi.testclient import TestClient
from pymerkle import InmemoryTree

from connector.app import create_app
from connector.node import init_node
from ledger import keys, merkle
from ledger.canonical import canonical_json
from ledger.checkpoint import open_checkpoint
from ledger.errors import VerificationError
from ledger.note import parse_vkey

PROBLEM = "application/problem+json"


@pytest.fixture
def node(tmp_path: Path, database_url: str):
    n = init_node(tmp_path / "node", "api-node", ["88.100.1"], database_url=database_url)
    n.ledger.append_many(
        [("lot.event", {"n": i, "text": "Grüße \U0001f600", "x": i / 4}) for i in range(1, 12)]
    )
    yield n
    n.close()


@pytest.fixture
def client(node) -> TestClient:
    with TestClient(create_app(node)) as c:
        yield c


def auth(node) -> dict[str, str]:
    return {"Authorization": f"Bearer {node.operator_token}"}


def assert_problem(response, status: int | None = None) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == response.status_code
    return body


def served_checkpoint(client: TestClient):
    vkey = client.get("/ledger/key").text.strip()
    note = client.get("/ledger/checkpoint").text
    return open_checkpoint(note, vkey)[0], vkey, note


def test_health_key_and_checkpoint(client: TestClient, node):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "name": "api-node", "size": 12}

    r = client.get("/ledger/key")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    vkey = r.text.strip()
    assert vkey == node.vkey
    verifier = parse_vkey(vkey)
    assert verifier.name == node.config.origin
    assert verifier.public_key == node.public_key

    r = client.get("/ledger/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    cp, _ = open_checkpoint(r.text, vkey, origin=node.config.origin)
    assert cp.size == 12
    with pytest.raises(VerificationError):
        open_checkpoint(r.text.replace("\n12\n", "\n11\n", 1), vkey)


def test_entries_are_the_leaves_of_the_checkpoint(client: TestClient):
    cp, _, _ = served_checkpoint(client)
    listing = client.get("/ledger/entries", params={"start": 0, "end": cp.size})
    assert listing.status_code == 200
    data = listing.json()
    assert data["v"] == 1
    assert [e["seq"] for e in data["entries"]] == list(range(cp.size))
    tree = InmemoryTree(algorithm="sha256")
    previous = b""
    for seq, listed in enumerate(data["entries"]):
        single = client.get(f"/ledger/entries/{seq}")
        assert single.status_code == 200
        assert single.headers["content-type"].startswith("application/json")
        raw = single.content
        # The served bytes are RFC 8785 canonical, and the listing serves the same object.
        assert raw == rfc8785.dumps(json.loads(raw))
        assert canonical_json(listed) == raw
        tree.append_entry(raw)
        if seq:
            assert json.loads(raw)["prev"] == hashlib.sha256(previous).hexdigest()
        previous = raw
    # "Leaf bytes": anyone can recompute the root from the served entries alone.
    assert tree.get_root() == cp.root


def test_entries_default_range_window_and_404(client: TestClient):
    r = client.get("/ledger/entries")
    assert r.status_code == 200
    assert [e["seq"] for e in r.json()["entries"]] == list(range(12))
    r = client.get("/ledger/entries", params={"start": 5})
    assert [e["seq"] for e in r.json()["entries"]] == list(range(5, 12))
    r = client.get("/ledger/entries", params={"start": 3, "end": 4})
    assert [e["seq"] for e in r.json()["entries"]] == [3]
    body = assert_problem(client.get("/ledger/entries/12"), 404)
    assert "12" in body.get("detail", "")
    assert_problem(client.get("/ledger/nothing-here"), 404)


def test_proofs_verify_against_served_checkpoints(client: TestClient, node):
    cp, _, _ = served_checkpoint(client)
    for seq in range(cp.size):
        r = client.get("/ledger/proof/inclusion", params={"seq": seq, "size": cp.size})
        assert r.status_code == 200
        body = r.json()
        assert (body["seq"], body["size"]) == (seq, cp.size)
        proof = [base64.b64decode(h) for h in body["proof"]]
        leaf = merkle.leaf_hash(client.get(f"/ledger/entries/{seq}").content)
        merkle.verify_inclusion(leaf, seq, cp.size, proof, cp.root)
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(merkle.leaf_hash(b"other"), seq, cp.size, proof, cp.root)

    old = cp
    r = client.post(
        "/ledger/entries", params={"type": "lot.event"}, json={"late": True}, headers=auth(node)
    )
    assert r.status_code == 201
    node.ledger.append_many([("lot.event", {"n": i}) for i in range(5)])
    new, _, _ = served_checkpoint(client)
    assert new.size == old.size + 6
    r = client.get("/ledger/proof/consistency", params={"first": old.size, "second": new.size})
    assert r.status_code == 200
    proof = [base64.b64decode(h) for h in r.json()["proof"]]
    merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
    for first in range(1, new.size + 1):
        r = client.get("/ledger/proof/consistency", params={"first": first, "second": new.size})
        proof = [base64.b64decode(h) for h in r.json()["proof"]]
        merkle.verify_consistency(first, new.size, proof, node.ledger.root(first), new.root)


BAD_REQUESTS = [
    ("/ledger/entries", {"start": -1}),
    ("/ledger/entries", {"start": "abc"}),
    ("/ledger/entries", {"start": 1.5}),
    ("/ledger/entries", {"end": 0}),
    ("/ledger/entries", {"start": 5, "end": 5}),
    ("/ledger/entries", {"start": 6, "end": 5}),
    ("/ledger/entries", {"start": 0, "end": 13}),
    ("/ledger/entries", {"start": 0, "end": 1001}),
    ("/ledger/entries", {"start": 12}),
    ("/ledger/entries/-1", {}),
    ("/ledger/entries/abc", {}),
    ("/ledger/entries/99999999999999999999999", {}),
    ("/ledger/proof/inclusion", {}),
    ("/ledger/proof/inclusion", {"seq": 0}),
    ("/ledger/proof/inclusion", {"seq": -1, "size": 5}),
    ("/ledger/proof/inclusion", {"seq": 0, "size": 0}),
    ("/ledger/proof/inclusion", {"seq": 5, "size": 5}),
    ("/ledger/proof/inclusion", {"seq": 0, "size": 13}),
    ("/ledger/proof/inclusion", {"seq": "x", "size": 5}),
    ("/ledger/proof/inclusion", {"seq": 0, "size": 2**70}),
    ("/ledger/proof/consistency", {"first": 0, "second": 5}),
    ("/ledger/proof/consistency", {"first": 6, "second": 5}),
    ("/ledger/proof/consistency", {"first": 2, "second": 13}),
    ("/ledger/proof/consistency", {"first": "a", "second": 5}),
    ("/ledger/proof/consistency", {"second": 5}),
]


def test_bad_parameters_get_problem_json(node):
    wrong = []
    client = TestClient(create_app(node), raise_server_exceptions=False)
    for path, params in BAD_REQUESTS:
        r = client.get(path, params=params)
        try:
            assert_problem(r)
        except (AssertionError, KeyError, ValueError):
            wrong.append((path, params, r.status_code, r.headers.get("content-type")))
    assert wrong == []


def test_post_entry_requires_the_operator_token(client: TestClient, node):
    payload = {"lot": "L-7", "qty": 3}
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "Basic x"}):
        r = client.post(
            "/ledger/entries", params={"type": "lot.event"}, json=payload, headers=headers
        )
        assert_problem(r, 401)
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
    assert node.ledger.size == 12  # nothing was written

    r = client.post(
        "/ledger/entries", params={"type": "lot.event"}, json=payload, headers=auth(node)
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["seq"] == 12
    raw = client.get("/ledger/entries/12").content
    assert body["hash"] == hashlib.sha256(raw).hexdigest()
    entry = json.loads(raw)
    assert (entry["type"], entry["payload"]) == ("lot.event", payload)
    assert client.get("/healthz").json()["size"] == 13


def test_post_entry_bad_input_is_a_problem_and_writes_nothing(node):
    client = TestClient(create_app(node), raise_server_exceptions=False)
    size = node.ledger.size
    cases = [
        ({"type": "Bad Type"}, {"json": {"a": 1}}),
        ({}, {"json": {"a": 1}}),
        (
            {"type": "lot.event"},
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
        ),
        ({"type": "lot.event"}, {"json": {"big": 2**60}}),
        ({"type": "lot.event"}, {"json": {"blob": "x" * (1 << 20)}}),
    ]
    wrong = []
    for params, kwargs in cases:
        headers = {**auth(node), **kwargs.pop("headers", {})}
        r = client.post("/ledger/entries", params=params, headers=headers, **kwargs)
        try:
            assert_problem(r)
        except (AssertionError, KeyError, ValueError):
            wrong.append((params, r.status_code, r.text[:200]))
    assert wrong == []
    assert node.ledger.size == size


def test_served_key_follows_a_key_rotation(client: TestClient, node):
    new_key = keys.generate()
    node.ledger.rotate_key(new_key)
    node.ledger.append("lot.event", {"after": "rotation"})
    vkey = client.get("/ledger/key").text.strip()
    assert parse_vkey(vkey).public_key == bytes(new_key.verify_key)
    cp, _ = open_checkpoint(client.get("/ledger/checkpoint").text, vkey)
    assert cp.size == node.ledger.size
