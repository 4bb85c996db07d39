"""Handle.net REST JSON: shape, filters, hiding, response codes, and the unmodified pyhandle
client reading our responses (its HTTP session is served in-process, no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from identifiers.admin import AdminGrant
from identifiers.handle import Handle
from identifiers.record import HS_ADMIN, URL, HandleRecord, HandleValue, Permissions
from identifiers.rest import error_response, parse_indices, rest_response

WHEN = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
H = Handle.parse("20.500.1/obj-1")


def _record() -> HandleRecord:
    admin = AdminGrant.parse("200:0.NA/20.500.1").to_data()
    return HandleRecord(
        H,
        (
            HandleValue.make(1, URL, "https://a.example/x", timestamp=WHEN),
            HandleValue.make(2, "TS_CLASS", "batch", timestamp=WHEN, ttl=3600),
            HandleValue.make(3, "URL.MIRROR", "https://b.example/x", timestamp=WHEN),
            HandleValue.make(
                4, "SECRET", "s", timestamp=WHEN, permissions=Permissions(pub_read=False)
            ),
            HandleValue.make(100, HS_ADMIN, admin, timestamp=WHEN),
        ),
    )


def test_full_record_shape() -> None:
    response = rest_response(_record(), "20.500.1/obj-1")
    assert response.status == 200
    body = response.body
    assert list(body) == ["responseCode", "handle", "values"]
    assert body["responseCode"] == 1 and body["handle"] == "20.500.1/obj-1"
    assert body["values"][0] == {
        "index": 1,
        "type": "URL",
        "data": {"format": "string", "value": "https://a.example/x"},
        "ttl": 86400,
        "timestamp": "2026-05-01T12:00:00Z",
    }
    assert body["values"][-1]["data"] == {
        "format": "admin",
        "value": {"handle": "0.na/20.500.1", "index": 200, "permissions": "011111110011"},
    }
    assert [v["index"] for v in body["values"]] == [1, 2, 3, 100]  # SECRET hidden
    json.dumps(body)  # plain JSON types only


def test_filters_hiding_and_codes() -> None:
    record = _record()
    by_type = rest_response(record, str(H), types=["URL"]).body
    assert [v["index"] for v in by_type["values"]] == [1, 3]  # URL.MIRROR is a sub-type
    union = rest_response(record, str(H), types=["TS_CLASS"], indices=[100]).body
    assert [v["index"] for v in union["values"]] == [2, 100]
    private = rest_response(record, str(H), indices=[4], public=False).body
    assert [v["index"] for v in private["values"]] == [4]
    hidden = rest_response(record, str(H), indices=[4])
    assert (hidden.status, hidden.body["responseCode"], hidden.body["values"]) == (200, 200, [])
    missing = rest_response(None, "20.500.1/none")
    assert (missing.status, missing.body) == (404, {"responseCode": 100, "handle": "20.500.1/none"})
    error = error_response("bad", "index must be a positive integer")
    assert (error.status, error.body["responseCode"]) == (400, 2)
    assert error_response("x", "no slash", invalid_handle=True).body["responseCode"] == 102
    assert parse_indices(["1", "100"]) == [1, 100]
    with pytest.raises(ValueError, match="positive integer"):
        parse_indices(["-1"])


# --- the unmodified pyhandle client -------------------------------------------------------

pyhandle_rest = pytest.importorskip("pyhandle.client.resthandleclient")
requests = pytest.importorskip("requests")


@pytest.fixture
def pyhandle_client(monkeypatch: pytest.MonkeyPatch):
    """A pyhandle RESTHandleClient whose HTTP requests are answered by `rest_response`."""
    records = {str(H): _record()}
    seen_urls: list[str] = []

    def send(session, request, **kwargs):
        seen_urls.append(request.url)
        parts = urlsplit(request.url)
        assert parts.path.startswith("/api/handles/")
        handle = unquote(parts.path[len("/api/handles/") :])
        query = parse_qs(parts.query)
        answer = rest_response(
            records.get(handle),
            handle,
            types=query.get("type", []),
            indices=parse_indices(query.get("index", [])),
        )
        response = requests.Response()
        response.status_code = answer.status
        response._content = json.dumps(answer.body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    client = pyhandle_rest.RESTHandleClient(handle_server_url="http://node.invalid:8000")
    client.seen_urls = seen_urls
    return client


def test_pyhandle_reads_our_records(pyhandle_client) -> None:
    client = pyhandle_client
    record_json = client.retrieve_handle_record_json("20.500.1/obj-1")
    assert record_json["handle"] == "20.500.1/obj-1"
    assert client.retrieve_handle_record("20.500.1/obj-1") == {
        "URL": "https://a.example/x",
        "TS_CLASS": "batch",
        "URL.MIRROR": "https://b.example/x",
        "HS_ADMIN": "{'handle': '0.na/20.500.1', 'index': 200, 'permissions': '011111110011'}",
    }
    assert client.get_value_from_handle("hdl:20.500.1/obj-1", "TS_CLASS") == "batch"
    assert client.get_value_from_handle("20.500.1/obj-1", "NOPE") is None
    assert client.get_handlerecord_indices_for_key("URL", record_json["values"]) == [1]
    assert client.seen_urls[0] == "http://node.invalid:8000/api/handles/20.500.1/obj-1"


def test_pyhandle_sees_missing_handles_and_filters(pyhandle_client) -> None:
    client = pyhandle_client
    assert client.retrieve_handle_record_json("20.500.1/none") is None
    assert client.retrieve_handle_record("20.500.1/none") is None
    with pytest.raises(pyhandle_rest.HandleNotFoundException):
        client.get_value_from_handle("20.500.1/none", "URL")
    filtered = client.retrieve_handle_record_json("20.500.1/obj-1", indices=[2])
    assert [v["index"] for v in filtered["values"]] == [2]
    empty = client.retrieve_handle_record_json("20.500.1/obj-1", indices=[4])
    assert empty["responseCode"] == 200 and empty["values"] == []
