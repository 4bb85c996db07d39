"""The ledger entry, format v1: a signed, hash-chained record of one payload.

An entry is a JSON object with exactly these members:

    {"kid": signer key id, "payload": any JSON, "prev": hex SHA-256 of the previous
     entry's bytes, "seq": sequence number, "sig": base64 Ed25519 signature,
     "ts": RFC 3339 UTC time, "type": payload type, "v": 1}

Its bytes are the RFC 8785 canonical JSON of that object; the entry hash is SHA-256
of those bytes and the Merkle leaf is those same bytes. The signature covers
``SIGNING_CONTEXT`` followed by the canonical JSON of the object without "sig".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from nacl.signing import SigningKey

from ledger import keys
from ledger.canonical import Canonical, canonical_json, encode
from ledger.errors import InvalidInput, VerificationError

FORMAT_VERSION = 1
SIGNING_CONTEXT = b"tracespace/ledger-entry/v1\n"
GENESIS_PREV = "0" * 64
MAX_TYPE_LENGTH = 128
_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9._:/-]{0,127}$")


def utc_now() -> str:
    """RFC 3339 UTC with microseconds, e.g. 2026-11-22T11:36:00.123456Z."""
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def check_type(payload_type: str) -> str:
    if not isinstance(payload_type, str) or not _TYPE_RE.match(payload_type):
        raise InvalidInput(
            f"payload type {payload_type!r} must be 1-{MAX_TYPE_LENGTH} characters of "
            "a-z 0-9 . _ : / - starting with a letter or digit"
        )
    return payload_type


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    ts: str
    kid: str
    type: str
    payload: Any
    prev: str
    sig: str
    body: bytes

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(self.body).digest()

    def to_json(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "seq": self.seq,
            "ts": self.ts,
            "kid": self.kid,
            "type": self.type,
            "payload": self.payload,
            "prev": self.prev,
            "sig": self.sig,
        }


def sign_entry(
    key: SigningKey,
    seq: int,
    prev: str,
    payload_type: str,
    payload: Any,
    ts: str | None = None,
    kid: str | None = None,
) -> Entry:
    """Build and sign the entry that follows `prev` at position `seq`.

    `kid` may be passed by callers that sign many entries with one key.
    """
    ts = ts or utc_now()
    kid = kid or keys.public_key_id(bytes(key.verify_key))
    check_type(payload_type)
    body, sig = sign_encoded_entry(key, seq, prev, payload_type, encode(payload), ts, kid)
    return Entry(
        seq=seq, ts=ts, kid=kid, type=payload_type, payload=payload, prev=prev, sig=sig, body=body
    )


_PLAIN_MEMBER = re.compile(r"^[0-9A-Za-z.:_-]{1,128}$")  # kid, ts: nothing JSON escapes
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sign_encoded_entry(
    key: SigningKey, seq: int, prev: str, payload_type: str, payload: Canonical, ts: str, kid: str
) -> tuple[bytes, str]:
    """`sign_entry` for a payload already in canonical form: `(entry bytes, signature)`.

    The canonical object is its members in sorted order, so the entry is the payload's bytes
    between the other members' (all plain ASCII, checked here), "sig" among them where its
    name sorts: the payload is encoded once, never inside a second pass over the entry.
    """
    if not isinstance(payload, Canonical):
        raise TypeError("payload must be ledger.canonical.Canonical bytes (canonical.encode)")
    if type(seq) is not int or seq < 0:
        raise InvalidInput("entry seq must be a non-negative integer")
    if not _HEX64.match(prev):
        raise InvalidInput("entry prev is not lowercase hex")
    head, tail = _plain_members(kid, ts, payload_type)
    chain = b',"prev":"%s","seq":%d' % (prev.encode(), seq)
    signed = key.sign(b"".join((SIGNING_CONTEXT, head, payload, chain, tail)))
    sig = base64.b64encode(signed.signature)
    return b"".join((head, payload, chain, b',"sig":"', sig, b'"', tail)), sig.decode()


@lru_cache(maxsize=64)
def _plain_members(kid: str, ts: str, payload_type: str) -> tuple[bytes, bytes]:
    """The entry's bytes before the payload and after the seq, for members checked plain
    (one transaction appends many entries with the same kid, ts and type)."""
    check_type(payload_type)
    if not (_PLAIN_MEMBER.match(kid) and _PLAIN_MEMBER.match(ts)):
        raise InvalidInput("entry kid or ts is not in its plain form")
    head = b'{"kid":"%s","payload":' % kid.encode()
    tail = b',"ts":"%s","type":"%s","v":%d}' % (ts.encode(), payload_type.encode(), FORMAT_VERSION)
    return head, tail


def parse_entry(body: bytes) -> Entry:
    """Parse stored or served entry bytes; checks shape, not the signature."""
    try:
        obj = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"entry is not JSON: {exc}") from None
    return entry_from_json(obj, body)


def entry_from_json(obj: Any, body: bytes | None = None) -> Entry:
    if not isinstance(obj, dict):
        raise InvalidInput("entry must be a JSON object")
    expected = {"v", "seq", "ts", "kid", "type", "payload", "prev", "sig"}
    if set(obj) != expected:
        raise InvalidInput(f"entry members must be exactly {sorted(expected)}")
    if obj["v"] != FORMAT_VERSION:
        raise InvalidInput(f"unsupported entry format version {obj['v']!r}")
    if not isinstance(obj["seq"], int) or isinstance(obj["seq"], bool) or obj["seq"] < 0:
        raise InvalidInput("entry seq must be a non-negative integer")
    for name in ("ts", "kid", "type", "prev", "sig"):
        if not isinstance(obj[name], str):
            raise InvalidInput(f"entry {name} must be a string")
    canonical = canonical_json(obj)
    if body is not None and body != canonical:
        raise InvalidInput("entry bytes are not in RFC 8785 canonical form")
    return Entry(
        seq=obj["seq"],
        ts=obj["ts"],
        kid=obj["kid"],
        type=obj["type"],
        payload=obj["payload"],
        prev=obj["prev"],
        sig=obj["sig"],
        body=canonical,
    )


class EntryLinks(NamedTuple):
    """What verification needs from an entry, read without parsing the payload."""

    seq: int
    kid: str
    prev: str
    signature: bytes
    message: bytes


def read_links(body: bytes) -> EntryLinks:
    """Slice the chain fields and the signed message out of canonical entry bytes.

    This is the hot path of full verification, so it reads fixed positions instead of
    parsing: in canonical order the tail is `,"prev":"<64 hex>","seq":N,"sig":"<88>","ts":`.
    Everything else is covered by the signature, which the caller checks next.
    """
    if not body.startswith(b'{"kid":"'):
        raise InvalidInput("entry bytes do not start with the kid member")
    kid_end = body.find(b'"', 8)
    prev_at = body.rfind(b',"prev":"') + 9
    seq_at = prev_at + 64 + 8
    if kid_end < 0 or prev_at < 9 or body[prev_at + 64 : seq_at] != b'","seq":':
        raise InvalidInput("entry bytes are not a canonical v1 entry")
    sig_member = body.find(b',"sig":"', seq_at)
    seq_text = body[seq_at:sig_member]
    sig_end = sig_member + 8 + 88
    if (
        sig_member < 0
        or not seq_text.isdigit()
        or (len(seq_text) > 1 and seq_text[:1] == b"0")
        or body[sig_end : sig_end + 7] != b'","ts":'
    ):
        raise InvalidInput("entry bytes are not a canonical v1 entry")
    prev = body[prev_at : prev_at + 64]
    if prev.strip(b"0123456789abcdef"):
        raise InvalidInput("entry prev is not lowercase hex")
    try:
        signature = binascii.a2b_base64(body[sig_member + 8 : sig_end], strict_mode=True)
    except binascii.Error:
        raise InvalidInput("entry signature is not base64") from None
    return EntryLinks(
        seq=int(seq_text),
        kid=body[8:kid_end].decode("ascii", "replace"),
        prev=prev.decode("ascii"),
        signature=signature,
        message=b"".join((SIGNING_CONTEXT, body[:sig_member], body[sig_end + 1 :])),
    )


def verify_entry_signature(entry_body: bytes, public_key: bytes) -> EntryLinks:
    links = read_links(entry_body)
    if not keys.verify(public_key, links.message, links.signature):
        raise VerificationError(links.seq, "entry signature does not verify")
    return links
