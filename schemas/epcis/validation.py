"""Validate an EPCIS 2.0 document (schema, formats, contexts, CBV terms), reporting all problems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from schemas.epcis.contexts import is_known_context
from schemas.epcis.document_schema import EXTENSION_KEY, SCHEMA
from schemas.epcis.schema_check import SchemaCheck
from schemas.epcis.vocabulary import (
    BIZ_STEP,
    BIZ_TRANSACTION_TYPE,
    COMPONENT,
    DISPOSITION,
    ERROR_REASON,
    MEASUREMENT_TYPE,
    SENSOR_ALERT_TYPE,
    SOURCE_DEST_TYPE,
    UnknownTerm,
    Vocabulary,
)
from schemas.errors import InvalidRecord, Problem, json_path

REQUIRED_FORMATS = ("date-time", "uri")


@cache
def format_checker() -> FormatChecker:
    """A FormatChecker that really checks `date-time` and `uri`.

    jsonschema silently treats a format as valid when the library that checks it is missing
    (`rfc3339-validator`, `rfc3987`: the `jsonschema[format]` extra), so refuse to run without.
    """
    checker = FormatChecker()
    missing = [name for name in REQUIRED_FORMATS if name not in checker.checkers]
    if missing:
        raise RuntimeError(f"jsonschema cannot check formats {missing}: install jsonschema[format]")
    return checker


@cache
def _validator() -> Draft202012Validator:
    Draft202012Validator.check_schema(SCHEMA)
    return Draft202012Validator(SCHEMA, format_checker=format_checker())


def _event_schema() -> dict[str, Any]:
    schema = {key: value for key, value in SCHEMA.items() if key not in ("allOf", "properties")}
    schema.update({"$ref": "#/$defs/event", "required": ["@context", "type"]})
    return schema


@cache
def _event_validator() -> Draft202012Validator:
    return Draft202012Validator(_event_schema(), format_checker=format_checker())


@cache
def _fast_check() -> SchemaCheck:
    return SchemaCheck(SCHEMA, format_checker())


@cache
def _fast_event_check() -> SchemaCheck:
    return SchemaCheck(_event_schema(), format_checker())


def _document_schema_problems(document: Any) -> list[Problem]:
    """The JSON-schema problems of a document: decided by the fast check, and reported in
    full by the Python validator only when the fast check cannot vouch for the document."""
    if _fast_check().known_valid(document):
        return []
    return [problem for e in _validator().iter_errors(document) for problem in _schema_problems(e)]


def iter_events(document: Any) -> Iterator[tuple[str, Any]]:
    """Each event of an EPCISDocument or EPCISQueryDocument with its JSON path, in order."""
    if not isinstance(document, dict):
        return
    body = document.get("epcisBody")
    if not isinstance(body, dict):
        return
    if "event" in body:
        yield "$.epcisBody.event", body["event"]
    holders = [("$.epcisBody.eventList", body.get("eventList"))]
    results = body.get("queryResults")
    if isinstance(results, dict) and isinstance(results.get("resultsBody"), dict):
        holders.append(
            (
                "$.epcisBody.queryResults.resultsBody.eventList",
                results["resultsBody"].get("eventList"),
            )
        )
    for path, events in holders:
        if isinstance(events, list):
            for index, event in enumerate(events):
                yield f"{path}[{index}]", event


def validate_document(document: Any) -> None:
    """Raise InvalidRecord listing every problem (with its JSON path) in `document`."""
    problems = document_problems(document)
    if problems:
        raise InvalidRecord(problems)


def document_problems(document: Any) -> list[Problem]:
    """Every problem in `document`, in document order; empty when it is valid."""
    if not isinstance(document, dict):
        return [("$", "an EPCIS document must be a JSON object")]
    problems = _document_schema_problems(document)
    problems.extend(_context_problems(document.get("@context"), "$['@context']", top=True))
    for path, event in iter_events(document):
        if isinstance(event, dict):
            if "@context" in event:
                problems.extend(_context_problems(event["@context"], f"{path}['@context']"))
            problems.extend(_vocabulary_problems(event, path))
    return ordered_problems(problems)


def ordered_problems(problems: list[Problem]) -> list[Problem]:
    """`problems` without repeats, in document order (array indices compared as numbers)."""
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda problem: _path_key(problem[0]))
    return unique


def validate_event(event: Any) -> None:
    """Raise InvalidRecord listing every problem in a standalone event (which carries @context)."""
    if not isinstance(event, dict):
        raise InvalidRecord([("$", "an EPCIS event must be a JSON object")])
    problems: list[Problem] = []
    if not _fast_event_check().known_valid(event):
        for error in _event_validator().iter_errors(event):
            problems.extend(_schema_problems(error))
    problems.extend(_context_problems(event.get("@context"), "$['@context']", top=True))
    problems.extend(_vocabulary_problems(event, "$"))
    if problems:
        raise InvalidRecord(ordered_problems(problems))


def _schema_problems(error: ValidationError) -> list[Problem]:
    path = error.json_path
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = schema.get("properties", {})
        return [
            (json_path(path, key), "unknown property; extensions need a namespace prefix (ns:name)")
            for key in error.instance
            if key not in known and not re.match(EXTENSION_KEY, key)
        ]
    if error.validator == "required" and isinstance(error.instance, dict):
        return [
            (json_path(path, name), "required property is missing")
            for name in error.validator_value
            if name not in error.instance
        ]
    if error.validator in ("anyOf", "oneOf"):
        # The default message repeats the whole instance; say what was expected instead.
        return [(path, str(schema.get("x-message", "does not match any allowed form")))]
    if error.validator == "not" and error.validator_value == {"required": ["ilmd"]}:
        return [(json_path(path, "ilmd"), "ilmd is only allowed when action is ADD")]
    return [(path, error.message)]


def _context_problems(context: Any, path: str, top: bool = False) -> list[Problem]:
    if context is None:
        return []  # a missing top-level @context is reported by the schema
    entries = context if isinstance(context, list) else [context]
    problems: list[Problem] = []
    known = 0
    for index, entry in enumerate(entries):
        where = f"{path}[{index}]" if isinstance(context, list) else path
        if isinstance(entry, str):
            if is_known_context(entry):
                known += 1
            else:
                problems.append((where, f"context {entry!r} is not a pinned EPCIS context"))
        elif not isinstance(entry, dict):
            problems.append((where, "a context entry must be a URL or an object"))
        elif "@import" in entry:
            problems.append((json_path(where, "@import"), "remote context imports are refused"))
    if top and known == 0 and not problems:
        problems.append((path, "the EPCIS 2.0 context URL is missing"))
    return problems


def _term_problem(vocabulary: Vocabulary, value: Any, path: str) -> list[Problem]:
    if not isinstance(value, str):
        return []
    try:
        vocabulary.short_form(value)
    except UnknownTerm as exc:
        return [(path, str(exc))]
    return []


def _items(event: dict[str, Any], key: str, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    values = event.get(key)
    if isinstance(values, list):
        for index, value in enumerate(values):
            if isinstance(value, dict):
                yield f"{json_path(path, key)}[{index}]", value


def _vocabulary_problems(event: dict[str, Any], path: str) -> list[Problem]:
    problems: list[Problem] = []
    for key, vocabulary in (("bizStep", BIZ_STEP), ("disposition", DISPOSITION)):
        if key in event:
            problems += _term_problem(vocabulary, event[key], json_path(path, key))
    persistent = event.get("persistentDisposition")
    if isinstance(persistent, dict):
        where = json_path(path, "persistentDisposition")
        for key in ("set", "unset"):
            if isinstance(persistent.get(key), list):
                for index, value in enumerate(persistent[key]):
                    problems += _term_problem(
                        DISPOSITION, value, f"{json_path(where, key)}[{index}]"
                    )
    for key, vocabulary in (
        ("bizTransactionList", BIZ_TRANSACTION_TYPE),
        ("sourceList", SOURCE_DEST_TYPE),
        ("destinationList", SOURCE_DEST_TYPE),
    ):
        for where, item in _items(event, key, path):
            if "type" in item:
                problems += _term_problem(vocabulary, item["type"], f"{where}.type")
    declaration = event.get("errorDeclaration")
    if isinstance(declaration, dict) and "reason" in declaration:
        reason_path = json_path(path, "errorDeclaration") + ".reason"
        problems += _term_problem(ERROR_REASON, declaration["reason"], reason_path)
    for where, element in _items(event, "sensorElementList", path):
        for report_path, report in _items(element, "sensorReport", where):
            if "type" in report:
                problems += _term_problem(MEASUREMENT_TYPE, report["type"], f"{report_path}.type")
            if "exception" in report:
                where = f"{report_path}.exception"
                problems += _term_problem(SENSOR_ALERT_TYPE, report["exception"], where)
            if "component" in report:
                problems += _term_problem(
                    COMPONENT, report["component"], f"{report_path}.component"
                )
    return problems


_TOKEN = re.compile(r"\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\.([^.\[]+)")


def _path_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting JSON paths in document order (array indices compared as numbers)."""
    return tuple(
        (0, int(index)) if index else (1, quoted or name)
        for index, quoted, name in _TOKEN.findall(path)
    )
