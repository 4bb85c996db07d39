"""PACT v3 HTTP API: `/auth/token` (with its discovery document and signing key),
`/3/footprints`, `/3/footprints/{id}`, `/3/events`.

These routes answer errors in the PACT shape `{"code", "message"}` (and `/auth/token` in
the RFC 6749 shape), not problem+json: the PACT specification fixes the format there.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from connector.auth import NodeDep
from connector.node import Node
from connector.problems import Problem
from connector.records import events
from connector.records.footprints import KIND, FootprintFilter, issued_footprints, served
from connector.records.pact_auth import (
    SCOPES,
    TOKEN_LIFETIME,
    PactAuthError,
    PactCaller,
    authenticate_bearer,
    authenticate_client,
    issue_access_token,
    signing_jwk,
)
from connector.records.sharing import decide, may_share
from connector.records.store import get_record
from ledger.errors import InvalidInput, NotAllowed, NotFound

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_QUERY = {
    "limit",
    "offset",
    "productid",
    "companyid",
    "geography",
    "classification",
    "validon",
    "validafter",
    "validbefore",
    "status",
}
_CODES = {
    400: "BadRequest",
    401: "BadRequest",
    403: "AccessDenied",
    404: "NotFound",
    501: "NotImplemented",
}


class PactError(Exception):
    """An error answered as a PACT Error object."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def pact_error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="pact"'} if status == 401 else None
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


class PactRoute(APIRoute):
    """Route class turning every failure on a PACT route into a PACT Error response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def pact_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PactError as exc:
                return pact_error(exc.status, exc.code, exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = "/".join(str(p) for p in first.get("loc", ()))
                return pact_error(400, "BadRequest", f"{where}: {first.get('msg', 'invalid')}")
            except InvalidInput as exc:
                return pact_error(400, "BadRequest", str(exc))
            except NotFound as exc:
                return pact_error(404, "NotFound", str(exc))
            except NotAllowed as exc:
                return pact_error(403, "AccessDenied", str(exc))
            except (Problem, StarletteHTTPException) as exc:
                status = getattr(exc, "status", None) or getattr(exc, "status_code", 500)
                code = _CODES.get(status, "InternalError")
                return pact_error(status, code, str(exc) or code)

        return pact_handler


router = APIRouter(tags=["pact"], route_class=PactRoute)
token_router = APIRouter(tags=["pact"])


def _scheme(request: Request) -> str:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return (forwarded.split(",")[0].strip() or request.url.scheme).lower()


def _https_refused(node: Node, request: Request) -> bool:
    """A node published over HTTPS refuses PACT calls that arrive over plain HTTP."""
    return node.config.public_url.startswith("https://") and _scheme(request) != "https"


def pact_caller(request: Request, node: NodeDep) -> PactCaller:
    if _https_refused(node, request):
        raise PactError(400, "BadRequest", "HTTPS is required")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PactError(401, "BadRequest", "send an access token from /auth/token as Bearer")
    try:
        return authenticate_bearer(node, token.strip())
    except PactAuthError as exc:
        raise PactError(401, exc.code, str(exc)) from None


CallerDep = Annotated[PactCaller, Depends(pact_caller)]


# -- /auth/token ---------------------------------------------------------------------------


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="pact"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


@token_router.post("/auth/token", response_model=None)
def token(
    request: Request,
    node: NodeDep,
    grant_type: Annotated[str | None, Form()] = None,
) -> JSONResponse:
    """OAuth 2.0 client credentials grant (RFC 6749 4.4) with HTTP Basic client auth."""
    if _https_refused(node, request):
        return _oauth_error(400, "invalid_request", "HTTPS is required")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "send application/x-www-form-urlencoded")
    credentials = _basic_credentials(request)
    if credentials is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    try:
        client = authenticate_client(node, *credentials)
    except PactAuthError:
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    if not grant_type:
        return _oauth_error(400, "invalid_request", "grant_type is missing")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", f"{grant_type} is not supported")
    body = {
        "access_token": issue_access_token(node, client),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": SCOPES,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@token_router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
def openid_configuration(node: NodeDep) -> dict[str, Any]:
    """Where and how a PACT client gets an access token (OpenID Connect Discovery names).

    Only the client credentials grant exists here: there is no authorization endpoint and
    no ID token, so no response type is supported and the fields about them are absent."""
    base = node.config.public_url
    return {
        "issuer": base,
        "token_endpoint": f"{base}/auth/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "scopes_supported": SCOPES.split(),
        "jwks_uri": f"{base}/auth/jwks",
    }


@token_router.get("/auth/jwks", summary="Access token signing key (JWK Set)")
def jwks(node: NodeDep) -> dict[str, Any]:
    """The key that signs this node's access tokens, as a JWK Set (RFC 7517)."""
    return {"keys": [signing_jwk(node)]}


# -- /3/footprints -------------------------------------------------------------------------


def _instant(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PactError(400, "BadRequest", f"{name}: not an RFC 3339 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(name: str, text: str) -> int:
    if not text.isdigit():
        raise PactError(400, "BadRequest", f"{name}: must be a non-negative integer")
    return int(text)


def parse_query(request: Request) -> tuple[FootprintFilter, int, int]:
    """Filters (parameter names case-insensitive, x- extensions ignored), offset, limit."""
    criteria = FootprintFilter()
    offset, limit = 0, DEFAULT_LIMIT
    lists = {
        "productid": criteria.product_ids,
        "companyid": criteria.company_ids,
        "geography": criteria.geography,
        "classification": criteria.classification,
        "status": criteria.status,
    }
    for name, value in request.query_params.multi_items():
        key = name.lower()
        if key.startswith("x-"):
            continue
        if key not in _QUERY:
            raise PactError(400, "BadRequest", f"unsupported query parameter {name!r}")
        if key in lists:
            lists[key].append(value)
        elif key == "limit":
            limit = min(_count(name, value), MAX_LIMIT)
        elif key == "offset":
            offset = _count(name, value)
        elif key == "validon":
            criteria.valid_on = _instant(name, value)
        elif key == "validafter":
            criteria.valid_after = _instant(name, value)
        else:
            criteria.valid_before = _instant(name, value)
    return criteria, offset, limit


def _page_url(request: Request, offset: int, limit: int) -> str:
    host = request.headers.get("host") or request.url.netloc
    kept = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k.lower() not in ("offset", "limit")
    ]
    query = urlencode([*kept, ("offset", str(offset)), ("limit", str(limit))])
    return f"{_scheme(request)}://{host}{request.url.path}?{query}"


def _links(request: Request, offset: int, limit: int, total: int) -> str:
    if limit == 0 or offset + limit >= total:
        return ""
    last = ((total - 1) // limit) * limit
    parts = [(0, "first"), (offset + limit, "next"), (last, "last")]
    if offset > 0:
        parts.insert(1, (max(0, offset - limit), "prev"))
    return ", ".join(f'<{_page_url(request, o, limit)}>; rel="{rel}"' for o, rel in parts)


@router.get("/3/footprints")
def list_footprints(request: Request, node: NodeDep, caller: CallerDep) -> JSONResponse:
    """Action ListFootprints: the caller's visible footprints, filtered and paginated."""
    criteria, offset, limit = parse_query(request)
    access = decide(node, caller.partner, KIND, channel="pact")
    visible = [served(r) for r in issued_footprints(node) if access.covers_record(r)]
    matching = [doc for doc in visible if criteria.matches(doc)]
    page = matching[offset : offset + limit]
    link = _links(request, offset, limit, len(matching))
    return JSONResponse({"data": page}, headers={"Link": link} if link else None)


@router.get("/3/footprints/{footprint_id}")
def get_footprint(node: NodeDep, caller: CallerDep, footprint_id: str) -> JSONResponse:
    """Action GetFootprint."""
    try:
        record = get_record(node, footprint_id, KIND)
    except NotFound:
        record = None
    # Unknown and not shared with the caller look the same.
    if (
        record is None
        or record.direction != "issued"
        or not may_share(node, caller.partner, record, channel="pact")
    ):
        raise PactError(404, "NotFound", f"Footprint with ID '{footprint_id}' does not exist")
    return JSONResponse({"data": served(record)})


@router.post("/3/events")
def post_event(
    request: Request,
    node: NodeDep,
    caller: CallerDep,
    background: BackgroundTasks,
    event: Annotated[dict[str, Any], Body()],
) -> Response:
    """Action Events: accept a PACT CloudEvent (structured mode)."""
    transport = getattr(request.app.state, "records_transport", None)
    events.handle(node, caller, event, background.add_task, transport)
    return Response(status_code=200)
