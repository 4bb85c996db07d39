"""RFC 8785 canonical JSON (the `rfc8785` package the ledger uses) against cyberphone test data."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import rfc8785

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
TESTDATA = CONFORMANCE / "jcs" / "testdata"
NAMES = ["arrays", "french", "structures", "unicode", "values", "weird"]


@pytest.fixture(autouse=True)
def _need_data() -> None:
    if not TESTDATA.is_dir():
        pytest.skip(f"conformance data not found at {TESTDATA}")


@pytest.mark.parametrize("name", NAMES)
def test_canonical_output_is_byte_exact(name: str) -> None:
    source = json.loads((TESTDATA / "input" / f"{name}.json").read_text(encoding="utf-8"))
    expected = (TESTDATA / "output" / f"{name}.json").read_bytes()
    assert rfc8785.dumps(source) == expected


@pytest.mark.parametrize("name", ["arrays", "structures", "weird"])
def test_hex_dumps_match_outputs(name: str) -> None:
    # The outhex files are a second, independent rendering of the expected bytes.
    hexdump = (TESTDATA / "outhex" / f"{name}.txt").read_text(encoding="ascii")
    expected = bytes.fromhex("".join(hexdump.split()))
    assert expected == (TESTDATA / "output" / f"{name}.json").read_bytes()


def _number_samples() -> list[tuple[str, str]]:
    path = TESTDATA / "es6-number-samples.txt"
    if not path.is_file():
        return []
    rows = [line.split(",") for line in path.read_text(encoding="ascii").splitlines() if line]
    return [(bits, text) for bits, text in rows]


def test_all_seven_number_samples_present() -> None:
    assert len(_number_samples()) == 7


@pytest.mark.parametrize(("bits", "expected"), _number_samples())
def test_es6_number_serialisation(bits: str, expected: str) -> None:
    value = struct.unpack(">d", bytes.fromhex(bits.rjust(16, "0")))[0]
    assert rfc8785.dumps(value) == expected.encode("ascii")
