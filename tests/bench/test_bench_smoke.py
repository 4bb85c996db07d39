"""Smoke test of bench/ledger.py: the quick run completes and reports every ratio."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "ledger.py"


def test_quick_run_prints_ratios_and_appends_a_section(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## an earlier run\n\nkept as it was\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--write", "--docs", str(docs)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    ratios = re.findall(r"ratio +[0-9.,]+ to ", out)
    # appends (SQLite at least: 2), proofs (2 kinds x 3 sizes, 2 pymerkle figures each,
    # plus 2 kinds x 2 scaling ratios) and verification (2)
    assert len(ratios) >= 2 + 12 + 4 + 2, out
    for figure in ("append_many(", "single append", "inclusion proof", "consistency proof"):
        assert figure in out
    assert "verify_database per core" in out
    summary = out[out.index("\nGoals:") :]
    assert len(re.findall(r"^  (met|NOT MET) ", summary, re.M)) >= 6, summary
    text = docs.read_text()
    assert text.startswith("# Benchmarks\n\n## an earlier run\n\nkept as it was\n")
    assert "`bench/ledger.py` (quick run)" in text
    assert "- CPU: " in text and "- SQLite: " in text
    assert "| inclusion proof at" in text


def test_quick_run_without_write_leaves_the_docs_alone(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--no-postgres", "--docs", str(docs)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "PostgreSQL skipped (--no-postgres)" in result.stdout
    assert "PostgreSQL: append_many" not in result.stdout
    assert not docs.exists()
