"""Key histories: which earlier key signed what, proven to a holder of the current key only."""

from __future__ import annotations

import copy
import json

import pytest

from ledger import keys
from ledger.errors import VerificationError
from ledger.keyhistory import export_key_history, verify_key_history
from ledger.log import Ledger
from ledger.note import format_vkey, parse_vkey

ORIGIN = "example.org/key-history-test"


@pytest.fixture
def rotated(database_url: str):
    """A log written under three keys: entries 1-5 by the first, 7-9 by the second, 11- by
    the third (6 and 10 are the rotations)."""
    first, second, third = keys.generate(), keys.generate(), keys.generate()
    ledger = Ledger.open(database_url, first, ORIGIN)
    ledger.append_many([("lot.event", {"n": i}) for i in range(5)])
    ledger.rotate_key(second)
    ledger.append_many([("lot.event", {"n": i}) for i in range(5, 8)])
    ledger.rotate_key(third)
    ledger.append_many([("lot.event", {"n": i}) for i in range(8, 12)])
    yield ledger, (first, second, third)
    ledger.engine.dispose()


def current(ledger: Ledger):
    return parse_vkey(ledger.vkey())


def served(ledger: Ledger) -> dict:
    return json.loads(json.dumps(export_key_history(ledger)))  # as it travels


def test_history_names_the_key_of_every_position(rotated):
    ledger, (first, second, third) = rotated
    schedule = verify_key_history(served(ledger), current(ledger))
    assert schedule.starts == [0, 7, 11]
    expected = {3: first, 6: first, 7: second, 10: second, 11: third, 14: third}
    for seq, key in expected.items():
        kid, public = schedule.key_for(seq)
        assert public == bytes(key.verify_key)
        assert kid == keys.public_key_id(public)
        # The entry at that position really carries that key's signature.
        assert json.loads(ledger.entry_bytes(seq))["kid"] == kid


def test_a_log_that_never_rotated_has_a_one_key_history(database_url: str):
    ledger = Ledger.open(database_url, keys.generate(), ORIGIN)
    ledger.append("lot.event", {"n": 1})
    schedule = verify_key_history(served(ledger), current(ledger))
    assert schedule.starts == [0]
    ledger.engine.dispose()


def expect_refused(history: object, verifier, *words: str) -> None:
    with pytest.raises(VerificationError) as info:
        verify_key_history(history, verifier)
    for word in words:
        assert word in str(info.value).lower(), info.value


def test_only_the_current_key_opens_it(rotated):
    ledger, (first, _, _) = rotated
    history = served(ledger)
    stranger = keys.generate()
    expect_refused(history, parse_vkey(format_vkey(ORIGIN, bytes(stranger.verify_key))))
    # The first key is in the chain, but it did not sign this checkpoint.
    expect_refused(history, parse_vkey(format_vkey(ORIGIN, bytes(first.verify_key))))


def test_forged_or_partial_histories_are_refused(rotated):
    ledger, _ = rotated
    verifier = current(ledger)
    good = served(ledger)

    dropped = copy.deepcopy(good)
    del dropped["key_entries"][1]  # hide the first rotation
    expect_refused(dropped, verifier)

    truncated = copy.deepcopy(good)
    del truncated["key_entries"][-1]  # stop before the current key
    expect_refused(truncated, verifier, "current key")

    edited = copy.deepcopy(good)
    edited["key_entries"][0]["entry"]["payload"]["origin"] = "evil.example/log"
    expect_refused(edited, verifier)

    swapped = copy.deepcopy(good)
    swapped["key_entries"][1]["proof"] = good["key_entries"][2]["proof"]
    expect_refused(swapped, verifier)

    for bad in (None, [], {"v": 2}, {"v": 1}, {**good, "key_entries": []}, {**good, "v": "1"}):
        expect_refused(bad, verifier)


def test_a_proof_for_another_checkpoint_is_refused(rotated):
    ledger, _ = rotated
    older = served(ledger)
    ledger.append("lot.event", {"n": 99})
    newer = served(ledger)
    mixed = copy.deepcopy(newer)
    mixed["key_entries"][0]["proof"] = older["key_entries"][0]["proof"]
    expect_refused(mixed, current(ledger), "another checkpoint")
