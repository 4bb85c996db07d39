"""The EPCIS 2.0 JSON-LD contexts: pinned by SHA-256, loaded from a package, never fetched."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from schemas.errors import ContextIntegrityError, RecordNotFound

# GS1's contexts are not openly licensed, so we do not bundle them: the MIT-licensed
# `epcis-event-hash-generator` package ships byte copies, named after their SHA-256.
CONTEXT_PACKAGE = "epcis_event_hash_generator"
CONTEXT_2_0_0_SHA256 = "e532647e8eb371379b8b0e8602d8981c8566bc60f7351f22c76a5bc865962008"
CONTEXT_GITHUB_SHA256 = "14b10c9d3e92d35f577bfc610fe5ec15aa2941124987919389d7cd9998516861"

EPCIS_CONTEXT_URL = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
EPCIS_CONTEXT_2_0_0_URL = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EPCIS_CONTEXT_GITHUB_URL = "https://gs1.github.io/EPCIS/epcis-context.jsonld"

PINNED_CONTEXTS: dict[str, str] = {
    # The unversioned URL serves the current ratified release, which is 2.0.0.
    EPCIS_CONTEXT_URL: CONTEXT_2_0_0_SHA256,
    EPCIS_CONTEXT_2_0_0_URL: CONTEXT_2_0_0_SHA256,
    # Pre-ratification copy; differs from 2.0.0 in one datatype (xsd:decimal vs xsd:double).
    EPCIS_CONTEXT_GITHUB_URL: CONTEXT_GITHUB_SHA256,
}
"""Every `@context` URL an EPCIS document may use, mapped to the SHA-256 of its content."""


def is_known_context(url: str) -> bool:
    """Whether `url` is one of the pinned EPCIS context URLs."""
    return url in PINNED_CONTEXTS


def context_path(url: str) -> Path:
    """Filesystem path of the pinned context for `url`, after checking its SHA-256."""
    digest = PINNED_CONTEXTS.get(url)
    if digest is None:
        raise RecordNotFound(f"unknown EPCIS context {url!r}")
    try:
        path = Path(str(resources.files(CONTEXT_PACKAGE).joinpath(f"{digest}.jsonld")))
    except ModuleNotFoundError as exc:
        raise ContextIntegrityError(
            f"EPCIS contexts need the {CONTEXT_PACKAGE!r} package (pip install "
            "epcis-event-hash-generator)"
        ) from exc
    _check_digest(path, digest)
    return path


@cache
def _check_digest(path: Path, digest: str) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContextIntegrityError(f"pinned EPCIS context {path} is missing") from exc
    if hashlib.sha256(data).hexdigest() != digest:
        raise ContextIntegrityError(f"EPCIS context {path} does not match SHA-256 {digest}")


@cache
def load_context(url: str) -> dict[str, Any]:
    """The parsed pinned context document for `url` (shared; do not mutate)."""
    return json.loads(context_path(url).read_bytes())


def register_contexts() -> list[str]:
    """Register every pinned EPCIS context with the shared offline JSON-LD context registry.

    Uses `schemas.jsonld.register_context` when it exists, else the bundled
    `schemas.contexts.BUNDLED` registry; returns the URLs registered (empty if neither exists).
    """
    try:
        from schemas.jsonld import register_context  # type: ignore[attr-defined]
    except ImportError:
        try:
            from schemas.contexts import BUNDLED
        except ImportError:
            return []
        for url, digest in PINNED_CONTEXTS.items():
            BUNDLED.register(url, context_path(url), digest)
        return list(PINNED_CONTEXTS)
    for url in PINNED_CONTEXTS:
        register_context(url, context_path(url))
    return list(PINNED_CONTEXTS)
