"""Append-only, signed, hash-chained ledger with an RFC 9162 Merkle tree and C2SP checkpoints."""
