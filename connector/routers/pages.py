"""The consumer provenance page over HTTP, its public JSON evidence, and the disclosure rule.

- The GS1 resolver and the handle proxy call `consumer_page` when a browser asks for HTML
  (`wants_html`): they keep every other behaviour (redirects, linksets, JSON).
- `GET /provenance/{id}`: the page's model as JSON, public data only, with evidence links.
- `GET /pages/disclosure`: what this node shows the public; `PUT /management/pages/disclosure`
  `{"public": ["events", "footprints", "quality"]}` changes it (operator; ledgered).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from connector.auth import NodeDep, Operator
from connector.events.objects import object_key
from connector.node import Node
from connector.pages.disclosure import disclosure_document, set_public
from connector.pages.i18n import pick_language
from connector.pages.provenance import provenance
from connector.pages.render import render_page
from identifiers.canonical import handle_to_gs1
from identifiers.digital_link import DigitalLink
from identifiers.errors import InvalidGs1, InvalidIdentifier
from identifiers.handle import Handle
from identifiers.qr import qr_code, qr_content
from ledger.errors import InvalidInput

router = APIRouter(tags=["pages"])
HTML = "text/html"
JSON_TYPES = ("application/json", "application/ld+json", "application/linkset+json")


def _weights(accept: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media:
            weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))
    return weights


def wants_html(request: Request) -> bool:
    """Whether the caller explicitly prefers `text/html` (a browser) and asks for no specific
    link type or raw record: `*/*` alone or JSON ranked at least as high keep the old answer."""
    params = request.query_params
    if any(k in params for k in ("linkType", "linktype", "noredirect")):
        return False
    weights = _weights(request.headers.get("accept", ""))
    html = weights.get(HTML, 0.0)
    return html > 0 and all(html > weights.get(t, 0.0) for t in JSON_TYPES)


def _switch_url(request: Request, other: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*query, ('lang', other)])}"


def _page(
    request: Request,
    object_id: str,
    target: DigitalLink | Handle,
    link: DigitalLink | None,
    handle: Handle | None,
    description: str,
) -> Response:
    node: Node = request.app.state.node
    model = provenance(node, object_id, link=link, handle=handle, description=description)
    lang = pick_language(request.headers.get("accept-language"), request.query_params.get("lang"))
    base = node.config.public_url
    qr = qr_code(qr_content(target, proxy_base=base, gs1_base=base))
    html = render_page(model, lang, qr, _switch_url(request, "en" if lang == "zh" else "zh"))
    headers = {
        "Vary": "Accept, Accept-Language",
        "Content-Language": "zh-CN" if lang == "zh" else "en",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(html, headers=headers)


def consumer_page(request: Request, link: DigitalLink, description: str = "") -> Response:
    """The page for a GS1 Digital Link (called by the GS1 resolver)."""
    canonical = link.without_attributes()
    return _page(request, canonical.uri(), canonical, canonical, None, description)


async def handle_page(request: Request, text: str) -> Response | None:
    """The page for a handle homed on this node (called by the handle proxy); None for a
    handle homed elsewhere, which keeps its redirect."""
    from connector.routers.identifiers import is_local, service

    handle = Handle.parse(text)
    if not is_local(service(request), handle):
        return None
    try:
        link: DigitalLink | None = handle_to_gs1(handle)
    except InvalidGs1:
        link = None
    return await run_in_threadpool(_page, request, object_key(text), handle, link, handle, "")


@router.get("/provenance/{object_id:path}")
def provenance_json(request: Request, node: NodeDep, object_id: str) -> JSONResponse:
    """The consumer page's model as JSON: public data, the verification result and links to
    every raw proof (ledger entry, inclusion proof, checkpoint, key) for re-checking."""
    try:
        key = object_key(object_id)
    except (InvalidIdentifier, ValueError) as exc:
        raise InvalidInput(f"$.id: {exc}") from None
    link = None
    if key.startswith("https://id.gs1.org/"):
        link = DigitalLink.parse(key)
    return JSONResponse(provenance(node, key, link=link))


@router.get("/pages/disclosure")
def get_disclosure(node: NodeDep) -> dict[str, Any]:
    """Which kinds of data this node shows to the public (events, footprints, quality)."""
    return disclosure_document(node)


@router.put("/management/pages/disclosure", dependencies=[Operator], tags=["management"])
def put_disclosure(node: NodeDep, body: Annotated[Any, Body()]) -> dict[str, Any]:
    """Disclose exactly the listed kinds: `{"public": ["events", "footprints", "quality"]}`."""
    if not isinstance(body, dict) or not isinstance(body.get("public"), list):
        raise InvalidInput('$.public: body must be {"public": [kinds...]}')
    seq = set_public(node, [str(k) for k in body["public"]])
    return {**disclosure_document(node), "seq": seq}
