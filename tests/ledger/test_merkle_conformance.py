"""ledger.merkle against the transparency-dev/merkle inclusion and consistency probes."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ledger import merkle
from ledger.errors import ProofError

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
TESTDATA = CONFORMANCE / "merkle" / "testdata"


def _probes(kind: str) -> list[Path]:
    folder = TESTDATA / kind
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def _proof(values: list[str] | None) -> list[bytes]:
    return [_b64(v) for v in values or []]


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(paths: list[Path], kind: str) -> list[str]:
    return [str(p.relative_to(TESTDATA / kind)) for p in paths]


INCLUSION = _probes("inclusion")
CONSISTENCY = _probes("consistency")


@pytest.fixture(autouse=True)
def _need_data() -> None:
    if not TESTDATA.is_dir():
        pytest.skip(f"conformance data not found at {TESTDATA}")


def test_corpus_is_complete() -> None:
    # The manifest promises 98 + 98 probes, 12 of which expect success.
    assert len(INCLUSION) == 98 and len(CONSISTENCY) == 98
    happy = [p for p in INCLUSION + CONSISTENCY if not _load(p)["wantErr"]]
    assert len(happy) == 12


@pytest.mark.parametrize("path", INCLUSION, ids=_ids(INCLUSION, "inclusion"))
def test_inclusion_probe(path: Path) -> None:
    case = _load(path)
    args = (_b64(case["leafHash"]), case["leafIdx"], case["treeSize"], _proof(case["proof"]))
    root = _b64(case["root"])
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_inclusion(*args, root)
    else:
        assert merkle.verify_inclusion(*args, root) is None
        assert merkle.root_from_inclusion(*args) == root


@pytest.mark.parametrize("path", CONSISTENCY, ids=_ids(CONSISTENCY, "consistency"))
def test_consistency_probe(path: Path) -> None:
    case = _load(path)
    args = (
        case["size1"],
        case["size2"],
        _proof(case["proof"]),
        _b64(case["root1"]),
        _b64(case["root2"]),
    )
    if case["wantErr"]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(*args)
    else:
        assert merkle.verify_consistency(*args) is None


def test_leaf_and_node_hash_prefixes() -> None:
    # RFC 9162 2.1.1: the empty-leaf hash and a two-leaf root, computed independently.
    import hashlib

    a, b = merkle.leaf_hash(b""), merkle.leaf_hash(b"\x01")
    assert a == hashlib.sha256(b"\x00").digest()
    assert merkle.node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
