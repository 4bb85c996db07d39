"""Trusted node processes on loopback, for demos, tests and benchmarks of the DSP flows."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connector.demo import free_port, start_node
from connector.node import init_node
from connector.peers import Peer, did_for_url, trust_peer


@dataclass
class LoopbackNode:
    """A running node: its folder, URL, DID and an operator-authenticated HTTP client."""

    name: str
    folder: Path
    url: str
    did: str
    token: str
    public_key: bytes
    process: subprocess.Popen[bytes] | None = None
    http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.token}"}
        )

    def call(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        if expect is not None and response.status_code != expect:
            raise AssertionError(
                f"{method} {path}: HTTP {response.status_code}, expected {expect}: "
                f"{response.text[:800]}"
            )
        return response

    def peer(self) -> Peer:
        return Peer(self.did, self.name, self.url, self.public_key)


def create_nodes(root: Path, names: list[str]) -> list[LoopbackNode]:
    """Initialise node folders on free ports, each trusting all the others."""
    nodes = []
    for name in names:
        port = free_port()
        node = init_node(root / name, name, [], port=port)
        url = node.config.public_url
        nodes.append(
            LoopbackNode(
                name,
                root / name,
                url,
                did_for_url(url),
                node.operator_token,
                node.public_key,
            )
        )
        node.close()
    from connector.node import Node

    for me in nodes:
        opened = Node.open(me.folder)
        for other in nodes:
            if other is not me:
                trust_peer(opened.engine, other.peer())
        opened.close()
    return nodes


@contextmanager
def running(root: Path, names: list[str]) -> Iterator[list[LoopbackNode]]:
    """Start the named nodes as real `tracespace serve` processes; stop them afterwards."""
    nodes = create_nodes(root, names)
    try:
        for node in nodes:
            node.process = start_node(node.folder, int(node.url.rsplit(":", 1)[1]))
        yield nodes
    finally:
        for node in nodes:
            node.http.close()
            if node.process is not None:
                node.process.terminate()
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
