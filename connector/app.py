"""The node's FastAPI application: routers, error mapping and the node in app state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from connector import problems
from connector.events.pipeline import Preparer
from connector.limits import BodySizeLimit
from connector.node import Node
from connector.routers import dsp as dsp_router
from connector.routers import epcis as epcis_router
from connector.routers import identifiers as identifiers_router
from connector.routers import ledger, peers
from connector.routers import pages as pages_router
from connector.routers import records as records_router


def create_app(node: Node, capture_workers: int = 0) -> FastAPI:
    """The node's API. `capture_workers` helper processes prepare captured EPCIS events
    (validation, hashing, index rows) while the node appends (`connector.events.pipeline`)."""
    preparer = Preparer(capture_workers)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            preparer.close()

    app = FastAPI(
        title=f"tracespace node {node.config.name}",
        version="0.1.0",
        description="Industrial data space connector and verifiable traceability ledger.",
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.preparer = preparer
    app.add_middleware(BodySizeLimit)
    problems.install(app)
    app.include_router(identifiers_router.routes())  # first: handle lookups are the hot path
    app.include_router(ledger.router)
    app.include_router(peers.router)
    app.include_router(records_router.router)
    app.include_router(epcis_router.api)
    app.include_router(dsp_router.router)
    app.include_router(pages_router.router)
    app.include_router(identifiers_router.proxy_router)  # last: it matches /{prefix}/{suffix}

    @app.get("/healthz", tags=["node"])
    def health() -> dict[str, object]:
        return {"status": "ok", "name": node.config.name, "size": node.ledger.size}

    return app
