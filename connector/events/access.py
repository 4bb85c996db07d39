"""Who may read which captured event: the operator always, a partner under a DSP agreement.

A trusted peer reads events (query, by id, trace, recall) only under an agreement this node
signed as provider on an `epcis-events` asset: active, permitting this access now (its policy
evaluated with the peer's declared `?purpose=`, the count so far, the time...), and only the
events the asset's fixed EPCIS query matches. The decision is taken once per request by
`require_reader` and ledgered (`connector.dsp.grants`); `may_read` then filters event by event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from connector.auth import NodeDep
from connector.dsp import grants
from connector.dsp.errors import AccessDenied
from connector.node import Node
from connector.peers import Peer, require_peer


@dataclass(frozen=True)
class Caller:
    """Who is asking: the node's operator, a trusted peer (with its identity and the decision
    on its access), or the node itself (a CLI command run on the node's own folder)."""

    kind: str  # "operator" | "peer" | "self"
    peer: Peer | None = None
    access: grants.Access | None = None

    @property
    def label(self) -> str:
        return self.peer.did if self.peer else self.kind

    @property
    def purpose(self) -> str | None:
        return self.access.purpose if self.access is not None else None


OPERATOR = Caller("operator")
SELF = Caller("self")


def may_read(caller: Caller, event: Any) -> bool:
    """Whether `caller` may see `event` (a `StoredEvent`): the operator and the node itself
    always; a peer when an agreement permitted this access and its asset covers the event."""
    if caller.kind in ("operator", "self"):
        return True
    if caller.kind != "peer" or caller.access is None:
        return False
    return caller.access.covers_event(int(event.seq))


def check_permitted(caller: Caller) -> None:
    """Raise AccessDenied (403, every failed constraint) when a peer holds no permitting
    agreement; for routes not addressed by id (queries, traces)."""
    if caller.kind == "peer" and (caller.access is None or not caller.access.permitted):
        if caller.access is None:
            raise AccessDenied(f"{caller.label} may not read events: no decision taken")
        raise caller.access.denied()


def peer_caller(node: Node, peer: Peer, purpose: str | None, channel: str) -> Caller:
    """Decide (and ledger) a peer's access to our events through `channel`."""
    from connector.events.query import matches_query

    access = grants.authorize(
        node,
        peer.did,
        grants.EVENTS,
        purpose=purpose,
        channel=channel,
        matcher=lambda source, seq: matches_query(node, dict(source["query"]), seq),
    )
    return Caller("peer", peer, access)


def require_reader(request: Request, node: NodeDep) -> Caller:
    """FastAPI dependency: the operator (operator token) or a trusted peer (peer token),
    whose access is decided under its agreements with the `purpose` query parameter."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token and node.is_operator(token.strip()):
        return OPERATOR
    peer = require_peer(request, node)
    channel = request.url.path.strip("/").split("/")[0] or "epcis"
    return peer_caller(node, peer, request.query_params.get("purpose"), channel)


ReaderDep = Annotated[Caller, Depends(require_reader)]
