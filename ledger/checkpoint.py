"""C2SP tlog-checkpoint notes, tlog-cosignature/v1 witness cosignatures, and a cosigning witness.

A checkpoint body is `origin\\nsize\\nbase64(root)\\n` plus optional extension lines; it is
signed as a C2SP signed note. A cosignature (signature type 0x04) signs
`cosignature/v1\\ntime <unix seconds>\\n` followed by that body, and its signature bytes are
an 8-byte big-endian timestamp followed by the 64-byte Ed25519 signature.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from nacl.signing import SigningKey

from ledger import keys, merkle
from ledger.errors import InvalidInput, VerificationError
from ledger.note import (
    ALG_COSIGNATURE_V1,
    Note,
    NoteSignature,
    NoteVerifier,
    add_signature,
    b64decode_strict,
    check_key_name,
    format_vkey_for,
    key_id,
    parse_note,
    parse_vkey,
    sign_note,
    split_vkey,
    verify_note,
)

ROOT_SIZE = 32
MAX_TREE_SIZE = (1 << 63) - 1
MAX_TIMESTAMP = (1 << 63) - 1
COSIGNATURE_HEADER = "cosignature/v1\n"
EMPTY_ROOT = hashlib.sha256(b"").digest()

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed tree head: origin, tree size, RFC 9162 root and opaque extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise InvalidInput("checkpoint origin must be a non-empty string")
        if _CONTROL.search(self.origin):
            raise InvalidInput("checkpoint origin contains a control character")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise InvalidInput("checkpoint size must be an integer")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise InvalidInput(f"checkpoint size {self.size} is out of range")
        if not isinstance(self.root, bytes) or len(self.root) != ROOT_SIZE:
            raise InvalidInput(f"checkpoint root must be {ROOT_SIZE} bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for i, ext in enumerate(self.extensions):
            if not isinstance(ext, str) or not ext or _CONTROL.search(ext):
                raise InvalidInput(f"checkpoint extension line {i} is empty or has control chars")

    def body(self) -> str:
        """The note text: origin, size, base64 root and extension lines, each ending in \\n."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(f"{line}\n" for line in (*lines, *self.extensions))


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint body (note text) strictly; raise InvalidInput when malformed."""
    if not isinstance(text, str):
        raise InvalidInput("checkpoint text must be a string")
    if not text.endswith("\n"):
        raise InvalidInput("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidInput("checkpoint needs origin, size and root lines")
    origin, size_line, root_line, *extensions = lines
    if not _DECIMAL.fullmatch(size_line):
        raise InvalidInput(f"checkpoint size {size_line!r} is not a decimal without leading zeros")
    size = int(size_line)
    if size > MAX_TREE_SIZE:
        raise InvalidInput(f"checkpoint size {size_line} is out of range")
    root = b64decode_strict(root_line, "checkpoint root")
    if len(root) != ROOT_SIZE:
        raise InvalidInput(f"checkpoint root is {len(root)} bytes, expected {ROOT_SIZE}")
    return Checkpoint(origin=origin, size=size, root=root, extensions=tuple(extensions))


def sign_checkpoint(cp: Checkpoint, name: str, key: SigningKey) -> str:
    """The checkpoint as a signed note with one Ed25519 signature by `name`."""
    return sign_note(cp.body(), name, key)


def open_checkpoint(
    note_text: str | bytes, vkey: str | NoteVerifier, *, origin: str | None = None
) -> tuple[Checkpoint, Note]:
    """Verify a checkpoint note with the log's vkey and parse its body.

    `origin`, when given, must equal the checkpoint's origin line.
    """
    verifier = parse_vkey(vkey) if isinstance(vkey, str) else vkey
    note = verify_note(note_text, [verifier])
    cp = parse_checkpoint(note.text)
    if origin is not None and cp.origin != origin:
        raise VerificationError(None, f"checkpoint origin {cp.origin!r} is not {origin!r}")
    return cp, note


def cosignature_message(body: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: header line, time line, then the checkpoint body."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's Ed25519 cosignature/v1 public key (signature type 0x04)."""

    name: str
    key_id: bytes
    public_key: bytes

    def timestamp_of(self, text: bytes, signature: bytes) -> int | None:
        """The signed timestamp if `signature` is a valid cosignature of `text`, else None."""
        if len(signature) != 8 + keys.SIGNATURE_SIZE:
            return None
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return None
        message = cosignature_message(text.decode("utf-8"), timestamp)
        if not keys.verify(self.public_key, message, signature[8:]):
            return None
        return timestamp

    def verify(self, text: bytes, signature: bytes) -> bool:
        return self.timestamp_of(text, signature) is not None

    def vkey(self) -> str:
        return format_cosigner_vkey(self.name, self.public_key)


def format_cosigner_vkey(name: str, public_key: bytes) -> str:
    """A witness vkey `name+keyid+base64(0x04 || public key)`."""
    keys.check_public_key(public_key)
    return format_vkey_for(name, ALG_COSIGNATURE_V1, public_key)


def parse_cosigner_vkey(vkey: str) -> CosignatureVerifier:
    """Parse a witness vkey (signature type 0x04), checking its key ID and public key."""
    name, kid, alg, public_key = split_vkey(vkey)
    if alg != ALG_COSIGNATURE_V1:
        raise InvalidInput(f"vkey has signature type 0x{alg:02x}, expected 0x04 (cosignature)")
    keys.check_public_key(public_key)
    return CosignatureVerifier(name=name, key_id=kid, public_key=public_key)


def cosign(checkpoint_note: str, name: str, key: SigningKey, timestamp: int) -> str:
    """The checkpoint note with a cosignature/v1 line by `name` at `timestamp` added.

    This only signs; `Witness.cosign_if_consistent` is what checks a log before cosigning.
    """
    check_key_name(name)
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise InvalidInput("cosignature timestamp must be an integer")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InvalidInput(f"cosignature timestamp {timestamp} is out of range")
    note = parse_note(checkpoint_note)
    parse_checkpoint(note.text)
    sig = key.sign(cosignature_message(note.text, timestamp)).signature
    kid = key_id(name, ALG_COSIGNATURE_V1, bytes(key.verify_key))
    line = NoteSignature(name=name, key_id=kid, signature=timestamp.to_bytes(8, "big") + sig)
    return add_signature(note, line)


def verify_cosignature(note: str | bytes | Note, cosigner_vkey: str | CosignatureVerifier) -> int:
    """Check the cosignature by one witness and return its timestamp; raise if absent or bad."""
    verifier = (
        parse_cosigner_vkey(cosigner_vkey) if isinstance(cosigner_vkey, str) else cosigner_vkey
    )
    parsed = note if isinstance(note, Note) else parse_note(note)
    parse_checkpoint(parsed.text)
    text = parsed.text.encode("utf-8")
    matches = [
        s for s in parsed.signatures if (s.name, s.key_id) == (verifier.name, verifier.key_id)
    ]
    if not matches:
        raise VerificationError(None, f"no cosignature by {verifier.name}")
    if len(matches) > 1:
        raise VerificationError(None, f"more than one cosignature by {verifier.name}")
    timestamp = verifier.timestamp_of(text, matches[0].signature)
    if timestamp is None:
        raise VerificationError(None, f"cosignature by {verifier.name} does not verify")
    return timestamp


class WitnessState(Protocol):
    """Where a witness keeps, per log origin, the largest (size, root) it has cosigned."""

    def get(self, origin: str) -> tuple[int, bytes] | None: ...

    def put(self, origin: str, size: int, root: bytes) -> None: ...


class MemoryWitnessState:
    """An in-memory WitnessState (tests, short-lived tools)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, bytes]] = {}

    def get(self, origin: str) -> tuple[int, bytes] | None:
        return self._seen.get(origin)

    def put(self, origin: str, size: int, root: bytes) -> None:
        self._seen[origin] = (size, root)


class Witness:
    """Cosigns a log's checkpoints only when they extend the last checkpoint it saw."""

    def __init__(
        self,
        name: str,
        key: SigningKey,
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_key_name(name)
        self.name = name
        self.key = key
        self.state = state
        self.clock = clock
        self._lock = threading.Lock()

    def vkey(self) -> str:
        return format_cosigner_vkey(self.name, bytes(self.key.verify_key))

    def cosign_if_consistent(
        self,
        checkpoint_note: str,
        log_vkey: str | NoteVerifier,
        consistency_proof: Sequence[bytes],
        *,
        origin: str | None = None,
    ) -> str:
        """Verify the log's signature and append-only growth, record it, and cosign.

        The first checkpoint seen for an origin is trusted on first use (its proof must be
        empty). The checkpoint origin must equal `origin` (default: the log key's name). A smaller
        size than last seen, a different root at the same size, or a consistency proof that
        fails raises VerificationError (ProofError for the proof), and nothing is recorded.
        """
        verifier = parse_vkey(log_vkey) if isinstance(log_vkey, str) else log_vkey
        cp, _ = open_checkpoint(checkpoint_note, verifier, origin=origin or verifier.name)
        proof = list(consistency_proof)
        if cp.size == 0 and cp.root != EMPTY_ROOT:
            raise VerificationError(None, "checkpoint of an empty tree has a wrong root")
        with self._lock:
            previous = self.state.get(cp.origin)
            old_size, old_root = previous if previous is not None else (0, EMPTY_ROOT)
            if cp.size < old_size:
                raise VerificationError(
                    None, f"checkpoint size {cp.size} is smaller than last seen size {old_size}"
                )
            if cp.size == old_size and cp.root != old_root:
                raise VerificationError(
                    None, f"checkpoint root differs from the one seen at size {cp.size}"
                )
            if old_size == 0 or cp.size == old_size:
                if proof:
                    raise VerificationError(
                        None, f"expected an empty consistency proof from size {old_size}"
                    )
            else:
                merkle.verify_consistency(old_size, cp.size, proof, old_root, cp.root)
            self.state.put(cp.origin, cp.size, cp.root)
            return cosign(checkpoint_note, self.name, self.key, int(self.clock()))
