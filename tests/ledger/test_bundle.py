"""Audit bundles: export, offline verification with only the verifier key, and forgeries.

The bundle's checkpoint root is also recomputed independently with pymerkle over the
ledger's entry bytes, so the round trip is not only checked against itself.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
import sqlalchemy
from pymerkle import InmemoryTree
from typer.testing import CliRunner

from connector.cli import app as cli_app
from connector.node import init_node
from ledger import keys, store
from ledger.bundle import export_bundle, verify_bundle
from ledger.canonical import canonical_json
from ledger.checkpoint import open_checkpoint
from ledger.errors import InvalidInput, VerificationError
from ledger.log import Ledger
from ledger.note import format_vkey

ORIGIN = "example.org/bundle-test"
SIZE = 20


@pytest.fixture
def lg(database_url: str):
    ledger = Ledger.open(database_url, keys.generate(), ORIGIN)
    ledger.append_many([("lot.event", {"n": i, "lot": f"L{i}"}) for i in range(1, SIZE)])
    yield ledger
    ledger.engine.dispose()


def roundtrip(bundle: dict) -> dict:
    """As written to and read from a file."""
    return json.loads(json.dumps(bundle, ensure_ascii=False))


def expect_bad(bundle: dict, vkey: str, seq: int | None = None, *words: str) -> None:
    with pytest.raises(VerificationError) as info:
        verify_bundle(bundle, vkey)
    if seq is not None:
        assert info.value.seq == seq, info.value
    for word in words:
        assert word in str(info.value).lower(), info.value


def test_round_trip_verifies_with_only_the_vkey(lg: Ledger, monkeypatch: pytest.MonkeyPatch):
    bundle = roundtrip(export_bundle(lg, 4, 11))
    vkey = lg.vkey()
    # The checkpoint root is what an independent implementation computes from the leaves.
    cp, _ = open_checkpoint(bundle["checkpoint"], vkey)
    tree = InmemoryTree(algorithm="sha256")
    for body in lg.entries_bytes(0, cp.size):
        tree.append_entry(body)
    assert cp.root == tree.get_root()
    assert [canonical_json(e) for e in bundle["entries"]] == lg.entries_bytes(4, 12)

    # Offline: no database can be reached while verifying.
    lg.engine.dispose()

    def no_database(*args, **kwargs):
        raise AssertionError("bundle verification touched a database")

    monkeypatch.setattr(sqlalchemy, "create_engine", no_database)
    monkeypatch.setattr(store, "make_engine", no_database)
    report = verify_bundle(bundle, vkey)
    assert (report.origin, report.size, report.start, report.end) == (ORIGIN, SIZE, 4, 11)
    assert report.to_json()["ok"] is True
    assert len(report.keys) == 1


def test_edges_of_the_log_and_the_default_end(lg: Ledger):
    for start, end in [(0, 0), (0, SIZE - 1), (SIZE - 1, SIZE - 1), (7, 8)]:
        report = verify_bundle(roundtrip(export_bundle(lg, start, end)), lg.vkey())
        assert (report.start, report.end) == (start, end)
    bundle = export_bundle(lg, 15)
    assert (bundle["from"], bundle["to"]) == (15, SIZE - 1)
    for start, end in [(-1, 3), (5, 4), (0, SIZE), (SIZE, SIZE)]:
        with pytest.raises(InvalidInput):
            export_bundle(lg, start, end)


def test_tampered_entry(lg: Ledger):
    bundle = roundtrip(export_bundle(lg, 4, 11))
    bundle["entries"][3]["payload"]["lot"] = "L-forged"
    expect_bad(bundle, lg.vkey(), 7, "signature")


def test_tampered_entry_metadata(lg: Ledger):
    bundle = roundtrip(export_bundle(lg, 4, 11))
    bundle["entries"][2]["ts"] = "2000-01-01T00:00:00.000000Z"
    expect_bad(bundle, lg.vkey(), 6)


def test_missing_entry(lg: Ledger):
    bundle = roundtrip(export_bundle(lg, 4, 11))
    del bundle["entries"][3]
    expect_bad(bundle, lg.vkey())
    bundle["to"] = 10  # and pretending the range was one shorter
    expect_bad(bundle, lg.vkey(), 7)


def test_entries_out_of_order(lg: Ledger):
    bundle = roundtrip(export_bundle(lg, 4, 11))
    entries = bundle["entries"]
    entries[1], entries[2] = entries[2], entries[1]
    expect_bad(bundle, lg.vkey(), 5)


def test_wrong_range_proof(lg: Ledger):
    vkey = lg.vkey()
    good = roundtrip(export_bundle(lg, 4, 11))
    flipped = copy.deepcopy(good)
    h = bytearray(base64.b64decode(flipped["range_proof"][0]))
    h[0] ^= 1
    flipped["range_proof"][0] = base64.b64encode(bytes(h)).decode()
    expect_bad(flipped, vkey, 4, "root")
    for change in (lambda p: p[:-1], lambda p: [*p, p[0]], lambda p: list(reversed(p)), list):
        bad = copy.deepcopy(good)
        bad["range_proof"] = change(bad["range_proof"]) if change is not list else []
        expect_bad(bad, vkey)
    not_base64 = copy.deepcopy(good)
    not_base64["range_proof"][0] = "not base64!"
    expect_bad(not_base64, vkey)


def test_wrong_key(lg: Ledger):
    bundle = roundtrip(export_bundle(lg, 4, 11))
    other = keys.generate()
    expect_bad(bundle, format_vkey(ORIGIN, bytes(other.verify_key)))
    expect_bad(bundle, format_vkey("example.org/another-log", bytes(other.verify_key)))
    # Right key bytes, wrong log name.
    expect_bad(bundle, format_vkey("example.org/another-log", bytes(lg.signer.verify_key)))


def test_checkpoint_replaced_by_an_older_one(lg: Ledger):
    old = lg.checkpoint()
    lg.append_many([("lot.event", {"n": i}) for i in range(SIZE, SIZE + 5)])
    bundle = roundtrip(export_bundle(lg, 4, 11))
    bundle["checkpoint"] = old
    expect_bad(bundle, lg.vkey())


def test_bundle_from_another_log(lg: Ledger, tmp_path: Path):
    # Same origin name, another key: the operator of an impostor log.
    impostor = Ledger.open(f"sqlite:///{tmp_path / 'impostor.db'}", keys.generate(), ORIGIN)
    impostor.append_many([("lot.event", {"n": i, "lot": f"L{i}"}) for i in range(1, SIZE)])
    bundle = roundtrip(export_bundle(impostor, 4, 11))
    assert verify_bundle(bundle, impostor.vkey()).size == SIZE
    expect_bad(bundle, lg.vkey())
    bundle["vkey"] = lg.vkey()  # the bundle's own claim about its key is not trusted
    bundle["origin"] = ORIGIN
    expect_bad(bundle, lg.vkey())
    # Entries of the impostor spliced into a genuine bundle.
    genuine = roundtrip(export_bundle(lg, 4, 11))
    genuine["entries"] = bundle["entries"]
    expect_bad(genuine, lg.vkey(), 4)
    impostor.engine.dispose()


def test_key_rotation_inside_the_range(lg: Ledger):
    old_vkey = lg.vkey()
    rotation = lg.rotate_key(keys.generate())
    lg.append_many([("lot.event", {"n": i}) for i in range(5)])
    bundle = roundtrip(export_bundle(lg, rotation.seq - 3, rotation.seq + 4))
    report = verify_bundle(bundle, lg.vkey())
    assert [k["from_seq"] for k in report.keys] == [0, rotation.seq + 1]
    # An auditor who pinned the old key follows the rotation, which the old key signed.
    assert verify_bundle(bundle, old_vkey).size == report.size
    # A key that is not in the log's history opens nothing.
    expect_bad(bundle, format_vkey(lg.origin, bytes(keys.generate().verify_key)))
    # Without the rotation entry among the key entries, the new key's entries fail.
    no_rotation = copy.deepcopy(bundle)
    no_rotation["key_entries"] = no_rotation["key_entries"][:1]
    expect_bad(no_rotation, lg.vkey())


def test_key_rotation_before_the_range(lg: Ledger):
    rotation = lg.rotate_key(keys.generate())
    lg.append_many([("lot.event", {"n": i}) for i in range(6)])
    start = rotation.seq + 2
    bundle = roundtrip(export_bundle(lg, start, lg.size - 1))
    report = verify_bundle(bundle, lg.vkey())
    assert len(report.keys) == 2
    assert len(bundle["key_entries"]) == 2
    # Drop the rotation: entries in range are signed by a key the verifier cannot place.
    dropped = copy.deepcopy(bundle)
    dropped["key_entries"] = dropped["key_entries"][:1]
    expect_bad(dropped, lg.vkey())
    # Forge the rotation to name an attacker's key: its inclusion proof no longer holds.
    forged = copy.deepcopy(bundle)
    attacker = keys.generate()
    forged["key_entries"][1]["entry"]["payload"]["new_public_key"] = base64.b64encode(
        bytes(attacker.verify_key)
    ).decode()
    expect_bad(forged, lg.vkey())
    # A key entry proof anchored to another checkpoint is refused.
    other_checkpoint = copy.deepcopy(bundle)
    lg.append("lot.event", {"late": True})
    later = export_bundle(lg, start, lg.size - 1)
    other_checkpoint["key_entries"][1]["proof"] = later["key_entries"][1]["proof"]
    expect_bad(other_checkpoint, lg.vkey())


MALFORMED = {
    "type": lambda b: b.update(type="something-else"),
    "version": lambda b: b.update(v=2),
    "no-entries": lambda b: b.pop("entries"),
    "entries-not-list": lambda b: b.update(entries="nope"),
    "range-not-int": lambda b: b.update({"from": "four"}),
    "key-entry-proof": lambda b: b["key_entries"][0].update(proof="garbage"),
    "checkpoint": lambda b: b.update(checkpoint="not a note"),
}


def test_malformed_bundles_are_verification_errors(lg: Ledger):
    # verify_bundle promises VerificationError for any defect of the bundle, so that the
    # CLI reports "FAILED" (exit 1) rather than a usage error.
    good = roundtrip(export_bundle(lg, 4, 6))
    wrong: dict[str, str] = {}
    for what, mutate in MALFORMED.items():
        bundle = copy.deepcopy(good)
        mutate(bundle)
        try:
            verify_bundle(bundle, lg.vkey())
            wrong[what] = "accepted"
        except VerificationError:
            pass
        except Exception as exc:
            wrong[what] = f"{type(exc).__name__}: {exc}"
    assert wrong == {}


def test_cli_export_and_verify(database_url: str, tmp_path: Path):
    folder = tmp_path / "node"
    node = init_node(folder, "bundle-node", [], database_url=database_url)
    node.ledger.append_many([("lot.event", {"n": i, "lot": f"L{i}"}) for i in range(1, 12)])
    vkey = node.vkey
    node.close()
    out = tmp_path / "audit.json"
    runner = CliRunner()
    exported = runner.invoke(
        cli_app,
        ["ledger", "export", "--from", "2", "--to", "7", "-o", str(out), "--dir", str(folder)],
    )
    assert exported.exit_code == 0, exported.output
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert (bundle["from"], bundle["to"], len(bundle["entries"])) == (2, 7, 6)

    ok = runner.invoke(cli_app, ["ledger", "verify", str(out), "--key", vkey + "\n"])
    assert ok.exit_code == 0, ok.output
    assert "bundle OK" in ok.output
    as_json = runner.invoke(cli_app, ["ledger", "verify", str(out), "--key", vkey, "--json"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["ok"] is True

    bundle["entries"][2]["payload"]["lot"] = "forged"
    out.write_text(json.dumps(bundle), encoding="utf-8")
    bad = runner.invoke(cli_app, ["ledger", "verify", str(out), "--key", vkey])
    assert bad.exit_code == 1, bad.output
    assert "entry 4" in bad.output
    assert "Traceback" not in bad.output

    other = format_vkey(node.config.origin, bytes(keys.generate().verify_key))
    wrong_key = runner.invoke(cli_app, ["ledger", "verify", str(out), "--key", other])
    assert wrong_key.exit_code != 0
    no_key = runner.invoke(cli_app, ["ledger", "verify", str(out)])
    assert no_key.exit_code == 2
    assert "--key" in no_key.output
    out.write_text("{not json", encoding="utf-8")
    garbage = runner.invoke(cli_app, ["ledger", "verify", str(out), "--key", vkey])
    assert garbage.exit_code == 2
    assert "Traceback" not in garbage.output
