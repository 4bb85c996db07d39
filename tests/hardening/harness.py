"""A node served in-process with a trusted partner and an untrusted stranger, for tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.node import Node, init_node
from connector.peers import Peer, issue_token, node_did, trust_peer


@dataclass
class Harness:
    """A node served in-process, its operator token, and a second node it trusts."""

    node: Node
    app: FastAPI
    client: TestClient
    peer_node: Node
    stranger: Node

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.node.operator_token}"}

    def peer_headers(self, issuer: Node | None = None) -> dict[str, str]:
        token = issue_token(issuer or self.peer_node, node_did(self.node))
        return {"Authorization": f"Bearer {token}"}


def make_harness(root: Path) -> Harness:
    node = init_node(
        root / "plant", "plant", ["88.100.1"], gs1_company_prefixes=["4012345"], port=18080
    )
    peer_node = init_node(root / "partner", "partner", ["88.100.2"], port=18081)
    stranger = init_node(root / "stranger", "stranger", ["88.100.3"], port=18082)
    trust_peer(
        node.engine,
        Peer(node_did(peer_node), "partner", peer_node.config.public_url, peer_node.public_key),
    )
    app = create_app(node)
    return Harness(node, app, TestClient(app, raise_server_exceptions=False), peer_node, stranger)
