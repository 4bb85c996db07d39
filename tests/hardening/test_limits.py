"""The documented limits (docs/reliability.md): each refused with its status, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.events import example as ex
from connector.events.trace import MAX_DEPTH
from connector.limits import DEFAULT_MAX_BODY, ENV_MAX_BODY, BodySizeLimit, max_body_size
from connector.routers.epcis import MAX_CAPTURE_EVENTS
from connector.routers.identifiers import MAX_BULK
from tests.hardening.harness import Harness, make_harness

SMALL = 4096


@pytest.fixture
def small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    monkeypatch.setenv(ENV_MAX_BODY, str(SMALL))
    h = make_harness(tmp_path)
    try:
        yield h
    finally:
        h.client.close()
        for n in (h.node, h.peer_node, h.stranger):
            n.close()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"]
    return body


def test_default_and_configured_body_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_MAX_BODY, raising=False)
    assert max_body_size() == DEFAULT_MAX_BODY == 8 * 1024 * 1024
    monkeypatch.setenv(ENV_MAX_BODY, "65536")
    assert max_body_size() == 65536
    for bad in ("-1", "lots", "10"):
        monkeypatch.setenv(ENV_MAX_BODY, bad)
        with pytest.raises(ValueError, match=ENV_MAX_BODY):
            max_body_size()


def test_declared_oversize_body_is_refused_before_reading(small: Harness) -> None:
    before = small.node.ledger.size
    body = b'{"x": "' + b"a" * SMALL + b'"}'
    response = small.client.post(
        "/ledger/entries", params={"type": "t"}, content=body, headers=small.operator
    )
    assert assert_problem(response, 413)["limit"] == SMALL
    assert small.node.ledger.size == before


def test_streamed_oversize_body_without_length_is_refused(small: Harness) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"x": "'
        for _ in range(8):
            yield b"a" * 1024
        yield b'"}'

    before = small.node.ledger.size
    headers = {**small.operator, "Content-Type": "application/json"}
    response = small.client.post(
        "/ledger/entries", params={"type": "t"}, content=chunks(), headers=headers
    )
    assert_problem(response, 413)
    assert small.node.ledger.size == before


def test_body_under_the_limit_passes(small: Harness) -> None:
    response = small.client.post(
        "/ledger/entries", params={"type": "t"}, json={"x": "a" * 100}, headers=small.operator
    )
    assert response.status_code in (200, 201), response.text


def test_middleware_counts_raw_asgi_chunks() -> None:
    """Directly on the ASGI middleware: the limit holds whatever the app does with the body."""
    seen: list[bytes] = []

    async def app(scope, receive, send):  # reads everything, answers 200
        while True:
            message = await receive()
            seen.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    client = TestClient(BodySizeLimit(app, limit=1024))  # no lifespan: a bare ASGI app
    assert client.post("/", content=b"a" * 1024).status_code == 200
    assert client.post("/", content=b"a" * 1025).status_code == 413
    big = client.post("/", content=iter([b"a" * 600, b"a" * 600]))
    assert big.status_code == 413


def test_too_many_events_per_capture(harness: Harness) -> None:
    one = ex.event(
        "ObjectEvent", 0, action="OBSERVE", epcList=["urn:epc:id:sgtin:4012345.011111.1"]
    )
    doc = ex.document([one] * (MAX_CAPTURE_EVENTS + 1))
    before = harness.node.ledger.size
    response = harness.client.post("/epcis/capture", json=doc, headers=harness.operator)
    assert_problem(response, 413)
    assert harness.node.ledger.size == before


def test_bulk_registration_over_the_limit(harness: Harness) -> None:
    body = {
        "batch": "/01/04012345123456/10/LOT1",
        "range": {"start": 1, "count": MAX_BULK + 1, "width": 8},
        "url": "https://example.invalid/{serial}",
    }
    before = harness.node.ledger.size
    response = harness.client.post("/management/handles/bulk", json=body, headers=harness.operator)
    assert_problem(response, 400)
    assert harness.node.ledger.size == before


def test_trace_depth_over_the_limit(harness: Harness) -> None:
    response = harness.client.get(
        "/trace/urn:epc:id:sgtin:4012345.011111.1",
        params={"depth": MAX_DEPTH + 1},
        headers=harness.operator,
    )
    assert_problem(response, 400)
    within = harness.client.get(
        "/trace/urn:epc:id:sgtin:4012345.011111.1",
        params={"depth": MAX_DEPTH},
        headers=harness.operator,
    )
    assert within.status_code == 200, within.text[:300]


def test_ledger_range_over_the_limit(harness: Harness) -> None:
    response = harness.client.get("/ledger/entries", params={"start": 0, "end": 1002})
    assert response.status_code == 400


def test_limit_is_mounted_on_the_app(tmp_path: Path) -> None:
    h = make_harness(tmp_path)
    try:
        assert any(m.cls is BodySizeLimit for m in create_app(h.node).user_middleware)
    finally:
        for n in (h.node, h.peer_node, h.stranger):
            n.close()
