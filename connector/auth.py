"""Who is calling: the operator (bearer token from `operator.token`) or anonymous."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from connector.node import Node
from connector.problems import Problem

_bearer = HTTPBearer(auto_error=False, description="The operator token from DIR/operator.token")


def get_node(request: Request) -> Node:
    return request.app.state.node


NodeDep = Annotated[Node, Depends(get_node)]


def require_operator(
    node: NodeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None or not node.is_operator(credentials.credentials):
        problem = Problem(
            401, "Unauthorized", "send the operator token as a Bearer token", "unauthorized"
        )
        problem.headers["WWW-Authenticate"] = 'Bearer realm="tracespace"'
        raise problem


Operator = Depends(require_operator)
