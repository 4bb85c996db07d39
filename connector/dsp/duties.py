"""Duties of agreements: rows with status pending, fulfilled or overdue (when past due).

A duty's due time comes from its own `elapsedTime` constraint (counted from the agreement
timestamp) or `dateTime` constraint; `delete` is fulfilled when the consumer confirms
deletion, `inform` ("notify on use") when the provider receives a use notice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from connector.dsp.records import dump, load, utc_now
from connector.dsp.tables import duty_table
from policies import Constraint, Duty, Policy, rule_to_json
from policies.literals import parse_datetime, parse_duration


def _due(duty: Duty, start: datetime) -> str | None:
    for node in duty.constraints + duty.refinements:
        if not isinstance(node, Constraint) or node.operator not in ("eq", "lteq", "lt"):
            continue
        try:
            if node.left_operand == "elapsedTime":
                moment = parse_duration(str(node.right_operand)).after(start)
            elif node.left_operand == "dateTime":
                moment = parse_datetime(str(node.right_operand))
            else:
                continue
        except ValueError:
            continue
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def create_duties(
    conn: Connection, agreement_id: str, role: str, policy: Policy, start: datetime
) -> list[str]:
    """One row per duty of `policy` (permission duties and obligations); their ids."""
    created = []
    duties = [d for p in policy.permissions for d in p.duties] + list(policy.obligations)
    for index, duty in enumerate(duties):
        duty_id = "duty-" + hashlib.sha256(f"{agreement_id}#{index}".encode()).hexdigest()[:16]
        conn.execute(
            insert(duty_table).values(
                id=duty_id,
                agreement_id=agreement_id,
                role=role,
                action=duty.action,
                due=_due(duty, start),
                status="pending",
                body=dump(rule_to_json(duty)),
                notes="[]",
            )
        )
        created.append(duty_id)
    return created


def duty_json(row: Any, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    status = row.status
    if status == "pending" and row.due and parse_datetime(row.due) < now:
        status = "overdue"
    return {
        "id": row.id,
        "agreement": row.agreement_id,
        "role": row.role,
        "action": row.action,
        "due": row.due,
        "status": status,
        "fulfilled": row.fulfilled,
        "duty": load(row.body),
        "notes": load(row.notes),
    }


def duties_of(conn: Connection, agreement_id: str | None = None) -> list[dict[str, Any]]:
    query = select(duty_table).order_by(duty_table.c.agreement_id, duty_table.c.id)
    if agreement_id is not None:
        query = query.where(duty_table.c.agreement_id == agreement_id)
    return [duty_json(r) for r in conn.execute(query).all()]


def note(row: Any, text: str) -> str:
    notes = load(row.notes)
    notes.append({"at": utc_now(), "note": text})
    return dump(notes)
