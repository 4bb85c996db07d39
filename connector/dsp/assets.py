"""The AssetProvider seam: how the data plane reads the data behind an asset, by kind.

Built in: `json-document` (a JSON document stored, and ledgered, with the asset) and
`ledger-entries` (this node's ledger entries of one payload type); `connector.dsp.providers`
adds `footprints`, `quality-records` and `epcis-events` when those stores are installed.
Other packages register their kinds with `register_provider`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select

from connector.node import Node
from ledger import store

Problems = list[tuple[str, str]]


@runtime_checkable
class AssetProvider(Protocol):
    """Serves the data of one asset kind. `source` is what the operator gave at creation."""

    kind: str
    description: str

    def check(self, source: Mapping[str, Any]) -> Problems:
        """Problems with `source` as `(json_path, message)`; empty when it is usable."""
        ...

    def fetch(
        self, node: Node, source: Mapping[str, Any], params: Mapping[str, str]
    ) -> tuple[bytes, str]:
        """The asset's current data and its media type; `params` are the consumer's query."""
        ...


class JsonDocumentProvider:
    kind = "json-document"
    description = "a JSON document stored (and ledgered) with the asset: source {document}"

    def check(self, source: Mapping[str, Any]) -> Problems:
        return [] if "document" in source else [("$.source.document", "required")]

    def fetch(self, node: Node, source: Mapping[str, Any], params: Mapping[str, str]):
        return json.dumps(source["document"], ensure_ascii=False).encode(), "application/json"


class LedgerEntriesProvider:
    kind = "ledger-entries"
    description = "this node's ledger entries of one payload type: source {type, limit?}"

    def check(self, source: Mapping[str, Any]) -> Problems:
        if not isinstance(source.get("type"), str) or not source["type"]:
            return [("$.source.type", "a ledger payload type is required")]
        return []

    def fetch(self, node: Node, source: Mapping[str, Any], params: Mapping[str, str]):
        table = store.entry_table
        limit = min(int(source.get("limit", 1000)), 10_000)
        with node.engine.connect() as conn:
            bodies = conn.execute(
                select(table.c.body)
                .where(table.c.type == source["type"])
                .order_by(table.c.seq.desc())
                .limit(limit)
            ).scalars()
            entries = [json.loads(bytes(b)) for b in bodies]
        return json.dumps(entries, ensure_ascii=False).encode(), "application/json"


_PROVIDERS: dict[str, AssetProvider] = {}


def register_provider(provider: AssetProvider) -> None:
    """Make an asset kind available; a kind can be registered once."""
    if not isinstance(provider, AssetProvider):
        raise TypeError(f"{provider!r} does not implement AssetProvider")
    known = _PROVIDERS.get(provider.kind)
    if known is not None and known is not provider:
        raise ValueError(f"asset kind {provider.kind!r} is already registered")
    _PROVIDERS[provider.kind] = provider


def provider_for(kind: str) -> AssetProvider:
    register_known_providers()
    try:
        return _PROVIDERS[kind]
    except KeyError:
        raise KeyError(f"unknown asset kind {kind!r}; known: {', '.join(kinds())}") from None


def kinds() -> list[str]:
    register_known_providers()
    return sorted(_PROVIDERS)


# Modules exposing `asset_providers()`; absent ones are skipped.
_OPTIONAL = ("connector.dsp.providers",)
_loaded = False


def register_known_providers() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for provider in (JsonDocumentProvider(), LedgerEntriesProvider()):
        if provider.kind not in _PROVIDERS:
            register_provider(provider)
    for name in _OPTIONAL:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for provider in module.asset_providers():
            register_provider(provider)
