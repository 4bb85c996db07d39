"""The profile context, read by an independent JSON-LD processor (PyLD), gives our left operands
the IRIs that the parser's canonical names stand for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld

from policies.parse import parse_policy
from policies.profile import PROFILE_CONTEXT_URL, profile_context
from policies.vocabulary import ODRL, TS

DSP_CONTEXT = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "dsp"
DSP_URL = "https://w3id.org/dspace/2025/1/context.jsonld"
ODRL_PROFILE_URL = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld"


@pytest.fixture(scope="module")
def loader():
    if not (DSP_CONTEXT / "context").is_dir():
        pytest.skip(f"DSP contexts not found under {DSP_CONTEXT}")
    documents = {
        DSP_URL: json.loads((DSP_CONTEXT / "context/dspace.jsonld").read_text("utf-8")),
        ODRL_PROFILE_URL: json.loads((DSP_CONTEXT / "context/odrl.jsonld").read_text("utf-8")),
        PROFILE_CONTEXT_URL: profile_context(),
    }

    def load(url: str, _options: Any = None) -> dict:
        return {"contextUrl": None, "documentUrl": url, "document": documents[url]}

    return load


VALID = {
    "dateTime": "2025-01-01T00:00:00Z",
    "elapsedTime": "P1D",
    "count": 1,
    "payAmount": 1,
    "classificationLevel": 1,
}


def _iri(name: str) -> str:
    return TS + name[3:] if name.startswith("ts:") else ODRL + name


@pytest.mark.parametrize(
    "left",
    [
        "dateTime",
        "elapsedTime",
        "count",
        "purpose",
        "spatial",
        "recipient",
        "event",
        "payAmount",
        "partnerRole",
        "classificationLevel",
        "membershipCredential",
        "ts:partnerRole",
    ],
)
def test_left_operand_expands_to_the_iri_of_its_canonical_name(loader, left: str) -> None:
    right = VALID.get(left, "x")
    offer = {
        "@context": [ODRL_PROFILE_URL, PROFILE_CONTEXT_URL],
        "@id": "urn:p",
        "@type": "Offer",
        "permission": [
            {
                "action": "use",
                "constraint": [{"leftOperand": left, "operator": "eq", "rightOperand": right}],
            }
        ],
    }
    expanded = jsonld.expand(offer, {"documentLoader": loader})
    constraint = expanded[0][ODRL + "permission"][0][ODRL + "constraint"][0]
    (operand,) = constraint[ODRL + "leftOperand"]
    parsed = parse_policy({k: v for k, v in offer.items() if k != "@context"})
    canonical = parsed.permissions[0].constraints[0].left_operand
    assert operand["@id"] == _iri(canonical)
