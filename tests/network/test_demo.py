"""`tracespace demo` end to end in a subprocess: every step runs, every ledger verifies
independently of the demo's own checks, and no node process outlives the demo, also when
it is interrupted with SIGINT in the middle of the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connector.scenario.parties import PARTIES
from connector.scenario.steps import STEPS
from ledger.bundle import verify_bundle
from ledger.errors import VerificationError
from ledger.verify import verify_database

DEMO_TIMEOUT = 600  # generous: the machine may be shared; the demo itself takes far less


def _alive(pid: int) -> bool:
    """True when `pid` runs and is not a zombie (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        status = Path(f"/proc/{pid}/status")
        try:
            text = status.read_text()
        except (FileNotFoundError, ProcessLookupError):
            return False
        state = next(line for line in text.splitlines() if line.startswith("State:"))
        return "zombie" not in state
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _pids(out: Path) -> list[int]:
    return [int(p) for p in (out / "nodes" / "pids").read_text().split()]


def _demo(out: Path, **kwargs) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "300"}
    return subprocess.Popen(
        [sys.executable, "-m", "connector", "demo", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        **kwargs,
    )


def test_demo_runs_every_step_and_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = _demo(out)
    try:
        output, _ = proc.communicate(timeout=DEMO_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    lines = output.splitlines()
    for number, (title, _) in enumerate(STEPS, start=1):
        assert any(line.startswith(f"✓ {number}. {title}") for line in lines), (title, output)
    assert "✗" not in output and "Traceback" not in output

    pids = _pids(out)
    assert len(pids) == len(PARTIES)
    assert not [pid for pid in pids if _alive(pid)]

    # Each node's database, checked by the ledger library directly (not the demo's path).
    for party in PARTIES:
        report = verify_database(f"sqlite:///{out / 'nodes' / party.name / 'ledger.db'}")
        assert report.ok, (party.name, report.error)
    # The bundles the regulator built from the public routes verify with each node's key,
    # and a changed entry does not.
    bundle_path = out / "audit" / "ledgers" / "yarn-mill.bundle.json"
    bundle = json.loads(bundle_path.read_text())
    vkey = (out / "audit" / "ledgers" / "yarn-mill.vkey").read_text().strip()
    assert verify_bundle(bundle, vkey).size == len(bundle["entries"])
    bundle["entries"][-1]["payload"] = {"forged": True}
    with pytest.raises(VerificationError):
        verify_bundle(bundle, vkey)

    # What the summary points at exists.
    for relative in (
        "consumer/garment-qr.svg",
        "contracts/agreements.json",
        "footprints/brand-garment.json",
        "quality/yarn-coa.json",
        "audit/trace-garment.json",
        "audit/recall-yarn-5.json",
    ):
        assert (out / relative).is_file(), relative
    assert "consumer page: http://127.0.0.1:" in output
    recall = json.loads((out / "audit" / "recall-yarn-5.json").read_text())
    assert len(recall["affected"]["serials"]) == 24
    assert recall["complete"]


def test_sigint_in_the_middle_stops_every_node(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = _demo(out)
    seen: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + DEMO_TIMEOUT
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("✓ 1."):
                break
            assert time.monotonic() < deadline, "".join(seen)
        else:
            pytest.fail("the demo ended before step 1:\n" + "".join(seen))
        pids = _pids(out)
        assert [pid for pid in pids if _alive(pid)], "the nodes should be running mid-demo"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert "Traceback" not in rest, rest
    assert not [pid for pid in pids if _alive(pid)]
