"""Bills of materials the operator defines, and the product footprints computed from them.

A BOM definition (format v1) names the product, its declared unit, reference period, own
process emissions, allocation factor and lines. A line is `quantity` (plus `yieldLoss`) of
either a supplier product (`productId`: the latest Active footprint received for it) or
another BOM of this node (`bom`: a sub-assembly). Recalculating publishes a new footprint
version whose provenance names each supplier footprint and its ledger sequence number.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from connector.node import Node
from connector.records import footprints
from connector.records.store import StoredRecord, list_records
from connector.records.tables import bom_table
from ledger.entry import utc_now
from ledger.errors import InvalidInput, NotFound
from schemas.errors import InvalidRecord
from schemas.pact.quantity import parse_decimal
from schemas.pact.rollup import (
    BomLine,
    BomNode,
    ComponentFootprint,
    ProcessEmissions,
    rollup,
    rollup_footprint,
)

FORMAT = 1
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_PROCESS = {
    "scope1": "scope1",
    "scope2": "scope2",
    "inboundTransport": "inbound_transport",
    "waste": "waste",
}
_DQRS = ("technologicalDQR", "geographicalDQR", "temporalDQR")
_PRODUCT_REQUIRED = ("companyName", "companyIds", "productIds", "productNameCompany")
log = logging.getLogger("tracespace.records")


def _decimal(value: Any, path: str) -> Decimal:
    try:
        return parse_decimal(value, path)
    except InvalidRecord as exc:
        raise InvalidInput(str(exc)) from None


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput(f"BOM key {key!r} must be 1-80 characters of a-z 0-9 . _ -")
    return key


def check_definition(data: Any) -> dict[str, Any]:
    """Check a BOM definition's shape; errors name the JSON path."""
    if not isinstance(data, dict):
        raise InvalidInput("$: a BOM definition is a JSON object")
    if data.get("v") != FORMAT:
        raise InvalidInput(f"$.v: must be {FORMAT}")
    known = {
        "v",
        "product",
        "declaredUnit",
        "productMassPerDeclaredUnit",
        "referencePeriod",
        "allocationFactor",
        "process",
        "lines",
        "subjects",
    }
    for name in data:
        if name not in known:
            raise InvalidInput(f"$.{name}: unknown property")
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines:
        raise InvalidInput("$.lines: must be a non-empty list")
    for i, line in enumerate(lines):
        where = f"$.lines[{i}]"
        if not isinstance(line, dict) or ("productId" in line) == ("bom" in line):
            raise InvalidInput(f"{where}: needs exactly one of productId or bom")
        unknown = set(line) - {"productId", "bom", "quantity", "yieldLoss"}
        if unknown:
            raise InvalidInput(f"{where}.{sorted(unknown)[0]}: unknown property")
        if _decimal(line.get("quantity"), f"{where}.quantity") <= 0:
            raise InvalidInput(f"{where}.quantity: must be greater than 0")
        if _decimal(line.get("yieldLoss", "0"), f"{where}.yieldLoss") < 0:
            raise InvalidInput(f"{where}.yieldLoss: must not be negative")
    factor = _decimal(data.get("allocationFactor", "1"), "$.allocationFactor")
    if not Decimal(0) < factor <= Decimal(1):
        raise InvalidInput("$.allocationFactor: must be in (0, 1]")
    process = data.get("process", {})
    if not isinstance(process, dict):
        raise InvalidInput("$.process: must be an object")
    for name, value in process.items():
        if name == "dqi":
            for dqr in _DQRS:
                _decimal((value or {}).get(dqr), f"$.process.dqi.{dqr}")
        elif name in _PROCESS:
            _decimal(value, f"$.process.{name}")
        else:
            raise InvalidInput(f"$.process.{name}: unknown property")
    subjects = data.get("subjects", [])
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        raise InvalidInput("$.subjects: must be a list of batch or serial identifiers")
    return data


def _check_publishable(data: dict[str, Any]) -> None:
    product = data.get("product")
    if not isinstance(product, dict):
        raise InvalidInput("$.product: needed to publish a footprint")
    for name in _PRODUCT_REQUIRED:
        if not product.get(name):
            raise InvalidInput(f"$.product.{name}: required to publish a footprint")
    for name in ("declaredUnit", "productMassPerDeclaredUnit", "referencePeriod"):
        if name not in data:
            raise InvalidInput(f"$.{name}: required to publish a footprint")


def save_bom(node: Node, key: str, data: Any) -> None:
    """Create or replace a BOM definition (ledgered as `pact.bom` with its content)."""
    check_key(key)
    definition = check_definition(data)
    text = json.dumps(definition, sort_keys=True, ensure_ascii=False)
    with node.ledger.transaction() as tx:
        conn = tx.connection
        current = conn.execute(
            select(bom_table.c.current_footprint).where(bom_table.c.key == key)
        ).scalar_one_or_none()
        conn.execute(delete(bom_table).where(bom_table.c.key == key))
        conn.execute(
            insert(bom_table).values(
                key=key, definition=text, current_footprint=current or "", updated=utc_now()
            )
        )
        tx.append("pact.bom", {"v": 1, "key": key, "definition": definition})


def load_bom(node: Node, key: str) -> tuple[dict[str, Any], str]:
    """The definition of BOM `key` and the id of its latest footprint ('' when none)."""
    with node.engine.connect() as conn:
        row = conn.execute(select(bom_table).where(bom_table.c.key == key)).first()
    if row is None:
        raise NotFound(f"no BOM {key!r}")
    return json.loads(row.definition), row.current_footprint


def list_boms(node: Node) -> list[dict[str, Any]]:
    with node.engine.connect() as conn:
        rows = conn.execute(select(bom_table).order_by(bom_table.c.key)).all()
    return [{"key": r.key, "currentFootprint": r.current_footprint or None} for r in rows]


def latest_supplier_footprints(node: Node) -> dict[str, StoredRecord]:
    """For each product id (lower-case), the latest Active footprint received for it."""
    latest: dict[str, StoredRecord] = {}
    for record in list_records(node, footprints.KIND, "received"):
        if record.status != "Active":
            continue
        for pid in record.product_ids:
            latest[pid] = record  # storage order: later receipts win
    return latest


def build(node: Node, key: str) -> BomNode:
    """The roll-up tree of BOM `key`, sub-assemblies shared, supplier footprints resolved."""
    suppliers = latest_supplier_footprints(node)
    components: dict[str, ComponentFootprint] = {}
    built: dict[str, BomNode] = {}

    def component(pid: str, where: str) -> ComponentFootprint:
        record = suppliers.get(pid.lower())
        if record is None:
            raise InvalidInput(f"{where}: no Active supplier footprint received for {pid}")
        if record.id not in components:
            doc = footprints.bare(record.document)
            components[record.id] = ComponentFootprint.from_pact(
                doc, version=str(record.version), ledger_seq=record.ledger_seq
            )
        return components[record.id]

    def node_for(bom_key: str, path: tuple[str, ...]) -> BomNode:
        if bom_key in path:
            raise InvalidInput(f"BOM cycle: {' -> '.join((*path, bom_key))}")
        if bom_key in built:
            return built[bom_key]
        data, _ = load_bom(node, bom_key)
        process = data.get("process", {})
        dqi = process.get("dqi")
        bom_node = BomNode(
            process=ProcessEmissions(
                **{attr: Decimal(process.get(name, "0")) for name, attr in _PROCESS.items()},
                dqr=tuple(Decimal(dqi[d]) for d in _DQRS) if dqi else None,  # type: ignore[arg-type]
            ),
            allocation_factor=Decimal(data.get("allocationFactor", "1")),
        )
        for i, line in enumerate(data["lines"]):
            where = f"{bom_key}: $.lines[{i}]"
            child: ComponentFootprint | BomNode = (
                component(line["productId"], where + ".productId")
                if "productId" in line
                else node_for(line["bom"], (*path, bom_key))
            )
            bom_node.lines.append(
                BomLine(child, Decimal(line["quantity"]), Decimal(line.get("yieldLoss", "0")))
            )
        built[bom_key] = bom_node
        return bom_node

    return node_for(key, ())


def _instant(text: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise InvalidInput(f"{where}: not an ISO 8601 date-time") from None


def calculate(node: Node, key: str) -> StoredRecord:
    """Recompute BOM `key` and publish the result as a new footprint version."""
    data, current = load_bom(node, key)
    _check_publishable(data)
    result = rollup(build(node, key))
    period = data["referencePeriod"]
    doc = rollup_footprint(
        result,
        product=data["product"],
        declared_unit=data["declaredUnit"],
        product_mass_per_unit=_decimal(
            data["productMassPerDeclaredUnit"], "$.productMassPerDeclaredUnit"
        ),
        reference_period=(
            _instant(period.get("start"), "$.referencePeriod.start"),
            _instant(period.get("end"), "$.referencePeriod.end"),
        ),
        preceding_pf_ids=[current] if current else None,
    )

    def remember(conn: Connection, record: StoredRecord) -> None:
        conn.execute(
            update(bom_table).where(bom_table.c.key == key).values(current_footprint=record.id)
        )

    try:
        record, _ = footprints.issue(
            node, doc, data.get("subjects", []), bom_key=key, conn_hook=remember
        )
    except InvalidRecord as exc:
        raise InvalidInput(f"the computed footprint of {key} is invalid: {exc}") from None
    return record


def affected_boms(node: Node, product_ids: Iterable[str]) -> list[str]:
    """BOMs that use any of `product_ids`, directly or through sub-assemblies."""
    wanted = {p.lower() for p in product_ids}
    with node.engine.connect() as conn:
        rows = conn.execute(select(bom_table.c.key, bom_table.c.definition)).all()
    uses: dict[str, set[str]] = {}
    direct: set[str] = set()
    for row in rows:
        lines = json.loads(row.definition).get("lines", [])
        uses[row.key] = {line["bom"] for line in lines if "bom" in line}
        if any(line.get("productId", "").lower() in wanted for line in lines):
            direct.add(row.key)
    hit = set(direct)
    changed = True
    while changed:
        changed = False
        for key, subs in uses.items():
            if key not in hit and subs & hit:
                hit.add(key)
                changed = True
    return sorted(hit)


def recalculate_for(node: Node, product_ids: Iterable[str]) -> list[StoredRecord]:
    """Republish every BOM using these supplier products; BOMs that cannot resolve are skipped."""
    published = []
    for key in affected_boms(node, product_ids):
        try:
            published.append(calculate(node, key))
        except InvalidInput as exc:
            log.info("BOM %s not recalculated: %s", key, exc)
    return published
