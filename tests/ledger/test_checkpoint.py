"""Checkpoints, cosignatures, the witness and tlog-proof against C2SP examples and Tessera data."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from ledger import keys
from ledger.checkpoint import (
    Checkpoint,
    MemoryWitnessState,
    Witness,
    cosign,
    cosignature_message,
    format_cosigner_vkey,
    open_checkpoint,
    parse_checkpoint,
    parse_cosigner_vkey,
    sign_checkpoint,
    verify_cosignature,
)
from ledger.errors import InvalidInput, ProofError, VerificationError
from ledger.note import format_vkey, parse_note, verify_note
from ledger.tlog_proof import TlogProof, format_tlog_proof, parse_tlog_proof, verify_tlog_proof

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
SIGNED_NOTE = CONFORMANCE / "signed-note"


def _read(relative: str) -> str:
    path = SIGNED_NOTE / relative
    if not path.is_file():
        pytest.skip(f"conformance data not found at {path}")
    return path.read_bytes().decode("utf-8")


def _tessera() -> dict:
    return json.loads(_read("tessera/log-keys.json"))


def _tessera_key(meta: dict) -> SigningKey:
    raw = base64.b64decode(meta["privateKey"].split("+", 4)[4])  # PRIVATE+KEY+name+id+b64
    assert raw[0] == 1
    return SigningKey(raw[1:])


# An independent RFC 9162 reference (recursive definitions of section 2.1), used as the
# oracle for roots and proofs so these tests do not trust ledger.merkle to check itself.
def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _k(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return _leaf(leaves[0])
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [_mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


def _consistency(m: int, leaves: list[bytes]) -> list[bytes]:
    return _subproof(m, leaves, True)


def _leaves() -> list[bytes]:
    return [s.encode("ascii") for s in _tessera()["leaves"]]


# ---- checkpoint format ---------------------------------------------------------------


def test_spec_checkpoint_example_parses() -> None:
    note = parse_note(_read("c2sp/tlog-checkpoint-example.txt"))
    cp = parse_checkpoint(note.text)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert base64.b64encode(cp.root).decode() == "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    assert cp.extensions == ()
    assert cp.body() == note.text


def test_tessera_checkpoints_verify_and_roots_match_leaves() -> None:
    meta = _tessera()
    leaves = [s.encode("ascii") for s in meta["leaves"]]
    assert len(leaves) == 15
    from ledger import merkle

    for n in range(16):
        cp, note = open_checkpoint(_read(f"tessera/log/checkpoint.{n}"), meta["vkey"])
        assert (cp.origin, cp.size) == (meta["origin"], n)
        assert cp.root == _mth(leaves[:n])  # independent recursive reference
        assert cp.root == merkle.root_of([merkle.leaf_hash(x) for x in leaves[:n]])
        assert note.verified[0].name == meta["origin"]
    assert _read("tessera/log/checkpoint") == _read("tessera/log/checkpoint.15")


def test_tessera_roots_match_pymerkle() -> None:
    pymerkle = pytest.importorskip("pymerkle")
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    meta = _tessera()
    for n, leaf in enumerate(meta["leaves"], start=1):
        tree.append_entry(leaf.encode("ascii"))
        cp, _ = open_checkpoint(_read(f"tessera/log/checkpoint.{n}"), meta["vkey"])
        assert cp.root == tree.get_root(n)


def test_sign_and_open_round_trip_and_extensions() -> None:
    key = keys.generate()
    vkey = format_vkey("log.example/a", bytes(key.verify_key))
    cp = Checkpoint("log.example/a", 7, bytes(range(32)), ("ext one", "ext-two"))
    signed = sign_checkpoint(cp, "log.example/a", key)
    assert signed.startswith("log.example/a\n7\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n")
    opened, _ = open_checkpoint(signed, vkey, origin="log.example/a")
    assert opened == cp
    with pytest.raises(VerificationError, match="origin"):
        open_checkpoint(signed, vkey, origin="log.example/b")
    other = format_vkey("log.example/a", bytes(keys.generate().verify_key))
    with pytest.raises(VerificationError):
        open_checkpoint(signed, other)


ROOT = base64.b64encode(bytes(32)).decode()
URLSAFE_ROOT = base64.urlsafe_b64encode(bytes([0xFF] * 32)).decode()
BAD_CHECKPOINTS = {
    "leading zero": f"o\n01\n{ROOT}\n",
    "plus sign": f"o\n+1\n{ROOT}\n",
    "space": f"o\n 1\n{ROOT}\n",
    "decimal point": f"o\n1.0\n{ROOT}\n",
    "arabic digit": f"o\n\u0661\n{ROOT}\n",
    "empty size": f"o\n\n{ROOT}\n",
    "too big": f"o\n{2**63}\n{ROOT}\n",
    "31-byte root": f"o\n1\n{base64.b64encode(bytes(31)).decode()}\n",
    "33-byte root": f"o\n1\n{base64.b64encode(bytes(33)).decode()}\n",
    "unpadded root": f"o\n1\n{ROOT.rstrip('=')}\n",
    "non-canonical root": f"o\n1\n{ROOT[:-2]}B=\n",
    "url-safe root": f"o\n1\n{URLSAFE_ROOT}\n",
    "empty origin": f"\n1\n{ROOT}\n",
    "two lines": "o\n1\n",
    "no newline": f"o\n1\n{ROOT}",
    "empty extension": f"o\n1\n{ROOT}\n\n",
    "control in origin": f"o\x01\n1\n{ROOT}\n",
}


@pytest.mark.parametrize("text", list(BAD_CHECKPOINTS.values()), ids=list(BAD_CHECKPOINTS))
def test_malformed_checkpoints_are_rejected(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_checkpoint(text)


def test_largest_size_and_zero_accepted() -> None:
    assert parse_checkpoint(f"o\n{2**63 - 1}\n{ROOT}\n").size == 2**63 - 1
    assert parse_checkpoint(f"o\n0\n{ROOT}\n").size == 0


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_checkpoint_raises_only_invalid_input(text: str) -> None:
    try:
        cp = parse_checkpoint(text)
    except InvalidInput:
        return
    assert cp.body() == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789+-= \n"), st.text(alphabet="AB=+/ \n"))
def test_parse_checkpoint_near_valid(size: str, root: str) -> None:
    with contextlib.suppress(InvalidInput):
        parse_checkpoint(f"o\n{size}\n{root}\n")


# ---- cosignatures ------------------------------------------------------------------------


def test_spec_cosignature_example_structure() -> None:
    note = parse_note(_read("c2sp/tlog-cosignature-example.txt"))
    log_sig, witness_sig = note.signatures
    assert witness_sig.name == "witness.example.com/w1"
    assert len(witness_sig.signature) == 8 + 64
    # The spec's example signed message carries "time 1679315147".
    assert int.from_bytes(witness_sig.signature[:8], "big") == 1679315147
    assert len(log_sig.signature) == 64


def test_cosignature_message_matches_spec_example() -> None:
    body = parse_note(_read("c2sp/tlog-cosignature-example.txt")).text
    assert cosignature_message(body, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
        b"CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )


def test_cosign_and_verify_on_tessera_checkpoint() -> None:
    meta = _tessera()
    original = _read("tessera/log/checkpoint.5")
    witness_key = keys.generate()
    wvkey = format_cosigner_vkey("witness.example/w1", bytes(witness_key.verify_key))
    cosigned = cosign(original, "witness.example/w1", witness_key, 1_700_000_000)
    assert cosigned.startswith(original)
    assert verify_cosignature(cosigned, wvkey) == 1_700_000_000
    # The log signature still verifies; the cosignature is an unknown key to the log verifier.
    open_checkpoint(cosigned, meta["vkey"])
    # A cosigner vkey differs from a plain note vkey of the same key (type 0x04 vs 0x01).
    plain = format_vkey("witness.example/w1", bytes(witness_key.verify_key))
    assert plain.split("+")[1] != wvkey.split("+")[1]
    with pytest.raises(InvalidInput):
        parse_cosigner_vkey(plain)
    # verify_note accepts the cosigner verifier like any other note verifier.
    note = verify_note(cosigned, [parse_cosigner_vkey(wvkey)])
    assert note.verified[0].name == "witness.example/w1"
    # Cosigning again replaces the earlier line by the same key instead of duplicating it.
    again = cosign(cosigned, "witness.example/w1", witness_key, 1_700_000_001)
    assert len(parse_note(again).signatures) == 2
    assert verify_cosignature(again, wvkey) == 1_700_000_001


def test_cosignature_is_checked_with_pynacl_directly() -> None:
    witness_key = keys.generate()
    cosigned = cosign(_read("tessera/log/checkpoint.2"), "w.example", witness_key, 42)
    sig = parse_note(cosigned).signatures[-1]
    expected_id = hashlib.sha256(b"w.example\n\x04" + bytes(witness_key.verify_key)).digest()[:4]
    assert sig.key_id == expected_id
    assert sig.signature[:8] == (42).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 42\n" + parse_note(cosigned).text.encode()
    witness_key.verify_key.verify(message, sig.signature[8:])  # raises if wrong


def test_tampered_cosignatures_are_rejected() -> None:
    witness_key = keys.generate()
    wvkey = format_cosigner_vkey("w.example", bytes(witness_key.verify_key))
    original = _read("tessera/log/checkpoint.3")
    cosigned = cosign(original, "w.example", witness_key, 1000)
    note = parse_note(cosigned)
    sig = note.signatures[-1]
    from ledger.note import NoteSignature, add_signature

    later = NoteSignature(sig.name, sig.key_id, (1001).to_bytes(8, "big") + sig.signature[8:])
    with pytest.raises(VerificationError):
        verify_cosignature(add_signature(note, later), wvkey)
    with pytest.raises(VerificationError, match="no cosignature"):
        verify_cosignature(original, wvkey)
    moved = cosigned.replace("\n3\n", "\n4\n", 1)
    with pytest.raises(VerificationError):
        verify_cosignature(moved, wvkey)
    with pytest.raises(InvalidInput):
        cosign(original, "w.example", witness_key, 2**63)
    with pytest.raises(InvalidInput):
        cosign(original, "w.example", witness_key, -1)


# ---- witness -----------------------------------------------------------------------------


def _witness(now: int = 1_800_000_000) -> Witness:
    return Witness("witness.example/w1", keys.generate(), MemoryWitnessState(), lambda: now)


def test_witness_follows_a_growing_log() -> None:
    meta, leaves = _tessera(), _leaves()
    w = _witness()
    first = w.cosign_if_consistent(_read("tessera/log/checkpoint.3"), meta["vkey"], [])
    assert verify_cosignature(first, w.vkey()) == 1_800_000_000
    for old, new in [(3, 7), (7, 8), (8, 15)]:
        proof = _consistency(old, leaves[:new])
        out = w.cosign_if_consistent(_read(f"tessera/log/checkpoint.{new}"), meta["vkey"], proof)
        verify_cosignature(out, w.vkey())
    assert w.state.get(meta["origin"]) == (15, _mth(leaves))
    # The same checkpoint again is fine (no proof needed).
    w.cosign_if_consistent(_read("tessera/log/checkpoint.15"), meta["vkey"], [])


def test_witness_refuses_rollback() -> None:
    meta, leaves = _tessera(), _leaves()
    w = _witness()
    w.cosign_if_consistent(_read("tessera/log/checkpoint.9"), meta["vkey"], [])
    with pytest.raises(VerificationError, match="smaller"):
        w.cosign_if_consistent(
            _read("tessera/log/checkpoint.5"), meta["vkey"], _consistency(5, leaves[:9])
        )
    assert w.state.get(meta["origin"])[0] == 9


def test_witness_catches_split_view() -> None:
    # The log serves two different trees of size 8: the witness cosigns only the first.
    meta, leaves = _tessera(), _leaves()
    log_key = _tessera_key(meta)
    honest = _read("tessera/log/checkpoint.8")
    forked_leaves = [*leaves[:7], b"evil"]
    forked = sign_checkpoint(
        Checkpoint(meta["origin"], 8, _mth(forked_leaves)), meta["origin"], log_key
    )
    open_checkpoint(forked, meta["vkey"])  # validly signed by the log
    w = _witness()
    w.cosign_if_consistent(_read("tessera/log/checkpoint.4"), meta["vkey"], [])
    w.cosign_if_consistent(honest, meta["vkey"], _consistency(4, leaves[:8]))
    with pytest.raises(VerificationError, match="differs"):
        w.cosign_if_consistent(forked, meta["vkey"], [])
    # A second witness that saw size 4 cannot be fed the fork with a proof for the honest tree.
    w2 = _witness()
    w2.cosign_if_consistent(_read("tessera/log/checkpoint.4"), meta["vkey"], [])
    with pytest.raises(ProofError):
        w2.cosign_if_consistent(forked, meta["vkey"], _consistency(4, leaves[:8]))
    assert w2.state.get(meta["origin"])[0] == 4


def test_witness_rejects_bad_proofs_and_signatures() -> None:
    meta, leaves = _tessera(), _leaves()
    w = _witness()
    with pytest.raises(VerificationError, match="empty consistency proof"):
        w.cosign_if_consistent(
            _read("tessera/log/checkpoint.6"), meta["vkey"], _consistency(3, leaves[:6])
        )
    assert w.state.get(meta["origin"]) is None
    w.cosign_if_consistent(_read("tessera/log/checkpoint.6"), meta["vkey"], [])
    proof = _consistency(6, leaves[:11])
    bad = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    with pytest.raises(ProofError):
        w.cosign_if_consistent(_read("tessera/log/checkpoint.11"), meta["vkey"], bad)
    with pytest.raises(ProofError):
        w.cosign_if_consistent(_read("tessera/log/checkpoint.11"), meta["vkey"], proof[:-1])
    assert w.state.get(meta["origin"])[0] == 6
    other_log = format_vkey(meta["origin"], bytes(keys.generate().verify_key))
    with pytest.raises(VerificationError):
        w.cosign_if_consistent(_read("tessera/log/checkpoint.11"), other_log, proof)
    with pytest.raises(VerificationError, match="origin"):
        w.cosign_if_consistent(
            _read("tessera/log/checkpoint.11"), meta["vkey"], proof, origin="other.example/log"
        )


# ---- tlog-proof --------------------------------------------------------------------------


def test_tlog_proof_for_every_tessera_leaf() -> None:
    meta, leaves = _tessera(), _leaves()
    checkpoint = _read("tessera/log/checkpoint.15")
    for index, leaf in enumerate(leaves):
        proof = TlogProof(index, tuple(_path(index, leaves)), checkpoint, extra=b"ctx")
        text = format_tlog_proof(proof)
        assert text.startswith(f"c2sp.org/tlog-proof@v1\nextra Y3R4\nindex {index}\n")
        assert text.endswith("\n\n" + checkpoint)
        assert parse_tlog_proof(text) == proof
        cp, _ = verify_tlog_proof(text, _leaf(leaf), meta["vkey"], origin=meta["origin"])
        assert cp.size == 15
        wrong = leaves[(index + 1) % 15]
        with pytest.raises(ProofError):
            verify_tlog_proof(text, _leaf(wrong), meta["vkey"])


def test_tlog_proof_edge_cases() -> None:
    meta, leaves = _tessera(), _leaves()
    one = _read("tessera/log/checkpoint.1")
    text = format_tlog_proof(TlogProof(0, (), one))
    assert text == "c2sp.org/tlog-proof@v1\nindex 0\n\n" + one
    verify_tlog_proof(text, _leaf(leaves[0]), meta["vkey"])
    beyond = format_tlog_proof(TlogProof(1, (), one))
    with pytest.raises(VerificationError, match="below tree size"):
        verify_tlog_proof(beyond, _leaf(leaves[0]), meta["vkey"])


def test_tlog_proof_witness_quorum() -> None:
    meta, leaves = _tessera(), _leaves()
    w = _witness()
    cosigned = w.cosign_if_consistent(_read("tessera/log/checkpoint.15"), meta["vkey"], [])
    text = format_tlog_proof(TlogProof(3, tuple(_path(3, leaves)), cosigned))
    verify_tlog_proof(text, _leaf(leaves[3]), meta["vkey"], cosigners=[w.vkey()], quorum=1)
    stranger = _witness().vkey()
    with pytest.raises(VerificationError, match="cosignatures"):
        verify_tlog_proof(text, _leaf(leaves[3]), meta["vkey"], cosigners=[stranger], quorum=1)


def _bad_proofs() -> dict[str, str]:
    # Also called at collection time (for the test ids), when the data may be missing.
    have_data = SIGNED_NOTE.is_dir()
    cp = _read("tessera/log/checkpoint.15") if have_data else "x\n"
    note = _read("c2sp/signed-note-example.txt") if have_data else "x\n"
    h = base64.b64encode(bytes(32)).decode()
    return {
        "wrong header": f"c2sp.org/tlog-proof@v2\nindex 0\n\n{cp}",
        "missing index": f"c2sp.org/tlog-proof@v1\n{h}\n\n{cp}",
        "leading zero": f"c2sp.org/tlog-proof@v1\nindex 01\n\n{cp}",
        "negative": f"c2sp.org/tlog-proof@v1\nindex -1\n\n{cp}",
        "extra after index": f"c2sp.org/tlog-proof@v1\nindex 0\nextra AA==\n\n{cp}",
        "empty extra": f"c2sp.org/tlog-proof@v1\nextra \nindex 0\n\n{cp}",
        "short hash": f"c2sp.org/tlog-proof@v1\nindex 0\n{h[:-4]}\n\n{cp}",
        "no blank line": f"c2sp.org/tlog-proof@v1\nindex 0\n{cp}",
        "bad checkpoint": "c2sp.org/tlog-proof@v1\nindex 0\n\nnot a note\n",
        "checkpoint not a checkpoint": ("c2sp.org/tlog-proof@v1\nindex 0\n\n" + note),
    }


@pytest.mark.parametrize("name", list(_bad_proofs()))
def test_malformed_tlog_proofs_are_rejected(name: str) -> None:
    _read("c2sp/signed-note-example.txt")  # skips when the conformance data is missing
    with pytest.raises(InvalidInput):
        parse_tlog_proof(_bad_proofs()[name])


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_parse_tlog_proof_raises_only_invalid_input(text: str) -> None:
    with contextlib.suppress(InvalidInput):
        parse_tlog_proof("c2sp.org/tlog-proof@v1\n" + text)
