"""Ed25519 keys for the ledger, pinned to one rule set: libsodium's, through PyNaCl.

Pinned verification rules (libsodium >= 1.0.16 `crypto_sign_verify_detached`, default
build, as shipped in PyNaCl; these are the rules `verify` applies):

- the signature is exactly 64 bytes and the public key exactly 32 bytes;
- S must be canonical (S < L, the group order), else reject (no malleable s + nL);
- R must not be a small-order point (order 1, 2, 4 or 8), else reject;
- A (the public key) must be a canonical encoding (y < p) and not of small order;
- the check is cofactorless, [S]B = R + [k]A, done by re-encoding [S]B - [k]A and
  comparing it byte for byte with R, so a non-canonical R never verifies;
- A or R with a small-order component (mixed order, not in the prime-order subgroup)
  is NOT rejected by `verify`.

On the CCTV edge-case vectors (c2sp.org/CCTV/ed25519) these rules accept exactly 43 of
914; RFC 8032 and Wycheproof vectors give their expected results. Keys we *register*
(node keys, peer keys, vkeys) pass the stricter `check_public_key`, which also demands
that A lies in the prime-order subgroup (libsodium `crypto_core_ed25519_is_valid_point`).

Key file format (`save_signing_key`), UTF-8, exactly two lines:

    tracespace-ed25519-seed v1
    <64 lowercase hex digits: the 32-byte RFC 8032 private key seed>

The file is created with mode 0600 from the start and moved into place atomically.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import nacl.bindings
import nacl.exceptions
from nacl.signing import SigningKey

from ledger.errors import InvalidInput, NotAllowed, NotFound

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
SEED_SIZE = 32
KEY_FILE_HEADER = "tracespace-ed25519-seed v1"

_HEX_SEED = re.compile(r"[0-9a-f]{64}")


def generate() -> SigningKey:
    """A new random Ed25519 signing key (libsodium's CSPRNG)."""
    return SigningKey.generate()


def public_key_id(public_key: bytes) -> str:
    """A short stable id of a public key: lowercase hex of SHA-256(public key)[:8]."""
    return hashlib.sha256(bytes(public_key)).digest()[:8].hex()


def check_public_key(raw: bytes) -> bytes:
    """Return `raw` if it is an acceptable Ed25519 public key, else raise InvalidInput.

    Rejects a wrong length, a non-canonical encoding (y >= p), a point not on the curve,
    a small-order point and any point outside the prime-order subgroup.
    """
    if not isinstance(raw, bytes | bytearray):
        raise InvalidInput("public key must be bytes")
    if len(raw) != PUBLIC_KEY_SIZE:
        raise InvalidInput(f"public key must be {PUBLIC_KEY_SIZE} bytes, got {len(raw)}")
    if not nacl.bindings.crypto_core_ed25519_is_valid_point(bytes(raw)):
        raise InvalidInput(
            "public key is not a canonical Ed25519 point of prime order "
            "(non-canonical, off-curve or small-order)"
        )
    return bytes(raw)


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid Ed25519 signature under the pinned libsodium rules."""
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        nacl.bindings.crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except (nacl.exceptions.CryptoError, ValueError):
        return False
    return True


def verifier_for(public_key: bytes) -> Callable[[bytes, bytes], bool]:
    """`verify` bound to one public key, for loops over many signatures by that key.

    The rules are `verify`'s: the same libsodium `crypto_sign_open`. It calls it through
    PyNaCl's compiled module with one output buffer kept between calls, which saves the
    public binding's per-call allocation, copy and exception (a few µs of ~55 µs per
    signature: full verification is one such call per entry). Not for use across threads.
    """
    key = bytes(public_key)
    try:
        from nacl._sodium import ffi, lib  # PyNaCl's cffi module; absent, use the binding
    except ImportError:  # pragma: no cover - every PyNaCl release so far has it
        return lambda message, signature: verify(key, message, signature)
    if len(key) != PUBLIC_KEY_SIZE:
        return lambda message, signature: False
    sign_open, opened_size = lib.crypto_sign_open, ffi.new("unsigned long long *")
    buffer = [ffi.new("unsigned char[]", 4096)]

    def check(message: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_SIZE:
            return False
        signed = signature + message
        if len(signed) > len(buffer[0]):
            buffer[0] = ffi.new("unsigned char[]", 2 * len(signed))
        return sign_open(buffer[0], opened_size, signed, len(signed), key) == 0

    return check


def save_signing_key(path: str | os.PathLike[str], key: SigningKey) -> None:
    """Write `key` to a new 0600 file at `path`; never overwrites an existing file."""
    target = Path(path)
    if target.exists():
        raise NotAllowed(f"key file {target} already exists; refusing to overwrite it")
    content = f"{KEY_FILE_HEADER}\n{bytes(key).hex()}\n".encode("ascii")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        # link() publishes the complete file atomically and fails if the target appeared.
        try:
            os.link(tmp, target)
        except FileExistsError as exc:
            raise NotAllowed(f"key file {target} already exists; refusing to overwrite it") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Read a key file written by `save_signing_key`, refusing one open to group or others."""
    target = Path(path)
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError as exc:
        raise NotFound(f"key file {target} does not exist") from exc
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fh.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise InvalidInput(f"key file {target} is not a regular file")
        if mode & 0o077:
            raise NotAllowed(
                f"key file {target} has mode {stat.S_IMODE(mode):04o}: it must not be "
                f"accessible by group or others (run: chmod 600 {target})"
            )
        raw = fh.read(4096)
    try:
        lines = raw.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"key file {target} is not ASCII") from exc
    if len(lines) != 3 or lines[0] != KEY_FILE_HEADER or lines[2] != "":
        raise InvalidInput(f"key file {target} does not start with {KEY_FILE_HEADER!r}")
    if not _HEX_SEED.fullmatch(lines[1]):
        raise InvalidInput(f"key file {target}: the seed must be 64 lowercase hex digits")
    return SigningKey(bytes.fromhex(lines[1]))
