"""`tracespace id ...` on a node folder: create, show, set, delete, history, bulk, qr, link,
delegate; one-line errors with a non-zero exit and nothing written on bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import segno
from typer.testing import CliRunner

from connector.cli import app
from connector.node import Node, init_node

PREFIX = "88.100.1"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    node = init_node(tmp_path / "n", "cli-node", [PREFIX], public_url="http://cli.example")
    node.close()
    return tmp_path / "n"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["id", *args])
    return result.exit_code, result.output


def size(folder: Path) -> int:
    node = Node.open(folder)
    try:
        return node.ledger.size
    finally:
        node.close()


def test_lifecycle(folder: Path) -> None:
    d = ["--dir", str(folder)]
    code, out = run(
        "create",
        f"{PREFIX}/b42",
        "--url",
        "https://x.example/b42",
        "--gs1",
        "https://id.gs1.org/01/09506000134376/10/B42",
        "--value",
        "TS_CLASS=batch",
        *d,
    )
    assert code == 0, out
    code, out = run("show", f"{PREFIX}/b42", *d)
    body = json.loads(out)
    assert body["responseCode"] == 1
    assert {v["type"] for v in body["values"]} == {"URL", "TS_GS1", "TS_CLASS", "HS_ADMIN"}
    code, out = run("set", f"{PREFIX}/b42", "--url", "https://x.example/v2", *d)
    assert code == 0, out
    code, out = run("show", f"{PREFIX}/b42", "--type", "URL", *d)
    assert json.loads(out)["values"][0]["data"]["value"] == "https://x.example/v2"
    code, out = run("history", f"{PREFIX}/b42", *d)
    assert [h["op"] for h in json.loads(out)] == ["create", "update"]
    code, out = run("delete", f"{PREFIX}/b42", *d)
    assert code == 0
    code, out = run("show", f"{PREFIX}/b42", *d)
    assert code == 1 and json.loads(out)["responseCode"] == 100


def test_bad_input_is_one_line_and_writes_nothing(folder: Path) -> None:
    d = ["--dir", str(folder)]
    before = size(folder)
    for args in (
        ["create", f"{PREFIX}/", *d],
        ["create", f"{PREFIX}/x", "--url", "not-a-url", *d],
        ["create", f"{PREFIX}/x", "--gs1", "/01/09506000134377", *d],
        ["create", "99.9/x", "--url", "https://a.example", *d],
        ["delete", f"{PREFIX}/missing", *d],
        ["bulk", "/01/09506000134376/10/B", *d],
        ["bulk", "/01/09506000134376/21/S", "--count", "3", *d],
        ["link", "/01/09506000134376", "--add", "gs1:pip", *d],
    ):
        code, out = run(*args)
        assert code == 2, (args, out)
        assert out.startswith("error:") and "Traceback" not in out
        assert len(out.strip().splitlines()) == 1, out
    assert size(folder) == before


def test_bulk_qr_link_delegate(folder: Path, tmp_path: Path) -> None:
    d = ["--dir", str(folder)]
    code, out = run("bulk", "/01/09506000134376/10/B7", "--count", "1500", "--width", "5", *d)
    assert code == 0 and "registered 1500 serials" in out, out
    code, out = run("show", f"{PREFIX}/01.09506000134376.10.B7.21.01500", *d)
    assert json.loads(out)["responseCode"] == 1
    svg = tmp_path / "b.svg"
    code, out = run("qr", f"{PREFIX}/01.09506000134376.10.B7.21.00001", "-o", str(svg), *d)
    assert code == 0, out
    expected = io.BytesIO()
    segno.make_qr(
        "http://cli.example/01/09506000134376/10/B7/21/00001", error="m", boost_error=True
    ).save(expected, kind="svg", scale=4, border=4)
    assert svg.read_bytes() == expected.getvalue()
    png = tmp_path / "h.png"
    run("create", f"{PREFIX}/plain", "--url", "https://a.example", *d)
    code, out = run("qr", f"{PREFIX}/plain", "-o", str(png), *d)
    assert png.read_bytes().startswith(b"\x89PNG") and "http://cli.example/88.100.1/plain" in out
    code, out = run("qr", f"{PREFIX}/plain", "-o", str(tmp_path / "x.gif"), *d)
    assert code == 2
    code, out = run("link", "/01/09506000134376", "--add", "gs1:pip=https://brand.example/p", *d)
    assert code == 0, out
    code, out = run("link", *d)
    assert json.loads(out)[0]["links"][0]["href"] == "https://brand.example/p"
    code, out = run("delegate", "88.100.1.7", "http://child.example:8090/", *d)
    assert code == 0, out
    code, out = run("show", "0.na/88.100.1.7", *d)
    assert json.loads(out)["values"][0]["data"]["value"] == "http://child.example:8090"
