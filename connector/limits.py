"""Request body size limit: bodies over `TRACESPACE_MAX_BODY` bytes get 413 problem+json.

The limit (default 8 MiB) is checked twice: against `Content-Length` before the route runs,
and while the body streams in, so a chunked upload without a length cannot go past it.
The other documented limits (events per capture, serials per bulk registration, trace
depth, page sizes) live next to the code that enforces them; docs/reliability.md lists all.
"""

from __future__ import annotations

import os

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.problems import problem_response

DEFAULT_MAX_BODY = 8 * 1024 * 1024
ENV_MAX_BODY = "TRACESPACE_MAX_BODY"


def max_body_size() -> int:
    """The configured body limit in bytes (`TRACESPACE_MAX_BODY`, else 8 MiB)."""
    raw = os.environ.get(ENV_MAX_BODY, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY
    if not raw.isdigit() or int(raw) < 1024:
        raise ValueError(f"{ENV_MAX_BODY}={raw!r} must be a whole number of bytes, at least 1024")
    return int(raw)


class BodyTooLarge(HTTPException):
    """The request body grew past the limit while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodySizeLimit:
    """ASGI middleware refusing request bodies larger than `limit` bytes with 413."""

    def __init__(self, app: ASGIApp, limit: int | None = None) -> None:
        self.app = app
        self.limit = max_body_size() if limit is None else limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            # Raised where no exception handler saw it (e.g. outside a route): answer here.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "Content too large",
            f"the request body is larger than the node's limit of {self.limit} bytes",
            "content-too-large",
            limit=self.limit,
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
