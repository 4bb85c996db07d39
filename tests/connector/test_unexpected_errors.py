"""An unexpected failure inside a route, on a real server: a 500 problem, no trace, no reset."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from connector.app import create_app
from connector.demo import free_port
from connector.node import init_node

INTERNAL = "table ledger_head is at row 42"  # a detail that is for the log, not the caller


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    node = init_node(tmp_path / "n", "plant", ["88.100.1"], port=free_port())
    app = create_app(node)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(INTERNAL)

    config = uvicorn.Config(app, host="127.0.0.1", port=node.config.port, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{node.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        node.close()


def test_unexpected_error_is_a_500_problem_and_the_connection_survives(
    served: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), httpx.Client(base_url=served, timeout=10) as client:
        r = client.get("/boom")
        assert r.status_code == 500
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["status"] == 500 and problem["title"] == "Internal error"
        assert INTERNAL not in r.text and "Traceback" not in r.text
        # The keep-alive connection is not closed: the next requests go out on it at once,
        # and a connection the server had closed would be reset under them.
        for _ in range(30):
            assert client.get("/healthz").json()["status"] == "ok"
            assert client.get("/boom").status_code == 500
    assert any("unhandled error on GET /boom" in m for m in caplog.messages)
