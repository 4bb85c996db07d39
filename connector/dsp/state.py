"""The DSP 2025-1 state machines of contract negotiations and transfer processes."""

from __future__ import annotations

from connector.dsp.errors import IllegalTransition

REQUESTED, OFFERED, ACCEPTED, AGREED, VERIFIED, FINALIZED, TERMINATED = (
    "REQUESTED",
    "OFFERED",
    "ACCEPTED",
    "AGREED",
    "VERIFIED",
    "FINALIZED",
    "TERMINATED",
)
NEGOTIATION_STATES = (REQUESTED, OFFERED, ACCEPTED, AGREED, VERIFIED, FINALIZED, TERMINATED)
NEGOTIATION_FINAL = frozenset((FINALIZED, TERMINATED))

# Negotiation message → states it may arrive in, and the state it leads to.
NEGOTIATION_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "request": (frozenset((OFFERED,)), REQUESTED),
    "offer": (frozenset((REQUESTED,)), OFFERED),
    "accepted": (frozenset((OFFERED,)), ACCEPTED),
    "agreement": (frozenset((REQUESTED, ACCEPTED)), AGREED),
    "verification": (frozenset((AGREED,)), VERIFIED),
    "finalized": (frozenset((VERIFIED,)), FINALIZED),
    "termination": (frozenset((REQUESTED, OFFERED, ACCEPTED, AGREED, VERIFIED)), TERMINATED),
}

STARTED, SUSPENDED, COMPLETED = "STARTED", "SUSPENDED", "COMPLETED"
TRANSFER_STATES = (REQUESTED, STARTED, SUSPENDED, COMPLETED, TERMINATED)
TRANSFER_FINAL = frozenset((COMPLETED, TERMINATED))
TRANSFER_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset((REQUESTED, SUSPENDED)), STARTED),
    "suspension": (frozenset((STARTED,)), SUSPENDED),
    "completion": (frozenset((STARTED,)), COMPLETED),
    "termination": (frozenset((REQUESTED, STARTED, SUSPENDED)), TERMINATED),
}


def next_negotiation_state(state: str, message: str) -> str:
    """The state `message` leads to from `state`; IllegalTransition when it may not arrive."""
    allowed, target = NEGOTIATION_MOVES[message]
    if state not in allowed:
        raise IllegalTransition(state, f"negotiation {message}")
    return target


def next_transfer_state(state: str, message: str) -> str:
    allowed, target = TRANSFER_MOVES[message]
    if state not in allowed:
        raise IllegalTransition(state, f"transfer {message}")
    return target
