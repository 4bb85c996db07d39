"""Regenerates the bundled PACT JSON Schemas from the PACT OpenAPI files (maintenance only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCES = {
    "3.0.4": "openapi_v3_0.yaml",
    "2.3.3": "openapi_v2_3.yaml",
}
ROOTS = {
    "3.0.4": [
        "ProductFootprint",
        "Error",
        "PublishedEvent",
        "RequestCreatedEvent",
        "RequestFulfilledEvent",
        "RequestRejectedEvent",
    ],
    "2.3.3": [
        "ProductFootprint",
        "Error",
        "PublishedEvent",
        "RequestCreatedEvent",
        "RequestFulfilledEvent",
        "RequestRejectedEvent",
    ],
}


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and value.startswith("#/components/schemas/"):
                out[key] = "#/$defs/" + value.removeprefix("#/components/schemas/")
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def extract(openapi_dir: Path) -> None:
    """Write `pact-<version>.schema.json` for each source OpenAPI file."""
    import yaml  # only needed when regenerating

    for version, name in SOURCES.items():
        spec = yaml.safe_load((openapi_dir / name).read_text(encoding="utf-8"))
        defs = _rewrite_refs(spec["components"]["schemas"])
        bundle = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://w3id.org/tracespace/schemas/pact/{version}",
            "title": f"PACT Technical Specifications {version} component schemas",
            "x-source": {
                "repository": "wbcsd/pact-conformance-service",
                "path": f"src/schemas/{name}",
                "commit": "839bfe8cd27f30cf60f30e3265f2f2db330f5b04",
                "licence": "MIT, see LICENSE-wbcsd-pact-conformance-service.txt",
            },
            "x-roots": ROOTS[version],
            "$defs": defs,
        }
        out = HERE / f"pact-{version}.schema.json"
        out.write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    extract(Path(sys.argv[1]))
