"""The DCAT catalog a participant sees: datasets with the ODRL offers visible to it, paged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from connector.dsp import messages, offers
from connector.dsp.errors import ProcessNotFound
from connector.dsp.records import get_row
from connector.dsp.service import DspService
from connector.dsp.tables import asset_table
from connector.peers import Peer, node_did

MAX_PAGE = 100


def _service(svc: DspService) -> dict[str, Any]:
    return {
        "@id": node_did(svc.node) + "#dsp",
        "@type": "DataService",
        "endpointURL": svc.node.config.public_url + "/dsp",
    }


def _dataset(svc: DspService, conn: Any, asset: Any, peer: Peer) -> dict[str, Any] | None:
    found = offers.offers_for(conn, asset.id, offers.partner_request(conn, peer.did))
    if not found:
        return None
    return {
        "@id": asset.id,
        "@type": "Dataset",
        "hasPolicy": found,
        "distribution": [
            {
                "@type": "Distribution",
                "format": messages.HTTP_PULL,
                "accessService": _service(svc)["@id"],
            }
        ],
    }


def catalog(svc: DspService, peer: Peer, page: int = 1, size: int = 50) -> tuple[dict, bool]:
    """(the catalog page for `peer`, whether a next page exists)."""
    size = max(1, min(size, MAX_PAGE))
    page = max(1, page)
    datasets: list[dict[str, Any]] = []
    with svc.node.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(asset_table)).scalar_one()
        rows = conn.execute(
            select(asset_table).order_by(asset_table.c.id).offset((page - 1) * size).limit(size)
        ).all()
        for asset in rows:
            dataset = _dataset(svc, conn, asset, peer)
            if dataset is not None:
                datasets.append(dataset)
    body = messages.message(
        "Catalog",
        participantId=node_did(svc.node),
        service=[_service(svc)],
    )
    body["@id"] = f"{node_did(svc.node)}#catalog"
    if datasets:
        body["dataset"] = datasets
    return body, page * size < total


def dataset(svc: DspService, peer: Peer, dataset_id: str) -> dict[str, Any]:
    with svc.node.engine.connect() as conn:
        asset = get_row(conn, asset_table, id=dataset_id)
        found = _dataset(svc, conn, asset, peer) if asset is not None else None
    if found is None:
        raise ProcessNotFound(f"no dataset {dataset_id}")
    return {"@context": list(messages.CONTEXT), **found}
