"""Offers from contract definitions, policy comparison, and what a partner may see.

A catalog offer's `@id` is `urn:tracespace:offer:{definition}/{asset}`. An offer is visible
to a participant unless a constraint that can be decided at catalog time (partner role,
membership credential, recipient, assignee) rules it out; the others (purpose, count,
time...) are decided at every data access.
"""

from __future__ import annotations

from typing import Any

import rfc8785
from sqlalchemy import Connection, select

from connector.dsp.errors import InvalidMessage
from connector.dsp.records import load
from connector.dsp.tables import asset_table, definition_table, partner_table, policy_table
from policies import Policy, PolicyError, Request, evaluate, parse_policy, policy_to_json

OFFER_PREFIX = "urn:tracespace:offer:"
CATALOG_OPERANDS = frozenset(("ts:partnerRole", "ts:membershipCredential", "recipient"))
_TERMS = ("permission", "prohibition", "obligation", "profile", "conflict")


def offer_id(definition_id: str, asset_id: str) -> str:
    return f"{OFFER_PREFIX}{definition_id}/{asset_id}"


def split_offer_id(value: str) -> tuple[str, str] | None:
    if not isinstance(value, str) or not value.startswith(OFFER_PREFIX):
        return None
    definition, _, asset = value[len(OFFER_PREFIX) :].partition("/")
    return (definition, asset) if definition and asset else None


def parse(policy_json: Any, path: str = "$") -> Policy:
    try:
        return parse_policy(policy_json, path=path)
    except PolicyError as exc:
        raise InvalidMessage(exc.problems) from None


def terms(policy: Policy) -> dict[str, Any]:
    """What a policy says, without its id, type, target, parties or timestamp."""
    body = policy_to_json(policy)
    return {k: v for k, v in body.items() if k in _TERMS}


def same_terms(a: Policy, b: Policy) -> bool:
    return rfc8785.dumps(terms(a)) == rfc8785.dumps(terms(b))


def offer_json(policy: Policy, definition_id: str, asset_id: str, *, target: bool) -> dict:
    """The DSP offer of `policy` for one asset (catalog offers carry no target)."""
    body: dict[str, Any] = {"@id": offer_id(definition_id, asset_id), "@type": "Offer"}
    if target:
        body["target"] = asset_id
    body.update(terms(policy))
    return body


def partner_request(conn: Connection, did: str, **extra: Any) -> Request:
    """An access request by `did`, carrying the roles and credentials the operator vouches for."""
    row = conn.execute(select(partner_table).where(partner_table.c.did == did)).first()
    roles = tuple(load(row.roles)) if row is not None else ()
    credentials = tuple(load(row.credentials)) if row is not None else ()
    return Request(
        assignee=did,
        recipient=did,
        partner_role=roles or None,
        credentials=credentials or None,
        **extra,
    )


def visible(policy: Policy, request: Request) -> bool:
    """False when the offer can already be ruled out for this participant."""
    decision = evaluate(policy, request)
    if decision.permitted:
        return True
    for reason in decision.reasons:
        if reason.kind == "not-applicable" and "assignee" in reason.message:
            return False
        if reason.kind == "no-permission":
            return False
        if reason.kind == "prohibition" and "cannot be ruled out" not in reason.message:
            return False
        # The catalog knows everything these operands can refer to: a participant with no
        # vouched role or credential has none, so an undecided one is a failure here.
        if reason.kind == "constraint" and reason.left_operand in CATALOG_OPERANDS:
            return False
    return True


def definitions_for(conn: Connection, asset_id: str) -> list[Any]:
    rows = conn.execute(select(definition_table).order_by(definition_table.c.id)).all()
    return [r for r in rows if not load(r.assets) or asset_id in load(r.assets)]


def policy_of(conn: Connection, policy_id: str) -> Policy:
    row = conn.execute(select(policy_table).where(policy_table.c.id == policy_id)).first()
    if row is None:
        raise InvalidMessage(f"policy {policy_id} does not exist")
    return parse(load(row.body))


def offers_for(conn: Connection, asset_id: str, request: Request) -> list[dict[str, Any]]:
    """The catalog offers of one asset that `request`'s participant may see."""
    found = []
    for definition in definitions_for(conn, asset_id):
        policy = policy_of(conn, definition.policy_id)
        scoped = Request(**{**_fields(request), "target": asset_id})
        if visible(policy, scoped):
            found.append(offer_json(policy, definition.id, asset_id, target=False))
    return found


def _fields(request: Request) -> dict[str, Any]:
    return {name: getattr(request, name) for name in request.__dataclass_fields__}


def resolve_offer(conn: Connection, offer_ref: str, target: str | None, request: Request):
    """(definition row, our policy, asset row) for an offer id a partner asks for.

    None when the offer does not exist or is not visible to the partner (both look the
    same from outside).
    """
    parts = split_offer_id(offer_ref)
    if parts is None:
        return None
    definition_id, asset_id = parts
    if target is not None and target != asset_id:
        return None
    definition = conn.execute(
        select(definition_table).where(definition_table.c.id == definition_id)
    ).first()
    asset = conn.execute(select(asset_table).where(asset_table.c.id == asset_id)).first()
    if definition is None or asset is None:
        return None
    if load(definition.assets) and asset_id not in load(definition.assets):
        return None
    policy = policy_of(conn, definition.policy_id)
    if not visible(policy, Request(**{**_fields(request), "target": asset_id})):
        return None
    return definition, policy, asset
