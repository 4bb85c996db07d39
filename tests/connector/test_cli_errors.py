"""Every kind of bad command line gets one line on stderr and a non-zero exit, never a
traceback or a box."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BAD_COMMAND_LINES = [
    ["nosuch"],
    ["ledger", "append", "--bogus"],
    ["ledger", "prove", "not-a-number"],
    ["ledger", "verify", "--dir", "/nonexistent/node"],
    ["ledger", "export", "-o", "x.json", "--from", "-5", "--dir", "/nonexistent/node"],
    ["init", "--name", "Bad Name!", "--dir", "{tmp}/n"],
    ["id", "show", "not a handle", "--dir", "/nonexistent/node"],
    ["events", "capture", "--dir", "/nonexistent/node", "missing.json"],
]


@pytest.mark.parametrize("argv", BAD_COMMAND_LINES, ids=lambda a: " ".join(a)[:40])
def test_bad_command_line_is_one_line_error(argv: list[str], tmp_path: Path) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    result = subprocess.run(
        [sys.executable, "-m", "connector", *argv], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
