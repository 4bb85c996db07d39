"""Provenance graphs: follow an object upstream or downstream through transformation and
time-bounded containment on this node, and through partner nodes with verified proofs.

A visited state is (object, time window, mode). `full` objects are followed every way; a
container reached from one of its contents is a `carrier`: only its own events, its own
containers and its partner hops count (its other contents are not provenance of the item).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from connector.events.access import Caller, check_permitted, may_read
from connector.events.errors import EventNotFound, InvalidQuery, ReadNotAllowed
from connector.events.objects import object_kind
from connector.events.partners import DEFAULT_BUDGET, Partners
from connector.events.proofs import (
    PartnerLog,
    b64_hashes,
    open_partner_log,
    verify_ledgered,
)
from connector.events.query import load_events
from connector.events.tables import (
    OPEN_END,
    OPEN_START,
    containment_table,
    event_table,
    from_micros,
    object_table,
    party_table,
)
from connector.node import Node
from connector.peers import Peer, node_did
from ledger import store
from ledger.errors import LedgerError

DEFAULT_DEPTH = 10
MAX_DEPTH = 25
MAX_OBJECTS = 5000
MAX_EVENTS = 20000
DIRECTIONS = ("upstream", "downstream")
TRACE_PURPOSE = "traceability"
"""The purpose a trace declares to partners when its caller gave none (`recall` for recalls)."""
_OUTPUT = ("output", "outputQuantity")
_INPUT = ("input", "inputQuantity")


@dataclass
class TraceRequest:
    """What to trace; `since`/`until` (UTC microseconds) bound the first object's window."""

    object_id: str
    direction: str = "upstream"
    depth: int = DEFAULT_DEPTH
    since: int | None = None
    until: int | None = None
    proof_size: int | None = None
    via: list[str] = field(default_factory=list)
    budget: float = DEFAULT_BUDGET
    purpose: str | None = None

    def check(self) -> None:
        if self.direction not in DIRECTIONS:
            raise InvalidQuery(f"direction must be one of {DIRECTIONS}")
        if not 0 <= self.depth <= MAX_DEPTH:
            raise InvalidQuery(f"depth must be in 0..{MAX_DEPTH}")
        if not 0 < self.budget <= 60:
            raise InvalidQuery("budget must be in (0, 60] seconds")


@dataclass
class _Graph:
    me: str
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    seqs: dict[int, int] = field(default_factory=dict)  # local seq -> depth first seen
    remote_events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    hops: list[dict[str, Any]] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    refused: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_node(self, key: str, where: str) -> None:
        node = self.nodes.setdefault(key, {"id": key, "kind": object_kind(key), "seenAt": []})
        if where not in node["seenAt"]:
            node["seenAt"].append(where)
        if len(self.nodes) > MAX_OBJECTS:
            raise InvalidQuery(f"the graph exceeds {MAX_OBJECTS} objects; lower the depth")

    def add_edge(self, kind: str, source: str, target: str, seq: int, **extra: Any) -> None:
        self.edges.setdefault(
            (kind, source, target, self.me, seq),
            {"kind": kind, "from": source, "to": target, "node": self.me, "seq": seq, **extra},
        )


def trace(node: Node, request: TraceRequest, caller: Caller) -> dict[str, Any]:
    """The provenance graph of `request.object_id` (see the module docstring and docs/trace.md)."""
    request.check()
    check_permitted(caller)
    me = node_did(node)
    graph = _Graph(me)
    purpose = request.purpose or TRACE_PURPOSE
    partners = Partners.for_node(node, request.via, request.budget, purpose)
    upstream = request.direction == "upstream"
    lo = OPEN_START if request.since is None else request.since
    hi = OPEN_END if request.until is None else request.until
    queue: deque[tuple[str, int, int, str, str, int]] = deque(
        [(request.object_id, lo, hi, "full", request.object_id, 0)]
    )
    visited: dict[tuple[str, str], tuple[int, int]] = {}
    remote_done: set[tuple[str, str]] = set()
    with store.read_transaction(node.engine) as conn:
        while queue:
            key, lo, hi, mode, carried, depth = queue.popleft()
            seen = visited.get((key, mode))
            if seen and seen[0] <= lo and hi <= seen[1]:
                continue
            visited[(key, mode)] = (min(lo, seen[0]), max(hi, seen[1])) if seen else (lo, hi)
            graph.add_node(key, me)
            hits = _events_of(conn, key, lo, hi)
            for seq, _role, _time in hits:
                graph.seqs.setdefault(seq, depth)
            if len(graph.seqs) > MAX_EVENTS:
                raise InvalidQuery(f"the graph exceeds {MAX_EVENTS} events; lower the depth")
            for step in _steps(conn, graph, key, lo, hi, mode, carried, hits, upstream):
                if depth < request.depth:
                    queue.append((*step, depth + 1))
            if depth < request.depth:
                hops = _partner_hops(conn, partners, key, mode, carried, hits, upstream)
                for peer, obj, at in hops:
                    if (peer.did, obj) in remote_done:
                        continue
                    remote_done.add((peer.did, obj))
                    _remote(graph, partners, peer, obj, at, upstream, request.depth - depth - 1)
        local = load_events(conn, sorted(graph.seqs))
    return _result(node, graph, partners, request, caller, local)


def _events_of(conn: Connection, key: str, lo: int, hi: int) -> list[tuple[int, str, int]]:
    o, e = object_table.c, event_table.c
    rows = conn.execute(
        select(o.seq, o.role, e.event_time)
        .join(event_table, e.seq == o.seq)
        .where(o.object_id == key, e.event_time >= lo, e.event_time <= hi)
    )
    return [(int(r.seq), r.role, int(r.event_time)) for r in rows]


def _steps(
    conn: Connection,
    graph: _Graph,
    key: str,
    lo: int,
    hi: int,
    mode: str,
    carried: str,
    hits: list[tuple[int, str, int]],
    upstream: bool,
) -> list[tuple[str, int, int, str, str]]:
    """The states one hop away on this node."""
    steps: list[tuple[str, int, int, str, str]] = []
    c = containment_table.c
    # Containers of this object, for the time it was inside them.
    for row in conn.execute(
        select(c.parent, c.start, c.end, c.start_seq, c.end_seq).where(
            c.child == key, c.start <= hi, c.end > lo
        )
    ):
        start, end = max(int(row.start), lo), min(int(row.end), hi)
        graph.add_edge("containment", row.parent, key, row.start_seq or row.end_seq, **_window(row))
        steps.append((row.parent, start, end, "carrier", carried if mode == "carrier" else key))
    if mode == "carrier":
        return steps
    # Contents of this object: their past is its provenance, their future its fate.
    for row in conn.execute(
        select(c.child, c.start, c.end, c.start_seq, c.end_seq).where(
            c.parent == key, c.start <= hi, c.end > lo
        )
    ):
        graph.add_edge("containment", key, row.child, row.start_seq or row.end_seq, **_window(row))
        if upstream:
            steps.append((row.child, OPEN_START, min(int(row.end), hi), "full", row.child))
        else:
            steps.append((row.child, max(int(row.start), lo), OPEN_END, "full", row.child))
    # Transformations: outputs come from inputs.
    mine = _OUTPUT if upstream else _INPUT
    other = _INPUT if upstream else _OUTPUT
    times = {seq: at for seq, role, at in hits if role in mine}
    if times:
        o = object_table.c
        for row in conn.execute(
            select(o.seq, o.object_id).where(o.seq.in_(list(times)), o.role.in_(other))
        ):
            at = times[int(row.seq)]
            if upstream:
                graph.add_edge("transformation", row.object_id, key, int(row.seq))
                steps.append((row.object_id, OPEN_START, at, "full", row.object_id))
            else:
                graph.add_edge("transformation", key, row.object_id, int(row.seq))
                steps.append((row.object_id, at, OPEN_END, "full", row.object_id))
    return steps


def _window(row: Any) -> dict[str, Any]:
    return {
        "start": None if row.start == OPEN_START else from_micros(int(row.start)),
        "end": None if row.end == OPEN_END else from_micros(int(row.end)),
    }


def _partner_hops(
    conn: Connection,
    partners: Partners,
    key: str,
    mode: str,
    carried: str,
    hits: list[tuple[int, str, int]],
    upstream: bool,
) -> list[tuple[Peer, str, int]]:
    """(partner, object to ask about, event time) for every partner this object crossed to."""
    if not partners.peers:
        return []
    obj = carried if mode == "carrier" else key
    hops: list[tuple[Peer, str, int]] = []
    times = {seq: at for seq, _role, at in hits}
    if times:
        p = party_table.c
        kind = "source" if upstream else "destination"
        for row in conn.execute(
            select(p.seq, p.value).where(p.seq.in_(list(times)), p.kind == kind)
        ):
            peer = partners.for_party(row.value)
            if peer is not None and peer.did not in partners.via:
                hops.append((peer, obj, times[int(row.seq)]))
    if upstream and mode == "full":
        peer = partners.for_object(key)
        if peer is not None and peer.did not in partners.via:
            hops.append((peer, key, min(times.values(), default=OPEN_END)))
    return hops


def _remote(
    graph: _Graph,
    partners: Partners,
    peer: Peer,
    key: str,
    at: int,
    upstream: bool,
    depth: int,
) -> None:
    """Ask `peer` to trace `key` from the crossing time on, verify and merge its answer."""
    params: dict[str, Any] = {"direction": "upstream" if upstream else "downstream"}
    params["depth"] = max(depth, 0)
    if at not in (OPEN_START, OPEN_END):
        params["until" if upstream else "since"] = from_micros(at)
    answer = partners.trace(peer, key, params)
    hop: dict[str, Any] = {
        "partner": peer.did,
        "name": peer.name,
        "url": peer.base_url,
        "object": key,
        "direction": params["direction"],
        "from": graph.me,
    }
    if answer is None:
        if peer.did in partners.refused:
            # The partner's policy said no: a fact of the trace, not an error.
            refusal = partners.refused[peer.did]
            graph.refused.setdefault(peer.did, {"partner": peer.did, **refusal})
            graph.hops.append({**hop, "status": "refused", **refusal})
        else:
            graph.unreachable[peer.did] = partners.unreachable.get(peer.did, "unreachable")
        return
    remote, log = answer
    hop.update(log.to_json())
    logs: dict[str, tuple[PartnerLog | None, str]] = {peer.did: (log, "")}
    for nested in remote.get("hops") or ():
        if nested.get("checkpoint") and nested.get("vkey"):
            trusted = partners.peers.get(nested["partner"])
            try:
                logs[nested["partner"]] = (
                    open_partner_log(
                        nested["vkey"],
                        nested["checkpoint"],
                        trusted.public_key if trusted else None,
                        nested.get("keyHistory"),
                    ),
                    "",
                )
            except (LedgerError, ValueError) as exc:
                logs[nested["partner"]] = (None, str(exc))
        graph.hops.append({**nested, "verifiedBy": graph.me})
    bad = 0
    for ev in remote.get("events") or ():
        where = ev.get("node", peer.did)
        ev = dict(ev)
        ev["source"] = "partner"
        log_for, reason = logs.get(where, (None, "no checkpoint for this node in the answer"))
        try:
            if log_for is None:
                raise LedgerError(reason)
            verify_ledgered(log_for, ev.get("entry"), ev.get("proof"))
            if ev["entry"]["payload"]["eventHash"] != ev.get("eventHash"):
                raise LedgerError("entry holds another event")
            ev["verified"] = True
        except (LedgerError, ValueError, KeyError, TypeError) as exc:
            ev["verified"] = False
            ev["reason"] = str(exc)[:200]
            bad += where == peer.did
        graph.remote_events.setdefault((where, ev.get("eventHash", "")), ev)
    for node in remote.get("nodes") or ():
        for where in node.get("seenAt") or [peer.did]:
            graph.add_node(node["id"], where)
    for edge in remote.get("edges") or ():
        graph.edges.setdefault(
            (edge.get("kind"), edge.get("from"), edge.get("to"), edge.get("node"), edge.get("seq")),
            edge,
        )
    for item in remote.get("unreachable") or ():
        graph.unreachable.setdefault(item.get("partner", "?"), item.get("reason", ""))
    for item in remote.get("refused") or ():
        graph.refused.setdefault(item.get("partner", "?"), item)
    hop["events"] = sum(1 for ev in remote.get("events") or () if ev.get("node") == peer.did)
    hop["verified"] = bad == 0
    graph.hops.append(hop)


def _result(
    node: Node,
    graph: _Graph,
    partners: Partners,
    request: TraceRequest,
    caller: Caller,
    local: list[Any],
) -> dict[str, Any]:
    readable = [ev for ev in local if may_read(caller, ev)]
    if local and not readable:
        if caller.kind == "peer":  # unknown and not covered look the same to a partner
            raise EventNotFound(f"no events of {request.object_id!r} here")
        raise ReadNotAllowed("the caller may not read the events of this object")
    hidden = {ev.seq for ev in local} - {ev.seq for ev in readable}
    events = []
    for ev in readable:
        item = {
            "node": graph.me,
            "source": "local",
            "eventID": ev.event.get("eventID"),
            "eventHash": ev.entry["payload"].get("eventHash"),
            "seq": ev.seq,
            "signer": ev.kid,
            "entryHash": ev.entry_hash,
            "depth": graph.seqs.get(ev.seq),
            "event": ev.event,
        }
        if request.proof_size is not None and ev.seq < request.proof_size:
            item["entry"] = ev.entry
            item["proof"] = b64_hashes(node.ledger.inclusion_proof(ev.seq, request.proof_size))
        events.append(item)
    events += list(graph.remote_events.values())
    edges = [
        e for e in graph.edges.values() if not (e.get("node") == graph.me and e["seq"] in hidden)
    ]
    for edge in edges:
        if edge.get("node") == graph.me:
            edge.setdefault("eventID", None)
    by_seq = {ev.seq: ev.event.get("eventID") for ev in readable}
    for edge in edges:
        if edge.get("node") == graph.me and edge["eventID"] is None:
            edge["eventID"] = by_seq.get(edge["seq"])
    unreachable = dict(graph.unreachable)
    for did, reason in partners.unreachable.items():
        unreachable.setdefault(did, reason)
    return {
        "v": 1,
        "object": request.object_id,
        "direction": request.direction,
        "depth": request.depth,
        "node": graph.me,
        "nodes": list(graph.nodes.values()),
        "edges": edges,
        "events": events,
        "hops": graph.hops,
        "unreachable": [{"partner": d, "reason": r} for d, r in unreachable.items()],
        "refused": list(graph.refused.values()),
        "complete": not unreachable and not graph.refused,
    }
