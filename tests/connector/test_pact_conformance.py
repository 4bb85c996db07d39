"""The PACT conformance service's v3 test cases (TC1-TC40), ported against our node.

Each test is named after its case. The example bodies of the test-case document give the
HTTP-level shapes and the footprint ids a response must contain; the conformance MANIFEST
notes they are abbreviated, so the seeded footprints are those examples completed with the
fields the official schema requires. Responses are checked against the official schemas.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from connector.app import create_app
from connector.node import init_node
from connector.records import footprints, pact_auth, sharing
from schemas.pact import validate_component, validate_footprint
from schemas.pact.schema import oauth_token_validator

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
EXAMPLES = CONFORMANCE / "pact" / "examples" / "v3"
SOURCE = "https://webhook.example.com"
EVENT_TYPE = "application/cloudevents+json; charset=UTF-8"
B1F8 = "b1f8c0d2-7c4e-4e67-9a9c-2e4c12345678"
C2E9 = "c2e9d1f3-8d5f-5f78-0b0d-3f5e23456789"
OTHER = "5a0c7a52-2b0c-4a57-9b3e-0f3d2c1b0a99"


def example_bytes(name: str) -> bytes:
    if not EXAMPLES.is_dir():
        pytest.skip(f"PACT conformance examples not found at {EXAMPLES}")
    return (EXAMPLES / name).read_bytes()


def example(name: str) -> dict:
    return json.loads(example_bytes(name).decode("utf-8"))


def completed(pf: dict) -> dict:
    """An example footprint completed with what the official v3 schema requires."""
    doc = copy.deepcopy(pf)
    doc.pop("version", None)  # a v2 field the v3 examples still carry
    doc.setdefault("productNameCompany", doc["productDescription"][:40])
    pcf = doc.setdefault("pcf", {})
    pcf.update(
        {
            "fossilGhgEmissions": pcf.get("pcfExcludingBiogenicUptake", "77.0"),
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
        }
    )
    assert validate_footprint(doc).ok, validate_footprint(doc).errors
    return doc


def other_footprint(base: dict) -> dict:
    """A third footprint that differs from the examples in every filtered property."""
    doc = copy.deepcopy(base)
    doc.update(
        id=OTHER,
        status="Deprecated",
        companyIds=["urn:uuid:0d0f3a6e-8c1b-4c55-9f0e-5b2a7c9d1e20"],
        productIds=["urn:gtin:4006381333931"],
        productClassifications=["urn:eclass:0173-1#01-ZZZ999#005"],
        validityPeriodStart="2030-01-01T00:00:00Z",
        validityPeriodEnd="2033-01-01T00:00:00Z",
    )
    doc["pcf"]["geographyCountry"] = "FR"
    return doc


class Recipient:
    """The conformance service's side: it receives our asynchronous answers."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.events.append(json.loads(request.content))
        return httpx.Response(200)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    listed = example("tc04-response-body.json")["data"]
    node = init_node(tmp_path_factory.mktemp("pact") / "host", "pact-host", ["88.100.1"])
    docs = [completed(pf) for pf in listed]
    for doc in [*docs, other_footprint(docs[0])]:
        footprints.issue(node, doc)
    client, secret = pact_auth.register_client(
        node, "conformance", [SOURCE], callback_url="https://conformance.example/3/events"
    )
    sharing.grant(node, sharing.CLIENT_PREFIX + client.client_id, footprints.KIND)
    app = create_app(node)
    recipient = Recipient()
    app.state.records_transport = httpx.MockTransport(recipient)
    yield node, TestClient(app, base_url="https://api.example.com"), client, secret, recipient
    node.close()


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture(scope="module")
def token(setup: tuple) -> str:
    _, http, client, secret, _ = setup
    response = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client.client_id, secret),
    )
    return response.json()["access_token"]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def ids(response: httpx.Response) -> set[str]:
    return {pf["id"] for pf in response.json()["data"]}


def assert_pact_error(response: httpx.Response, status: set[int]) -> None:
    assert response.status_code in status
    assert validate_component(response.json(), "Error").ok, response.json()


# -- authentication ------------------------------------------------------------------------


def test_tc01_auth_token_with_valid_credentials(setup: tuple) -> None:
    _, http, client, secret, _ = setup
    response = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client.client_id, secret),
    )
    assert response.status_code == 200
    body = response.json()
    assert not list(oauth_token_validator("success").iter_errors(body))
    assert set(example("tc01-response-body.json")) <= set(body)
    assert body["token_type"] == "Bearer" and response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic " + base64.b64encode(b"nobody:wrong").decode()},
        {"Authorization": "Basic !!!not-base64"},
        {},
    ],
    ids=["unknown-client", "garbage", "no-credentials"],
)
def test_tc02_auth_token_with_invalid_credentials(setup: tuple, headers: dict) -> None:
    _, http, *_ = setup
    response = http.post("/auth/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert response.status_code in (400, 401)
    body = response.json()
    assert body["error"] == example("tc02-response-body.json")["error"] == "invalid_client"
    assert not list(oauth_token_validator("error").iter_errors(body))
    assert "access_token" not in body


def test_tc02_right_client_wrong_secret(setup: tuple) -> None:
    _, http, client, _, _ = setup
    response = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client.client_id, "x"),
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_auth_token_other_grant_type_is_refused(setup: tuple) -> None:
    _, http, client, secret, _ = setup
    response = http.post(
        "/auth/token", data={"grant_type": "password"}, headers=basic(client.client_id, secret)
    )
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


# -- OpenID Connect discovery (optional cases TC18, TC19) ----------------------------------

DISCOVERY = "/.well-known/openid-configuration"


def discovered_token_endpoint(http: TestClient) -> str:
    """What the conformance service does first: read token_endpoint from the discovery doc."""
    response = http.get(DISCOVERY)
    assert response.status_code == 200
    return response.json()["token_endpoint"]


def test_discovery_document_is_public_json_naming_our_token_endpoint(setup: tuple) -> None:
    node, http, *_ = setup
    response = http.get(DISCOVERY)  # no credentials of any kind
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    base = node.config.public_url
    assert doc["issuer"] == base
    assert doc["token_endpoint"] == f"{base}/auth/token"
    assert doc["grant_types_supported"] == ["client_credentials"]
    # Only HTTP Basic: /auth/token does not read credentials from the form body.
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert doc["response_types_supported"] == []
    assert "authorization_endpoint" not in doc and "userinfo_endpoint" not in doc


def test_discovery_follows_the_public_url(https_node: tuple) -> None:
    http, *_ = https_node
    doc = http.get(DISCOVERY).json()
    assert doc["issuer"] == "https://pact.example.com"
    assert doc["token_endpoint"] == "https://pact.example.com/auth/token"
    assert doc["jwks_uri"] == "https://pact.example.com/auth/jwks"


def test_tc18_openid_connect_flow(setup: tuple) -> None:
    _, http, client, secret, _ = setup
    response = http.post(
        discovered_token_endpoint(http),
        data={"grant_type": "client_credentials"},
        headers={**basic(client.client_id, secret), "Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.json()
    assert not list(oauth_token_validator("success").iter_errors(body))
    assert set(example("tc18-response-body.json")) <= set(body)  # scope included
    assert body["token_type"] == "Bearer"
    listed = http.get("/3/footprints", headers=bearer(body["access_token"]))
    assert listed.status_code == 200 and {B1F8, C2E9} <= ids(listed)


def test_tc19_openid_connect_flow_with_incorrect_credentials(setup: tuple) -> None:
    _, http, *_ = setup
    wrong = base64.b64encode(b"Xq3vLmT9pR2sWk8d:Jh7nBv4cZ1xQ6mEr").decode()  # as the service
    response = http.post(
        discovered_token_endpoint(http),
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {wrong}", "Accept": "application/json"},
    )
    assert response.status_code in (400, 401)
    assert response.json() == example("tc19-response-body.json")


def test_access_tokens_verify_with_the_published_key(setup: tuple, token: str) -> None:
    node, http, *_ = setup
    keys = http.get(http.get(DISCOVERY).json()["jwks_uri"]).json()["keys"]
    header = jwt.get_unverified_header(token)
    (key,) = [k for k in keys if k["kid"] == header["kid"]]
    claims = jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=[key["alg"]],
        audience=pact_auth.audience(node),
    )
    assert claims["scope"] == pact_auth.SCOPES


# -- get and list --------------------------------------------------------------------------


def test_tc03_get_footprint(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    expected = example("tc03-response-body.json")["data"]
    response = http.get(f"/3/footprints/{expected['id']}", headers=bearer(token))
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["id"] == expected["id"] and data["productIds"] == expected["productIds"]
    assert validate_footprint(data).ok
    assert "proof" not in data and "@context" not in data


def test_tc04_list_footprints(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    response = http.get("/3/footprints", headers=bearer(token))
    assert response.status_code in (200, 202)
    assert {pf["id"] for pf in example("tc04-response-body.json")["data"]} <= ids(response)
    assert all(validate_footprint(pf).ok for pf in response.json()["data"])


def test_tc05_pagination_links(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    everything = ids(http.get("/3/footprints", headers=bearer(token)))
    seen: list[str] = []
    url = "/3/footprints?limit=1"
    pages = 0
    while url:
        response = http.get(url, headers={**bearer(token), "host": "api.example.com"})
        assert response.status_code == 200
        assert len(response.json()["data"]) <= 1
        seen += [pf["id"] for pf in response.json()["data"]]
        links = httpx.Response(200, headers={"link": response.headers.get("link", "")}).links
        url = links.get("next", {}).get("url", "")
        if url:
            parts = urlsplit(url)
            assert parts.scheme == "https" and parts.netloc == "api.example.com"  # absolute
            assert parse_qs(parts.query)["limit"] == ["1"]
        pages += 1
        assert pages <= len(everything)
    assert sorted(seen) == sorted(everything) and len(seen) == 3


def test_tc05_offset_page_keeps_filters(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    response = http.get("/3/footprints?geography=DE&limit=1&offset=0", headers=bearer(token))
    next_url = response.links["next"]["url"]
    assert parse_qs(urlsplit(next_url).query)["geography"] == ["DE"]
    second = http.get(next_url, headers=bearer(token))
    assert "next" not in second.links and len(second.json()["data"]) == 1


@pytest.mark.parametrize("path", ["/3/footprints", f"/3/footprints/{B1F8}"])
def test_tc06_tc07_invalid_token(setup: tuple, path: str) -> None:
    _, http, *_ = setup
    response = http.get(path, headers=bearer("invalid-access-token"))
    assert_pact_error(response, {400, 401})
    assert response.json()["code"] == example("tc06-response-body.json")["code"]
    assert "data" not in response.json()


def test_tc06_token_signed_by_another_key_is_refused(setup: tuple, tmp_path: Path) -> None:
    _, http, client, _, _ = setup
    stranger = init_node(tmp_path / "stranger", "stranger", ["88.100.9"])
    forged = pact_auth.issue_access_token(stranger, client)
    assert http.get("/3/footprints", headers=bearer(forged)).status_code == 401
    stranger.close()


def test_tc08_get_non_existent_footprint(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    response = http.get("/3/footprints/non-existent-id", headers=bearer(token))
    assert_pact_error(response, {400, 404})
    assert response.json()["code"] == example("tc08-response-body.json")["code"]


# -- HTTPS only ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def https_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    folder = tmp_path_factory.mktemp("tls") / "host"
    node = init_node(folder, "tls-host", ["88.100.2"], public_url="https://pact.example.com")
    client, secret = pact_auth.register_client(node, "c", [SOURCE])
    token = pact_auth.issue_access_token(node, client)
    yield TestClient(create_app(node), base_url="http://pact.example.com"), client, secret, token
    node.close()


def test_tc09_auth_over_http_is_refused(https_node: tuple) -> None:
    http, client, secret, _ = https_node
    response = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client.client_id, secret),
    )
    assert response.status_code == 400 and "access_token" not in response.json()
    ok = http.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        headers={**basic(client.client_id, secret), "X-Forwarded-Proto": "https"},
    )
    assert ok.status_code == 200  # the same call through the TLS terminator works


@pytest.mark.parametrize("path", ["/3/footprints", f"/3/footprints/{B1F8}"])
def test_tc10_tc11_footprints_over_http_are_refused(https_node: tuple, path: str) -> None:
    http, _, _, token = https_node
    response = http.get(path, headers=bearer(token))
    assert response.status_code == 400 and "data" not in response.json()


def test_tc17_events_over_http_are_refused(https_node: tuple) -> None:
    http, _, _, token = https_node
    body = example_bytes("tc17-request-body.not-json.txt")
    response = http.post(
        "/3/events", content=body, headers={**bearer(token), "Content-Type": EVENT_TYPE}
    )
    assert response.status_code == 400 and "data" not in response.json()


# -- events --------------------------------------------------------------------------------


def post_event(http: TestClient, token: str, event: dict) -> httpx.Response:
    return http.post(
        "/3/events",
        content=json.dumps(event),
        headers={**bearer(token), "Content-Type": EVENT_TYPE},
    )


def test_tc12_tc13_request_created_then_fulfilled(setup: tuple, token: str) -> None:
    _, http, _, _, recipient = setup
    recipient.events.clear()
    request = example("tc12-request-body.json")
    response = post_event(http, token, request)
    assert response.status_code == 200 and response.content == b""
    (answer,) = recipient.events
    expected = example("tc13-incoming-request-body.json")
    assert answer["type"] == expected["type"]
    assert answer["data"]["requestEventId"] == request["id"]
    assert [pf["id"] for pf in answer["data"]["pfs"]] == [
        pf["id"] for pf in expected["data"]["pfs"]
    ]
    assert validate_component(answer, "RequestFulfilledEvent").ok


def test_tc12_same_request_twice_is_refused(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    request = example("tc12-request-body.json") | {"id": "tc12-duplicate"}
    assert post_event(http, token, request).status_code == 200
    assert_pact_error(post_event(http, token, request), {400})


def test_tc14_request_for_unknown_product_is_rejected(setup: tuple, token: str) -> None:
    _, http, _, _, recipient = setup
    recipient.events.clear()
    request = example("tc14-a-request-body.json") | {"id": "tc14-request"}
    assert post_event(http, token, request).status_code == 200
    (answer,) = recipient.events
    expected = example("tc14-b-incoming-request-body.json")
    assert answer["type"] == expected["type"]
    assert answer["data"]["error"]["code"] == expected["data"]["error"]["code"]
    assert answer["data"]["requestEventId"] == "tc14-request"
    assert validate_component(answer, "RequestRejectedEvent").ok


def test_tc15_published_event_is_accepted(setup: tuple, token: str) -> None:
    node, http, *_ = setup
    before = node.ledger.size
    response = post_event(http, token, example("tc15-request-body.json"))
    assert response.status_code == 200 and response.content == b""
    assert json.loads(node.ledger.entry(before).body)["type"] == "pact.event"


def test_tc16_events_with_invalid_token(setup: tuple) -> None:
    _, http, *_ = setup
    response = post_event(http, "invalid-access-token", example("tc16-request-body.json"))
    assert_pact_error(response, {400, 401})
    assert response.json()["code"] == example("tc16-response-body.json")["code"]


def test_events_from_a_source_not_the_callers_are_forbidden(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    event = example("tc15-request-body.json") | {"source": "https://someone-else.example"}
    response = post_event(http, token, event)
    assert_pact_error(response, {403})
    assert response.json()["code"] == "AccessDenied"


@pytest.mark.parametrize(
    "change",
    [{"type": "org.wbcsd.pact.ProductFootprint.Unknown.3"}, {"time": "yesterday"}, {"data": 5}],
    ids=["unknown-type", "bad-time", "data-not-object"],
)
def test_malformed_events_are_refused(setup: tuple, token: str, change: dict) -> None:
    _, http, *_ = setup
    response = post_event(http, token, example("tc12-request-body.json") | change)
    assert_pact_error(response, {400})


def test_tc17_body_that_is_not_json_is_refused(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    body = example_bytes("tc17-request-body.not-json.txt")
    response = http.post(
        "/3/events", content=body, headers={**bearer(token), "Content-Type": EVENT_TYPE}
    )
    assert_pact_error(response, {400})


# -- filters -------------------------------------------------------------------------------

FILTER_CASES = [
    ("tc20", [("productId", "urn:gtin:1234567890123")]),
    ("tc21", [("companyId", "urn:uuid:abc12345-6789-4def-0123-456789abcdef")]),
    ("tc22", [("geography", "DE")]),
    ("tc23", [("classification", "urn:eclass:0173-1#01-AAA123#005")]),
    ("tc24", [("validOn", "2023-01-15T10:15:30Z")]),
    ("tc25", [("validAfter", "2023-01-14T10:15:30Z")]),
    ("tc26", [("validBefore", "2026-01-01T00:00:00Z")]),
    ("tc27", [("status", "Active")]),
    ("tc28", [("status", "Active"), ("productId", "urn:gtin:1234567890123")]),
    (
        "tc29",
        [
            ("companyId", "urn:uuid:abc12345-6789-4def-0123-456789abcdef"),
            ("companyId", "urn:uuid:other-company"),
            ("companyId", "urn:uuid:another-company"),
        ],
    ),
    ("tc30", [("productId", "urn:bogus:product:nonexistent123")]),
    ("tc31", [("companyId", "urn:bogus:company:nonexistent456")]),
    ("tc32", [("geography", "XX")]),
    ("tc33", [("classification", "urn:bogus:classification:nonexistent789")]),
    ("tc34", [("validOn", "1900-01-01T00:00:00Z")]),
    ("tc35", [("validAfter", "2099-12-31T23:59:59Z")]),
    ("tc36", [("validBefore", "1900-01-01T00:00:00Z")]),
    ("tc37", [("status", "BogusStatusValue")]),
    (
        "tc38",
        [
            ("companyId", "urn:bogus:company:5FIi8zS3"),
            ("productId", "urn:bogus:product:nonexistent123"),
        ],
    ),
    (
        "tc39",
        [
            ("companyId", "urn:bogus:company:nonexistent1"),
            ("companyId", "urn:bogus:company:nonexistent2"),
            ("companyId", "urn:bogus:company:nonexistent3"),
        ],
    ),
]
# What our three seeded footprints give; the example ids must be among them.
EXPECTED = {
    "tc20": {B1F8},
    "tc21": {B1F8, C2E9},
    "tc22": {B1F8, C2E9},
    "tc23": {B1F8},
    "tc24": {B1F8},
    "tc25": {B1F8, C2E9, OTHER},
    "tc26": {B1F8, C2E9},
    "tc27": {B1F8, C2E9},
    "tc28": {B1F8},
    "tc29": {B1F8, C2E9},
}


@pytest.mark.parametrize(("case", "params"), FILTER_CASES, ids=[c for c, _ in FILTER_CASES])
def test_tc20_to_tc39_filters(setup: tuple, token: str, case: str, params: list) -> None:
    _, http, *_ = setup
    response = http.get("/3/footprints", params=params, headers=bearer(token))
    assert response.status_code == 200
    expected_ids = {pf["id"] for pf in example(f"{case}-response-body.json")["data"]}
    assert expected_ids <= ids(response)
    assert ids(response) == EXPECTED.get(case, set())


def test_filter_names_and_values_are_case_insensitive(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    params = [("productid", "URN:GTIN:1234567890123"), ("STATUS", "active"), ("x-acme-q", "1")]
    assert ids(http.get("/3/footprints", params=params, headers=bearer(token))) == {B1F8}


def test_tc40_deprecated_odata_filter_is_a_bad_request(setup: tuple, token: str) -> None:
    _, http, *_ = setup
    response = http.get(
        "/3/footprints",
        params={"$filter": "created ge '2023-01-15T10:15:30Z'"},
        headers=bearer(token),
    )
    assert_pact_error(response, {400})
    assert "data" not in response.json()


def test_client_without_a_share_sees_nothing(setup: tuple) -> None:
    node, http, *_ = setup
    client, _ = pact_auth.register_client(node, "unshared", [SOURCE])
    token = pact_auth.issue_access_token(node, client)
    assert http.get("/3/footprints", headers=bearer(token)).json() == {"data": []}
    response = http.get(f"/3/footprints/{B1F8}", headers=bearer(token))
    # Unknown and not shared look the same to a client (docs/records.md).
    assert_pact_error(response, {404})


def test_removed_client_token_stops_working(setup: tuple) -> None:
    node, http, *_ = setup
    client, _ = pact_auth.register_client(node, "leaving", [SOURCE])
    token = pact_auth.issue_access_token(node, client)
    pact_auth.remove_client(node, client.client_id)
    assert http.get("/3/footprints", headers=bearer(token)).status_code == 401
