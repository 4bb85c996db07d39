"""The regulator's audit on three real nodes: a clean chain passes, with receipts and
checkpoint consistency across runs; one flipped byte in one node's database fails the audit
at that node and that entry."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.events import example as ex
from tests.network.chain import NAMES, operator_client, running_chain, tracespace


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    with running_chain(tmp_path_factory.mktemp("audit")) as nodes:
        shipping = nodes["mill"]["captured"][4]
        mill, maker = nodes["mill"]["url"], str(nodes["maker"]["dir"])
        done = tracespace(
            "events", "countersign", shipping["eventID"], "--from", mill, "--dir", maker
        )
        assert done.returncode == 0, done.stderr
        yield nodes


_http = operator_client


def _audit(chain: dict, out: Path) -> tuple[int, dict, str]:
    maker = chain["maker"]
    result = tracespace("audit", "--from", ex.GARMENTS[0], "--dir", str(maker["dir"]),
                        "--url", maker["url"], "--out", str(out))  # fmt: skip
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return result.returncode, report, result.stdout + result.stderr


def test_clean_chain_passes_then_a_flipped_byte_fails_at_that_node_and_seq(chain, tmp_path) -> None:
    out = tmp_path / "audit"
    code, report, output = _audit(chain, out)
    assert code == 0, output
    assert report["v"] == 1 and report["ok"] and report["failures"] == []
    parties = {p["did"] for p in report["parties"]}
    assert parties == {chain[n]["did"] for n in NAMES}
    nodes_with_events = {e["node"] for e in report["events"]}
    assert nodes_with_events == parties and all(e["verified"] for e in report["events"])
    assert report["verified"]["signature"] >= sum(len(chain[n]["captured"]) for n in NAMES)
    assert report["verified"]["receipt"] == 1 and report["receipts"][0]["verified"]
    assert "ALL CHECKS PASSED" in (out / "report.html").read_text()
    state = json.loads((out / "checkpoints.json").read_text())
    assert set(state["nodes"]) == parties

    # A second audit checks consistency from every checkpoint the first one saw.
    code, report, output = _audit(chain, out)
    assert code == 0, output
    assert report["verified"]["consistency"] >= len(parties)

    # The mill's operator rewrites history: one letter of its merge event changes case.
    seq = chain["mill"]["captured"][2]["seq"]
    database = chain["mill"]["dir"] / "ledger.db"
    if not database.exists():
        database = next(chain["mill"]["dir"].glob("*.db"))
    with sqlite3.connect(database) as conn:
        (body,) = conn.execute("SELECT body FROM ledger_entry WHERE seq = ?", (seq,)).fetchone()
        raw = bytearray(body)
        at = raw.index(b'"bizStep":"') + len(b'"bizStep":"')
        raw[at] ^= 0x20
        conn.execute("UPDATE ledger_entry SET body = ? WHERE seq = ?", (bytes(raw), seq))
    code, report, output = _audit(chain, out)
    assert code == 1, output
    assert not report["ok"]
    where = {(f["check"], f["node"], f["seq"]) for f in report["failures"]}
    assert ("signature", chain["mill"]["did"], seq) in where
    assert ("inclusion", chain["mill"]["did"], seq) in where
    assert {f["node"] for f in report["failures"]} == {chain["mill"]["did"]}
    html = (out / "report.html").read_text()
    assert "FAILED" in html and f"<td>{seq}</td>" in html


def test_bad_input_exits_2(tmp_path) -> None:
    result = tracespace("audit", "--from", "", "--dir", str(tmp_path), "--out", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
