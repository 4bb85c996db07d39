"""The DSP 2025-1 state machines against the transition tables of the specification."""

from __future__ import annotations

import itertools

import pytest

from connector.dsp.errors import IllegalTransition
from connector.dsp.state import (
    NEGOTIATION_STATES,
    TRANSFER_STATES,
    next_negotiation_state,
    next_transfer_state,
)

# Contract negotiation (DSP 2025-1, "Contract Negotiation" state machine), written out by hand:
# (state, message) → next state; every pair not listed is an illegal transition (400).
NEGOTIATION = {
    ("OFFERED", "request"): "REQUESTED",  # consumer counter-request
    ("REQUESTED", "offer"): "OFFERED",  # provider counter-offer
    ("OFFERED", "accepted"): "ACCEPTED",
    ("REQUESTED", "agreement"): "AGREED",
    ("ACCEPTED", "agreement"): "AGREED",
    ("AGREED", "verification"): "VERIFIED",
    ("VERIFIED", "finalized"): "FINALIZED",
    **{(s, "termination"): "TERMINATED" for s in NEGOTIATION_STATES[:5]},
}
TRANSFER = {
    ("REQUESTED", "start"): "STARTED",
    ("SUSPENDED", "start"): "STARTED",
    ("STARTED", "suspension"): "SUSPENDED",
    ("STARTED", "completion"): "COMPLETED",
    **{(s, "termination"): "TERMINATED" for s in ("REQUESTED", "STARTED", "SUSPENDED")},
}
NEGOTIATION_MESSAGES = sorted({m for _, m in NEGOTIATION})
TRANSFER_MESSAGES = sorted({m for _, m in TRANSFER})


@pytest.mark.parametrize(
    ("state", "message"), list(itertools.product(NEGOTIATION_STATES, NEGOTIATION_MESSAGES))
)
def test_negotiation_transition(state: str, message: str) -> None:
    expected = NEGOTIATION.get((state, message))
    if expected is None:
        with pytest.raises(IllegalTransition) as caught:
            next_negotiation_state(state, message)
        assert state in str(caught.value)
    else:
        assert next_negotiation_state(state, message) == expected


@pytest.mark.parametrize(
    ("state", "message"), list(itertools.product(TRANSFER_STATES, TRANSFER_MESSAGES))
)
def test_transfer_transition(state: str, message: str) -> None:
    expected = TRANSFER.get((state, message))
    if expected is None:
        with pytest.raises(IllegalTransition):
            next_transfer_state(state, message)
    else:
        assert next_transfer_state(state, message) == expected


def test_terminal_states_accept_nothing() -> None:
    for message in NEGOTIATION_MESSAGES:
        for state in ("FINALIZED", "TERMINATED"):
            with pytest.raises(IllegalTransition):
                next_negotiation_state(state, message)
    for message in TRANSFER_MESSAGES:
        for state in ("COMPLETED", "TERMINATED"):
            with pytest.raises(IllegalTransition):
                next_transfer_state(state, message)
