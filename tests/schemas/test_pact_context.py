"""Our PACT v3 JSON-LD context defines every property of the official v3 schema."""

import json
from pathlib import Path

from pyld import jsonld

from schemas.pact import CONTEXT_URL
from schemas.pact.schema import V3, bundle

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = json.loads((ROOT / "schemas/pact/context-v1.jsonld").read_text(encoding="utf-8"))
DATA = Path(__file__).resolve().parent / "data"


def loader(url, options=None):
    assert url == CONTEXT_URL
    return {"contextUrl": None, "documentUrl": url, "document": CONTEXT}


def test_every_schema_property_has_a_term():
    defs = bundle(V3)["$defs"]
    names = {
        name
        for component in (
            "ProductFootprint",
            "CarbonFootprint",
            "DataQualityIndicators",
            "Verification",
            "EmissionFactorSource",
            "ProductOrSectorSpecificRule",
            "DataModelExtension",
        )
        for name in defs[component]["properties"]
    }
    assert names <= set(CONTEXT["@context"])


def test_fixture_expands_without_dropping_anything():
    doc = json.loads((DATA / "pact-v3-footprint.json").read_text(encoding="utf-8"))
    doc["@context"] = CONTEXT_URL
    expanded = jsonld.expand(doc, {"documentLoader": loader})
    compacted = jsonld.compact(expanded, CONTEXT_URL, {"documentLoader": loader})
    compacted.pop("@context")
    doc.pop("@context")
    assert set(compacted) == set(doc)
    assert set(compacted["pcf"]) == set(doc["pcf"])
    typed = expanded[0]["https://w3id.org/tracespace/vocab/pact#pcf"][0]
    amount = typed["https://w3id.org/tracespace/vocab/pact#declaredUnitAmount"][0]
    assert amount == {"@type": "http://www.w3.org/2001/XMLSchema#decimal", "@value": "10"}
