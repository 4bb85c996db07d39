"""Validation against Catena-X SAMM-generated JSON Schemas (draft-04), bundled or given."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator, FormatChecker

from schemas.errors import InvalidRecord

# Bundled from eclipse-tractusx/sldt-semantic-models (gen/<Aspect>-schema.json of each model),
# CC-BY-4.0: see the LICENSE and NOTICE files here. PCF 9.0.0 and CoA 2.0.0 are from commit
# 9adcc37defb4b113ef841916a832377e9f941aaa, PCF 10.0.0 from commit
# 08a927999b257c2339160cfa0179f3c6372d1e9e (io.catenax.pcf/10.0.0/gen/Pcf-schema.json).
BUNDLED = {
    "io.catenax.pcf:9.0.0": "pcf-9.0.0.schema.json",
    "io.catenax.pcf:10.0.0": "pcf-10.0.0.schema.json",
    "io.catenax.certificate_of_analysis:2.0.0": "certificate_of_analysis-2.0.0.schema.json",
}


@cache
def _validator_for(model: str) -> Draft4Validator:
    if model not in BUNDLED:
        raise KeyError(f"no bundled Catena-X schema for {model!r}; known: {sorted(BUNDLED)}")
    text = resources.files(__package__).joinpath(BUNDLED[model]).read_text(encoding="utf-8")
    return schema_validator(json.loads(text))


def schema_validator(schema: dict[str, Any]) -> Draft4Validator:
    """A draft-04 validator with format checks for a Catena-X generated schema."""
    return Draft4Validator(schema, format_checker=FormatChecker())


def problems(doc: Any, model: str) -> list[tuple[str, str]]:
    """`(json_path, message)` for every schema violation of `doc` against a bundled model."""
    errors = _validator_for(model).iter_errors(doc)
    return sorted({(e.json_path, e.message) for e in errors})


def validate_aspect(doc: Any, model: str = "io.catenax.pcf:9.0.0") -> None:
    """Raise InvalidRecord unless `doc` satisfies the bundled schema of `model`."""
    found = problems(doc, model)
    if found:
        raise InvalidRecord(found)
