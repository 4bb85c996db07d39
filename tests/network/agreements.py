"""Test helper: offer an asset on a running provider and negotiate it from a consumer over DSP."""

from __future__ import annotations

from typing import Any

import httpx

OPEN = {"permission": [{"action": "use"}]}


def _client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"})


def _ok(response: httpx.Response, *codes: int) -> Any:
    assert response.status_code in (codes or (200,)), f"{response.request.url}: {response.text}"
    return response.json() if response.content else {}


def offer(
    url: str, token: str, asset: str, kind: str, source: dict, policy: dict | None = None
) -> None:
    """Create an asset, its policy and an auto-approved contract definition on a provider."""
    with _client(url, token) as http:
        body = {"id": asset, "kind": kind, "source": source}
        _ok(http.post("/management/assets", json=body), 201)
        _ok(http.post("/management/policies", json={"id": asset, "policy": policy or OPEN}), 201)
        definition = {"id": asset, "policy": asset, "assets": [asset], "approval": "auto"}
        _ok(http.post("/management/contract-definitions", json=definition), 201)


def negotiate(url: str, token: str, provider_did: str, asset: str) -> str:
    """Negotiate the provider's offer on `asset` from the consumer at `url`; the agreement id."""
    with _client(url, token) as http:
        catalog = _ok(http.post("/management/catalog", json={"peer": provider_did}))["catalog"]
        datasets = [d for d in catalog.get("dataset", []) if d["@id"] == asset]
        assert datasets, f"{asset} is not in {provider_did}'s catalog"
        chosen = {**datasets[0]["hasPolicy"][0], "target": asset}
        body = {"peer": provider_did, "offer": chosen}
        started = _ok(http.post("/management/negotiations", json=body), 201)
        params = {"wait": "FINALIZED", "timeout": "20"}
        done = _ok(http.get(f"/management/negotiations/{started['id']}", params=params))
        assert done["state"] == "FINALIZED", done
        return done["agreement"]


def revoke(url: str, token: str, agreement: str, reason: str = "test") -> None:
    with _client(url, token) as http:
        _ok(http.post(f"/management/agreements/{agreement}/revoke", json={"reason": reason}))
