"""The ledger's exception hierarchy, so callers can catch failures by meaning."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class InvalidInput(LedgerError, ValueError):
    """Input is malformed: bad encoding, wrong shape, out-of-range value."""


class NotFound(LedgerError, LookupError):
    """A requested entry, checkpoint, key or proof does not exist."""


class NotAllowed(LedgerError):
    """The operation is refused by policy (for example an unsafe key file)."""


class VerificationError(LedgerError):
    """A signature, hash link, checkpoint or proof does not verify.

    `seq` is the first bad sequence number when one applies, else None.
    """

    def __init__(self, seq: int | None, reason: str) -> None:
        self.seq = seq
        self.reason = reason
        super().__init__(reason if seq is None else f"seq {seq}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[int | None, str]]:
        # Rebuilt from (seq, reason), not from the message: verification workers send
        # these errors back to the parent process.
        return (type(self), (self.seq, self.reason))


class ProofError(VerificationError):
    """A Merkle inclusion or consistency proof is malformed or does not verify."""

    def __init__(self, *args: object) -> None:
        # Accept both ProofError(reason) and VerificationError's (seq, reason) order.
        if len(args) == 1:
            super().__init__(None, str(args[0]))
        elif len(args) == 2 and (args[0] is None or isinstance(args[0], int)):
            super().__init__(args[0], str(args[1]))  # type: ignore[arg-type]
        else:
            raise TypeError("ProofError(reason) or ProofError(seq, reason)")
