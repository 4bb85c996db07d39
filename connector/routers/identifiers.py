"""Handle resolution and management over HTTP: the Handle.net REST API, the proxy, QR codes.

- `GET /api/handles/{prefix}/{suffix}` answers in the Handle.net REST JSON shape (`type=`,
  `index=` filters; HS_ALIAS followed unless `noalias`; non-public values only for the
  operator). Handles under a prefix this node does not home are resolved across the hierarchy
  (`identifiers.resolver`): first hop is the node a local `0.na/<prefix or ancestor>` record
  names, else the parent node.
- `GET /{prefix}/{suffix}` is the proxy: 302 to the first URL value (`?noredirect`: the JSON).
- `PUT`/`DELETE /api/handles/{prefix}/{suffix}` change records (operator token); every change
  is a ledger entry. `POST /management/handles/bulk` registers a production run of serials;
  `GET /management/handle-history/{prefix}/{suffix}` lists a handle's ledger-proven states.
- `GET /api/qr/{handle or Digital Link path}?format=svg|png` draws the object's QR code.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor

from connector.auth import Operator
from connector.node import Node
from connector.problems import Problem
from connector.routers import pages
from identifiers.digital_link import DigitalLink
from identifiers.errors import AliasLoop, InvalidGs1, InvalidHandle, InvalidValue, NotFound
from identifiers.gs1_ai import ai_table
from identifiers.handle import Handle
from identifiers.qr import qr_code, qr_content
from identifiers.record import TS_GS1, URL, HandleRecord, HandleValue, type_matches
from identifiers.registry import NA_PREFIX, Registry, has_alias
from identifiers.resolver import (
    PREFIX_REFERRAL,
    RECURSION_LIMIT,
    REFERRAL_HEADER,
    SERVER_NOT_RESPONDING,
    DelegationLoop,
    NodeUnreachable,
    Resolver,
)
from identifiers.rest import (
    ERROR,
    HANDLE_NOT_FOUND,
    INVALID_HANDLE,
    SUCCESS,
    VALUES_NOT_FOUND,
    parse_indices,
    rest_response,
)

HANDLE_EXISTS = 101
JSON_TYPE = "application/json"
MAX_BULK = 1_000_000
REMOTE_TIMEOUT = 5.0

router = APIRouter(tags=["identifiers"])
GS1_KEYS = sorted((ai for ai, e in ai_table().items() if e.is_primary_key), key=len, reverse=True)


class HandlePrefixConvertor(Convertor[str]):
    """A handle prefix in a proxy path: starts with a digit, dotted, and is not a GS1 primary
    key AI (those paths belong to the GS1 resolver)."""

    regex = rf"(?!(?:{'|'.join(GS1_KEYS)})/)[0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hdlprefix", HandlePrefixConvertor())


@dataclass
class IdentifierService:
    """What the identifier routes share: the node, its registry and its remote resolver."""

    node: Node
    registry: Registry
    resolver: Resolver

    @property
    def public_url(self) -> str:
        return self.node.config.public_url

    def first_hop(self, prefix: str) -> tuple[str | None, dict[str, Any] | None]:
        """(URL of the next node for `prefix`, referral body) or (None, None) when this node
        is authoritative (homes it or an ancestor) or knows nobody to ask."""
        delegation = self.registry.delegation(prefix)
        if delegation is not None:
            if delegation.url is None:
                return None, None
            return delegation.url, {
                "url": delegation.url,
                "prefix": delegation.via,
                "ttl": delegation.ttl,
            }
        parent = self.node.config.parent_url.rstrip("/")
        if parent:
            return parent, {"url": parent, "prefix": "", "ttl": 0}
        return None, None


_lock = threading.Lock()


def service(request: Request) -> IdentifierService:
    state = request.app.state
    found = getattr(state, "identifiers", None)
    if found is None:
        with _lock:
            found = getattr(state, "identifiers", None)
            if found is None:
                node: Node = state.node
                registry = Registry(
                    node.ledger, node.config.prefixes, public_url=node.config.public_url
                )
                client = httpx.Client(timeout=REMOTE_TIMEOUT)
                found = IdentifierService(node, registry, Resolver(client))
                state.identifiers = found
    return found


def is_operator(request: Request, node: Node) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and bool(token) and node.is_operator(token.strip())


def handle_problem(status: int, title: str, detail: str, code: int, handle: str) -> Problem:
    """A problem+json error that also carries the Handle `responseCode` and `handle`."""
    return Problem(status, title, detail, responseCode=code, handle=handle)


def parse_handle(text: str) -> Handle:
    try:
        return Handle.parse(text)
    except InvalidHandle as exc:
        raise handle_problem(400, "Invalid handle", exc.reason, INVALID_HANDLE, text) from None


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None):
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(data, status_code=status, media_type=JSON_TYPE, headers=headers)


class _Remote(Exception):
    pass


def local_record(svc: IdentifierService, handle: Handle, follow: bool) -> HandleRecord | None:
    """The record from this registry, HS_ALIAS followed within it (an alias pointing to a
    handle homed elsewhere is returned unfollowed: the client follows it)."""
    record = svc.registry.get(handle)
    if not follow or record is None or not has_alias(record):
        return record

    def lookup(name: Handle) -> HandleRecord | None:
        if name != handle and not is_local(svc, name):
            raise _Remote
        return svc.registry.get(name)

    from identifiers.record import follow_aliases

    try:
        return follow_aliases(handle, lookup)
    except _Remote:
        return svc.registry.get(handle)
    except AliasLoop as exc:
        raise handle_problem(409, "Alias loop", exc.reason, ERROR, str(handle)) from None
    except NotFound as exc:
        raise handle_problem(
            404, "Alias target not found", exc.reason, HANDLE_NOT_FOUND, str(handle)
        ) from None


def is_local(svc: IdentifierService, handle: Handle) -> bool:
    return handle.prefix == NA_PREFIX or svc.registry.homes(handle.prefix)


def filter_body(body: dict[str, Any], types: list[str], indices: list[int]) -> dict[str, Any]:
    """Apply `type=`/`index=` filters to a REST body resolved elsewhere."""
    if not (types or indices) or "values" not in body:
        return body
    values = [
        v
        for v in body["values"]
        if v.get("index") in indices or any(type_matches(str(v.get("type")), t) for t in types)
    ]
    code = SUCCESS if values else VALUES_NOT_FOUND
    return {**body, "responseCode": code, "values": values}


async def resolve_body(
    request: Request, svc: IdentifierService, text: str, *, follow: bool = True
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(HTTP status, REST body, extra headers) for a lookup of `text`."""
    handle = parse_handle(text)
    params = request.query_params
    types = params.getlist("type")
    try:
        indices = parse_indices(params.getlist("index"))
    except ValueError as exc:
        raise handle_problem(400, "Invalid request", str(exc), ERROR, text) from None
    if is_local(svc, handle):
        record = local_record(svc, handle, follow)
        public = not is_operator(request, svc.node)
        response = rest_response(record, text, types=types, indices=indices, public=public)
        return response.status, response.body, {}
    first, referral = svc.first_hop(handle.prefix)
    if request.headers.get(REFERRAL_HEADER) == "1":
        if first is None:
            return 404, {"responseCode": HANDLE_NOT_FOUND, "handle": text}, {}
        return 200, {"responseCode": PREFIX_REFERRAL, "handle": text, "referral": referral}, {}
    if first is None:
        return 404, {"responseCode": HANDLE_NOT_FOUND, "handle": text}, {}
    try:
        answer = await run_in_threadpool(svc.resolver.resolve, handle, first)
    except NodeUnreachable as exc:
        raise Problem(
            502,
            "Node unreachable",
            str(exc),
            "node-unreachable",
            responseCode=SERVER_NOT_RESPONDING,
            handle=text,
            node=exc.url,
        ) from None
    except DelegationLoop as exc:
        raise Problem(
            502,
            "Delegation loop",
            exc.reason,
            "delegation-loop",
            responseCode=RECURSION_LIMIT,
            handle=text,
        ) from None
    body = filter_body({**answer.body, "handle": text}, types, indices)
    status = 404 if body.get("responseCode") == HANDLE_NOT_FOUND else answer.status
    headers = {"X-Handle-Node": answer.node}
    if answer.stale:
        headers["Cache-Status"] = "tracespace; hit; detail=stale"
    return status, body, headers


class DirectRoute(APIRoute):
    """An API route whose endpoint is `async (request) -> Response`: FastAPI calls it as it is,
    with no per-request dependency or parameter solving (the endpoint reads what it needs from
    the request); OpenAPI still documents it, path parameters through `openapi_extra`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


def _path_parameters(*names: str) -> dict[str, Any]:
    """OpenAPI path parameters for a hot route that reads `request.path_params` itself (so
    FastAPI does not validate plain strings on every lookup)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "title": name.title()},
            }
            for name in names
        ]
    }


def direct_get(target: APIRouter, path: str, *params: str, **options: Any) -> Callable[..., Any]:
    """Register the decorated `async (request) -> Response` endpoint as a `DirectRoute` GET."""

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        target.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            openapi_extra=_path_parameters(*params),
            route_class_override=DirectRoute,
            **options,
        )
        return endpoint

    return register


@direct_get(router, "/api/handles/{handle:path}", "handle", responses={404: {}, 400: {}, 502: {}})
async def get_handle(request: Request) -> Response:
    """Resolve a handle (Handle.net REST JSON): `type=` and `index=` filters (a union),
    `noalias` to skip HS_ALIAS following; non-public values only with the operator token."""
    svc = service(request)
    status, body, headers = await resolve_body(
        request,
        svc,
        request.path_params["handle"],
        follow="noalias" not in request.query_params,
    )
    return _json(body, status, headers)


proxy_router = APIRouter(tags=["identifiers"])


@direct_get(proxy_router, "/{prefix:hdlprefix}/{suffix:path}", "prefix", "suffix")
async def proxy(request: Request) -> Response:
    """The handle proxy: redirect (302) to the record's first URL value; `?noredirect`
    returns the Handle REST JSON instead (as does a record without a URL value)."""
    svc = service(request)
    path = request.path_params
    text = f"{path['prefix']}/{path['suffix']}"
    status, body, headers = await resolve_body(request, svc, text)
    if status == 200 and pages.wants_html(request):  # a browser: the consumer page
        page = await pages.handle_page(request, text)
        if page is not None:
            return page
    if "noredirect" not in request.query_params and status == 200:
        for value in body.get("values", ()):
            if type_matches(str(value.get("type")), URL):
                return RedirectResponse(str(value["data"]["value"]), 302, headers=headers)
    return _json(body, status, headers)


# -- management -------------------------------------------------------------------------------


def parse_values(payload: Any, handle: Handle) -> list[HandleValue]:
    if not isinstance(payload, dict):
        raise InvalidValue("body must be an object {values: [...]}", "$")
    if "handle" in payload and payload["handle"] != str(handle):
        try:
            if Handle.parse(str(payload["handle"])) != handle:
                raise InvalidValue(f"body names {payload['handle']}, not {handle}", "$.handle")
        except InvalidHandle as exc:
            raise InvalidValue(exc.reason, "$.handle") from None
    values = payload.get("values")
    if not isinstance(values, list):
        raise InvalidValue("values must be a list", "$.values")
    return [HandleValue.from_dict(v, f"$.values[{n}]") for n, v in enumerate(values)]


@router.put("/api/handles/{handle:path}", dependencies=[Operator], tags=["management"])
def put_handle(
    request: Request,
    handle: str,
    payload: Annotated[
        Any,
        Body(
            examples=[
                {
                    "values": [
                        {
                            "index": 1,
                            "type": "URL",
                            "data": {"format": "string", "value": "https://x.example"},
                        }
                    ]
                }
            ]
        ),
    ],
    overwrite: bool = True,
) -> Response:
    """Create or replace a record (`overwrite=false`: refuse if it exists, code 101); with
    `index=` parameters, only the body's values are added or replaced (by index)."""
    svc = service(request)
    name = parse_handle(handle)
    values = parse_values(payload, name)
    if request.query_params.getlist("index"):
        change = svc.registry.set_values(name, values)
    else:
        change = svc.registry.create(HandleRecord(name, tuple(values)), overwrite=overwrite)
    status = 201 if change.op == "create" else 200
    return _json({"responseCode": SUCCESS, "handle": handle, "seq": change.seq}, status)


@router.delete("/api/handles/{handle:path}", dependencies=[Operator], tags=["management"])
def delete_handle(request: Request, handle: str) -> Response:
    """Delete a handle, or only the values at the given `index=` parameters."""
    svc = service(request)
    name = parse_handle(handle)
    try:
        indices = parse_indices(request.query_params.getlist("index"))
    except ValueError as exc:
        raise handle_problem(400, "Invalid request", str(exc), ERROR, handle) from None
    change = svc.registry.remove_values(name, indices) if indices else svc.registry.delete(name)
    return _json({"responseCode": SUCCESS, "handle": handle, "seq": change.seq})


@router.get(
    "/management/handle-history/{handle:path}", dependencies=[Operator], tags=["management"]
)
def handle_history(request: Request, handle: str) -> dict[str, Any]:
    """Every state of a handle with the ledger entry recording it (prove it with
    `/ledger/proof/inclusion?seq=...`)."""
    svc = service(request)
    items = svc.registry.history(parse_handle(handle))
    if not items:
        raise handle_problem(404, "Not found", f"no history for {handle}", HANDLE_NOT_FOUND, handle)
    return {
        "v": 1,
        "handle": handle,
        "history": [{"seq": i.seq, "ts": i.ts, "op": i.op, "record": i.record} for i in items],
    }


def serial_list(payload: dict[str, Any]) -> list[str]:
    """`serials` (a list) or `range` {start, count, width, prefix} → serial numbers."""
    if "serials" in payload:
        serials = payload["serials"]
        if not isinstance(serials, list) or not all(isinstance(s, str) for s in serials):
            raise InvalidValue("serials must be a list of strings", "$.serials")
        return serials
    spec = payload.get("range")
    if not isinstance(spec, dict):
        raise InvalidValue("give serials (a list) or range {start, count, width, prefix}", "$")
    start, count = spec.get("start", 1), spec.get("count")
    width, head = spec.get("width", 0), spec.get("prefix", "")
    for key, value in (("start", start), ("count", count), ("width", width)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidValue(f"{key} must be a non-negative integer", f"$.range.{key}")
    if not isinstance(head, str):
        raise InvalidValue("prefix must be a string", "$.range.prefix")
    return serial_range(start, count, width, head)


def serial_range(start: int, count: int, width: int = 0, head: str = "") -> list[str]:
    if count > MAX_BULK:
        raise InvalidValue(f"at most {MAX_BULK} serials per call", "$.range.count")
    return [f"{head}{n:0{width}d}" for n in range(start, start + count)]


@router.post(
    "/management/handles/bulk", dependencies=[Operator], tags=["management"], status_code=201
)
def bulk_register(request: Request, payload: Annotated[Any, Body()]) -> dict[str, Any]:
    """Register one handle per serial of a batch in one call (all or nothing). Body:
    `{"batch": "/01/{gtin}/10/{lot}", "serials": [...] | "range": {start, count, width,
    prefix}, "url": "https://.../{serial}", "prefix": "88.100.1", "class": "part"}`."""
    svc = service(request)
    if not isinstance(payload, dict):
        raise InvalidValue("body must be an object", "$")
    if not isinstance(payload.get("batch"), str):
        raise InvalidValue("batch must be a Digital Link path or URI", "$.batch")
    batch = DigitalLink.parse(payload["batch"])
    serials = serial_list(payload)
    url = payload.get("url")
    if url is not None and not isinstance(url, str):
        raise InvalidValue("url must be a string", "$.url")
    result = svc.registry.register_serials(
        batch,
        serials,
        prefix=payload.get("prefix"),
        url_template=url,
        object_class=str(payload.get("class", "part")),
    )
    return {"v": 1, "batch": str(result.batch), "created": result.count, "seqs": result.seqs}


# -- QR codes ---------------------------------------------------------------------------------


def qr_target(svc: IdentifierService, ref: str) -> DigitalLink | Handle:
    """A Digital Link path (starting with a GS1 key AI) or a handle; a GS1-keyed handle
    becomes its Digital Link."""
    first = ref.split("/", 1)[0]
    if first in GS1_KEYS:
        return DigitalLink.parse("/" + ref)
    handle = parse_handle(ref)
    record = svc.registry.get(handle) if is_local(svc, handle) else None
    if record is not None and record.first(TS_GS1) is not None:
        return DigitalLink.parse(record.first(TS_GS1).value)
    return handle


@router.get(
    "/api/qr/{ref:path}", responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}}
)
def qr(
    request: Request,
    ref: str,
    format: Annotated[str, Query(pattern="^(svg|png)$")] = "svg",
    scale: Annotated[int, Query(ge=1, le=40)] = 4,
) -> Response:
    """The QR code of a handle or GS1 Digital Link: the Digital Link (on this node as
    resolver) for GS1-keyed objects, else the handle proxy URL."""
    svc = service(request)
    try:
        target = qr_target(svc, ref)
    except InvalidGs1 as exc:
        raise Problem(400, "Invalid GS1 Digital Link", exc.reason, "invalid-identifier") from None
    content = qr_content(target, proxy_base=svc.public_url, gs1_base=svc.public_url)
    media = "image/svg+xml" if format == "svg" else "image/png"
    body = qr_code(content, format, scale=scale)  # type: ignore[arg-type]
    return Response(body, media_type=media, headers={"X-QR-Content": content})


def routes() -> APIRouter:
    """The Handle API and the GS1 resolver. The handle proxy (`proxy_router`) matches any
    `/{digits...}/{suffix}` path, so the app mounts it after every other router."""
    from connector.routers import gs1

    # One flat list of routes: each nested include_router level adds a matching pass to
    # every request, and handle lookups are the node's hottest path.
    return APIRouter(routes=[*router.routes, *gs1.router.routes])
