"""Who may call what: every route of the app against a table of expected access.

Identities: anonymous, the operator, a trusted peer holding an events agreement, a trusted
peer without any agreement, and an unknown peer (valid signature, not on the trust list).
A route missing from `MATRIX` fails the test, so each new route must state who may call it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import insert

from connector.dsp import grants
from connector.dsp.records import dump, now_iso, utc_now
from connector.dsp.tables import agreement_table, asset_table
from connector.node import Node, init_node
from connector.peers import Peer, issue_token, node_did, trust_peer
from tests.hardening.harness import Harness, make_harness

PUBLIC = "public"  # anyone, no credentials
OPERATOR = "operator"  # the operator token only
PEER = "peer"  # a trusted peer's token only
READER = "reader"  # the operator, or a trusted peer as far as its agreements permit
PACT = "pact"  # PACT bearer: a registered PACT client's token or a trusted peer's token
CLIENT_CREDENTIALS = "client-credentials"  # RFC 6749 token endpoint: HTTP Basic of a client
TRANSFER_TOKEN = "transfer-token"  # the data plane: a transfer's own bearer token

MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    # identifiers (docs/identifiers.md)
    ("GET", "/api/handles/{handle:path}"): PUBLIC,
    ("PUT", "/api/handles/{handle:path}"): OPERATOR,
    ("DELETE", "/api/handles/{handle:path}"): OPERATOR,
    ("GET", "/management/handle-history/{handle:path}"): OPERATOR,
    ("POST", "/management/handles/bulk"): OPERATOR,
    ("GET", "/api/qr/{ref:path}"): PUBLIC,
    ("GET", "/.well-known/gs1resolver"): PUBLIC,
    ("GET", "/{ai:gs1key}/{rest:path}"): PUBLIC,
    ("GET", "/management/gs1/linksets"): OPERATOR,
    ("PUT", "/management/gs1/linksets"): OPERATOR,
    ("DELETE", "/management/gs1/linksets/{anchor:path}"): OPERATOR,
    ("GET", "/{prefix:hdlprefix}/{suffix:path}"): PUBLIC,
    # ledger (docs/ledger.md)
    ("GET", "/ledger/checkpoint"): PUBLIC,
    ("GET", "/ledger/checkpoint/witnessed"): PUBLIC,
    ("POST", "/ledger/cosignatures"): PEER,
    ("GET", "/ledger/key"): PUBLIC,
    ("GET", "/ledger/keys"): PUBLIC,
    ("GET", "/ledger/entries"): PUBLIC,
    ("GET", "/ledger/entries/{seq}"): PUBLIC,
    ("GET", "/ledger/proof/inclusion"): PUBLIC,
    ("GET", "/ledger/proof/consistency"): PUBLIC,
    ("POST", "/ledger/entries"): OPERATOR,
    # peers
    ("GET", "/.well-known/did.json"): PUBLIC,
    ("GET", "/management/peers"): OPERATOR,
    ("POST", "/management/peers"): OPERATOR,
    ("DELETE", "/management/peers/{did}"): OPERATOR,
    ("GET", "/peer/whoami"): PEER,
    # records (docs/records.md)
    ("GET", "/contexts/{family}/{version}"): PUBLIC,
    ("GET", "/records/shared"): PEER,
    ("GET", "/records/shared/{record_id}"): PEER,
    ("POST", "/management/records/footprints"): OPERATOR,
    ("POST", "/management/records/quality"): OPERATOR,
    ("GET", "/management/records"): OPERATOR,
    ("GET", "/management/records/{record_id}"): OPERATOR,
    ("POST", "/management/records/pull"): OPERATOR,
    ("POST", "/management/records/requests"): OPERATOR,
    ("GET", "/management/records/requests/{event_id}"): OPERATOR,
    ("PUT", "/management/boms/{key}"): OPERATOR,
    ("GET", "/management/boms"): OPERATOR,
    ("GET", "/management/boms/{key}"): OPERATOR,
    ("POST", "/management/boms/{key}/calculate"): OPERATOR,
    ("POST", "/management/pact/clients"): OPERATOR,
    ("GET", "/management/pact/clients"): OPERATOR,
    ("DELETE", "/management/pact/clients/{client_id}"): OPERATOR,
    ("GET", "/management/records-shares"): OPERATOR,
    ("POST", "/management/records-shares"): OPERATOR,
    ("DELETE", "/management/records-shares"): OPERATOR,
    ("POST", "/auth/token"): CLIENT_CREDENTIALS,
    ("GET", "/.well-known/openid-configuration"): PUBLIC,
    ("GET", "/auth/jwks"): PUBLIC,
    ("GET", "/3/footprints"): PACT,
    ("GET", "/3/footprints/{footprint_id}"): PACT,
    ("POST", "/3/events"): PACT,
    # events and trace (docs/trace.md)
    ("POST", "/epcis/capture"): OPERATOR,
    ("GET", "/epcis/events"): READER,
    ("POST", "/epcis/events/{event_id:path}/countersign"): OPERATOR,
    ("POST", "/epcis/events/{event_id:path}/receipts"): PEER,
    ("GET", "/epcis/events/{event_id:path}"): READER,
    ("GET", "/trace/{object_id:path}"): READER,
    ("GET", "/recall/{object_id:path}"): READER,
    ("GET", "/provenance/{object_id:path}"): PUBLIC,
    ("GET", "/pages/disclosure"): PUBLIC,
    ("PUT", "/management/pages/disclosure"): OPERATOR,
    # contracts (docs/contracts.md)
    ("GET", "/.well-known/dspace-version"): PUBLIC,
    ("POST", "/dsp/catalog/request"): PEER,
    ("GET", "/dsp/catalog/datasets/{dataset_id:path}"): PEER,
    ("POST", "/dsp/negotiations/request"): PEER,
    ("POST", "/dsp/negotiations/offers"): PEER,
    ("GET", "/dsp/negotiations/{pid}"): PEER,
    ("POST", "/dsp/negotiations/{pid}/request"): PEER,
    ("POST", "/dsp/negotiations/{pid}/offers"): PEER,
    ("POST", "/dsp/negotiations/{pid}/events"): PEER,
    ("POST", "/dsp/negotiations/{pid}/agreement"): PEER,
    ("POST", "/dsp/negotiations/{pid}/agreement/verification"): PEER,
    ("POST", "/dsp/negotiations/{pid}/termination"): PEER,
    ("POST", "/dsp/transfers/request"): PEER,
    ("GET", "/dsp/transfers/{pid}"): PEER,
    ("POST", "/dsp/transfers/{pid}/{kind}"): PEER,
    ("POST", "/dsp/agreements/{agreement_id}/revocation"): PEER,
    ("POST", "/dsp/agreements/{agreement_id}/duties/{duty_id}"): PEER,
    ("GET", "/dsp/agreements/{agreement_id}/evidence"): PEER,
    ("GET", "/dataplane/{pid}"): TRANSFER_TOKEN,
    ("GET", "/management/asset-kinds"): OPERATOR,
    ("POST", "/management/assets"): OPERATOR,
    ("GET", "/management/assets"): OPERATOR,
    ("POST", "/management/policies"): OPERATOR,
    ("GET", "/management/policies"): OPERATOR,
    ("POST", "/management/contract-definitions"): OPERATOR,
    ("GET", "/management/contract-definitions"): OPERATOR,
    ("PUT", "/management/partners"): OPERATOR,
    ("GET", "/management/partners"): OPERATOR,
    ("POST", "/management/catalog"): OPERATOR,
    ("POST", "/management/negotiations"): OPERATOR,
    ("GET", "/management/negotiations"): OPERATOR,
    ("GET", "/management/negotiations/{negotiation_id}"): OPERATOR,
    ("POST", "/management/negotiations/{negotiation_id}/approve"): OPERATOR,
    ("POST", "/management/negotiations/{negotiation_id}/reject"): OPERATOR,
    ("POST", "/management/negotiations/{negotiation_id}/terminate"): OPERATOR,
    ("POST", "/management/negotiations/{negotiation_id}/counter"): OPERATOR,
    ("GET", "/management/agreements"): OPERATOR,
    ("GET", "/management/agreements/{agreement_id}"): OPERATOR,
    ("POST", "/management/agreements/{agreement_id}/revoke"): OPERATOR,
    ("GET", "/management/agreements/{agreement_id}/proof"): OPERATOR,
    ("GET", "/management/access-log"): OPERATOR,
    ("GET", "/management/duties"): OPERATOR,
    ("POST", "/management/duties/{duty_id}/fulfil"): OPERATOR,
    ("POST", "/management/transfers"): OPERATOR,
    ("GET", "/management/transfers"): OPERATOR,
    ("GET", "/management/transfers/{transfer_id}"): OPERATOR,
    ("POST", "/management/transfers/{transfer_id}/{action}"): OPERATOR,
    ("GET", "/management/transfers/{transfer_id}/data"): OPERATOR,
}

SAMPLE = {
    "handle": "88.100.1/batch-1",
    "ai": "01",
    "rest": "09506000134352",
    "prefix": "88.100.1",
    "suffix": "batch-1",
    "seq": "0",
    "ref": "88.100.1/batch-1",
    "anchor": "01/09506000134352",
    "did": "did:web:example.invalid",
    "family": "pact",
    "version": "3",
    "object_id": "urn:epc:id:sgtin:4012345.011111.1",
    "event_id": "urn:uuid:7c9a3f5e-0d1b-4c2a-9e8f-1a2b3c4d5e6f",
}
NOT_AUTHENTICATED = {401}
ALLOWED_NOT_AUTHORIZED = {403, 404}
IDENTITIES = ("anonymous", "operator", "agreed-peer", "peer", "unknown-peer")


class World:
    def __init__(self, h: Harness, bystander: Node) -> None:
        self.h = h
        self.bystander = bystander

    def headers(self, identity: str) -> dict[str, str]:
        audience = node_did(self.h.node)
        issuer = {
            "agreed-peer": self.h.peer_node,
            "peer": self.bystander,
            "unknown-peer": self.h.stranger,
        }.get(identity)
        if identity == "operator":
            return self.h.operator
        if issuer is None:
            return {}
        return {"Authorization": f"Bearer {issue_token(issuer, audience)}"}

    def call(self, method: str, path: str, identity: str) -> httpx.Response:
        url = re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLE.get(m.group(1), "x1"), path)
        body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
        return self.h.client.request(
            method, url, headers=self.headers(identity), json=body, follow_redirects=False
        )


def _agree_on_events(node: Node, consumer: str) -> None:
    body = {
        "@id": "urn:uuid:matrix-events",
        "@type": "Agreement",
        "target": "asset-matrix",
        "assigner": node_did(node),
        "assignee": consumer,
        "timestamp": now_iso(),
        "permission": [{"action": "use"}],
    }
    with node.engine.begin() as conn:
        conn.execute(
            insert(asset_table).values(
                id="asset-matrix", kind=grants.EVENTS, source=dump({}), created=utc_now()
            )
        )
        conn.execute(
            insert(agreement_table).values(
                id=body["@id"],
                negotiation_id="n",
                role="provider",
                provider_did=node_did(node),
                consumer_did=consumer,
                asset_id="asset-matrix",
                body=dump(body),
                provider_signature="{}",
                state="active",
                created=utc_now(),
                updated=utc_now(),
            )
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root: Path = tmp_path_factory.mktemp("matrix")
    h = make_harness(root)
    bystander = init_node(root / "bystander", "bystander", [], port=18083)
    trust_peer(
        h.node.engine,
        Peer(node_did(bystander), "bystander", bystander.config.public_url, bystander.public_key),
    )
    _agree_on_events(h.node, node_did(h.peer_node))
    try:
        yield World(h, bystander)
    finally:
        h.client.close()
        for n in (h.node, h.peer_node, h.stranger, bystander):
            n.close()


def app_routes(world: World) -> list[tuple[str, str]]:
    found = []
    for route in iter_route_contexts(world.h.app.routes):
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def test_every_route_has_an_entry(world: World) -> None:
    routes = app_routes(world)
    missing = [f"{m} {p}" for m, p in routes if (m, p) not in MATRIX]
    assert not missing, "routes without an access entry in MATRIX: " + ", ".join(missing)
    stale = [f"{m} {p}" for (m, p) in MATRIX if (m, p) not in routes]
    assert not stale, "MATRIX entries for routes that no longer exist: " + ", ".join(stale)


def _expect(world: World, method: str, path: str, rule: str) -> list[str]:
    answers = {who: world.call(method, path, who) for who in IDENTITIES}
    codes = {who: r.status_code for who, r in answers.items()}
    errors: list[str] = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            errors.append(f"{method} {path} [{rule}]: {what}; got {codes}")

    need(all(c < 500 for c in codes.values()), "no 5xx")
    if rule == PUBLIC:
        need(all(c not in (401, 403) for c in codes.values()), "open to everyone")
    elif rule == OPERATOR:
        need(codes["operator"] not in (401, 403), "the operator is let in")
        for who in ("anonymous", "agreed-peer", "peer", "unknown-peer"):
            need(codes[who] == 401, f"{who} is refused with 401")
    elif rule == PEER:
        need(codes["anonymous"] == 401 and codes["operator"] == 401, "non-peers get 401")
        need(codes["unknown-peer"] == 401, "an unknown peer gets 401")
        need(codes["peer"] != 401 and codes["agreed-peer"] != 401, "trusted peers get in")
        same = answers["unknown-peer"].content == answers["anonymous"].content
        need(same, "an unknown peer's refusal is identical to anonymous")
    elif rule == READER:
        need(codes["operator"] not in (401, 403), "the operator reads")
        need(codes["anonymous"] == 401 and codes["unknown-peer"] == 401, "strangers get 401")
        need(answers["unknown-peer"].content == answers["anonymous"].content, "same refusal")
        need(codes["peer"] in ALLOWED_NOT_AUTHORIZED, "a peer without agreement is refused")
        need(codes["agreed-peer"] not in (401, 403), "a peer under agreement reads")
    elif rule == PACT:
        need(codes["anonymous"] in (401, 403), "anonymous refused")
        need(codes["unknown-peer"] == codes["anonymous"], "an unknown peer looks anonymous")
        need(codes["operator"] in (401, 403), "the operator token is not a PACT token")
        need(codes["peer"] not in (401, 403), "a trusted peer is a PACT caller")
    elif rule == CLIENT_CREDENTIALS:
        need(all(c in (400, 401) for c in codes.values()), "only client credentials")
    elif rule == TRANSFER_TOKEN:
        need(all(c in (401, 403, 404) for c in codes.values()), "only a transfer token")
    else:
        errors.append(f"unknown rule {rule!r}")
    return errors


def test_access_matrix(world: World) -> None:
    errors: list[str] = []
    for method, path in app_routes(world):
        rule = MATRIX.get((method, path))
        if rule is not None:
            errors.extend(_expect(world, method, path, rule))
    assert not errors, "\n".join(errors)


def test_dsp_unknown_process_and_foreign_process_look_the_same(world: World) -> None:
    """A trusted peer asking for a process that is not its own gets a missing one's answer."""
    a = world.call("GET", "/dsp/negotiations/{pid}", "peer")
    b = world.call("GET", "/dsp/negotiations/{pid}", "agreed-peer")
    assert a.status_code == b.status_code == 404
    assert a.json().get("code") == b.json().get("code")
