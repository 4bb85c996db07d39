"""What the operator defines: assets, policies, contract definitions and partner attributes."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, insert, select

from connector.dsp import messages, offers
from connector.dsp.assets import kinds, provider_for
from connector.dsp.errors import InvalidMessage, ProcessNotFound
from connector.dsp.records import dump, get_row, load, record, utc_now
from connector.dsp.service import DspService
from connector.dsp.tables import (
    asset_table,
    definition_table,
    partner_table,
    policy_table,
)
from policies import Credential, parse_level, policy_to_json
from schemas.dsp import validate_message

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
APPROVALS = ("auto", "manual")


def _check_id(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidMessage(
            "an id is 1-128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit",
            path,
        )
    return value


def _insert(svc: DspService, table: Any, kind: str, row: dict[str, Any], entry: dict) -> None:
    with svc.node.ledger.transaction() as tx:
        if get_row(tx.connection, table, id=row["id"]) is not None:
            raise InvalidMessage(f"{kind} {row['id']} already exists", "$.id")
        tx.connection.execute(insert(table).values(**row))
        record(tx, f"dsp.{kind}", entry)


def create_asset(svc: DspService, body: dict[str, Any]) -> dict[str, Any]:
    asset_id = _check_id(body.get("id"), "$.id")
    kind = body.get("kind")
    try:
        provider = provider_for(str(kind))
    except KeyError:
        raise InvalidMessage(f"kind must be one of {', '.join(kinds())}", "$.kind") from None
    source = body.get("source") or {}
    if not isinstance(source, dict):
        raise InvalidMessage("source must be an object", "$.source")
    problems = provider.check(source)
    if problems:
        raise InvalidMessage(problems)
    level = body.get("classification")
    if level is not None:
        try:
            parse_level(level)
        except ValueError as exc:
            raise InvalidMessage(str(exc), "$.classification") from None
    row = {
        "id": asset_id,
        "kind": provider.kind,
        "title": str(body.get("title", "")),
        "description": str(body.get("description", "")),
        "source": dump(source),
        "classification": None if level is None else str(level),
        "created": utc_now(),
    }
    _insert(svc, asset_table, "asset", row, {**row, "source": source})
    return asset_view(row)


def asset_view(row: Any) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {
        "id": get("id"),
        "kind": get("kind"),
        "title": get("title"),
        "description": get("description"),
        "classification": get("classification"),
        "created": get("created"),
    }


def create_policy(svc: DspService, body: dict[str, Any]) -> dict[str, Any]:
    policy_json = body.get("policy")
    if not isinstance(policy_json, dict):
        raise InvalidMessage("policy must be an ODRL policy object", "$.policy")
    policy_id = _check_id(
        body.get("id") or policy_json.get("@id") or policy_json.get("uid"), "$.id"
    )
    policy_json = {"@type": "Set", **policy_json, "@id": policy_id}
    policy = offers.parse(policy_json, "$.policy")
    stored = policy_to_json(policy)
    _check_dsp_form(policy)
    row = {"id": policy_id, "body": dump(stored), "created": utc_now()}
    _insert(svc, policy_table, "policy", row, {"id": policy_id, "policy": stored})
    return {"id": policy_id, "policy": stored}


def _check_dsp_form(policy: Any) -> None:
    """The policy must also be a valid DSP offer (e.g. right operands are strings there)."""
    probe = messages.message(
        "ContractRequestMessage",
        consumerPid="urn:uuid:0",
        offer=offers.offer_json(policy, "check", "check", target=True),
        callbackAddress="https://example.invalid",
    )
    problems = validate_message(probe, "ContractRequestMessage", jsonld_check=False)
    if problems:
        raise InvalidMessage(
            [(p.replace("$.offer", "$.policy", 1), f"DSP 2025-1: {m}") for p, m in problems]
        )


def create_definition(svc: DspService, body: dict[str, Any]) -> dict[str, Any]:
    definition_id = _check_id(body.get("id"), "$.id")
    assets = body.get("assets", [])
    approval = body.get("approval", "auto")
    if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
        raise InvalidMessage("assets must be a list of asset ids (empty: every asset)", "$.assets")
    if approval not in APPROVALS:
        raise InvalidMessage(f"approval must be one of {APPROVALS}", "$.approval")
    with svc.node.engine.connect() as conn:
        if get_row(conn, policy_table, id=body.get("policy")) is None:
            raise InvalidMessage(f"policy {body.get('policy')!r} does not exist", "$.policy")
        for i, asset in enumerate(assets):
            if get_row(conn, asset_table, id=asset) is None:
                raise InvalidMessage(f"asset {asset!r} does not exist", f"$.assets[{i}]")
    row = {
        "id": definition_id,
        "policy_id": body["policy"],
        "assets": dump(assets),
        "approval": approval,
        "created": utc_now(),
    }
    _insert(svc, definition_table, "contract-definition", row, {**row, "assets": assets})
    return definition_view(row)


def definition_view(row: Any) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return {
        "id": get("id"),
        "policy": get("policy_id"),
        "assets": load(get("assets")),
        "approval": get("approval"),
        "created": get("created"),
    }


def set_partner(svc: DspService, did: str, body: dict[str, Any]) -> dict[str, Any]:
    roles = body.get("roles", [])
    credentials = body.get("credentials", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
        raise InvalidMessage("roles must be a list of role terms", "$.roles")
    if not isinstance(credentials, list):
        raise InvalidMessage("credentials must be a list", "$.credentials")
    checked = []
    for i, item in enumerate(credentials):
        if isinstance(item, str):
            item = {"type": item}
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise InvalidMessage("a credential is a type or {type, issuer}", f"$.credentials[{i}]")
        credential = Credential(item["type"], item.get("issuer"))
        checked.append({"type": credential.type, "issuer": credential.issuer})
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        conn.execute(delete(partner_table).where(partner_table.c.did == did))
        conn.execute(
            insert(partner_table).values(
                did=did, roles=dump(roles), credentials=dump(checked), updated=utc_now()
            )
        )
        record(tx, "dsp.partner", {"did": did, "roles": roles, "credentials": checked})
    return {"did": did, "roles": roles, "credentials": checked}


def listing(svc: DspService, what: str) -> list[dict[str, Any]]:
    table, shape = {
        "assets": (asset_table, asset_view),
        "policies": (policy_table, lambda r: {"id": r.id, "policy": load(r.body)}),
        "definitions": (definition_table, definition_view),
        "partners": (
            partner_table,
            lambda r: {"did": r.did, "roles": load(r.roles), "credentials": load(r.credentials)},
        ),
    }[what]
    with svc.node.engine.connect() as conn:
        return [shape(r) for r in conn.execute(select(table)).all()]


def asset(svc: DspService, asset_id: str) -> dict[str, Any]:
    with svc.node.engine.connect() as conn:
        row = get_row(conn, asset_table, id=asset_id)
    if row is None:
        raise ProcessNotFound(f"no asset {asset_id}")
    return asset_view(row)
