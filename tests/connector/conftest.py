"""Fixtures shared by the connector tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.node import Node, init_node


@pytest.fixture
def operator_node(tmp_path: Path, database_url: str) -> Iterator[tuple[Node, TestClient]]:
    """A new node on the test database, and a client that sends its operator token."""
    node = init_node(tmp_path / "n", "plant", ["20.500.8"], port=9, database_url=database_url)
    with TestClient(create_app(node)) as client:
        client.headers["Authorization"] = f"Bearer {node.operator_token}"
        yield node, client
    node.close()
