"""Find the ODRL policies inside Dataspace Protocol messages, catalogs and datasets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.errors import json_path
from policies.model import Policy
from policies.parse import parse_policy

_POLICY_KEYS = frozenset(
    ("offer", "agreement", "hasPolicy", "odrl:hasPolicy", "http://www.w3.org/ns/odrl/2/hasPolicy")
)
_MAX_DEPTH = 32


def find_policies(document: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Yield `(json_path, policy_json)` for each `offer`, `agreement` and `hasPolicy` entry."""
    yield from _walk(document, path, 0)


def _walk(node: Any, path: str, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, json_path(path, i), depth + 1)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        where = json_path(path, key)
        if key in _POLICY_KEYS:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    yield json_path(where, i), item
            else:
                yield where, value
        else:
            yield from _walk(value, where, depth + 1)


def parse_policies(document: Any, *, strict: bool = False) -> list[Policy]:
    """Parse every policy a DSP message or catalog carries (PolicyError on the first bad one)."""
    return [parse_policy(doc, strict=strict, path=where) for where, doc in find_policies(document)]
