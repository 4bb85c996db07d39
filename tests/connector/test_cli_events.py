"""The events CLI: `events capture` (files validated first, each captured all or nothing,
`--json` printing the body the HTTP capture answers), and `trace` and `recall` printing what
the HTTP routes answer, from the node folder or from a running node (`--url`)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from connector.app import create_app
from connector.cli import app as cli_app
from connector.config import NodeConfig
from connector.demo import free_port, start_node
from connector.events import example as ex
from connector.events.capture import capture_document
from connector.events.objects import object_key
from connector.node import Node, init_node


@pytest.fixture
def folder(tmp_path: Path, database_url: str) -> Path:
    init_node(tmp_path / "n", "plant", [], port=9, database_url=database_url).close()
    return tmp_path / "n"


def _write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _capture(*args: str):
    return _cli("events", "capture", *args)


def test_json_output_is_the_http_answer(tmp_path: Path, folder: Path):
    first = ex.document(ex.shipped_items("A", 12))
    second = ex.document(ex.shipped_items("B", 3) + ex.shipped_items("A", 2))  # 2 known
    files = [_write(tmp_path / "a.json", first), _write(tmp_path / "b.json", second)]

    result = _capture("--dir", str(folder), *map(str, files), "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)["events"]

    # The same documents captured over HTTP by a fresh node (its own SQLite file) give the
    # same answer.
    other = init_node(tmp_path / "other", "other", [], port=9)
    try:
        with TestClient(create_app(other)) as client:
            client.headers["Authorization"] = f"Bearer {other.operator_token}"
            answers = [client.post("/epcis/capture", json=doc) for doc in (first, second)]
        assert [a.status_code for a in answers] == [200, 200]
        assert printed == [e for a in answers for e in a.json()["events"]]
    finally:
        other.close()
    assert [e["duplicate"] for e in printed[-2:]] == [True, True]
    assert [e["seq"] for e in printed[:15]] == list(range(1, 16))


def test_plain_output_counts_new_and_known_events(tmp_path: Path, folder: Path):
    path = _write(tmp_path / "a.json", ex.document(ex.shipped_items("C", 4)))
    assert _capture("--dir", str(folder), str(path)).exit_code == 0
    again = _capture("--dir", str(folder), str(path))
    assert again.exit_code == 0, again.output
    assert "captured 0 event(s), 4 already present at seq 1..4" in again.stdout


def test_a_bad_file_stops_every_file_before_anything_is_written(tmp_path: Path, folder: Path):
    good = _write(tmp_path / "good.json", ex.document(ex.shipped_items("D", 5)))
    events = ex.shipped_items("E", 5)
    events[3]["bizStep"] = "juggling"
    bad = _write(tmp_path / "bad.json", ex.document(events))
    result = _capture("--dir", str(folder), str(good), str(bad))
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.json" in lines[0] and "eventList[3].bizStep" in lines[0]
    node = Node.open(folder)
    try:
        assert node.ledger.size == 1  # only the genesis entry: the good file was not captured
    finally:
        node.close()


@pytest.fixture(scope="module")
def chain_node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A node that captured the worked textile chain (split, merge, pack, ship, sell)."""
    folder = tmp_path_factory.mktemp("chain") / "n"
    node = init_node(folder, "chain", [], port=free_port())
    try:
        for events in (
            ex.resin_plant("did:web:mill"),
            ex.yarn_mill("did:web:resin", "did:web:maker"),
            ex.garment_maker("did:web:mill"),
        ):
            capture_document(node, ex.document(events))
    finally:
        node.close()
    return folder


def _graph(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_trace_and_recall_print_what_the_http_routes_answer(chain_node: Path) -> None:
    node = Node.open(chain_node)
    try:
        with TestClient(create_app(node)) as client:
            client.headers["Authorization"] = f"Bearer {node.operator_token}"
            http_trace = client.get(f"/trace/{quote(ex.GARMENTS[0], safe='')}").json()
            http_recall = client.get(f"/recall/{quote(ex.RESIN, safe='')}").json()
    finally:
        node.close()
    cli_trace = _graph(_cli("trace", ex.GARMENTS[0], "--dir", str(chain_node)))
    cli_recall = _graph(_cli("recall", ex.RESIN, "--dir", str(chain_node)))
    assert cli_trace == http_trace
    assert cli_recall == http_recall
    assert object_key(ex.RESIN) in {n["id"] for n in cli_trace["nodes"]}  # through the chain


def test_trace_and_recall_ask_a_running_node_with_url(chain_node: Path) -> None:
    port = NodeConfig.load(chain_node).port
    proc = start_node(chain_node, port)
    at = ["--dir", str(chain_node)]
    remote = [*at, "--url", f"http://127.0.0.1:{port}"]
    try:
        for command, name in (("trace", ex.GARMENTS[0]), ("recall", ex.RESIN)):
            assert _graph(_cli(command, name, *remote)) == _graph(_cli(command, name, *at))
        refused = _cli("trace", ex.GARMENTS[0], "--direction", "sideways", *remote)
        assert refused.exit_code != 0
        assert len(refused.stderr.strip().splitlines()) == 1 and "HTTP 4" in refused.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cli(*args: str):
    return CliRunner().invoke(cli_app, list(args))
