"""The three-node chain the network tests share: resin plant -> yarn mill -> garment maker,
each a real `serve` process on loopback, trusting its neighbours, with the example EPCIS
events captured and every neighbour holding an agreement to read them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from connector.demo import free_port, start_node
from connector.events import example as ex
from connector.node import Node, init_node
from connector.peers import Peer, did_for_url, trust_peer
from tests.network.agreements import negotiate, offer

NAMES = ("resin", "mill", "maker")
NEIGHBOURS = {"resin": ["mill"], "mill": ["resin", "maker"], "maker": ["mill"]}


def tracespace(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a separate process, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "connector", *args], capture_output=True, text=True, timeout=timeout
    )


def operator_client(node: dict) -> httpx.Client:
    return httpx.Client(
        base_url=node["url"], timeout=30, headers={"Authorization": f"Bearer {node['token']}"}
    )


def _create(root: Path) -> dict[str, dict]:
    nodes: dict[str, dict] = {}
    for name in NAMES:
        port = free_port()
        node = init_node(root / name, name, [], port=port)
        url = f"http://127.0.0.1:{port}"
        nodes[name] = {"dir": root / name, "url": url, "did": did_for_url(url), "port": port,
                       "key": node.public_key, "token": node.operator_token}  # fmt: skip
        node.close()
    for name in NAMES:
        node = Node.open(nodes[name]["dir"])
        for other in NEIGHBOURS[name]:
            o = nodes[other]
            trust_peer(node.engine, Peer(o["did"], other, o["url"], o["key"]))
        node.close()
    return nodes


@contextmanager
def running_chain(root: Path) -> Iterator[dict[str, dict]]:
    """Start the chain, capture its events and agree on reading them; stop it afterwards."""
    nodes = _create(root)
    procs = []
    try:
        for name in NAMES:
            nodes[name]["proc"] = start_node(nodes[name]["dir"], nodes[name]["port"])
            procs.append(nodes[name]["proc"])
        documents = {
            "resin": ex.resin_plant(nodes["mill"]["did"]),
            "mill": ex.yarn_mill(nodes["resin"]["did"], nodes["maker"]["did"]),
            "maker": ex.garment_maker(nodes["mill"]["did"]),
        }
        for name, events in documents.items():
            with operator_client(nodes[name]) as http:
                r = http.post("/epcis/capture", json=ex.document(events))
            assert r.status_code == 200, r.text
            nodes[name]["captured"] = r.json()["events"]
        # Each node offers its events; each neighbour reads them only under an agreement.
        for name in NAMES:
            offer(nodes[name]["url"], nodes[name]["token"], "events", "epcis-events", {})
        for name in NAMES:
            for other in NEIGHBOURS[name]:
                n = nodes[name]
                negotiate(n["url"], n["token"], nodes[other]["did"], "events")
        yield nodes
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
