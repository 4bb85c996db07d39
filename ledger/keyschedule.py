"""Which public key signs which sequence numbers, derived from the log's own entries.

Entry 0 (genesis) names the first key. Each key-rotation entry is signed by the old key
and carries the new key's signature over its position, so nobody holding only one of
the two keys can rotate. Verifiers rebuild the schedule from these entries and never
trust a key table.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ledger import keys
from ledger.entry import GENESIS_PREV, read_links
from ledger.errors import InvalidInput, VerificationError
from ledger.log import GENESIS_TYPE, ROTATION_TYPE, rotation_statement

KEY_ENTRY_TYPES = (GENESIS_TYPE, ROTATION_TYPE)


@dataclass
class KeySchedule:
    starts: list[int] = field(default_factory=list)
    kids: list[str] = field(default_factory=list)
    public_keys: list[bytes] = field(default_factory=list)
    origin: str = ""

    def key_for(self, seq: int) -> tuple[str, bytes]:
        """The (kid, public key) that must sign entry `seq`, or sign a checkpoint of size seq."""
        i = bisect.bisect_right(self.starts, seq) - 1
        if i < 0:
            raise VerificationError(seq, "no signing key is known for this position")
        return self.kids[i], self.public_keys[i]

    def next_start(self, seq: int) -> int | float:
        """The first position after `seq` where another key takes over (inf if none)."""
        i = bisect.bisect_right(self.starts, seq)
        return self.starts[i] if i < len(self.starts) else math.inf

    def as_list(self) -> list[dict[str, object]]:
        return [
            {"from_seq": s, "kid": k, "public_key": base64.b64encode(p).decode()}
            for s, k, p in zip(self.starts, self.kids, self.public_keys, strict=True)
        ]

    @classmethod
    def from_entries(cls, bodies: Iterable[tuple[int, bytes]]) -> KeySchedule:
        """Verify the genesis and rotation entries (seq, bytes) in order and chain their keys."""
        schedule = cls()
        for seq, body in bodies:
            try:
                obj = json.loads(body)
                links = read_links(body)
            except (ValueError, InvalidInput) as exc:
                raise VerificationError(seq, f"unreadable key entry: {exc}") from None
            if links.seq != seq:
                raise VerificationError(seq, f"entry claims seq {links.seq}")
            payload = obj.get("payload")
            if not isinstance(payload, dict) or payload.get("v") != 1:
                raise VerificationError(seq, "key entry payload is not version 1")
            if obj.get("type") == GENESIS_TYPE:
                if seq != 0 or links.prev != GENESIS_PREV:
                    raise VerificationError(seq, "genesis entry is not the first entry")
                public = _decode_key(seq, payload.get("public_key"))
                schedule.origin = str(payload.get("origin", ""))
                schedule._add(0, links.kid, public)
            elif obj.get("type") == ROTATION_TYPE:
                old_kid, _ = schedule.key_for(seq)
                new_b64 = payload.get("new_public_key")
                public = _decode_key(seq, new_b64)
                statement = rotation_statement(seq, links.prev, old_kid, str(new_b64))
                proof = _decode_b64(seq, payload.get("new_key_signature"))
                if not keys.verify(public, statement, proof):
                    raise VerificationError(seq, "the new key did not sign its rotation")
                if payload.get("new_kid") != keys.public_key_id(public):
                    raise VerificationError(seq, "rotation names the wrong key id")
                schedule._add(seq + 1, keys.public_key_id(public), public)
            else:
                raise VerificationError(seq, f"not a key entry: {obj.get('type')!r}")
            kid, public = schedule.key_for(seq)
            if links.kid != kid or not keys.verify(public, links.message, links.signature):
                raise VerificationError(seq, "key entry signature does not verify")
        if not schedule.starts:
            raise VerificationError(0, "the genesis entry is missing")
        return schedule

    def _add(self, start: int, kid: str, public: bytes) -> None:
        self.starts.append(start)
        self.kids.append(kid)
        self.public_keys.append(public)


def _decode_b64(seq: int, value: object) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        raise VerificationError(seq, "key entry holds invalid base64") from None


def _decode_key(seq: int, value: object) -> bytes:
    try:
        return keys.check_public_key(_decode_b64(seq, value))
    except InvalidInput as exc:
        raise VerificationError(seq, f"bad public key in key entry: {exc}") from None
