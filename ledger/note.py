"""The C2SP signed-note format (c2sp.org/signed-note): parse, format, sign and verify notes.

A note is UTF-8 text ending in a newline, a blank line, then one or more signature
lines `— <key name> base64(4-byte key ID || signature)`. Ed25519 note keys use signature
type 0x01; their verifier keys ("vkeys") are `name+hex(key ID)+base64(type || public key)`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from nacl.signing import SigningKey

from ledger import keys
from ledger.errors import InvalidInput, VerificationError

ALG_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures."""

ALG_COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature)."""

SIGNATURE_PREFIX = "\u2014 "
"""Every signature line starts with an em dash and a space."""

MAX_NOTE_BYTES = 1 << 18
"""Largest note accepted, in UTF-8 bytes (room for 16+ post-quantum signatures)."""

MAX_SIGNATURES = 64
"""Most signature lines accepted in one note (the spec asks for at least 16)."""

_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key ID and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.key_id) != 4:
            raise InvalidInput(f"key ID must be 4 bytes, got {len(self.key_id)}")
        if not self.signature:
            raise InvalidInput("empty signature")

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    """A parsed note: its text (with final newline), every signature, and the verified ones."""

    text: str
    signatures: tuple[NoteSignature, ...]
    verified: tuple[NoteSignature, ...] = field(default=(), compare=False)


@runtime_checkable
class Verifier(Protocol):
    """Anything that can check note signatures made by one (name, key ID)."""

    name: str
    key_id: bytes

    def verify(self, text: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 (type 0x01) note verifier key."""

    name: str
    key_id: bytes
    public_key: bytes

    def verify(self, text: bytes, signature: bytes) -> bool:
        return keys.verify(self.public_key, text, signature)

    def vkey(self) -> str:
        return format_vkey(self.name, self.public_key)


def check_key_name(name: str) -> None:
    """Key names are non-empty and contain no Unicode space, no '+' and no control character."""
    if not isinstance(name, str) or not name:
        raise InvalidInput("key name must be a non-empty string")
    if "+" in name or any(ch.isspace() for ch in name) or _CONTROL.search(name):
        raise InvalidInput(f"key name {name!r} contains a space, '+' or control character")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || alg || public key)[:4], the recommended note key ID."""
    check_key_name(name)
    if not 0 <= alg <= 0xFF:
        raise InvalidInput(f"signature type {alg} is not a byte")
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def b64decode_strict(value: str, what: str) -> bytes:
    """Standard base64 with padding, rejecting any other alphabet or a non-canonical encoding."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidInput(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode("ascii") != value:
        raise InvalidInput(f"{what} is not canonical base64")
    return raw


def format_vkey_for(name: str, alg: int, public_key: bytes) -> str:
    """A verifier key string `name+hexkeyid+base64(alg || public key)` for any signature type."""
    kid = key_id(name, alg, public_key)
    blob = base64.b64encode(bytes([alg]) + public_key).decode("ascii")
    return f"{name}+{kid.hex()}+{blob}"


def split_vkey(vkey: str) -> tuple[str, bytes, int, bytes]:
    """Parse any vkey into (name, key ID, signature type, public key); the key ID must match."""
    if not isinstance(vkey, str):
        raise InvalidInput("vkey must be a string")
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise InvalidInput("vkey must have the form name+keyid+base64key")
    name, hex_id, blob = parts
    check_key_name(name)
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise InvalidInput("vkey key ID must be 8 lowercase hex digits")
    raw = b64decode_strict(blob, "vkey key material")
    if len(raw) < 2:
        raise InvalidInput("vkey key material is too short")
    alg, public_key = raw[0], raw[1:]
    if key_id(name, alg, public_key) != bytes.fromhex(hex_id):
        raise InvalidInput(f"vkey key ID {hex_id} does not match its name and key")
    return name, bytes.fromhex(hex_id), alg, public_key


def format_vkey(name: str, public_key: bytes) -> str:
    """The Ed25519 (type 0x01) verifier key of `name` and a 32-byte public key."""
    keys.check_public_key(public_key)
    return format_vkey_for(name, ALG_ED25519, public_key)


def parse_vkey(vkey: str) -> NoteVerifier:
    """Parse an Ed25519 note vkey, checking its key ID and that the public key is acceptable."""
    name, kid, alg, public_key = split_vkey(vkey)
    if alg != ALG_ED25519:
        raise InvalidInput(f"vkey has signature type 0x{alg:02x}, expected 0x01 (Ed25519)")
    keys.check_public_key(public_key)
    return NoteVerifier(name=name, key_id=kid, public_key=public_key)


def _decode(data: str | bytes) -> str:
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_NOTE_BYTES:
            raise InvalidInput(f"note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"note is not valid UTF-8 (byte {exc.start})") from exc
    if not isinstance(data, str):
        raise InvalidInput("note must be str or bytes")
    try:
        size = len(data.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InvalidInput("note contains a lone surrogate, not valid UTF-8") from exc
    if size > MAX_NOTE_BYTES:
        raise InvalidInput(f"note is larger than {MAX_NOTE_BYTES} bytes")
    return data


def check_text(text: str) -> None:
    """Note text: non-empty, ends with a newline, no control character other than newline."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise InvalidInput("note text must end with a newline")
    if m := _CONTROL.search(text):
        raise InvalidInput(f"note text has control character {m.group()!r} at offset {m.start()}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("note text is not valid UTF-8") from exc


def _parse_signature_line(line: str, number: int) -> NoteSignature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise InvalidInput(f"signature line {number} does not start with an em dash and a space")
    rest = line[len(SIGNATURE_PREFIX) :]
    name, sep, blob = rest.partition(" ")
    if not sep:
        raise InvalidInput(f"signature line {number} has no space between name and signature")
    check_key_name(name)
    raw = b64decode_strict(blob, f"signature line {number}")
    if len(raw) < 5:
        raise InvalidInput(f"signature line {number} is shorter than a key ID plus a signature")
    return NoteSignature(name=name, key_id=raw[:4], signature=raw[4:])


def parse_note(data: str | bytes) -> Note:
    """Parse a signed note strictly; raise InvalidInput on any deviation from the format."""
    s = _decode(data)
    if _CONTROL.search(s):
        raise InvalidInput("note contains a control character other than newline")
    if not s.endswith("\n"):
        raise InvalidInput("note must end with a newline")
    split = s.rfind("\n\n")
    if split < 0:
        raise InvalidInput("note has no blank line before its signatures")
    text, block = s[: split + 1], s[split + 2 :]
    if not block:
        raise InvalidInput("note has no signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise InvalidInput(f"note has more than {MAX_SIGNATURES} signatures")
    signatures = tuple(_parse_signature_line(line, i + 1) for i, line in enumerate(lines))
    return Note(text=text, signatures=signatures)


def format_note(note: Note) -> str:
    """Serialize a note: text, blank line, one line per signature."""
    check_text(note.text)
    if not note.signatures:
        raise InvalidInput("a signed note needs at least one signature")
    return note.text + "\n" + "".join(sig.line() for sig in note.signatures)


def ed25519_signature(text: str, name: str, signing_key: SigningKey) -> NoteSignature:
    """The type 0x01 signature of note text by `signing_key` under key name `name`."""
    check_text(text)
    public_key = bytes(signing_key.verify_key)
    sig = signing_key.sign(text.encode("utf-8")).signature
    return NoteSignature(name=name, key_id=key_id(name, ALG_ED25519, public_key), signature=sig)


def sign_note(text: str, name: str, signing_key: SigningKey) -> str:
    """A signed note of `text` with one Ed25519 signature."""
    return format_note(Note(text=text, signatures=(ed25519_signature(text, name, signing_key),)))


def add_signature(note: str | Note, signature: NoteSignature) -> str:
    """The note with `signature` added, replacing any earlier one by the same name and key ID."""
    parsed = note if isinstance(note, Note) else parse_note(note)
    kept = tuple(
        s for s in parsed.signatures if (s.name, s.key_id) != (signature.name, signature.key_id)
    )
    if len(kept) + 1 > MAX_SIGNATURES:
        raise InvalidInput(f"note would have more than {MAX_SIGNATURES} signatures")
    return format_note(Note(text=parsed.text, signatures=(*kept, signature)))


def verify_note(data: str | bytes | Note, verifiers: Iterable[Verifier] | Verifier) -> Note:
    """Verify a note against known keys and return it with the signatures that verified.

    Signatures whose (name, key ID) matches no verifier are ignored. A signature by a known
    key that fails, or a known key signing twice, raises VerificationError, as does a note
    that no known key signed.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    known: Sequence[Verifier] = (
        [verifiers] if isinstance(verifiers, Verifier) else list(verifiers)  # type: ignore[list-item]
    )
    by_id = {(v.name, v.key_id): v for v in known}
    text = note.text.encode("utf-8")
    verified: list[NoteSignature] = []
    seen: set[tuple[str, bytes]] = set()
    for sig in note.signatures:
        ident = (sig.name, sig.key_id)
        verifier = by_id.get(ident)
        if verifier is None:
            continue
        if ident in seen:
            raise VerificationError(None, f"note has two signatures by {sig.name}")
        seen.add(ident)
        if not verifier.verify(text, sig.signature):
            raise VerificationError(
                None, f"signature by {sig.name} (key ID {sig.key_id.hex()}) does not verify"
            )
        verified.append(sig)
    if not verified:
        raise VerificationError(None, "note is not signed by any known key")
    return Note(text=note.text, signatures=note.signatures, verified=tuple(verified))
