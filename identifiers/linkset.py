"""GS1 resolver decisions as pure functions: pick a link, build RFC 9264 linksets, describe
the resolver.

A `LinkSet` holds the links for one anchor (a Digital Link key path such as
`/01/09506000134376`) with an optional qualifier template (e.g. `21` = `{serialnumber}`); the
request's bound values are put into each href. For a request, `resolve` answers:

- 200 with an `application/linkset+json` body for `linkType=linkset` (or `all`) or an
  `Accept: application/linkset+json` header;
- 307 to the chosen link: the requested link type (or the default one), then the best
  Accept-Language match (q-values, then prefix and truncation matching, then links marked
  `und` or without language);
- 300 with a linkset when several links remain for an explicitly requested link type (for
  the default link the first one is taken);
- 404 when no entry or no link of the requested type exists; 400 for a malformed request.

Matching walks up the qualifier path (`/01/x/10/y/21/z` falls back to `/01/x/10/y`, then
`/01/x`). An entry whose hrefs contain `{1}` is a variable-key entry: its anchor key is a
prefix of the requested key, and `{1}` takes the rest (as for variable GIAIs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from identifiers.digital_link import DEFAULT_BASE, DigitalLink
from identifiers.errors import InvalidGs1, InvalidIdentifier

LINKSET_MEDIA_TYPE = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
SCHEMA_ORG = "http://schema.org/"
DEFAULT_LINK = GS1_VOC + "defaultLink"
DEFAULT_LINK_MULTI = GS1_VOC + "defaultLinkMulti"
LINKSET_REQUESTS = frozenset({"linkset", "all"})

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def normalise_link_type(text: str) -> str:
    """Compact a link type: `https://gs1.org/voc/pip` → `gs1:pip`, schema.org → `schema:`."""
    for namespace in (GS1_VOC, "http://gs1.org/voc/"):
        if text.startswith(namespace):
            return "gs1:" + text[len(namespace) :]
    for namespace in (SCHEMA_ORG, "https://schema.org/"):
        if text.startswith(namespace):
            return "schema:" + text[len(namespace) :]
    return text


def relation_uri(link_type: str) -> str:
    """The link relation URI used as a key in linkset JSON."""
    compact = normalise_link_type(link_type)
    if compact.startswith("gs1:"):
        return GS1_VOC + compact[4:]
    if compact.startswith("schema:"):
        return SCHEMA_ORG + compact[7:]
    return compact


@dataclass(frozen=True, slots=True)
class LinkEntry:
    """One link of a resolver entry."""

    link_type: str
    href: str
    title: str = ""
    languages: tuple[str, ...] = ()
    media_type: str | None = None
    context: tuple[str, ...] = ()

    def bound(self, bindings: Mapping[str, str]) -> LinkEntry:
        """A copy with `{name}` placeholders in href replaced by percent-encoded values."""

        def fill(match: re.Match[str]) -> str:
            value = bindings.get(match.group(1))
            return match.group(0) if value is None else quote(value, safe="")

        return LinkEntry(
            self.link_type,
            _PLACEHOLDER.sub(fill, self.href),
            self.title,
            self.languages,
            self.media_type,
            self.context,
        )

    def target(self) -> dict[str, Any]:
        """The RFC 9264 target object."""
        out: dict[str, Any] = {"href": self.href}
        if self.title:
            out["title"] = self.title
        if self.media_type:
            out["type"] = self.media_type
        if self.languages:
            out["hreflang"] = list(self.languages)
        if self.context:
            out["context"] = list(self.context)
        return out


@dataclass(frozen=True, slots=True)
class LinkSet:
    """The links for one anchor and qualifier template."""

    anchor: str
    links: tuple[LinkEntry, ...]
    default_link_type: str | None = None
    qualifiers: tuple[tuple[str, str], ...] = ()
    item_description: str = ""
    key: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        link = DigitalLink.parse(self.anchor)
        object.__setattr__(self, "key", (link.key_ai, link.key))
        if link.qualifiers and not self.qualifiers:
            object.__setattr__(self, "qualifiers", link.qualifiers)
        object.__setattr__(self, "anchor", f"/{link.key_ai}/{quote(link.key, safe='')}")
        if self.default_link_type:
            object.__setattr__(
                self, "default_link_type", normalise_link_type(self.default_link_type)
            )

    @property
    def variable(self) -> bool:
        return any("{1}" in link.href for link in self.links)

    @classmethod
    def from_resolver_entry(cls, data: Mapping[str, Any]) -> LinkSet:
        """Read a GS1 Resolver CE data entry (`anchor`, `defaultLinktype`, `qualifiers`,
        `links[{linktype, href, title, type, hreflang, context}]`)."""
        try:
            anchor = urlsplit(data["anchor"]).path
            qualifiers = tuple((ai, v) for q in data.get("qualifiers", []) for ai, v in q.items())
            links = tuple(
                LinkEntry(
                    link_type=normalise_link_type(item["linktype"]),
                    href=item["href"],
                    title=item.get("title", ""),
                    languages=tuple(item.get("hreflang", ())),
                    media_type=item.get("type"),
                    context=tuple(item.get("context", ())),
                )
                for item in data["links"]
            )
            return cls(
                anchor,
                links,
                data.get("defaultLinktype"),
                qualifiers,
                data.get("itemDescription", ""),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InvalidIdentifier(f"malformed resolver entry: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the resolver answers: status, redirect target or linkset body, and why."""

    status: int
    reason: str
    location: str | None = None
    linkset: dict[str, Any] | None = None


def parse_accept_language(header: str | None) -> list[str]:
    """Language ranges in preference order (q-values, ties in header order), q=0 dropped."""
    ranges: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        name, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name and quality > 0:
            ranges.append((-quality, position, name.lower()))
    return [name for _, _, name in sorted(ranges)]


def choose_by_language(links: Sequence[LinkEntry], accept_language: str | None) -> list[LinkEntry]:
    """The links in the best language for `accept_language` (all of them if undecidable)."""

    def tags(link: LinkEntry) -> list[str]:
        return [tag.lower() for tag in link.languages]

    for wanted in parse_accept_language(accept_language):
        if wanted == "*":
            return list(links)
        exact = [link for link in links if wanted in tags(link)]
        if exact:
            return exact
        wider = [link for link in links if any(t.startswith(wanted + "-") for t in tags(link))]
        if wider:
            return wider
        truncated = wanted
        while "-" in truncated:
            truncated = truncated.rsplit("-", 1)[0]
            shorter = [link for link in links if truncated in tags(link)]
            if shorter:
                return shorter
    neutral = [link for link in links if not link.languages or "und" in tags(link)]
    if neutral and accept_language:
        return neutral
    return list(links)


def _bind(template: Sequence[tuple[str, str]], actual: Sequence[tuple[str, str]]):
    if [ai for ai, _ in template] != [ai for ai, _ in actual]:
        return None
    bindings: dict[str, str] = {}
    for (_, pattern), (_, value) in zip(template, actual, strict=True):
        placeholder = _PLACEHOLDER.fullmatch(pattern)
        if placeholder:
            bindings[placeholder.group(1)] = value
        elif pattern != value:
            return None
    return bindings


def match_linkset(
    link: DigitalLink, linksets: Iterable[LinkSet]
) -> tuple[LinkSet, dict[str, str]] | None:
    """The entry serving `link` and the placeholder values it binds, or None."""
    exact, variable = [], []
    for entry in linksets:
        ai, key = entry.key
        if ai != link.key_ai:
            continue
        if key == link.key:
            exact.append(entry)
        elif entry.variable and link.key.startswith(key):
            variable.append(entry)
    for depth in range(len(link.qualifiers), -1, -1):
        for entry in exact:
            bindings = _bind(entry.qualifiers, link.qualifiers[:depth])
            if bindings is not None:
                return entry, bindings
    for entry in sorted(variable, key=lambda e: len(e.key[1]), reverse=True):
        if not entry.qualifiers:
            return entry, {"1": link.key[len(entry.key[1]) :]}
    return None


def linkset_json(
    entry: LinkSet,
    link: DigitalLink,
    bindings: Mapping[str, str] | None = None,
    *,
    base: str = DEFAULT_BASE,
    links: Sequence[LinkEntry] | None = None,
) -> dict[str, Any]:
    """The RFC 9264 linkset document for `link` (all of the entry's links unless `links`)."""
    chosen = [item.bound(bindings or {}) for item in (entry.links if links is None else links)]
    context: dict[str, Any] = {"anchor": link.without_attributes().uri(base)}
    if entry.item_description:
        context["itemDescription"] = entry.item_description
    defaults = [item for item in chosen if item.link_type == entry.default_link_type]
    if defaults:
        first = defaults[0]
        context[DEFAULT_LINK] = [{"href": first.href, "title": first.title or first.href}]
    for item in chosen:
        context.setdefault(relation_uri(item.link_type), []).append(item.target())
    if len(defaults) > 1:
        context[DEFAULT_LINK_MULTI] = [item.target() for item in defaults]
    return {"linkset": [context]}


def resolve(
    link: DigitalLink,
    linksets: Iterable[LinkSet],
    *,
    link_type: str | None = None,
    accept_language: str | None = None,
    accept: str | None = None,
    base: str = DEFAULT_BASE,
) -> Resolution:
    """Decide the resolver's answer for a parsed request."""
    found = match_linkset(link, linksets)
    if found is None:
        return Resolution(404, f"no resolver entry for {link.path()}")
    entry, bindings = found
    wants_linkset = (link_type or "").lower() in LINKSET_REQUESTS or LINKSET_MEDIA_TYPE in (
        accept or ""
    )
    if wants_linkset:
        return Resolution(
            200, "linkset requested", linkset=linkset_json(entry, link, bindings, base=base)
        )
    wanted = normalise_link_type(link_type) if link_type else entry.default_link_type
    if wanted is None and entry.links:
        wanted = entry.links[0].link_type
    candidates = [item for item in entry.links if item.link_type == wanted]
    if not candidates:
        return Resolution(404, f"link type {wanted!r} is not available for {link.path()}")
    chosen = choose_by_language(candidates, accept_language)
    if len(chosen) > 1 and link_type:
        body = linkset_json(entry, link, bindings, base=base, links=chosen)
        return Resolution(300, f"{len(chosen)} links of type {wanted}", linkset=body)
    return Resolution(307, f"link type {wanted}", location=chosen[0].bound(bindings).href)


def resolve_request(
    path: str,
    linksets: Iterable[LinkSet],
    *,
    query: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    base: str = DEFAULT_BASE,
) -> Resolution:
    """`resolve` for a raw request path, query and headers (400 if the path is malformed).

    `linkType` and `linktype` query parameters are both accepted; header names are matched
    case-insensitively.
    """
    query = query or {}
    lowered = {name.lower(): value for name, value in (headers or {}).items()}
    try:
        link = DigitalLink.parse(path)
    except InvalidGs1 as exc:
        return Resolution(400, exc.reason)
    return resolve(
        link,
        linksets,
        link_type=query.get("linkType", query.get("linktype")),
        accept_language=lowered.get("accept-language"),
        accept=lowered.get("accept"),
        base=base,
    )


def resolver_description(
    root: str,
    *,
    name: str = "tracespace GS1 resolver",
    primary_keys: Sequence[str] = ("01", "00", "414", "8004"),
    active_link_types: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The `/.well-known/gs1resolver` document.

    `active_link_types` maps a compact link type (`gs1:pip`) to {title, description}; it is
    published under the language key "en".
    """
    link_types = {
        link_type: {"url": relation_uri(link_type), **dict(info)}
        for link_type, info in (active_link_types or {}).items()
    }
    return {
        "name": name,
        "resolverRoot": root.rstrip("/"),
        "supportedLinkType": [
            {"namespace": GS1_VOC, "prefix": "gs1:"},
            {"namespace": SCHEMA_ORG, "prefix": "schema:"},
        ],
        "supportedPrimaryKeys": list(primary_keys),
        "linkTypeDefaultCanBeAll": True,
        "supportsLanguageVariants": True,
        "supportsSemanticInterpretation": False,
        "validatesAIcombinations": True,
        "activeLinkTypes": {"en": link_types},
    }
