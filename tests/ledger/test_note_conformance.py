"""ledger.note against the C2SP signed-note examples and the Tessera test log's checkpoints."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from ledger import keys
from ledger.errors import InvalidInput, VerificationError
from ledger.note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    add_signature,
    format_note,
    format_vkey,
    key_id,
    parse_note,
    parse_vkey,
    sign_note,
    verify_note,
)

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
SIGNED_NOTE = CONFORMANCE / "signed-note"
EM = "\u2014"


def _read(relative: str) -> str:
    path = SIGNED_NOTE / relative
    if not path.is_file():
        pytest.skip(f"conformance data not found at {path}")
    return path.read_bytes().decode("utf-8")


def _tessera() -> dict:
    return json.loads(_read("tessera/log-keys.json"))


def _tessera_signing_key(private: str) -> SigningKey:
    # Go note signer keys: PRIVATE+KEY+name+hexid+base64(0x01 || 32-byte seed).
    prefix, _, rest = private.partition("+KEY+")
    assert prefix == "PRIVATE"
    blob = rest.split("+", 2)[2]  # names hold no '+', the base64 may
    raw = base64.b64decode(blob)
    assert raw[0] == 1 and len(raw) == 33
    return SigningKey(raw[1:])


def test_spec_example_verifies_with_its_vkey() -> None:
    meta = json.loads(_read("c2sp/signed-note-example-vkey.json"))
    verifier = parse_vkey(meta["vkey"])
    assert verifier.name == meta["keyName"]
    assert verifier.key_id.hex() == meta["keyID"]
    assert verifier.public_key.hex() == meta["publicKeyHex"]
    assert key_id(meta["keyName"], 1, verifier.public_key).hex() == meta["keyID"]
    assert format_vkey(meta["keyName"], verifier.public_key) == meta["vkey"]
    note = verify_note(_read("c2sp/signed-note-example.txt").encode("utf-8"), [verifier])
    assert note.text == "This is an example message.\n"
    assert [s.name for s in note.verified] == meta["expectedVerifiedSigners"]


def test_spec_example_fails_when_text_is_changed() -> None:
    meta = json.loads(_read("c2sp/signed-note-example-vkey.json"))
    tampered = _read("c2sp/signed-note-example.txt").replace("example message", "example massage")
    with pytest.raises(VerificationError):
        verify_note(tampered, [parse_vkey(meta["vkey"])])


@pytest.mark.parametrize(
    "name",
    [
        "c2sp/signed-note-example.txt",
        "c2sp/signed-note-intro-example.txt",
        "c2sp/tlog-checkpoint-example.txt",
        "c2sp/tlog-cosignature-example.txt",
        *[f"tessera/log/checkpoint.{n}" for n in range(16)],
    ],
)
def test_examples_parse_and_reformat_byte_exact(name: str) -> None:
    text = _read(name)
    note = parse_note(text)
    assert format_note(note) == text


def test_intro_example_keeps_inner_blank_line() -> None:
    note = parse_note(_read("c2sp/signed-note-intro-example.txt"))
    assert note.text.endswith("\n\ned è subito sera.\n")
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]
    assert len(note.signatures[0].signature) == 64


def test_tessera_checkpoints_verify_with_published_vkey() -> None:
    vkey = _tessera()["vkey"]
    verifier = parse_vkey(vkey)
    for n in [*range(16), None]:
        name = "tessera/log/checkpoint" + ("" if n is None else f".{n}")
        note = verify_note(_read(name), verifier)
        assert [s.name for s in note.verified] == ["example.com/log/testdata"]


def test_signing_reproduces_tessera_checkpoints_byte_exact() -> None:
    # Ed25519 is deterministic: our signer must produce exactly what the Go signer wrote.
    meta = _tessera()
    key = _tessera_signing_key(meta["privateKey"])
    assert bytes(key.verify_key).hex() == meta["publicKeyHex"]
    for n in range(16):
        original = _read(f"tessera/log/checkpoint.{n}")
        text = parse_note(original).text
        assert sign_note(text, meta["origin"], key) == original


def _signed(text: str, *names: str) -> tuple[str, list]:
    signers = [(name, keys.generate()) for name in names]
    note = Note(
        text=text,
        signatures=tuple(
            NoteSignature(
                name, key_id(name, 1, bytes(k.verify_key)), k.sign(text.encode()).signature
            )
            for name, k in signers
        ),
    )
    verifiers = [parse_vkey(format_vkey(name, bytes(k.verify_key))) for name, k in signers]
    return format_note(note), verifiers


def test_unknown_signatures_are_ignored_but_one_known_is_needed() -> None:
    data, (a, b) = _signed("hello\n", "a.example", "b.example")
    assert [s.name for s in verify_note(data, [a]).verified] == ["a.example"]
    assert [s.name for s in verify_note(data, [a, b]).verified] == ["a.example", "b.example"]
    _, (other,) = _signed("x\n", "c.example")
    with pytest.raises(VerificationError, match="not signed by any known key"):
        verify_note(data, [other])


def test_same_name_other_key_id_is_ignored() -> None:
    data, (a,) = _signed("hello\n", "a.example")
    _, (impostor,) = _signed("hello\n", "a.example")  # same name, different key
    with pytest.raises(VerificationError, match="not signed by any known key"):
        verify_note(data, [impostor])
    assert verify_note(data, [impostor, a]).verified[0].name == "a.example"


def test_bad_signature_by_known_key_rejects_note() -> None:
    data, (a, b) = _signed("hello\n", "a.example", "b.example")
    note = parse_note(data)
    bad = NoteSignature("b.example", b.key_id, bytes(64))
    forged = add_signature(note, bad)
    with pytest.raises(VerificationError, match=r"b\.example"):
        verify_note(forged, [a, b])
    assert verify_note(forged, [a]).verified[0].name == "a.example"


def test_duplicate_signature_by_known_key_is_rejected() -> None:
    data, (a,) = _signed("hello\n", "a.example")
    doubled = data + data.split("\n\n", 1)[1]
    with pytest.raises(VerificationError, match="two signatures"):
        verify_note(doubled, [a])


def test_sixteen_signatures_are_accepted() -> None:
    names = [f"w{i}.example" for i in range(16)]
    data, verifiers = _signed("sixteen\n", *names)
    assert len(verify_note(data, verifiers).verified) == 16


SIG = base64.b64encode(bytes(68)).decode()

MALFORMED = {
    "no trailing newline": f"text\n\n{EM} a {SIG}",
    "no blank line": f"text\n{EM} a {SIG}\n",
    "no signatures": "text\n\n",
    "hyphen instead of em dash": f"text\n\n- a {SIG}\n",
    "en dash": f"text\n\n\u2013 a {SIG}\n",
    "missing space after dash": f"text\n\n{EM}a {SIG}\n",
    "plus in name": f"text\n\n{EM} a+b {SIG}\n",
    "empty name": f"text\n\n{EM}  {SIG}\n",
    "no-break space in name": f"text\n\n{EM} a\u00a0b {SIG}\n",
    "no signature after name": f"text\n\n{EM} a\n",
    "bad base64": f"text\n\n{EM} a !!!!\n",
    "unpadded base64": f"text\n\n{EM} a {SIG.rstrip('=')}\n",
    "non-canonical base64": f"text\n\n{EM} a AAAAAAB=\n",
    "too short": f"text\n\n{EM} a {base64.b64encode(bytes(4)).decode()}\n",
    "trailing blank after signatures": f"text\n\n{EM} a {SIG}\n\n",
    "carriage return": f"text\r\n\n{EM} a {SIG}\n",
    "tab": f"te\txt\n\n{EM} a {SIG}\n",
    "nul": f"te\x00xt\n\n{EM} a {SIG}\n",
    "empty": "",
    "lone surrogate": f"te\ud800xt\n\n{EM} a {SIG}\n",
    "too many signatures": "t\n\n" + f"{EM} a {SIG}\n" * (MAX_SIGNATURES + 1),
    "too large": "t" * MAX_NOTE_BYTES + f"\n\n{EM} a {SIG}\n",
}


@pytest.mark.parametrize("data", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_notes_are_rejected(data: str) -> None:
    with pytest.raises(InvalidInput):
        parse_note(data)


def test_invalid_utf8_bytes_rejected() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_note(b"t\xff\n\n" + f"{EM} a {SIG}\n".encode())


def test_empty_text_lines_are_allowed() -> None:
    note = parse_note(f"a\n\nb\n\n{EM} a {SIG}\n")
    assert note.text == "a\n\nb\n"


MALFORMED_VKEYS = {
    "two parts": "example.com/foo+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "wrong key id": "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "uppercase key id": "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "other name": "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    "truncated key": "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U0=",
    "bad base64": "example.com/foo+530d903a+Aeky!Rrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
}


@pytest.mark.parametrize("vkey", list(MALFORMED_VKEYS.values()), ids=list(MALFORMED_VKEYS))
def test_malformed_vkeys_are_rejected(vkey: str) -> None:
    with pytest.raises(InvalidInput):
        parse_vkey(vkey)


def test_vkey_with_wrong_type_or_small_order_key_is_rejected() -> None:
    from ledger.note import format_vkey_for

    pk = bytes(keys.generate().verify_key)
    with pytest.raises(InvalidInput, match="0x04"):
        parse_vkey(format_vkey_for("w.example", 4, pk))
    identity = (1).to_bytes(32, "little")  # the neutral point, order 1
    with pytest.raises(InvalidInput):
        parse_vkey(format_vkey_for("w.example", 1, identity))
    with pytest.raises(InvalidInput):
        format_vkey("w.example", identity)


def test_sign_note_rejects_bad_text_and_names() -> None:
    key = keys.generate()
    for text in ("no newline", "a\x01\n", ""):
        with pytest.raises(InvalidInput):
            sign_note(text, "a.example", key)
    for name in ("", "a b", "a+b"):
        with pytest.raises(InvalidInput):
            sign_note("t\n", name, key)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_parse_note_raises_only_ledger_errors_on_arbitrary_input(data: str | bytes) -> None:
    with contextlib.suppress(InvalidInput):
        parse_note(data)


_line = st.text(alphabet=st.sampled_from(["a", " ", "+", "=", "/", EM, "\n", "A", "\u00e9"]))


@settings(max_examples=300, deadline=None)
@given(_line, st.lists(_line, max_size=4), st.lists(st.binary(max_size=80), max_size=4))
def test_parse_note_near_valid_input(text: str, names: list[str], sigs: list[bytes]) -> None:
    block = "".join(
        f"{EM} {n} {base64.b64encode(s).decode()}\n" for n, s in zip(names, sigs, strict=False)
    )
    data = text + "\n\n" + block
    try:
        note = parse_note(data)
    except InvalidInput:
        return
    assert format_note(note) == data
