"""The bundled official PACT JSON Schemas (v3.0.4, v2.3.3) and their layer-1 validators."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

V3 = "3.0.4"
V2 = "2.3.3"
SPEC_VERSION_V3 = "3.0.0"
"""The `specVersion` we write into footprints we produce (PACT v3.0)."""


@cache
def bundle(version: str) -> dict[str, Any]:
    """The bundled schema file for a PACT version: `$defs` holds every component schema."""
    name = f"pact-{version}.schema.json"
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def root_schema(version: str, component: str) -> dict[str, Any]:
    """A schema that validates one named component (e.g. `ProductFootprint`) of a version."""
    defs = bundle(version)["$defs"]
    if component not in defs:
        raise KeyError(f"PACT {version} has no component schema {component!r}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/$defs/{component}",
        "$defs": defs,
    }


@cache
def official_validator(version: str, component: str) -> Draft202012Validator:
    """Layer 1: the official schema with JSON Schema format assertions switched on."""
    return Draft202012Validator(root_schema(version, component), format_checker=FormatChecker())


@cache
def oauth_token_validator(kind: str) -> Draft202012Validator:
    """Validator for an OAuth 2.0 token response (`success`) or error response (`error`)."""
    text = resources.files(__package__).joinpath("oauth-token.schema.json").read_text("utf-8")
    schema = json.loads(text)
    rooted = {"$ref": f"#/$defs/{kind}", "$defs": schema["$defs"]}
    return Draft202012Validator(rooted, format_checker=FormatChecker())


def spec_version_of(doc: Any) -> str:
    """The bundled schema version that matches a footprint's `specVersion` (2.x or 3.x)."""
    declared = doc.get("specVersion") if isinstance(doc, dict) else None
    if isinstance(declared, str) and declared.startswith("2."):
        return V2
    return V3
