"""Who may read which captured event: the one seam where contract policies will plug in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from connector.auth import NodeDep
from connector.peers import Peer, require_peer


@dataclass(frozen=True)
class Caller:
    """Who is asking: the node's operator, a trusted peer (with its identity), or the node
    itself (a CLI command run on the node's own folder)."""

    kind: str  # "operator" | "peer" | "self"
    peer: Peer | None = None

    @property
    def label(self) -> str:
        return self.peer.did if self.peer else self.kind


OPERATOR = Caller("operator")
SELF = Caller("self")


def may_read(caller: Caller, event: Any) -> bool:
    """Whether `caller` may see `event` (an index row or payload).

    Today: the operator, the node itself and every trusted peer may read every event.
    Contract policies (ODRL under a DSP agreement) replace this function's body; every
    read path (query, by-id, trace, recall) already calls it per event.
    """
    return caller.kind in ("operator", "self") or (
        caller.kind == "peer" and caller.peer is not None
    )


def require_reader(request: Request, node: NodeDep) -> Caller:
    """FastAPI dependency: the operator (operator token) or a trusted peer (peer token)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token and node.is_operator(token.strip()):
        return OPERATOR
    return Caller("peer", require_peer(request, node))


ReaderDep = Annotated[Caller, Depends(require_reader)]
