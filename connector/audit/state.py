"""The checkpoints an auditor has seen per node, kept between audits to catch split views."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STATE_FILE = "checkpoints.json"


def load_state(folder: Path) -> dict[str, Any]:
    path = folder / STATE_FILE
    if not path.exists():
        return {"v": 1, "nodes": {}}
    data = json.loads(path.read_text("utf-8"))
    if data.get("v") != 1:
        raise ValueError(f"{path}: unknown checkpoint state version {data.get('v')!r}")
    return data


def save_state(folder: Path, state: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE_FILE).write_text(json.dumps(state, indent=1, sort_keys=True), "utf-8")
