"""Delivery and data-plane settings, read from the environment (tests shorten them).

- `TRACESPACE_DSP_RETRY_ATTEMPTS`: deliveries tried before a process is terminated (6).
- `TRACESPACE_DSP_RETRY_BASE`: first backoff delay in seconds, doubled each retry (0.5).
- `TRACESPACE_DSP_RETRY_MAX`: longest backoff delay in seconds (30).
- `TRACESPACE_DSP_TIMEOUT`: HTTP timeout of one delivery in seconds (5).
- `TRACESPACE_DSP_TOKEN_LIFETIME`: data-plane token lifetime in seconds (600).
- `TRACESPACE_DSP_JSONLD`: `0` skips JSON-LD expansion of inbound messages (1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = float(raw)
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


@dataclass(frozen=True)
class Settings:
    retry_attempts: int = 6
    retry_base: float = 0.5
    retry_max: float = 30.0
    timeout: float = 5.0
    token_lifetime: int = 600
    jsonld: bool = True

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            retry_attempts=max(1, int(_number("TRACESPACE_DSP_RETRY_ATTEMPTS", 6))),
            retry_base=_number("TRACESPACE_DSP_RETRY_BASE", 0.5),
            retry_max=_number("TRACESPACE_DSP_RETRY_MAX", 30.0),
            timeout=_number("TRACESPACE_DSP_TIMEOUT", 5.0),
            token_lifetime=int(_number("TRACESPACE_DSP_TOKEN_LIFETIME", 600)),
            jsonld=os.environ.get("TRACESPACE_DSP_JSONLD", "1") != "0",
        )

    def backoff(self, attempts: int) -> float:
        """Delay before retry number `attempts` (1-based): base × 2^(attempts-1), capped."""
        return min(self.retry_max, self.retry_base * (2 ** max(0, attempts - 1)))
