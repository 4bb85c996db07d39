"""The unmodified `pyhandle` client (PyPI) resolves our handles over real HTTP from a node
process, the way it reads any Handle.net server's REST API."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.demo import free_port, start_node
from connector.node import init_node
from identifiers.handle import Handle
from identifiers.record import HandleRecord, Permissions
from identifiers.registry import Registry

pyhandle = pytest.importorskip("pyhandle", reason="pyhandle is not installed")
from pyhandle.client.resthandleclient import RESTHandleClient  # noqa: E402
from pyhandle.handleexceptions import HandleNotFoundException  # noqa: E402

PREFIX = "20.500.12345"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    folder: Path = tmp_path_factory.mktemp("pyhandle") / "node"
    port = free_port()
    node = init_node(folder, "handles", [PREFIX], port=port)
    registry = Registry(node.ledger, [PREFIX], public_url=node.config.public_url)
    record = (
        HandleRecord(Handle.of(PREFIX, "doc/42"))
        .add("URL", "https://example.org/doc/42")
        .add("EMAIL", "ops@example.org")
        .add("CHECKSUM", "abc123")
        .add("HIDDEN", "x", permissions=Permissions(pub_read=False))
    )
    registry.create(record)
    node.close()
    proc = start_node(folder, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pyhandle_reads_our_records(base: str) -> None:
    client = RESTHandleClient.instantiate_for_read_access(handle_server_url=base)
    handle = f"{PREFIX}/doc/42"
    record = client.retrieve_handle_record_json(handle)
    assert record["responseCode"] == 1 and record["handle"] == handle
    simple = client.retrieve_handle_record(handle)
    assert simple["URL"] == "https://example.org/doc/42"
    assert simple["EMAIL"] == "ops@example.org"
    assert "HIDDEN" not in simple  # not public-readable
    assert client.get_value_from_handle(handle, "CHECKSUM") == "abc123"
    assert client.get_value_from_handle(handle, "NOSUCHTYPE") is None
    only = client.retrieve_handle_record_json(handle, indices=[1])
    assert [v["index"] for v in only["values"]] == [1]


def test_pyhandle_sees_missing_handles(base: str) -> None:
    client = RESTHandleClient.instantiate_for_read_access(handle_server_url=base)
    assert client.retrieve_handle_record_json(f"{PREFIX}/missing") is None
    with pytest.raises(HandleNotFoundException):
        client.get_value_from_handle(f"{PREFIX}/missing", "URL")
    # No value left after the filter: response code 200 (values not found), HTTP 200.
    empty = client.retrieve_handle_record_json(f"{PREFIX}/doc/42", type=["NOTHING"])
    assert empty["responseCode"] == 200 and empty["values"] == []
