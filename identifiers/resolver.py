"""Recursive handle resolution across nodes: walk prefix referrals over HTTP, cache by TTL, and
serve stale answers when a node is down.

Each node answers `GET /api/handles/{prefix}/{suffix}` itself when it homes the prefix. Asked
with the header `X-Handle-Referral: 1`, a node that does not home the prefix answers at once
with a prefix referral (Handle response code 303) instead of resolving further:

    {"responseCode": 303, "handle": "88.100.1/x",
     "referral": {"url": "http://node", "prefix": "88.100.1", "ttl": 86400}}

naming the node its `0.na/<prefix or ancestor>` record points at, or else its parent node.
The `Resolver` here starts at a first hop and follows referrals until a node answers with a
record (1), no values (200) or not found (100). So the walk — root to national to secondary
to enterprise — happens in the resolver that was asked, one hop per request, and:

- answers are cached per handle for the smallest TTL of their values (not-found answers for
  `NEGATIVE_TTL` seconds) and the homing node per prefix for the referral's TTL, so a second
  lookup under the same prefix goes straight to that node;
- when a node does not answer (connection failure, timeout or HTTP 5xx) and an expired answer
  is cached, that stale answer is returned, marked `stale`;
- otherwise `NodeUnreachable` names the node (URL) that did not answer;
- a referral back to a node already visited, or more than `max_hops` referrals, raises
  `DelegationLoop`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import httpx

from identifiers.errors import IdentifierError
from identifiers.handle import Handle

REFERRAL_HEADER = "X-Handle-Referral"
PREFIX_REFERRAL = 303
SERVER_NOT_RESPONDING = 301
RECURSION_LIMIT = 6
MAX_HOPS = 16
NEGATIVE_TTL = 10
MAX_ENTRIES = 100_000


class NodeUnreachable(IdentifierError):
    """A node on the delegation path did not answer and no cached answer exists."""

    def __init__(self, url: str, reason: str, handle: str = "") -> None:
        self.url = url
        self.handle = handle
        what = f" while resolving {handle}" if handle else ""
        super().__init__(f"node {url} is unreachable{what}: {reason}")


class DelegationLoop(IdentifierError):
    """Referrals lead back to a node already asked, or go on for too many hops."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A resolution result: HTTP status and Handle REST body from the node that answered."""

    status: int
    body: dict[str, Any]
    node: str
    stale: bool = False
    hops: int = 0


def answer_ttl(body: dict[str, Any]) -> int:
    """How long an answer may be cached: its smallest value TTL, or NEGATIVE_TTL."""
    ttls = [v.get("ttl") for v in body.get("values", ()) if isinstance(v.get("ttl"), int)]
    return min(ttls) if ttls else NEGATIVE_TTL


class Resolver:
    """Follows prefix referrals from a first hop to the node homing a handle."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        max_hops: int = MAX_HOPS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.max_hops = max_hops
        self.max_entries = max_entries
        self.clock = clock
        self._answers: OrderedDict[str, tuple[float, Answer]] = OrderedDict()
        self._homes: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def cached(self, handle: Handle) -> tuple[bool, Answer] | None:
        """(fresh?, answer) from the cache, or None."""
        with self._lock:
            item = self._answers.get(str(handle))
        if item is None:
            return None
        return item[0] > self.clock(), item[1]

    def forget(self) -> None:
        with self._lock:
            self._answers.clear()
            self._homes.clear()

    def _remember(self, handle: Handle, answer: Answer) -> None:
        expires = self.clock() + answer_ttl(answer.body)
        with self._lock:
            self._answers[str(handle)] = (expires, answer)
            self._answers.move_to_end(str(handle))
            while len(self._answers) > self.max_entries:
                self._answers.popitem(last=False)

    def resolve(self, handle: Handle, first_hop: str) -> Answer:
        """Resolve `handle` starting at the node `first_hop` (a base URL)."""
        found = self.cached(handle)
        if found is not None and found[0]:
            return found[1]
        try:
            return self._walk(handle, first_hop)
        except NodeUnreachable:
            if found is not None:
                return replace(found[1], stale=True)
            raise

    def _walk(self, handle: Handle, first_hop: str) -> Answer:
        now = self.clock()
        home = self._homes.get(handle.prefix)
        url = home[1] if home is not None and home[0] > now else first_hop.rstrip("/")
        visited: list[str] = []
        home_ttl: int | None = None
        path = f"/api/handles/{handle.prefix}/{quote(handle.suffix, safe='/')}"
        while True:
            if url in visited:
                chain = " -> ".join([*visited, url])
                raise DelegationLoop(f"prefix referrals for {handle} loop: {chain}")
            if len(visited) >= self.max_hops:
                raise DelegationLoop(f"more than {self.max_hops} referrals for {handle}")
            visited.append(url)
            body, status = self._ask(url, path, handle)
            if body.get("responseCode") != PREFIX_REFERRAL:
                answer = Answer(status, body, url, hops=len(visited))
                self._remember(handle, answer)
                if home_ttl:
                    self._homes[handle.prefix] = (self.clock() + home_ttl, url)
                return answer
            referral = body.get("referral")
            if not isinstance(referral, dict) or not isinstance(referral.get("url"), str):
                raise NodeUnreachable(url, "sent a referral without a URL", str(handle))
            ttl = referral.get("ttl")
            if isinstance(ttl, int) and ttl > 0:
                home_ttl = ttl if home_ttl is None else min(home_ttl, ttl)
            url = referral["url"].rstrip("/")

    def _ask(self, url: str, path: str, handle: Handle) -> tuple[dict[str, Any], int]:
        try:
            response = self.client.get(url + path, headers={REFERRAL_HEADER: "1"})
        except httpx.HTTPError as exc:
            raise NodeUnreachable(url, type(exc).__name__, str(handle)) from exc
        if response.status_code >= 500:
            try:
                detail = str(response.json().get("detail", ""))
            except (ValueError, AttributeError):
                detail = ""
            raise NodeUnreachable(url, f"HTTP {response.status_code} {detail}".strip(), str(handle))
        try:
            body = response.json()
        except ValueError as exc:
            raise NodeUnreachable(url, "answered with something other than JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("responseCode"), int):
            raise NodeUnreachable(url, "answered without a Handle responseCode", str(handle))
        return body, response.status_code
