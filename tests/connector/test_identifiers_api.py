"""The node's identifier HTTP API in-process: Handle.net REST shape and codes, public filtering,
proxy, writes with the operator token, problem+json with nothing written on bad input, the
GS1 resolver (checked against the library's linkset parser and RFC 9264 shape) and QR codes."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

import pytest
import segno
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.app import create_app
from connector.node import init_node

PREFIX = "88.100.1"
GTIN = "09506000134376"
SECRET = {
    "index": 5,
    "type": "SECRET",
    "data": {"format": "string", "value": "s3cret"},
    "permissions": {"admin_read": True, "admin_write": True, "pub_read": False, "pub_write": False},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("node") / "n"
    node = init_node(folder, "plant", [PREFIX], public_url="http://plant.example")
    client = TestClient(create_app(node))
    client.auth_headers = {"Authorization": f"Bearer {node.operator_token}"}  # type: ignore[attr-defined]
    body = {
        "values": [
            {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://e.x/a"}},
            {
                "index": 2,
                "type": "TS_GS1",
                "data": {"format": "string", "value": f"/01/{GTIN}/10/L1"},
            },
            {
                "index": 3,
                "type": "TS_QUALITY",
                "data": {"format": "string", "value": "https://q.x/1"},
            },
            SECRET,
        ]
    }
    r = client.put(f"/api/handles/{PREFIX}/obj-1", json=body, headers=client.auth_headers)
    assert r.status_code == 201, r.text
    yield client
    node.close()


def _size(api: TestClient) -> int:
    return api.get("/healthz").json()["size"]


def test_rest_shape_codes_and_filters(api: TestClient) -> None:
    r = api.get(f"/api/handles/{PREFIX}/obj-1")
    assert r.status_code == 200
    body = r.json()
    assert body["responseCode"] == 1 and body["handle"] == f"{PREFIX}/obj-1"
    value = body["values"][0]
    assert set(value) == {"index", "type", "data", "ttl", "timestamp"}
    assert value["data"] == {"format": "string", "value": "https://e.x/a"}
    # Non-public values are hidden from the public, shown to the operator.
    assert 5 not in [v["index"] for v in body["values"]]
    full = api.get(f"/api/handles/{PREFIX}/obj-1", headers=api.auth_headers).json()
    assert 5 in [v["index"] for v in full["values"]]
    # type= and index= filters are a union; no match is code 200 with HTTP 200.
    r = api.get(f"/api/handles/{PREFIX}/obj-1?type=URL&index=3")
    assert [v["index"] for v in r.json()["values"]] == [1, 3]
    r = api.get(f"/api/handles/{PREFIX}/obj-1?type=NOTHING")
    assert (r.status_code, r.json()["responseCode"]) == (200, 200)
    r = api.get(f"/api/handles/{PREFIX}/missing")
    assert (r.status_code, r.json()) == (404, {"responseCode": 100, "handle": f"{PREFIX}/missing"})
    r = api.get(f"/api/handles/{PREFIX}/obj-1?index=x")
    assert (r.status_code, r.json()["responseCode"]) == (400, 2)
    assert r.headers["content-type"] == "application/problem+json"


def test_proxy_redirects_to_url_value(api: TestClient) -> None:
    r = api.get(f"/{PREFIX}/obj-1", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, "https://e.x/a")
    r = api.get(f"/{PREFIX}/obj-1?noredirect", follow_redirects=False)
    assert r.status_code == 200 and r.json()["responseCode"] == 1
    assert api.get(f"/{PREFIX}/missing", follow_redirects=False).status_code == 404


def test_alias_is_followed_and_loop_reported(api: TestClient) -> None:
    auth = api.auth_headers
    alias = {
        "values": [
            {
                "index": 1,
                "type": "HS_ALIAS",
                "data": {"format": "string", "value": f"{PREFIX}/obj-1"},
            }
        ]
    }
    assert api.put(f"/api/handles/{PREFIX}/alias", json=alias, headers=auth).status_code == 201
    r = api.get(f"/{PREFIX}/alias", follow_redirects=False)
    assert r.headers["location"] == "https://e.x/a"
    raw = api.get(f"/api/handles/{PREFIX}/alias?noalias").json()
    assert raw["values"][0]["type"] == "HS_ALIAS"
    for a, b in (("l1", "l2"), ("l2", "l1")):
        loop = {
            "values": [
                {
                    "index": 1,
                    "type": "HS_ALIAS",
                    "data": {"format": "string", "value": f"{PREFIX}/{b}"},
                }
            ]
        }
        api.put(f"/api/handles/{PREFIX}/{a}", json=loop, headers=auth)
    r = api.get(f"/api/handles/{PREFIX}/l1")
    assert r.status_code == 409 and "cycle" in r.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("put", f"/api/handles/{PREFIX}/new", {"values": []}, 401),  # no token
        ("put", f"/api/handles/{PREFIX}/", {"values": []}, 400),  # empty suffix
        ("put", f"/api/handles/{PREFIX}/new", {"values": "x"}, 400),
        ("put", f"/api/handles/{PREFIX}/new", [1, 2], 400),
        (
            "put",
            f"/api/handles/{PREFIX}/new",
            {
                "values": [
                    {
                        "index": 0,
                        "type": "URL",
                        "data": {"format": "string", "value": "https://a.b"},
                    }
                ]
            },
            400,
        ),
        (
            "put",
            f"/api/handles/{PREFIX}/new",
            {
                "values": [
                    {"index": 1, "type": "URL", "data": {"format": "string", "value": "not a url"}}
                ]
            },
            400,
        ),
        (
            "put",
            f"/api/handles/{PREFIX}/new",
            {
                "values": [
                    {
                        "index": 1,
                        "type": "TS_GS1",
                        "data": {"format": "string", "value": f"/01/{GTIN[:-1]}5"},
                    }
                ]
            },
            400,
        ),
        ("put", "/api/handles/99.9/new", {"values": []}, 403),  # prefix not homed here
        ("put", f"/api/handles/{PREFIX}/obj-1?overwrite=false", {"values": []}, 409),
        ("delete", f"/api/handles/{PREFIX}/missing", None, 404),
        (
            "post",
            "/management/handles/bulk",
            {"batch": f"/01/{GTIN}/10/B", "serials": ["a", "a"]},
            400,
        ),
        ("post", "/management/handles/bulk", {"batch": "/01/123/10/B", "serials": ["a"]}, 400),
        (
            "post",
            "/management/handles/bulk",
            {"batch": f"/01/{GTIN}/10/B", "range": {"count": -1}},
            400,
        ),
        ("put", "/management/gs1/linksets", {"anchor": "/01/1", "links": []}, 400),
    ],
)
def test_bad_writes_are_problems_and_write_nothing(api, method, path, body, status) -> None:
    size = _size(api)
    headers = {} if status == 401 else api.auth_headers
    kwargs = {"json": body} if body is not None else {}
    r = api.request(method.upper(), path, headers=headers, **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert _size(api) == size


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(min_size=0, max_size=40))
def test_any_handle_text_gets_a_clean_answer(api: TestClient, text: str) -> None:
    r = api.get("/api/handles/" + quote(text, safe="/"))
    assert r.status_code in (200, 400, 404), r.text
    if r.status_code == 400:
        assert r.headers["content-type"] == "application/problem+json"


def test_writes_and_history(api: TestClient) -> None:
    auth = api.auth_headers
    url = {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://e.x/v1"}}
    assert (
        api.put(f"/api/handles/{PREFIX}/h", json={"values": [url]}, headers=auth).status_code == 201
    )
    note = {"index": 7, "type": "NOTE", "data": {"format": "string", "value": "n"}}
    r = api.put(f"/api/handles/{PREFIX}/h?index=7", json={"values": [note]}, headers=auth)
    assert r.status_code == 200
    assert [v["index"] for v in api.get(f"/api/handles/{PREFIX}/h").json()["values"]] == [1, 7, 100]
    assert api.delete(f"/api/handles/{PREFIX}/h?index=7", headers=auth).status_code == 200
    assert api.delete(f"/api/handles/{PREFIX}/h", headers=auth).status_code == 200
    history = api.get(f"/management/handle-history/{PREFIX}/h", headers=auth).json()["history"]
    assert [h["op"] for h in history] == ["create", "update", "update", "delete"]
    entry = api.get(f"/ledger/entries/{history[1]['seq']}").json()
    assert entry["payload"]["record"]["values"][1]["type"] == "NOTE"
    assert api.get(f"/management/handle-history/{PREFIX}/h").status_code == 401


def test_gs1_resolver(api: TestClient) -> None:
    r = api.get(f"/01/{GTIN}/10/L1", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "https://e.x/a")
    assert 'rel="linkset"' in r.headers["link"]
    r = api.get(f"/01/{GTIN}/10/L1?linkType=gs1:certificationInfo", follow_redirects=False)
    assert r.headers["location"] == "https://q.x/1"
    r = api.get(f"/01/{GTIN}/10/L1?linkType=gs1:traceability", follow_redirects=False)
    assert r.headers["location"].startswith("http://plant.example/trace/")
    for request in (
        {"url": f"/01/{GTIN}/10/L1?linkType=linkset"},
        {"url": f"/01/{GTIN}/10/L1", "headers": {"Accept": "application/linkset+json"}},
    ):
        r = api.get(request["url"], headers=request.get("headers", {}))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/linkset+json")
        [context] = r.json()["linkset"]
        assert context["anchor"] == f"http://plant.example/01/{GTIN}/10/L1"
        assert context["https://gs1.org/voc/defaultLink"][0]["href"] == "https://e.x/a"
        assert all(isinstance(t, list) for k, t in context.items() if k != "anchor")
    assert api.get(f"/01/{GTIN}/10/L1?linkType=gs1:recipeInfo").status_code == 404
    assert api.get(f"/01/{GTIN[:-1]}5").status_code == 400  # wrong check digit
    assert api.get("/01/09506000134352").status_code == 404  # nothing known
    # Operator links at GTIN level apply to every lot and serial; they win over automatic ones.
    entry = {
        "anchor": f"/01/{GTIN}",
        "defaultLinktype": "gs1:pip",
        "links": [{"linktype": "gs1:pip", "href": "https://brand.example/p", "title": "P"}],
    }
    assert (
        api.put("/management/gs1/linksets", json=entry, headers=api.auth_headers).status_code == 200
    )
    r = api.get(f"/01/{GTIN}/10/L1/21/S9", follow_redirects=False)
    assert r.headers["location"] == "https://brand.example/p"
    r = api.get(f"/01/{GTIN}/10/L1/21/S9?linkType=gs1:masterData", follow_redirects=False)
    assert r.headers["location"] == f"http://plant.example/{PREFIX}/obj-1?noredirect"
    # SSCC and GLN keys resolve through operator link sets too.
    for anchor in ("/00/095060001343730010", "/414/9506000134376/254/7"):
        entry = {
            "anchor": anchor,
            "links": [{"linktype": "gs1:logisticsInfo", "href": "https://l.example/x"}],
        }
        api.put("/management/gs1/linksets", json=entry, headers=api.auth_headers)
        r = api.get(anchor, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (307, "https://l.example/x")
    desc = api.get("/.well-known/gs1resolver").json()
    assert desc["resolverRoot"] == "http://plant.example"
    assert "01" in desc["supportedPrimaryKeys"]


def test_qr_codes(api: TestClient) -> None:
    r = api.get(f"/api/qr/{PREFIX}/obj-1")
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["x-qr-content"] == f"http://plant.example/01/{GTIN}/10/L1"
    expected = io.BytesIO()
    segno.make_qr(r.headers["x-qr-content"], error="m", boost_error=True).save(
        expected, kind="svg", scale=4, border=4
    )
    assert r.content == expected.getvalue()
    r = api.get(f"/api/qr/{PREFIX}/alias?format=png")
    assert r.content.startswith(b"\x89PNG")
    assert r.headers["x-qr-content"] == f"http://plant.example/{PREFIX}/alias"
    r = api.get(f"/api/qr/01/{GTIN}/21/ABC?format=png")
    assert r.headers["x-qr-content"] == f"http://plant.example/01/{GTIN}/21/ABC"
    assert api.get(f"/api/qr/01/{GTIN[:-1]}5").status_code == 400
    assert api.get(f"/api/qr/{PREFIX}/obj-1?format=gif").status_code == 400


def test_unknown_prefix_on_a_node_without_parent_is_not_found(api: TestClient) -> None:
    r = api.get("/api/handles/77.1/x")
    assert (r.status_code, r.json()["responseCode"]) == (404, 100)
    r = api.get("/api/handles/77.1/x", headers={"X-Handle-Referral": "1"})
    assert r.json()["responseCode"] == 100


def test_node_folder_is_reusable(tmp_path: Path) -> None:
    """The registry tables are created with the ledger's on a fresh node."""
    node = init_node(tmp_path / "n", "fresh", ["20.500.1"])
    client = TestClient(create_app(node))
    assert client.get("/api/handles/20.500.1/x").status_code == 404
    assert client.get("/api/handles/0.na/20.500.1").json()["responseCode"] == 1
    node.close()
