"""Registry of the JSON-LD context files bundled with tracespace, each pinned by SHA-256."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.errors import ContextIntegrityError, JsonLdError

INDEX = Path(__file__).with_name("index.json")
INDEX_VERSION = 1


@dataclass(frozen=True)
class BundledContext:
    """One context URL served from a local file whose bytes must hash to `sha256`."""

    url: str
    path: Path
    sha256: str


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ContextRegistry:
    """Maps context URLs to pinned local files; loads (and checks) each file once."""

    def __init__(self) -> None:
        self._entries: dict[str, BundledContext] = {}
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_index(cls, index: Path) -> ContextRegistry:
        """A registry holding every context listed in an `index.json` (format `"v": 1`)."""
        data = json.loads(index.read_text(encoding="utf-8"))
        if data.get("v") != INDEX_VERSION:
            raise ContextIntegrityError(
                f"{index}: unsupported context index version {data.get('v')!r}"
            )
        registry = cls()
        for url, entry in data["contexts"].items():
            registry.register(url, index.parent / entry["file"], entry["sha256"])
        return registry

    def register(self, url: str, path: Path | str, sha256: str | None = None) -> None:
        """Serve `url` from `path`.

        Pass the file's `sha256` to pin it in source code; when omitted, the hash of the file as
        it is now is pinned, so later changes to the file are still caught at load time.
        Registering the same URL again is allowed only with the same file and hash.
        """
        path = Path(path).resolve()
        if not path.is_file():
            raise ContextIntegrityError(f"context file for {url} not found: {path}")
        pinned = (sha256 or file_sha256(path)).lower()
        entry = BundledContext(url, path, pinned)
        with self._lock:
            known = self._entries.get(url)
            if known is not None and known != entry:
                raise ContextIntegrityError(
                    f"context {url} is already registered from {known.path} "
                    f"(sha256 {known.sha256}); refusing to replace it with {path}"
                )
            self._entries[url] = entry

    def __contains__(self, url: object) -> bool:
        return url in self._entries

    def urls(self) -> frozenset[str]:
        """Every context URL this registry serves."""
        return frozenset(self._entries)

    def entry(self, url: str) -> BundledContext:
        """The pinned file behind `url`; JsonLdError when the URL is not bundled."""
        try:
            return self._entries[url]
        except KeyError:
            raise JsonLdError(
                f"JSON-LD context {url!r} is not bundled with tracespace; "
                "remote contexts are never fetched"
            ) from None

    def load(self, url: str) -> Any:
        """The parsed context document for `url` (a private copy the caller may change)."""
        with self._lock:
            document = self._loaded.get(url)
            if document is None:
                document = self._read_checked(self.entry(url))
                self._loaded[url] = document
        return copy.deepcopy(document)

    @staticmethod
    def _read_checked(entry: BundledContext) -> Any:
        raw = entry.path.read_bytes()
        actual = hashlib.sha256(raw).hexdigest()
        if actual != entry.sha256:
            raise ContextIntegrityError(
                f"bundled context {entry.url} ({entry.path}) has sha256 {actual}, "
                f"expected {entry.sha256}: the file was modified"
            )
        return json.loads(raw)


BUNDLED = ContextRegistry.from_index(INDEX)
"""The process-wide registry: `index.json` plus whatever `register_context` added."""


def register_context(url: str, path: Path | str, sha256: str | None = None) -> None:
    """Add a context file shipped by another package (e.g. `schemas/pact/`) to `BUNDLED`."""
    BUNDLED.register(url, path, sha256)


def load_context(url: str) -> Any:
    """The parsed bundled context for `url`, its hash checked on first load."""
    return BUNDLED.load(url)
