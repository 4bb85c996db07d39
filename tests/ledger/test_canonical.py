"""`ledger.canonical.canonical_json` against the `rfc8785` reference, by property.

The fast path of `canonical_json` must give exactly the reference bytes for any JSON value,
and both must refuse the same inputs. Strategies stress where Python's `json` and RFC 8785
differ: float formatting, integers near 2**53, UTF-16 key order (keys in U+E000..U+FFFF
and beyond the BMP), and control characters.
"""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.errors import InvalidInput

SAFE = 2**53 - 1

# Characters the tricky paths care about, mixed with everything else (no lone surrogates).
tricky_chars = st.sampled_from(
    [chr(c) for c in range(0x20)]
    + ["\x7f", '"', "\\", "/", "\u2028", "\u2029", "\ue000", "\uffff", "\ufb33", "\U0001f600"]
    + ["\U0010ffff", "é", "€", "1.0,", "e+1"]
)
any_char = st.characters(exclude_categories=("Cs",))
text = st.lists(st.one_of(tricky_chars, any_char), max_size=12).map("".join)
keys = st.one_of(
    text,
    st.text(st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF), max_size=4),
    st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF), max_size=3),
)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [0.0, -0.0, 1.0, -1.0, 1e21, 1e-7, 1e-6, 1e16, 1e15, 5e-324, 1.7976931348623157e308]
    ),
    st.integers(-(10**17), 10**17).map(float),
    st.integers(-30, 30).map(lambda e: 10.0**e),
)
safe_ints = st.one_of(
    st.integers(-SAFE, SAFE),
    st.sampled_from([SAFE, -SAFE, 10**15, 10**15 + 1, 0]),
)
scalars = st.one_of(st.none(), st.booleans(), safe_ints, floats, text)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None)
@given(json_values.filter(lambda v: not isinstance(v, float)))
@example([1.0, {"\ue000": 1, "\U0001f600": 2, "z": 1e-7, "n": -0.0}])
def test_canonical_json_equals_rfc8785(value):
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=300, deadline=None)
@given(floats)
@example(1.0)
@example(-0.0)
@example(100.0)
def test_a_bare_number_equals_rfc8785(value):
    # A float at the top level, where no ",", "]" or "}" follows it in json.dumps output.
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, scalars, min_size=2, max_size=8))
def test_object_keys_are_sorted_by_utf16_code_units(value):
    out = canonical_json(value)
    assert out == rfc8785.dumps(value)
    order = sorted(value, key=lambda k: k.encode("utf-16-be"))
    positions = [out.index(rfc8785.dumps(k) + b":") for k in order]
    assert positions == sorted(positions)


def _refuses(fn, value) -> bool:
    try:
        fn(value)
    except (InvalidInput, rfc8785.CanonicalizationError, ValueError, TypeError):
        return True
    return False


unsafe_ints = st.one_of(st.integers(min_value=SAFE + 1), st.integers(max_value=-SAFE - 1))
bad_scalars = st.one_of(
    unsafe_ints, st.sampled_from([math.nan, math.inf, -math.inf, 2**53, -(2**53), 10**30])
)


@st.composite
def containing_a_bad_value(draw):
    """A JSON value with one refused scalar buried somewhere in it."""
    bad = draw(bad_scalars)
    value = bad
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            siblings = draw(st.lists(scalars, max_size=3))
            value = [*siblings, value]
        else:
            siblings = draw(st.dictionaries(keys, scalars, max_size=3))
            value = {**siblings, draw(keys) + "\x00bad": value}
    return value


@settings(max_examples=200, deadline=None)
@given(containing_a_bad_value())
def test_both_refuse_nan_infinity_and_unsafe_integers(value):
    assert _refuses(rfc8785.dumps, value)
    with pytest.raises(InvalidInput):
        canonical_json(value)


@pytest.mark.parametrize(
    "value",
    ["\ud800", {"k": "a\udfffb"}, {"\udc00": 1}, [1, "\ud83d"]],
    ids=["lone-high", "lone-low-in-value", "lone-in-key", "in-list"],
)
def test_both_refuse_lone_surrogates(value):
    assert _refuses(rfc8785.dumps, value)
    with pytest.raises(InvalidInput):
        canonical_json(value)


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {True: 1}, {None: 1}, {"a": {2.5: 1}}, [{(1, 2): 3}]],
    ids=["int-key", "bool-key", "null-key", "float-key-nested", "tuple-key"],
)
def test_both_refuse_non_string_keys(value):
    # json.dumps would silently turn 1, True and None keys into "1", "true" and "null",
    # so the signed bytes would not be the caller's value.
    assert _refuses(rfc8785.dumps, value)
    with pytest.raises(InvalidInput):
        canonical_json(value)


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", object(), {"a": complex(1, 2)}])
def test_both_refuse_non_json_types(value):
    assert _refuses(rfc8785.dumps, value)
    with pytest.raises(InvalidInput):
        canonical_json(value)
