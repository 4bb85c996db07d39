"""The bundled DSP 2025-1 schemas against the 27 official examples, and the validator's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.dsp import KINDS, SCHEMA_FILES, check_message, validate_message
from schemas.dsp.validation import DspMessageError

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
DSP = CONFORMANCE / "dsp"
BUNDLED = Path(__file__).resolve().parents[2] / "schemas" / "dsp"
# Example files whose schema is not named after them.
SCHEMA_OF = {
    "contract-agreement-message-full": "contract-agreement-message",
    "contract-offer-message_initial": "contract-offer-message",
    "contract-request-message_initial": "contract-request-message",
    "nested-catalog": "catalog",
    "catalogservice-did-service": "did-service",
    "dataservice-did-service": "did-service",
}
# The one published example that fails its published schema (MANIFEST caveat).
KNOWN_FAILURE = {
    "dataservice-did-service": [
        (
            "$.serviceEndpoint",
            "'https://bar.example.com/some/path/.well-known/dspace-version' does not match "
            "'https?://.*?/catalog$'",
        )
    ]
}


def _examples() -> list[Path]:
    if not DSP.is_dir():
        return []
    return sorted(DSP.glob("*/example/*.json"))


@pytest.fixture(scope="module")
def dsp() -> Path:
    if not DSP.is_dir():
        pytest.skip(f"DSP conformance data not found at {DSP}")
    return DSP


def test_all_27_examples_are_checked(dsp: Path) -> None:
    assert len(_examples()) == 27


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.stem)
def test_example_validates_with_known_caveats(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    kind = SCHEMA_OF.get(path.stem, path.stem)
    assert validate_message(doc, kind) == KNOWN_FAILURE.get(path.stem, [])


def test_bundled_schemas_equal_upstream_except_the_ref_fix(dsp: Path) -> None:
    fixed = {
        "transfer-error-schema.json",
        "transfer-suspension-message-schema.json",
        "transfer-termination-message-schema.json",
    }
    upstream = sorted(dsp.glob("*/*-schema.json"))
    assert len(upstream) == 26
    for source in upstream:
        ours = (BUNDLED / source.parent.name / source.name).read_text(encoding="utf-8")
        original = source.read_text(encoding="utf-8")
        if source.name in fixed:
            assert "#definitions/" in original and "#definitions/" not in ours
            assert ours == original.replace("#definitions/", "#/definitions/")
        else:
            assert ours == original


def test_upstream_typo_really_breaks_strict_resolution(dsp: Path) -> None:
    """Why the fix exists: with the published $ref, the suspension message cannot validate."""
    from jsonschema import Draft201909Validator
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT201909

    resources = []
    for path in dsp.glob("*/*-schema.json"):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents, DRAFT201909)))
    registry = Registry().with_resources(resources)
    schema = json.loads(
        (dsp / "transfer" / "transfer-suspension-message-schema.json").read_text(encoding="utf-8")
    )
    example = json.loads(
        (dsp / "transfer" / "example" / "transfer-suspension-message.json").read_text("utf-8")
    )
    with pytest.raises(Unresolvable):
        list(Draft201909Validator(schema, registry=registry).iter_errors(example))


def test_errors_carry_json_paths(dsp: Path) -> None:
    doc = json.loads((dsp / "negotiation/example/contract-request-message.json").read_text())
    doc["offer"]["permission"][0]["constraint"][0]["operator"] = "almost"
    del doc["consumerPid"]
    problems = validate_message(doc, "ContractRequestMessage")
    paths = [p for p, _ in problems]
    assert "$" in paths  # consumerPid is required
    assert "$.offer.permission[0].constraint[0].operator" in paths
    with pytest.raises(DspMessageError) as caught:
        check_message(doc, "ContractRequestMessage")
    assert caught.value.problems == problems


def test_wrong_type_and_remote_context_are_refused(dsp: Path) -> None:
    doc = json.loads((dsp / "negotiation/example/contract-negotiation.json").read_text())
    assert validate_message(doc, "TransferProcess")[0][0] == "$['@type']"
    doc["@context"].append("https://evil.example/context.jsonld")
    problems = validate_message(doc, "ContractNegotiation")
    assert problems and "only bundled contexts" in problems[0][1]


def test_every_kind_has_a_schema_file() -> None:
    assert set(SCHEMA_FILES) == KINDS
    for relative in SCHEMA_FILES.values():
        assert (BUNDLED / relative).is_file()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    body=st.dictionaries(
        st.sampled_from(["@context", "@type", "providerPid", "consumerPid", "offer", "state"]),
        json_values,
    ),
    kind=st.sampled_from(sorted(KINDS)),
)
def test_validator_never_crashes_and_reports_paths(body: dict, kind: str) -> None:
    problems = validate_message(body, kind)
    assert all(isinstance(p, str) and p.startswith("$") for p, _ in problems)
