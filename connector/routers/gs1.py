"""The node as a GS1-conformant resolver: Digital Link requests to links, RFC 9264 linksets.

`GET /{primary key AI}/{key}[/{qualifier AI}/{value}...]` (GTIN 01 with CPV 22, lot 10 and
serial 21; SSCC 00; GLN 414 with 254; any other Digital Link primary key) answers 307 to the
default link, `?linkType=...` picks a link type, `?linkType=linkset` (or `all`) or
`Accept: application/linkset+json` returns the linkset. The links for a request are:

- the operator's link set at the most specific matching level (serial, lot, GTIN);
- automatic links from the handle registered for the key (or its nearest qualifier level):
  `gs1:pip` → its URL value, `gs1:masterData` → its handle record on this node,
  `gs1:certificationInfo` → its TS_QUALITY values, `gs1:sustainabilityInfo` → its TS_PCF
  values, `gs1:traceability` → its TS_EVENTS value or else this node's `/trace/{object}`;

operator links win over automatic links of the same type. The default link is the operator's
default, else `gs1:pip`, else `gs1:masterData`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from connector.auth import Operator
from connector.problems import Problem
from connector.routers import pages
from connector.routers.identifiers import GS1_KEYS, direct_get, service
from identifiers.digital_link import DigitalLink
from identifiers.errors import InvalidGs1, InvalidIdentifier
from identifiers.linkset import (
    LINKSET_MEDIA_TYPE,
    LinkEntry,
    LinkSet,
    match_linkset,
    resolve_request,
    resolver_description,
)
from identifiers.record import TS_EVENTS, TS_PCF, TS_QUALITY, URL, HandleRecord

router = APIRouter(tags=["gs1"])
_RESOLVE_RESPONSES: dict[int | str, dict[str, Any]] = {307: {}, 300: {}, 400: {}, 404: {}}

LINK_TYPES = {
    "gs1:pip": ("Product information page", "The object's own web page (its handle's URL)"),
    "gs1:masterData": ("Master data", "The object's handle record on this node"),
    "gs1:traceability": ("Traceability", "EPCIS trace of the object on this node"),
    "gs1:certificationInfo": ("Certification information", "Quality records of the object"),
    "gs1:sustainabilityInfo": ("Sustainability information", "Product carbon footprint"),
}


class Gs1KeyConvertor(Convertor[str]):
    regex = "|".join(GS1_KEYS)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("gs1key", Gs1KeyConvertor())


def automatic_links(record: HandleRecord | None, link: DigitalLink, base: str) -> list[LinkEntry]:
    links = []
    if record is not None:
        url = record.first(URL)
        if url is not None:
            links.append(LinkEntry("gs1:pip", str(url.value), LINK_TYPES["gs1:pip"][0]))
        links.append(
            LinkEntry(
                "gs1:masterData",
                record.handle.proxy_url(base) + "?noredirect",
                f"Handle {record.handle}",
                media_type="application/json",
            )
        )
        for value in record.by_type(TS_QUALITY):
            links.append(LinkEntry("gs1:certificationInfo", str(value.value), "Quality record"))
        for value in record.by_type(TS_PCF):
            links.append(LinkEntry("gs1:sustainabilityInfo", str(value.value), "Carbon footprint"))
        for value in record.by_type(TS_EVENTS):
            links.append(LinkEntry("gs1:traceability", str(value.value), "Trace events"))
    if not any(entry.link_type == "gs1:traceability" for entry in links):
        canonical = link.without_attributes().uri()
        links.append(
            LinkEntry(
                "gs1:traceability",
                f"{base}/trace/{quote(canonical, safe='')}",
                "Trace events",
                media_type="application/json",
            )
        )
    return links


def linkset_for(request: Request, link: DigitalLink) -> LinkSet | None:
    """The merged link set for `link`, or None when nothing is known about its key."""
    svc = service(request)
    record = svc.registry.gs1_record(link)
    found = match_linkset(link, svc.registry.linksets(link))
    if found is None and record is None:
        return None
    operator: list[LinkEntry] = []
    default = description = None
    if found is not None:
        entry, bindings = found
        operator = [item.bound(bindings) for item in entry.links]
        default, description = entry.default_link_type, entry.item_description
    taken = {item.link_type for item in operator}
    links = operator + [
        item
        for item in automatic_links(record, link, svc.public_url)
        if item.link_type not in taken
    ]
    types = {item.link_type for item in links}
    if default not in types:
        default = "gs1:pip" if "gs1:pip" in types else "gs1:masterData"
        if default not in types:
            default = links[0].link_type
    target = link.without_attributes()
    return LinkSet(target.path(), tuple(links), default, target.qualifiers, description or "")


@router.get("/.well-known/gs1resolver")
def gs1resolver(request: Request) -> dict[str, Any]:
    """The resolver description (GS1 Digital Link resolver standard)."""
    info = {t: {"title": title, "description": text} for t, (title, text) in LINK_TYPES.items()}
    return resolver_description(
        service(request).public_url,
        name=f"tracespace node {request.app.state.node.config.name}",
        primary_keys=GS1_KEYS,
        active_link_types=info,
    )


@direct_get(router, "/{ai:gs1key}/{rest:path}", "ai", "rest", responses=_RESOLVE_RESPONSES)
async def resolve_gs1(request: Request) -> Response:
    """Resolve a GS1 Digital Link request to a link (307) or a linkset (200/300)."""
    # async: the lookups are a few indexed reads, cheaper than a thread-pool hop
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("ascii", "replace")
    query = request.url.query
    try:
        link = DigitalLink.parse(path + (f"?{query}" if query else ""))
    except InvalidGs1 as exc:
        raise Problem(400, "Invalid GS1 Digital Link", exc.reason, "invalid-identifier") from None
    entry = linkset_for(request, link)
    if entry is None:
        raise Problem(404, "Not found", f"no links for {link.path()}", "not-found")
    if pages.wants_html(request):  # a browser: the consumer page instead of a redirect
        return pages.consumer_page(request, link, entry.item_description)
    params = request.query_params
    base = service(request).public_url
    resolution = resolve_request(
        path,
        [entry],
        query={k: params[k] for k in ("linkType", "linktype") if k in params},
        headers=dict(request.headers),
        base=base,
    )
    linkset_url = f"{base}{link.path()}?linkType=linkset"
    link_header = f'<{linkset_url}>; rel="linkset"; type="{LINKSET_MEDIA_TYPE}"'
    if resolution.status == 307 and resolution.location:
        return RedirectResponse(resolution.location, 307, headers={"Link": link_header})
    if resolution.linkset is not None:
        return JSONResponse(
            resolution.linkset,
            status_code=resolution.status,
            media_type=LINKSET_MEDIA_TYPE,
            headers={"Link": link_header},
        )
    title = "Not found" if resolution.status == 404 else "Invalid request"
    raise Problem(resolution.status, title, resolution.reason)


@router.get("/management/gs1/linksets", dependencies=[Operator], tags=["management"])
def list_linksets(request: Request) -> dict[str, Any]:
    """Every operator-managed link set (GS1 Resolver data-entry format)."""
    return {"v": 1, "linksets": service(request).registry.all_linksets()}


@router.put("/management/gs1/linksets", dependencies=[Operator], tags=["management"])
def put_linkset(request: Request, entry: Annotated[Any, Body()]) -> dict[str, Any]:
    """Store the link set of one anchor (`/01/{gtin}[/10/{lot}][/21/{serial}]`), replacing any
    earlier one; body: `{anchor, defaultLinktype, itemDescription, links: [{linktype, href,
    title, hreflang, type}]}`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("anchor"), str):
        raise InvalidIdentifier("body must be an object with an anchor", "$.anchor")
    anchor, seq = service(request).registry.put_linkset(entry)
    return {"v": 1, "anchor": anchor, "seq": seq}


@router.delete(
    "/management/gs1/linksets/{anchor:path}", dependencies=[Operator], tags=["management"]
)
def delete_linkset(request: Request, anchor: str) -> dict[str, Any]:
    seq = service(request).registry.delete_linkset("/" + anchor)
    return {"v": 1, "anchor": "/" + anchor, "seq": seq}
