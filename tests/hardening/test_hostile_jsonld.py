"""Hostile JSON-LD over HTTP: every endpoint that takes JSON-LD refuses it with a 4xx, offline.

Documents: a remote `@context`, an unknown one, very deep nesting, huge arrays, a context
whose terms blow up on expansion, and a blank-node graph that blows up RDFC-1.0
canonicalization (the symmetric-graph case of pyld issue #179). The network guard
(conftest) refuses and records any non-loopback connection or DNS lookup: there must be none.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from connector.events import example as ex
from tests.hardening.conftest import Outbound
from tests.hardening.harness import Harness

REMOTE = "https://contexts.evil.example/ctx.jsonld"


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"n": value}
    return value


def _nested_text(depth: int) -> str:
    # Built as text: json.dumps itself would hit the recursion limit.
    return '{"n":' * depth + "1" + "}" * depth


def _exploding_context(levels: int = 30) -> dict[str, Any]:
    # Each term's scoped context redefines the next; expansion repeats work per level.
    ctx: dict[str, Any] = {"@vocab": "urn:x:"}
    for i in range(levels):
        ctx[f"t{i}"] = {"@id": f"urn:x:t{i}", "@context": {f"t{i + 1}": f"urn:x:t{i + 1}"}}
    return ctx


def _symmetric_blank_graph(n: int = 24) -> list[dict[str, Any]]:
    # Every blank node linked to every other: isomorphic nodes, factorial permutations.
    return [
        {"@id": f"_:b{i}", "urn:x:p": [{"@id": f"_:b{j}"} for j in range(n) if j != i]}
        for i in range(n)
    ]


def epcis_base() -> dict[str, Any]:
    return ex.document(ex.resin_plant("did:web:127.0.0.1%3A9"))


def dsp_base() -> dict[str, Any]:
    return {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "offer": {
            "@id": "urn:uuid:offer-1",
            "@type": "Offer",
            "target": "urn:uuid:asset-1",
            "permission": [{"action": "use"}],
        },
        "callbackAddress": "http://127.0.0.1:18081/dsp",
    }


def record_base() -> dict[str, Any]:
    return {"@context": ["https://w3id.org/tracespace/records/v1"], "specVersion": "3.0.0"}


# endpoint → (method, path, identity, base document, where the hostile payload goes)
ENDPOINTS: dict[str, tuple[str, str, str, Callable[[], dict[str, Any]], str]] = {
    "epcis-capture": ("POST", "/epcis/capture", "operator", epcis_base, "epcisBody"),
    "dsp-negotiation": ("POST", "/dsp/negotiations/request", "peer", dsp_base, "offer"),
    "dsp-catalog": (
        "POST",
        "/dsp/catalog/request",
        "peer",
        lambda: {
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "CatalogRequestMessage",
        },
        "filter",
    ),
    "records-footprint": (
        "POST",
        "/management/records/footprints",
        "operator",
        record_base,
        "extensions",
    ),
    "records-quality": (
        "POST",
        "/management/records/quality",
        "operator",
        record_base,
        "subject",
    ),
}


def hostile(kind: str, base: dict[str, Any], slot: str) -> str:
    doc = copy.deepcopy(base)
    if kind == "remote-context":
        doc["@context"] = [REMOTE]
    elif kind == "remote-context-nested":
        doc[slot] = {"@context": REMOTE, "x": 1}
    elif kind == "unknown-context":
        doc["@context"] = ["urn:x-unknown:context"]
    elif kind == "context-import":
        doc["@context"] = [{"@import": REMOTE, "@version": 1.1}]
    elif kind == "deep-nesting":
        doc[slot] = "__DEEP__"
        return json.dumps(doc).replace('"__DEEP__"', _nested_text(100_000))
    elif kind == "moderately-deep":
        doc[slot] = _nested(400)
    elif kind == "huge-array":
        doc[slot] = [{"@id": f"urn:x:{i}"} for i in range(200_000)]
    elif kind == "expansion-bomb":
        # A chain of term-scoped contexts, each use re-processing the context so far, and
        # many siblings per level: small text, large expansion work.
        doc["@context"] = [*list(doc.get("@context", [])), _exploding_context(40)]
        value: Any = {"@id": "urn:x:root"}
        for i in reversed(range(40)):
            value = {f"t{i}": [value, *({"@id": f"urn:x:{i}-{j}"} for j in range(200))]}
        doc[slot] = value
    elif kind == "canonicalization-bomb":
        doc["@graph"] = _symmetric_blank_graph()
    else:
        raise AssertionError(kind)
    return json.dumps(doc)


# A catalog request is a query that is never canonicalized: a blank-node graph beside its
# members is ignored (DSP messages allow extra members), so the bomb has nothing to explode.
HARMLESS = {("dsp-catalog", "canonicalization-bomb")}

KINDS = [
    "remote-context",
    "remote-context-nested",
    "unknown-context",
    "context-import",
    "deep-nesting",
    "moderately-deep",
    "huge-array",
    "expansion-bomb",
    "canonicalization-bomb",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_hostile_jsonld_is_refused_offline(
    harness: Harness, loopback_only: Outbound, endpoint: str, kind: str
) -> None:
    method, path, identity, base, slot = ENDPOINTS[endpoint]
    body = hostile(kind, base(), slot)
    headers = harness.operator if identity == "operator" else harness.peer_headers()
    headers = {**headers, "Content-Type": "application/ld+json"}
    before = harness.node.ledger.size
    response = harness.client.request(method, path, content=body, headers=headers)
    if (endpoint, kind) in HARMLESS:
        assert response.status_code == 200 and response.json()["@type"] == "Catalog"
    else:
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers["content-type"].endswith("json")
    assert not loopback_only.attempts, f"network access attempted: {loopback_only.attempts}"
    added = {harness.node.ledger.entry(s).type for s in range(before, harness.node.ledger.size)}
    assert added <= {"dsp.access"}, f"a refused document wrote {sorted(added)}"


def test_the_epcis_baseline_is_accepted(harness: Harness, loopback_only: Outbound) -> None:
    """The hostile variants differ from an accepted document only by the hostile part."""
    response = harness.client.post("/epcis/capture", json=epcis_base(), headers=harness.operator)
    assert response.status_code == 200, response.text[:500]
    assert not loopback_only.attempts
