"""Write the audit report: `report.json` (format v1) and a readable `report.html`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


def write_report(out: Path, report: dict[str, Any]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    data = out / "report.json"
    data.write_text(json.dumps(report, indent=1, ensure_ascii=False), "utf-8")
    env = Environment(
        loader=PackageLoader("connector.audit", "."), autoescape=select_autoescape(default=True)
    )
    failed = {f["node"] for f in report["failures"]}
    html = env.get_template("report.html").render(
        r=report, parties=report["parties"], failed_nodes=failed
    )
    page = out / "report.html"
    page.write_text(html, "utf-8")
    return data, page
