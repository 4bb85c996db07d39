"""`tracespace contract ...`: assets, policies, offers, negotiations, agreements and transfers.

Commands talk to the running node's management API (URL and operator token from the
node folder), because messages to partners are sent by the node process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from connector.cli.common import CliError, DirOption, console, one_line_errors
from connector.config import NodeConfig, node_dir
from connector.node import _read_secret

app = typer.Typer(
    help="Contracts: assets, policies, offers, negotiations, agreements, transfers (DSP).",
    no_args_is_help=True,
)


def _call(folder: Path | None, method: str, path: str, body: Any = None, **params: Any) -> Any:
    config = NodeConfig.load(node_dir(folder))
    token = _read_secret(config.token_path)
    with httpx.Client(base_url=config.public_url, timeout=70) as http:
        response = http.request(
            method,
            path,
            json=body,
            params={k: v for k, v in params.items() if v is not None},
            headers={"Authorization": f"Bearer {token}"},
        )
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            raise CliError(f"HTTP {response.status_code}: {response.text[:200]}") from None
        errors = problem.get("errors") or []
        where = "; ".join(
            f"{e.get('path', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)
        )
        raise CliError(f"{problem.get('title')}: {where or problem.get('detail', '')}")
    return response.json() if response.content else None


def _show(value: Any) -> None:
    console.print_json(json.dumps(value, ensure_ascii=False))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not JSON ({exc})") from None


@app.command("asset-add")
@one_line_errors
def asset_add(
    file: Annotated[Path, typer.Argument(help="JSON: {id, kind, title?, source}.")],
    dir: DirOption = None,
) -> None:
    """Create an asset. Example: tracespace contract asset-add pcf.json --dir ./resin"""
    _show(_call(dir, "POST", "/management/assets", _read_json(file)))


@app.command("policy-add")
@one_line_errors
def policy_add(
    policy_id: Annotated[str, typer.Argument(help="Policy id.")],
    file: Annotated[Path, typer.Argument(help="ODRL policy JSON.")],
    dir: DirOption = None,
) -> None:
    """Define an ODRL policy (errors carry JSON paths).

    Example: tracespace contract policy-add use-3 policy.json --dir ./resin
    """
    _show(_call(dir, "POST", "/management/policies", {"id": policy_id, "policy": _read_json(file)}))


@app.command("offer-add")
@one_line_errors
def offer_add(
    definition_id: Annotated[str, typer.Argument(help="Contract definition id.")],
    policy: Annotated[str, typer.Option(help="Policy id.")],
    asset: Annotated[list[str], typer.Option(help="Asset id (repeatable; none = all).")] = [],  # noqa: B006
    manual: Annotated[bool, typer.Option(help="Operator approves each negotiation.")] = False,
    dir: DirOption = None,
) -> None:
    """Offer a policy for assets (a contract definition).

    Example: tracespace contract offer-add def-1 --policy use-3 --asset pcf-1 --dir ./resin
    """
    body = {
        "id": definition_id,
        "policy": policy,
        "assets": asset,
        "approval": "manual" if manual else "auto",
    }
    _show(_call(dir, "POST", "/management/contract-definitions", body))


@app.command()
@one_line_errors
def catalog(
    peer: Annotated[str, typer.Argument(help="The partner's DID.")], dir: DirOption = None
) -> None:
    """Browse a partner's catalog. Example: tracespace contract catalog did:web:... --dir ./mill"""
    _show(_call(dir, "POST", "/management/catalog", {"peer": peer}))


@app.command()
@one_line_errors
def negotiate(
    peer: Annotated[str, typer.Argument(help="The provider's DID.")],
    offer: Annotated[str, typer.Option(help="Offer id from the catalog.")],
    dataset: Annotated[str, typer.Option(help="Dataset (asset) id.")],
    wait: Annotated[bool, typer.Option(help="Wait until FINALIZED or TERMINATED.")] = True,
    dir: DirOption = None,
) -> None:
    """Request an offer from a partner's catalog and wait for the agreement.

    Example: tracespace contract negotiate did:web:... --offer urn:... --dataset pcf-1
    """
    found = _call(dir, "POST", "/management/catalog", {"peer": peer})["catalog"]
    policies = [
        p
        for d in found.get("dataset", [])
        if d["@id"] == dataset
        for p in d.get("hasPolicy", [])
        if p["@id"] == offer
    ]
    if not policies:
        raise CliError(f"{peer} offers no {offer} for {dataset}")
    started = _call(
        dir,
        "POST",
        "/management/negotiations",
        {"peer": peer, "offer": {**policies[0], "target": dataset}},
    )
    if wait:
        started = _call(
            dir, "GET", f"/management/negotiations/{started['id']}", wait="FINALIZED", timeout=60
        )
    _show(started)


@app.command()
@one_line_errors
def negotiations(dir: DirOption = None) -> None:
    """List negotiations. Example: tracespace contract negotiations --dir ./resin"""
    for n in _call(dir, "GET", "/management/negotiations")["negotiations"]:
        pending = f" (awaiting operator: {n['pending']})" if n["pending"] else ""
        reason = f" — {n['reason']}" if n["reason"] else ""
        console.print(f"{n['id']}\t{n['role']}\t{n['state']}{pending}\t{n['peer']}{reason}")


@app.command()
@one_line_errors
def show(
    negotiation_id: Annotated[str, typer.Argument(help="Negotiation id.")], dir: DirOption = None
) -> None:
    """A negotiation with history and reason. Example: tracespace contract show urn:uuid:..."""
    _show(_call(dir, "GET", f"/management/negotiations/{negotiation_id}"))


@app.command()
@one_line_errors
def approve(
    negotiation_id: Annotated[str, typer.Argument(help="Negotiation id.")], dir: DirOption = None
) -> None:
    """Approve a negotiation awaiting the operator.

    Example: tracespace contract approve urn:uuid:... --dir ./resin
    """
    result = _call(dir, "POST", f"/management/negotiations/{negotiation_id}/approve")
    console.print(f"{result['id']}: {result['state']}")


@app.command()
@one_line_errors
def reject(
    negotiation_id: Annotated[str, typer.Argument(help="Negotiation id.")],
    reason: Annotated[str, typer.Option(help="Why; sent to the partner.")] = "rejected",
    dir: DirOption = None,
) -> None:
    """Reject (terminate) a negotiation; the partner is told why.

    Example: tracespace contract reject urn:uuid:... --reason "no resale"
    """
    result = _call(
        dir, "POST", f"/management/negotiations/{negotiation_id}/reject", {"reason": reason}
    )
    console.print(f"{result['id']}: {result['state']} — {result['reason']}")


@app.command()
@one_line_errors
def agreements(dir: DirOption = None) -> None:
    """List agreements and their state. Example: tracespace contract agreements --dir ./resin"""
    for a in _call(dir, "GET", "/management/agreements")["agreements"]:
        reason = f" — {a['reason']}" if a["reason"] else ""
        console.print(f"{a['id']}\t{a['role']}\t{a['state']}\t{a['asset']}{reason}")


@app.command()
@one_line_errors
def revoke(
    agreement_id: Annotated[str, typer.Argument(help="Agreement id.")],
    reason: Annotated[str, typer.Option(help="Why; recorded and sent to the partner.")],
    dir: DirOption = None,
) -> None:
    """Revoke an agreement now. Example: tracespace contract revoke urn:uuid:... --reason breach"""
    result = _call(dir, "POST", f"/management/agreements/{agreement_id}/revoke", {"reason": reason})
    console.print(f"{result['id']}: {result['state']} — {result['reason']}")


@app.command()
@one_line_errors
def transfer(
    agreement_id: Annotated[str, typer.Argument(help="Agreement id (as consumer).")],
    dir: DirOption = None,
) -> None:
    """Start a pull transfer. Example: tracespace contract transfer urn:uuid:... --dir ./mill"""
    started = _call(dir, "POST", "/management/transfers", {"agreement": agreement_id})
    _show(_call(dir, "GET", f"/management/transfers/{started['id']}", wait="STARTED"))


@app.command("transfer-action")
@one_line_errors
def transfer_action(
    transfer_id: Annotated[str, typer.Argument(help="Transfer id.")],
    action: Annotated[str, typer.Argument(help="suspend, resume, complete or terminate.")],
    reason: Annotated[str, typer.Option(help="Why (suspend, terminate).")] = "",
    dir: DirOption = None,
) -> None:
    """Suspend, resume, complete or terminate a transfer.

    Example: tracespace contract transfer-action urn:uuid:... suspend --reason audit
    """
    result = _call(dir, "POST", f"/management/transfers/{transfer_id}/{action}", {"reason": reason})
    console.print(f"{result['id']}: {result['state']}")


@app.command()
@one_line_errors
def prove(
    agreement_id: Annotated[str, typer.Argument(help="Agreement id.")],
    out: Annotated[Path, typer.Option(help="Where to write the proof bundle.")] = Path(
        "agreement-proof.json"
    ),
    dir: DirOption = None,
) -> None:
    """Write a bundle proving who agreed to what and when (both signatures and ledgers).

    Example: tracespace contract prove urn:uuid:... --out proof.json --dir ./resin
    """
    from connector.dsp.agreements import verify_proof

    bundle = _call(dir, "GET", f"/management/agreements/{agreement_id}/proof")
    summary = verify_proof(bundle)
    out.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(f"wrote {out}; verified:")
    _show(summary)


@app.command()
@one_line_errors
def verify(
    file: Annotated[Path, typer.Argument(help="A proof bundle from `contract prove`.")],
) -> None:
    """Verify an agreement proof offline. Example: tracespace contract verify proof.json"""
    from connector.dsp.agreements import verify_proof

    _show(verify_proof(_read_json(file)))
