"""Render handle records as Handle.net REST API JSON (`GET /api/handles/{prefix}/{suffix}`).

Body shape: `{"responseCode": 1, "handle": "p/s", "values": [{"index", "type",
"data": {"format", "value"}, "ttl", "timestamp"}]}`. Response codes and the HTTP status each
is sent with (the statuses the unmodified `pyhandle` client checks for):

| code | meaning                                              | HTTP |
|------|------------------------------------------------------|------|
| 1    | success                                              | 200  |
| 2    | error (bad request parameters)                       | 400  |
| 100  | handle not found                                     | 404  |
| 102  | invalid handle                                       | 400  |
| 200  | values not found (none left after filters/hiding)    | 200  |

`type=` and `index=` filters combine as a union, as on Handle.net: a value is returned when its
index is listed or its type (or a dotted sub-type of it) is listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from identifiers.record import HandleRecord, HandleValue, format_timestamp, type_matches

SUCCESS = 1
ERROR = 2
HANDLE_NOT_FOUND = 100
INVALID_HANDLE = 102
VALUES_NOT_FOUND = 200

HTTP_STATUS = {
    SUCCESS: 200,
    ERROR: 400,
    HANDLE_NOT_FOUND: 404,
    INVALID_HANDLE: 400,
    VALUES_NOT_FOUND: 200,
}


@dataclass(frozen=True, slots=True)
class RestResponse:
    """A response body and the HTTP status to send it with."""

    status: int
    body: dict[str, Any]


def value_json(value: HandleValue) -> dict[str, Any]:
    return {
        "index": value.index,
        "type": value.type,
        "data": {"format": value.format, "value": value.value},
        "ttl": value.ttl,
        "timestamp": format_timestamp(value.timestamp),
    }


def parse_indices(raw: Iterable[str]) -> list[int]:
    """Parse `index=` query values; raise ValueError on anything but positive integers."""
    indices = []
    for item in raw:
        if not (item.isascii() and item.isdigit()) or int(item) < 1:
            raise ValueError(f"index must be a positive integer, got {item!r}")
        indices.append(int(item))
    return indices


def select_values(
    record: HandleRecord,
    *,
    types: Sequence[str] = (),
    indices: Sequence[int] = (),
    public: bool = True,
) -> list[HandleValue]:
    """The values a request may see: filtered by type/index, hidden when not public-readable."""
    chosen = []
    for value in record.values:
        if public and not value.permissions.pub_read:
            continue
        if (types or indices) and not (
            value.index in indices or any(type_matches(value.type, t) for t in types)
        ):
            continue
        chosen.append(value)
    return chosen


def rest_response(
    record: HandleRecord | None,
    handle: str,
    *,
    types: Sequence[str] = (),
    indices: Sequence[int] = (),
    public: bool = True,
) -> RestResponse:
    """The REST response for a lookup of `handle` (echoed as given) that found `record`."""
    if record is None:
        body: dict[str, Any] = {"responseCode": HANDLE_NOT_FOUND, "handle": handle}
        return RestResponse(HTTP_STATUS[HANDLE_NOT_FOUND], body)
    values = select_values(record, types=types, indices=indices, public=public)
    code = SUCCESS if values else VALUES_NOT_FOUND
    body = {"responseCode": code, "handle": handle, "values": [value_json(v) for v in values]}
    return RestResponse(HTTP_STATUS[code], body)


def error_response(handle: str, message: str, *, invalid_handle: bool = False) -> RestResponse:
    """A code-2 error (or code-102 invalid handle) response with a message."""
    code = INVALID_HANDLE if invalid_handle else ERROR
    return RestResponse(
        HTTP_STATUS[code], {"responseCode": code, "handle": handle, "message": message}
    )
