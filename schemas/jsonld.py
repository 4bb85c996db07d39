"""Offline, bounded JSON-LD processing (expand, compact, RDFC-1.0 canonicalization) over pyld."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import factorial
from typing import Any

from cachetools import LRUCache
from pyld import jsonld as pyld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver

from schemas.contexts import BUNDLED, ContextRegistry
from schemas.errors import InvalidRecord, JsonLdError, Problem, RecordError, json_path

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "canonize",
    "check_document",
    "check_no_dropped_terms",
    "compact",
    "document_loader",
    "expand",
    "to_dataset",
]


@dataclass(frozen=True)
class Limits:
    """Bounds on untrusted input, checked before and during JSON-LD processing."""

    max_bytes: int = 2_000_000
    """Approximate size of the document serialized as JSON."""
    max_depth: int = 48
    max_array_length: int = 10_000
    max_nodes: int = 200_000
    """JSON values (objects, arrays, scalars) in the document, contexts included."""
    max_context_terms: int = 2_000
    """Term definitions in inline (non-bundled) contexts, scoped ones included."""
    max_scoped_context_work: int = 200_000
    """Inline scoped-context terms × JSON objects: pyld may re-apply each scoped context at
    every object, so many large scoped contexts over many objects explode expansion."""
    max_quads: int = 100_000
    max_blank_nodes: int = 10_000
    max_canon_work: int = 20_000
    """Budget for RDFC-1.0 n-degree hashing: calls plus blank-node permutations tried."""
    max_merge_work: int = 1_000_000
    """Budget for RDF conversion: pyld dedupes each subject's property values pairwise, so a
    property with k values costs k²/2 comparisons (about 1,400 values on one property)."""


DEFAULT_LIMITS = Limits()

_CONTEXT_CACHE_SIZE = 64


# ---------------------------------------------------------------------------
# The document loader: bundled contexts only, never the network.


def _inline_imports(document: Any, registry: ContextRegistry) -> Any:
    """Replace each `@import` in a bundled context by the imported definitions.

    This is the merge JSON-LD 1.1 prescribes (local entries win). Doing it here keeps pyld
    from caching processed scoped contexts that carry `@import`, which in pyld 3.3.0 lets one
    node's type-scoped context leak into another's (the DSP contexts trip it).
    """
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            url = value.get("@import")
            if isinstance(url, str):
                imported = registry.load(url)
                imported = imported.get("@context", imported) if isinstance(imported, dict) else {}
                if not isinstance(imported, dict) or "@import" in imported:
                    raise JsonLdError(f"bundled context {url} cannot be imported")
                merged = {**imported, **{k: v for k, v in value.items() if k != "@import"}}
                value.clear()
                value.update(merged)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return document


def document_loader(registry: ContextRegistry = BUNDLED) -> Callable[[str, Any], dict[str, Any]]:
    """A pyld document loader that serves only `registry`'s pinned contexts."""

    def load(url: str, options: Any = None) -> dict[str, Any]:
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": _inline_imports(registry.load(url), registry),
            "contentType": "application/ld+json",
        }

    return load


@dataclass
class _Offline:
    registry: ContextRegistry
    loader: Callable[[str, Any], dict[str, Any]]

    def options(self, **extra: Any) -> dict[str, Any]:
        # A fresh resolved-context cache per operation: with pyld 3.3.0's shared cache one
        # document could change how a later one expands (seen with the DSP contexts: after a
        # dcat:Dataset, a ContractAgreementMessage lost its `agreement`). The registry still
        # caches the parsed, hash-checked files, so this costs only context processing.
        return {
            "documentLoader": self.loader,
            "contextResolver": ContextResolver(LRUCache(maxsize=_CONTEXT_CACHE_SIZE), self.loader),
            "processingMode": "json-ld-1.1",
            **extra,
        }


_OFFLINE: dict[int, _Offline] = {}


def _offline(registry: ContextRegistry) -> _Offline:
    found = _OFFLINE.get(id(registry))
    if found is None or found.registry is not registry:
        found = _Offline(registry, document_loader(registry))
        _OFFLINE[id(registry)] = found
    return found


# ---------------------------------------------------------------------------
# Guards on the raw JSON, run before pyld sees anything.


def _children(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield json_path(path, key), child
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield json_path(path, index), child


def _scalar_size(value: Any, path: str) -> int:
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, int):
        return len(str(value)) if abs(value) < 10**30 else 40
    if isinstance(value, float):
        if not math.isfinite(value):
            raise JsonLdError("NaN and Infinity are not JSON", path)
        return 24
    raise JsonLdError(f"not a JSON value: {type(value).__name__}", path)


def _check_context(
    context: Any, path: str, registry: ContextRegistry, problems: list[Problem]
) -> int:
    """Check one `@context` value; returns how many inline term definitions it holds."""
    terms = 0
    entries = context if isinstance(context, list) else [context]
    for index, entry in enumerate(entries):
        where = json_path(path, index) if isinstance(context, list) else path
        if isinstance(entry, str):
            if entry not in registry:
                problems.append(
                    (
                        where,
                        f"remote or unknown JSON-LD context {entry!r}: only bundled "
                        "contexts are accepted and nothing is fetched",
                    )
                )
        elif isinstance(entry, dict):
            imported = entry.get("@import")
            if imported is not None and (not isinstance(imported, str) or imported not in registry):
                problems.append(
                    (
                        json_path(where, "@import"),
                        f"@import of remote or unknown context {imported!r} is not allowed",
                    )
                )
            terms += sum(1 for key in entry if isinstance(key, str) and not key.startswith("@"))
    return terms


def check_document(
    doc: Any,
    limits: Limits = DEFAULT_LIMITS,
    registry: ContextRegistry = BUNDLED,
    *,
    contexts: bool = True,
) -> None:
    """Reject hostile or unprocessable input with InvalidRecord before any JSON-LD work.

    Checks JSON types, nesting depth, array lengths, node count, approximate size, and every
    `@context` (remote or unknown URLs, `@import`s, inline term count, scoped-context work)
    unless `contexts` is false. Iterative, so deep input cannot exhaust the Python stack.
    """
    if not isinstance(doc, dict | list):
        raise JsonLdError("a JSON-LD document must be a JSON object or array")
    problems: list[Problem] = []
    nodes = objects = size = terms = scoped_terms = 0
    first_scoped = "$"
    # (path, value, depth, inside a @context value)
    stack: list[tuple[str, Any, int, bool]] = [("$", doc, 1, False)]
    while stack:
        path, value, depth, in_context = stack.pop()
        nodes += 1
        if nodes > limits.max_nodes:
            raise JsonLdError(f"document has more than {limits.max_nodes} JSON values", path)
        if depth > limits.max_depth:
            raise JsonLdError(f"document is nested deeper than {limits.max_depth} levels", path)
        if isinstance(value, dict):
            objects += 1
            size += 2
            for key in value:
                if not isinstance(key, str):
                    raise JsonLdError(f"object key {key!r} is not a string", path)
                size += len(key) + 3
            if contexts and "@context" in value:
                where = json_path(path, "@context")
                defined = _check_context(value["@context"], where, registry, problems)
                terms += defined
                if in_context and defined:
                    scoped_terms += defined
                    first_scoped = where if scoped_terms == defined else first_scoped
                if terms > limits.max_context_terms:
                    raise JsonLdError(
                        f"inline contexts define more than {limits.max_context_terms} terms", path
                    )
        elif isinstance(value, list):
            size += 2 + len(value)
            if len(value) > limits.max_array_length:
                raise JsonLdError(
                    f"array has {len(value)} items, more than {limits.max_array_length}", path
                )
        else:
            size += _scalar_size(value, path)
        if size > limits.max_bytes:
            raise JsonLdError(f"document is larger than {limits.max_bytes} bytes", path)
        for child_path, child in _children(value, path):
            inside = in_context or (isinstance(value, dict) and child is value.get("@context"))
            stack.append((child_path, child, depth + 1, inside))
    # pyld may re-process a scoped context at every object it applies to.
    if scoped_terms * objects > limits.max_scoped_context_work:
        raise JsonLdError(
            f"scoped contexts with {scoped_terms} terms over {objects} objects exceed the "
            f"expansion budget of {limits.max_scoped_context_work} term applications",
            first_scoped,
        )
    if problems:
        raise JsonLdError(problems)


def _check_context_argument(ctx: Any, registry: ContextRegistry) -> None:
    if isinstance(ctx, dict) and "@context" in ctx:
        ctx = ctx["@context"]
    check_document({"@context": ctx}, registry=registry)


# ---------------------------------------------------------------------------
# Running pyld with errors mapped onto ours.


def _own_cause(error: BaseException) -> RecordError | None:
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, RecordError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _run(operation: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except RecordError:
        raise
    except RecursionError as error:
        raise JsonLdError(f"{operation}: document or context is too deeply recursive") from error
    except Exception as error:  # pyld raises many types on malformed input; all mean "invalid"
        own = _own_cause(error)
        if own is not None:
            raise own from error
        if isinstance(error, pyld.JsonLdError):
            detail = error.args[0] if error.args else "invalid JSON-LD"
            code = f" ({error.code})" if error.code else ""
            raise JsonLdError(f"{operation}: {detail}{code}") from error
        raise JsonLdError(f"{operation} failed: {type(error).__name__}: {error}") from error


def expand(
    doc: Any, *, limits: Limits = DEFAULT_LIMITS, registry: ContextRegistry = BUNDLED
) -> list[Any]:
    """JSON-LD expansion of `doc`, offline and bounded."""
    check_document(doc, limits, registry)
    offline = _offline(registry)
    return _run("expansion", lambda: pyld.expand(doc, offline.options()))


def compact(
    doc: Any, ctx: Any, *, limits: Limits = DEFAULT_LIMITS, registry: ContextRegistry = BUNDLED
) -> dict[str, Any]:
    """JSON-LD compaction of `doc` against `ctx` (a bundled URL, an object, or a list)."""
    check_document(doc, limits, registry)
    _check_context_argument(ctx, registry)
    offline = _offline(registry)
    return _run("compaction", lambda: pyld.compact(doc, ctx, offline.options()))


def _merge_work(expanded: Any) -> int:
    """Pairwise value comparisons pyld's node map will make for the expanded document."""
    counts: dict[tuple[Any, str], int] = {}
    stack: list[Any] = [expanded]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict) and "@value" not in value:
            subject = value.get("@id")
            subject_key = subject if isinstance(subject, str) else id(value)
            for key, child in value.items():
                if key not in ("@id", "@list") and isinstance(child, list):
                    counts[(subject_key, key)] = counts.get((subject_key, key), 0) + len(child)
                if isinstance(child, dict | list):
                    stack.append(child)
    return sum(k * (k - 1) // 2 for k in counts.values())


def to_dataset(
    doc: Any, *, limits: Limits = DEFAULT_LIMITS, registry: ContextRegistry = BUNDLED
) -> dict[str, list[dict[str, Any]]]:
    """The RDF dataset of `doc` in pyld's form, rejected when larger than the limits allow."""
    expanded = expand(doc, limits=limits, registry=registry)
    work = _merge_work(expanded)
    if work > limits.max_merge_work:
        raise JsonLdError(
            f"RDF conversion would need {work} value comparisons, more than "
            f"{limits.max_merge_work}: too many values on one property"
        )
    offline = _offline(registry)
    dataset = _run(
        "RDF conversion",
        lambda: pyld.JsonLdProcessor().to_rdf(
            expanded, offline.options(produceGeneralizedRdf=False)
        ),
    )
    quads = sum(len(triples) for triples in dataset.values())
    if quads > limits.max_quads:
        raise JsonLdError(f"document yields {quads} RDF quads, more than {limits.max_quads}")
    blank = {
        term["value"]
        for triples in dataset.values()
        for triple in triples
        for term in (triple["subject"], triple["object"])
        if term["type"] == "blank node"
    }
    blank.update(name for name in dataset if name.startswith("_:"))
    if len(blank) > limits.max_blank_nodes:
        raise JsonLdError(
            f"document yields {len(blank)} blank nodes, more than {limits.max_blank_nodes}"
        )
    return dataset


class _BudgetedCanonicalizer(URDNA2015):
    """URDNA2015 / RDFC-1.0 that gives up once its n-degree hashing work exceeds a budget.

    Poisoned datasets (many indistinguishable blank nodes, pyld issue #179) make the
    permutation step factorial; every n-degree call is charged for the permutations it will
    try, so such input fails fast instead of running for hours.
    """

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget = budget
        self.spent = 0

    def create_hash_to_related(self, id_: str, issuer: Any) -> dict[str, list[str]]:
        related = super().create_hash_to_related(id_, issuer)
        self.spent += 1
        for nodes in related.values():
            # factorial() of a big group is itself costly: stop counting once over budget
            self.spent += factorial(len(nodes)) if len(nodes) <= 12 else self.budget + 1
            if self.spent > self.budget:
                raise JsonLdError(
                    "canonicalization needs more than "
                    f"{self.budget} blank-node hashing steps (dataset poisoning?)"
                )
        return related


def canonize(
    doc: Any, *, limits: Limits = DEFAULT_LIMITS, registry: ContextRegistry = BUNDLED
) -> str:
    """RDFC-1.0 (URDNA2015) canonical N-Quads of `doc`, offline and with bounded work."""
    dataset = to_dataset(doc, limits=limits, registry=registry)
    canonicalizer = _BudgetedCanonicalizer(limits.max_canon_work)
    return _run(
        "canonicalization",
        lambda: canonicalizer.main(
            dataset, {"algorithm": "URDNA2015", "format": "application/n-quads"}
        ),
    )


# ---------------------------------------------------------------------------
# Dropped-term detection.


def _paths_of(doc: Any) -> dict[int, str]:
    paths: dict[int, str] = {}
    stack: list[tuple[str, Any]] = [("$", doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict | list):
            paths[id(value)] = path
            stack.extend(_children(value, path))
    return paths


class _DropWatcher(pyld.JsonLdProcessor):
    """Expansion that records where each dropped property sat in the input document."""

    def __init__(self) -> None:
        super().__init__(on_property_dropped=self._dropped)
        self.paths: dict[int, str] | None = None
        self.frames: list[tuple[Any, Any]] = []
        self.problems: dict[str, str] = {}

    def _expand(self, active_ctx: Any, active_property: Any, element: Any, *args: Any, **kw: Any):
        if self.paths is None:
            # the first call receives pyld's private copy of the whole document
            self.paths = _paths_of(element)
        return super()._expand(active_ctx, active_property, element, *args, **kw)

    def _expand_object(
        self,
        active_ctx: Any,
        active_property: Any,
        expanded_active_property: Any,
        element: Any,
        *args: Any,
        **kw: Any,
    ):
        self.frames.append((active_ctx, element))
        try:
            return super()._expand_object(
                active_ctx, active_property, expanded_active_property, element, *args, **kw
            )
        finally:
            self.frames.pop()

    def _dropped(self, expanded: str | None) -> None:
        if not self.frames:
            return
        active_ctx, element = self.frames[-1]
        paths = self.paths or {}
        where = paths.get(id(element))
        if where is None:
            where = next((paths[id(e)] for _, e in reversed(self.frames) if id(e) in paths), "$")
        for key in element:
            if key == "@context" or self._expand_iri(active_ctx, key, vocab=True) != expanded:
                continue
            if expanded is None:
                message = f"property {key!r} is mapped to null by the context and is dropped"
            else:
                message = (
                    f"property {key!r} is not defined by the active context and is not an "
                    "absolute IRI, so JSON-LD expansion drops it"
                )
            self.problems[json_path(where, key)] = message


def check_no_dropped_terms(
    doc: Any, *, limits: Limits = DEFAULT_LIMITS, registry: ContextRegistry = BUNDLED
) -> None:
    """Raise InvalidRecord naming the JSON path of every property expansion would drop."""
    check_document(doc, limits, registry)
    watcher = _DropWatcher()
    offline = _offline(registry)
    _run("expansion", lambda: watcher.expand(doc, offline.options()))
    if watcher.problems:
        raise InvalidRecord(sorted(watcher.problems.items()))
