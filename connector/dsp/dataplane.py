"""The provider's data plane: every access re-evaluates the agreement and is ledgered.

An access presents the transfer's bearer token. It is refused at once when the token is
unknown or expired, the transfer is not STARTED, or the agreement is revoked. Otherwise the
agreement policy is evaluated with the count of permitted accesses so far, the time since
the agreement, the declared purpose, the consumer's DID as recipient and the roles and
credentials the operator vouches for. The decision is a `dsp.access` ledger entry either way.
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import func, insert, select

from connector.dsp import offers
from connector.dsp.assets import provider_for
from connector.dsp.errors import AccessDenied
from connector.dsp.records import dump, get_row, load, record, utc_now
from connector.dsp.service import DspService
from connector.dsp.state import STARTED
from connector.dsp.tables import access_table, agreement_table, asset_table, transfer_table
from connector.dsp.transfer import token_hash
from policies import Policy, Reason, RequestError, evaluate
from policies.literals import parse_datetime


@lru_cache(maxsize=1024)
def _policy(agreement_id: str, body: str) -> Policy:
    return offers.parse(load(body))


def _refuse(message: str, kind: str = "access") -> AccessDenied:
    return AccessDenied(message, [{"kind": kind, "path": "$", "message": message}])


def access(
    svc: DspService, pid: str, token: str, purpose: str | None, params: dict[str, str]
) -> tuple[bytes, str, dict[str, Any]]:
    """Serve the data of transfer `pid` if the agreement permits it; AccessDenied otherwise."""
    now = datetime.now(UTC)
    with svc.node.ledger.transaction() as tx:
        conn = tx.connection
        row = conn.execute(
            select(transfer_table).where(
                transfer_table.c.role == "provider", transfer_table.c.provider_pid == pid
            )
        ).first()
        if (
            row is None
            or row.token_hash is None
            or not hmac.compare_digest(row.token_hash, token_hash(token))
        ):
            raise _refuse("no valid data-plane token for this transfer", "token")
        agreement = get_row(conn, agreement_table, id=row.agreement_id)
        asset = get_row(conn, asset_table, id=agreement.asset_id)
        count = conn.execute(
            select(func.count())
            .select_from(access_table)
            .where(access_table.c.agreement_id == agreement.id, access_table.c.permitted)
        ).scalar_one()
        failures: list[dict[str, Any]] = []
        if agreement.state != "active":
            failures.append(
                {
                    "kind": "agreement",
                    "path": "$",
                    "message": f"agreement is {agreement.state}: {agreement.reason or ''}".strip(),
                }
            )
        elif row.state != STARTED:
            failures.append(
                {"kind": "transfer", "path": "$", "message": f"transfer is {row.state}"}
            )
        elif row.token_expires is not None and row.token_expires < time.time():
            failures.append({"kind": "token", "path": "$", "message": "token expired"})
        elif asset is None:
            failures.append({"kind": "asset", "path": "$", "message": "asset was removed"})
        decision_json: dict[str, Any] | None = None
        if not failures:
            body = load(agreement.body)
            try:
                request = offers.partner_request(
                    conn,
                    agreement.consumer_did,
                    target=agreement.asset_id,
                    purpose=purpose or None,
                    classification_level=asset.classification,
                    now=now,
                    agreement_start=parse_datetime(body["timestamp"]),
                    access_count=int(count),
                )
            except RequestError as exc:
                failures.append({"kind": "request", "path": "$", "message": str(exc)})
            else:
                decision = evaluate(_policy(agreement.id, agreement.body), request)
                decision_json = decision.to_json()
                failures.extend(_reason(r) for r in decision.reasons)
        permitted = not failures
        seq = record(
            tx,
            "dsp.access",
            {
                "agreement": agreement.id,
                "transfer": row.id,
                "consumer": agreement.consumer_did,
                "asset": agreement.asset_id,
                "purpose": purpose,
                "count_before": int(count),
                "permitted": permitted,
                "reasons": failures,
            },
        )
        conn.execute(
            insert(access_table).values(
                agreement_id=agreement.id,
                transfer_id=row.id,
                at=utc_now(),
                permitted=permitted,
                purpose=purpose,
                reasons=dump(failures),
                ledger_seq=seq,
            )
        )
    if not permitted:
        raise AccessDenied(
            f"access under agreement {agreement.id} denied: "
            + "; ".join(str(f["message"]) for f in failures),
            failures,
        )
    data, media_type = provider_for(asset.kind).fetch(svc.node, load(asset.source), params)
    meta = {"agreement": agreement.id, "seq": seq, "duties": (decision_json or {}).get("duties")}
    return data, media_type, meta


def _reason(reason: Reason) -> dict[str, Any]:
    return reason.to_json()


def access_log(svc: DspService, agreement_id: str | None = None) -> list[dict[str, Any]]:
    query = select(access_table).order_by(access_table.c.id)
    if agreement_id:
        query = query.where(access_table.c.agreement_id == agreement_id)
    with svc.node.engine.connect() as conn:
        return [
            {
                "agreement": r.agreement_id,
                "transfer": r.transfer_id,
                "at": r.at,
                "permitted": r.permitted,
                "purpose": r.purpose,
                "reasons": load(r.reasons),
                "seq": r.ledger_seq,
            }
            for r in conn.execute(query).all()
        ]
