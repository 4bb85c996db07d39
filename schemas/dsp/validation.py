"""Validate DSP 2025-1 messages against the bundled JSON Schemas and, offline, as JSON-LD."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from policies.profile import PROFILE_CONTEXT_URL
from schemas import jsonld
from schemas.contexts import BUNDLED, register_context
from schemas.errors import InvalidRecord, JsonLdError, Problem, json_path

HERE = Path(__file__).parent
BASE = "https://w3id.org/dspace/2025/1/"
DSP_CONTEXT = BASE + "context.jsonld"

# DSP `@type` (or document name) → schema file under schemas/dsp/.
SCHEMA_FILES: dict[str, str] = {
    "CatalogRequestMessage": "catalog/catalog-request-message-schema.json",
    "DatasetRequestMessage": "catalog/dataset-request-message-schema.json",
    "Catalog": "catalog/catalog-schema.json",
    "Dataset": "catalog/dataset-schema.json",
    "CatalogError": "catalog/catalog-error-schema.json",
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage": (
        "negotiation/contract-agreement-verification-message-schema.json"
    ),
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage": (
        "negotiation/contract-negotiation-termination-message-schema.json"
    ),
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
    "TransferError": "transfer/transfer-error-schema.json",
    "ProtocolVersions": "common/protocol-version-schema.json",
    "DIDService": "common/did-service-schema.json",
}
KINDS = frozenset(SCHEMA_FILES)
_BY_STEM = {Path(f).name.removesuffix("-schema.json"): k for k, f in SCHEMA_FILES.items()}
# Kinds that are JSON-LD documents carrying the DSP context (the others are plain JSON).
_NOT_JSONLD = frozenset(("ProtocolVersions", "DIDService"))

if PROFILE_CONTEXT_URL not in BUNDLED:
    register_context(PROFILE_CONTEXT_URL, Path(__file__).parents[2] / "policies" / "profile.jsonld")


class DspMessageError(InvalidRecord):
    """A DSP message is not valid: wrong shape, wrong type, or not processable JSON-LD."""


@cache
def _registry() -> Registry:
    resources = []
    for path in sorted(HERE.glob("*/*-schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents, DRAFT201909)))
    return Registry().with_resources(resources)


def _kind(kind: str) -> str:
    if kind in SCHEMA_FILES:
        return kind
    if kind in _BY_STEM:
        return _BY_STEM[kind]
    raise ValueError(f"unknown DSP message kind {kind!r}; one of {', '.join(sorted(KINDS))}")


def schema_for(kind: str) -> dict[str, Any]:
    """The bundled JSON Schema of a message kind."""
    return json.loads((HERE / SCHEMA_FILES[_kind(kind)]).read_text(encoding="utf-8"))


@cache
def _validator(kind: str) -> Draft201909Validator:
    return Draft201909Validator(schema_for(kind), registry=_registry())


def _path(parts: Any) -> str:
    where = "$"
    for part in parts:
        where = json_path(where, part)
    return where


def _leaf_errors(error: Any) -> list[Any]:
    # Report the most specific failures of allOf/anyOf branches, not only "is not valid".
    if not error.context:
        return [error]
    found = []
    for sub in error.context:
        found.extend(_leaf_errors(sub))
    return found


def validate_message(msg: Any, kind: str, *, jsonld_check: bool = True) -> list[Problem]:
    """Every problem with `msg` as a DSP message of `kind`, as `(json_path, message)`.

    Checks the `@type` (when the schema has one), the bundled JSON Schema, and, unless
    `jsonld_check` is false, JSON-LD expansion with the bundled contexts only.
    """
    name = _kind(kind)
    problems: list[Problem] = []
    if not isinstance(msg, dict):
        return [("$", "a DSP message must be a JSON object")]
    if name not in _NOT_JSONLD and name not in ("Dataset",) and msg.get("@type") != name:
        problems.append(("$['@type']", f"expected {name!r}, got {msg.get('@type')!r}"))
    seen: set[tuple[str, str]] = set()
    for error in sorted(_validator(name).iter_errors(msg), key=lambda e: list(e.absolute_path)):
        for leaf in _leaf_errors(error):
            item = (_path(leaf.absolute_path), leaf.message)
            if item not in seen:
                seen.add(item)
                problems.append(item)
    if not problems and jsonld_check and name not in _NOT_JSONLD:
        problems.extend(_jsonld_problems(json.dumps(_shape(msg), sort_keys=True)))
    return problems


_KEEP = frozenset(("@type", "@context", "@language", "@direction", "@version"))


def _shape(value: Any, key: str = "") -> Any:
    """The document with every string that JSON-LD processing does not branch on replaced.

    Expansion succeeds or fails by keys, value types, `@type` values (type-scoped
    contexts) and contexts, not by the text of ids and literals, so messages of one shape
    share one expansion: the DSP flows send the same few shapes again and again.
    """
    if isinstance(value, dict):
        return {k: _shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v, key) for v in value]
    if isinstance(value, str) and key not in _KEEP:
        return "urn:x" if value else ""
    return value


@lru_cache(maxsize=512)
def _jsonld_problems(shape: str) -> tuple[Problem, ...]:
    try:
        jsonld.expand(json.loads(shape))
    except JsonLdError as exc:
        return tuple(exc.problems)
    return ()


def check_message(msg: Any, kind: str, *, jsonld_check: bool = True) -> dict[str, Any]:
    """`msg` itself when valid; DspMessageError listing every problem otherwise."""
    problems = validate_message(msg, kind, jsonld_check=jsonld_check)
    if problems:
        raise DspMessageError(problems)
    return msg
