"""RFC 9457 problem details: every error the HTTP API returns, in one shape.

Library exceptions are mapped here once, by meaning (invalid input → 400, not found →
404, not allowed → 403), so routers raise domain errors and never build responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.dsp.errors import AccessDenied
from identifiers import errors as id_errors
from ledger.errors import InvalidInput, NotAllowed, NotFound, VerificationError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://w3id.org/tracespace/problems/"
log = logging.getLogger("tracespace.http")


class Problem(Exception):
    """An error response: `status`, a short `title`, a `detail` and optional extensions."""

    def __init__(
        self, status: int, title: str, detail: str = "", kind: str = "", **extra: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.extra = extra
        self.headers: dict[str, str] = {}


def problem_response(
    status: int,
    title: str,
    detail: str = "",
    kind: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + (kind or title.lower().replace(" ", "-")),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.title, exc.detail, exc.kind, exc.headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"path": "/".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return problem_response(
            400,
            "Invalid request",
            "the request does not match the API",
            "invalid-request",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {
            404: "Not found",
            405: "Method not allowed",
            401: "Unauthorized",
            413: "Content too large",
        }.get(exc.status_code, "HTTP error")
        return problem_response(
            exc.status_code, title, str(exc.detail or ""), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        return problem_response(400, "Invalid input", str(exc), "invalid-input")

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return problem_response(404, "Not found", str(exc), "not-found")

    @app.exception_handler(AccessDenied)
    async def _usage_denied(_: Request, exc: AccessDenied) -> JSONResponse:
        # A partner's access an agreement does not permit: name every failed constraint.
        return problem_response(403, "Usage denied", str(exc), "usage-denied", errors=exc.reasons)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(_: Request, exc: NotAllowed) -> JSONResponse:
        return problem_response(403, "Forbidden", str(exc), "forbidden")

    @app.exception_handler(VerificationError)
    async def _unverified(_: Request, exc: VerificationError) -> JSONResponse:
        return problem_response(
            422, "Verification failed", str(exc), "verification-failed", seq=exc.seq
        )

    @app.exception_handler(id_errors.InvalidIdentifier)
    async def _bad_identifier(_: Request, exc: id_errors.InvalidIdentifier) -> JSONResponse:
        extra = {"path": exc.path} if exc.path else {}
        return problem_response(400, "Invalid identifier", exc.reason, "invalid-input", **extra)

    @app.exception_handler(id_errors.NotFound)
    async def _no_identifier(_: Request, exc: id_errors.NotFound) -> JSONResponse:
        return problem_response(404, "Not found", exc.reason, "not-found", responseCode=100)

    @app.exception_handler(id_errors.NotAllowed)
    async def _identifier_refused(_: Request, exc: id_errors.NotAllowed) -> JSONResponse:
        return problem_response(403, "Forbidden", exc.reason, "forbidden", responseCode=401)

    @app.exception_handler(id_errors.IdentifierError)
    async def _identifier_conflict(_: Request, exc: id_errors.IdentifierError) -> JSONResponse:
        # What remains is a conflict with stored state: an existing handle, an alias loop.
        code = getattr(exc, "response_code", 2)
        return problem_response(409, "Conflict", exc.reason, "conflict", responseCode=code)

    @app.exception_handler(OperationalError)
    async def _storage(_: Request, exc: OperationalError) -> JSONResponse:
        # Database down, locked past its timeout, or disk full: nothing was committed.
        log.warning("storage unavailable: %s", type(exc.orig).__name__)
        return problem_response(
            503,
            "Storage unavailable",
            "the node's database refused the operation; nothing was written, retry later",
            "storage-unavailable",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal_error(request.method, request.url.path, exc)

    # Outermost of our middleware (added last): the body limit's own error must reach it.
    app.add_middleware(UnexpectedErrors)


def _internal_error(method: str, path: str, exc: BaseException) -> JSONResponse:
    log.error("unhandled error on %s %s: %s", method, path, type(exc).__name__, exc_info=exc)
    return problem_response(500, "Internal error", "the node failed; see its log", "internal-error")


class UnexpectedErrors:
    """ASGI middleware answering an exception no handler took with a 500 problem.

    Starlette's outermost middleware would answer the same, but then re-raise the exception
    to the server, and uvicorn closes the connection of a request whose app raised: a
    keep-alive client would find its next request reset. Here the exception ends with the
    answer. One raised after the answer started is left to the server (it cannot be
    answered any more).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            if started:
                raise
            response = _internal_error(scope.get("method", ""), scope.get("path", ""), exc)
            await response(scope, receive, send)
