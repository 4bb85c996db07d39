"""Schema fuzzing: every operation of the node's own OpenAPI document, with every identity.

Each generated request is sent anonymously, as the operator, and as a trusted peer (in
turn). The node must never answer 5xx; every 4xx must be RFC 9457 problem+json except
where a standard fixes another error shape (docs/records.md, docs/contracts.md); a refused
request must append nothing to the ledger, and the ledger must verify at the end.
`TRACESPACE_FUZZ_EXAMPLES` and `TRACESPACE_FUZZ_NEGATIVE_EXAMPLES` set the examples per
operation (3 and 1 in `make test`; `make fuzz` raises both).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from ledger.verify import verify_database
from tests.hardening.harness import Harness, make_harness

EXAMPLES = int(os.environ.get("TRACESPACE_FUZZ_EXAMPLES", "3"))
# Negative cases (schema-violating requests) cost far more to generate: fewer in `make test`.
NEGATIVE_EXAMPLES = int(os.environ.get("TRACESPACE_FUZZ_NEGATIVE_EXAMPLES", "1"))
IDENTITIES = ("anonymous", "operator", "peer")

# Routes whose errors follow another standard's shape (documented exceptions).
PACT_ROUTES = ("/3/",)  # PACT v3: {"code", "message"} (docs/records.md)
OAUTH_ROUTES = ("/auth/token",)  # RFC 6749: {"error", "error_description"}
DSP_ROUTES = ("/dsp/",)  # DSP: ContractNegotiationError / TransferError / CatalogError bodies
# Handle.net REST API and proxy: Handle JSON `{responseCode, handle}` (docs/identifiers.md);
# the GS1 template falls through to the proxy when its key is not a GS1 key.
HANDLE_ROUTES = ("/api/handles/", "/{prefix}/{suffix}", "/{ai}/{rest}")
# A peer's read of events is decided and ledgered even when refused (docs/trace.md, the
# access log): the only entry a refused request may append.
AUDIT_TYPES = {"dsp.access"}


@pytest.fixture(scope="module")
def fuzz_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = make_harness(tmp_path_factory.mktemp("fuzz"))
    h.turn = itertools.cycle(IDENTITIES)  # type: ignore[attr-defined]
    try:
        yield h
    finally:
        h.client.close()
        report = verify_database(h.node.config.database)
        for n in (h.node, h.peer_node, h.stranger):
            n.close()
        assert report.ok, f"ledger does not verify after fuzzing: {report.error}"


def check_error_shape(path: str, status: int, content_type: str, body: bytes) -> None:
    """A 4xx body is problem+json, or the shape its standard fixes for that route."""
    data = json.loads(body) if body else None
    where = f"{path} → {status}"
    if path.startswith(PACT_ROUTES):
        assert isinstance(data, dict) and {"code", "message"} <= data.keys(), where
        return
    if path.startswith(OAUTH_ROUTES) and status in (400, 401) and "error" in (data or {}):
        return
    if path.startswith(HANDLE_ROUTES) and isinstance((data or {}).get("responseCode"), int):
        return
    if path.startswith(DSP_ROUTES) and isinstance(data, dict) and "@type" in data:
        assert str(data["@type"]).endswith("Error") and "code" in data, where
        return
    assert content_type.startswith("application/problem+json"), f"{where}: {content_type}"
    assert isinstance(data, dict), where
    assert data.get("status") == status and data.get("title") and data.get("type"), where


def exercise(case: schemathesis.Case, h: Harness) -> None:
    identity = next(h.turn)  # type: ignore[attr-defined]
    headers = dict(case.headers or {})
    headers.pop("Authorization", None)
    headers.pop("authorization", None)
    if identity == "operator":
        headers.update(h.operator)
    elif identity == "peer":
        headers.update(h.peer_headers())
    before = h.node.ledger.size
    response = case.call(headers=headers)
    status = response.status_code
    path = case.path
    assert status < 500, (
        f"{case.method} {case.formatted_path} as {identity}: HTTP {status}\n"
        f"{response.text[:600]}\n{case.as_curl_command()}"
    )
    if 400 <= status < 500:
        content_type = response.headers.get("content-type") or [""]
        if isinstance(content_type, list):
            content_type = content_type[0]
        check_error_shape(path, status, content_type, response.content)
        after = h.node.ledger.size
        added = {h.node.ledger.entry(seq).type for seq in range(before, after)}
        assert added <= AUDIT_TYPES, (
            f"{case.method} {case.formatted_path} was refused ({status}) but appended "
            f"{after - before} ledger entries of types {sorted(added)}"
        )


def fuzz_operation(h: Harness, operation: Any, mode: GenerationMode) -> list[str]:
    """Run one operation's generated cases; return the failures (one line each)."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES if mode == GenerationMode.POSITIVE else NEGATIVE_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: schemathesis.Case) -> None:
        try:
            exercise(case, h)
        except AssertionError as exc:
            failures.append(str(exc))
        except Exception as exc:  # the in-process client re-raises what the app did not catch
            failures.append(f"{case.method} {case.formatted_path}: {type(exc).__name__}: {exc}")

    # Unsatisfiable: e.g. no way to break a schema that accepts anything: nothing to send.
    with contextlib.suppress(Unsatisfiable):
        run()
    return failures


def test_no_server_error_and_clean_refusals(fuzz_harness: Harness) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_harness.app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.extend(fuzz_operation(fuzz_harness, operation, mode))
    assert operations >= 100, f"only {operations} operations in the OpenAPI document"
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(sorted(set(failures))[:40])


def test_fuzzed_ledger_verifies(fuzz_harness: Harness) -> None:
    """The module's ledger verifies (checked again at teardown, after every case ran)."""
    assert verify_database(fuzz_harness.node.config.database).ok
    assert Path(fuzz_harness.node.config.folder).is_dir()
