"""Two real nodes on loopback: a regulator witnesses a plant's ledger and hands back its
cosignature, which the plant then serves with its checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.demo import free_port, start_node
from connector.node import init_node
from ledger.checkpoint import format_cosigner_vkey, open_checkpoint, verify_cosignature
from ledger.note import parse_vkey
from tests.network.chain import tracespace


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[dict[str, tuple[Path, str]]]:
    nodes, procs = {}, []
    try:
        for name in ("plant", "regulator"):
            port = free_port()
            folder = tmp_path / name
            init_node(folder, name, [], port=port).close()
            procs.append(start_node(folder, port))
            nodes[name] = (folder, f"http://127.0.0.1:{port}")
        yield nodes
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_regulator_cosigns_and_plant_serves_the_witnessed_checkpoint(two_nodes) -> None:
    (plant_dir, plant_url), (reg_dir, reg_url) = two_nodes["plant"], two_nodes["regulator"]
    token = (plant_dir / "operator.token").read_text().strip()
    for side, other in ((plant_dir, reg_url), (reg_dir, plant_url)):
        result = tracespace("peer", "add", other, "--yes", "--dir", str(side))
        assert result.returncode == 0, result.stderr

    with httpx.Client(base_url=plant_url, timeout=10) as plant:
        for i in range(5):
            plant.post(
                "/ledger/entries",
                params={"type": "t.e"},
                json={"i": i},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()
        first = tracespace("ledger", "cosign", plant_url, "--dir", str(reg_dir))
        assert first.returncode == 0, first.stderr
        plant.post(
            "/ledger/entries",
            params={"type": "t.e"},
            json={"i": 99},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
        # The second round needs a consistency proof from the size seen in the first.
        second = tracespace("ledger", "cosign", plant_url, "--dir", str(reg_dir))
        assert second.returncode == 0, second.stderr

        witnessed = plant.get("/ledger/checkpoint/witnessed").text
        vkey = plant.get("/ledger/key").text.strip()
        reg_did = httpx.get(reg_url + "/.well-known/did.json").json()
    cp, _ = open_checkpoint(witnessed, vkey)
    assert cp.size == 7  # genesis + 5 + 1
    reg_key = parse_vkey(httpx.get(reg_url + "/ledger/key").text.strip())
    witness_vkey = format_cosigner_vkey(reg_key.name, reg_key.public_key)
    assert verify_cosignature(witnessed, witness_vkey) > 0
    assert reg_did["id"].startswith("did:web:127.0.0.1")


def test_cosignature_from_an_untrusted_node_is_refused(two_nodes) -> None:
    (_, plant_url), (reg_dir, _) = two_nodes["plant"], two_nodes["regulator"]
    # The regulator trusts the plant, but the plant does not trust the regulator.
    assert tracespace("peer", "add", plant_url, "--yes", "--dir", str(reg_dir)).returncode == 0
    result = tracespace("ledger", "cosign", plant_url, "--dir", str(reg_dir))
    assert result.returncode != 0
    assert "401" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(httpx.HTTPStatusError):
        httpx.get(plant_url + "/ledger/checkpoint/witnessed").raise_for_status()
