"""Build DSP 2025-1 messages (compact JSON-LD with the DSP and tracespace profile contexts)."""

from __future__ import annotations

from typing import Any

from policies.profile import PROFILE_CONTEXT_URL
from schemas.dsp.validation import DSP_CONTEXT

CONTEXT = [DSP_CONTEXT, PROFILE_CONTEXT_URL]
EXT = "https://w3id.org/tracespace/dsp/v1#"
SIGNATURE = EXT + "signature"
"""Key of the agreement signature carried by agreement and verification messages."""
HTTP_PULL = "HttpData-PULL"
ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"


def message(kind: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"@context": list(CONTEXT), "@type": kind}
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def negotiation(provider_pid: str | None, consumer_pid: str | None, state: str) -> dict[str, Any]:
    return message(
        "ContractNegotiation", providerPid=provider_pid, consumerPid=consumer_pid, state=state
    )


def negotiation_error(
    provider_pid: str, consumer_pid: str, code: str, reasons: list[str]
) -> dict[str, Any]:
    return message(
        "ContractNegotiationError",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        code=code,
        reason=reasons,
    )


def transfer_process(provider_pid: str | None, consumer_pid: str | None, state: str) -> dict:
    return message(
        "TransferProcess", providerPid=provider_pid, consumerPid=consumer_pid, state=state
    )


def transfer_error(provider_pid: str, consumer_pid: str, code: str, reasons: list[str]) -> dict:
    return message(
        "TransferError",
        providerPid=provider_pid,
        consumerPid=consumer_pid,
        code=code,
        reason=reasons,
    )


def data_address(endpoint: str, token: str) -> dict[str, Any]:
    return {
        "@type": "DataAddress",
        "endpointType": ENDPOINT_TYPE,
        "endpoint": endpoint,
        "endpointProperties": [
            {"@type": "EndpointProperty", "name": "authorization", "value": token},
            {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
        ],
    }


def address_token(address: dict[str, Any]) -> str | None:
    for prop in address.get("endpointProperties", []):
        if isinstance(prop, dict) and prop.get("name") == "authorization":
            return str(prop.get("value"))
    return None


def provider_pid_of(response: Any, what: str) -> tuple[str | None, str | None]:
    """The `providerPid` in a provider's answer to an initial request, or why it is missing.

    Returns (pid, problem); `response` is None when the request was not delivered.
    """
    if response is None:
        return None, None
    try:
        pid = response.json().get("providerPid")
    except ValueError:
        return None, f"the provider's answer to the {what} is not JSON"
    if pid is None:
        return None, f"the provider's answer to the {what} names no providerPid"
    return pid, None
