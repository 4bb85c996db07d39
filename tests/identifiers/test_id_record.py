"""Handle records: value validation, CLI assignments, plain JSON, aliases and HS_ADMIN checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from identifiers.admin import (
    DEFAULT_PERMISSIONS,
    AdminGrant,
    AdminIdentity,
    AdminPermission,
    authorise_change,
    is_authorised,
    permissions_from_string,
    permissions_to_string,
    required_permissions,
)
from identifiers.errors import AliasLoop, InvalidValue, NotAllowed, NotFound
from identifiers.handle import Handle
from identifiers.record import (
    HS_ADMIN,
    HS_ALIAS,
    HS_VLIST,
    TS_CLASS,
    TS_GS1,
    URL,
    HandleRecord,
    HandleValue,
    Permissions,
    parse_value_assignment,
)

H = Handle.parse("20.500.1/obj-1")
WHEN = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
LOC = '<locations><location id="0" href="https://a.example/x" weight="1"/></locations>'


@pytest.mark.parametrize(
    ("value_type", "value", "stored"),
    [
        (URL, "https://example.com/a?b=1", "https://example.com/a?b=1"),
        ("EMAIL", "ops@plant.example.com", "ops@plant.example.com"),
        (HS_ALIAS, "hdl:20.500.ABC/target", "20.500.abc/target"),
        ("10320/loc", LOC, LOC),
        (TS_CLASS, "pallet", "pallet"),
        (
            TS_GS1,
            "https://r.example/01/9506000134352?17=260101",
            "https://id.gs1.org/01/09506000134352",
        ),
        ("TS_PCF", "https://pcf.example/footprints/1", "https://pcf.example/footprints/1"),
        ("DESCRIPTION", "anything goes", "anything goes"),
    ],
)
def test_valid_values_are_normalised(value_type: str, value: str, stored: str) -> None:
    assert HandleValue.make(2, value_type, value).value == stored


@pytest.mark.parametrize(
    ("value_type", "value", "reason"),
    [
        (URL, "ftp://example.com/x", "http(s)"),
        (URL, "https:///nohost", "http(s)"),
        (URL, "https://exa mple.com", "whitespace"),
        ("TS_EVENTS", "javascript:alert(1)", "http(s)"),
        ("EMAIL", "not-an-address", "plausible"),
        ("EMAIL", "a b@c.example", "plausible"),
        (HS_ALIAS, "no slash", "HS_ALIAS target"),
        ("10320/loc", "<locations>", "well-formed"),
        ("10320/loc", "<!DOCTYPE x><locations/>", "DTD"),
        ("10320/loc", "<locs><location href='x'/></locs>", "root element"),
        (TS_CLASS, "crate", "one of part, batch"),
        (TS_GS1, "https://id.gs1.org/01/09506000134353", "wrong check digit"),
        (HS_ADMIN, {"handle": "0.NA/20.500.1", "index": 200}, "lacks 'permissions'"),
        (HS_ADMIN, {"handle": "x", "index": 200, "permissions": "011"}, "HS_ADMIN handle"),
        (HS_ADMIN, {"handle": "0.NA/1", "index": 200, "permissions": "0112"}, "'0'/'1'"),
        (HS_ADMIN, {"handle": "0.NA/1", "index": 0, "permissions": "1"}, "outside"),
        (HS_VLIST, [], "non-empty list"),
        (HS_VLIST, [{"handle": "20.500/a"}], "must be {handle, index}"),
    ],
)
def test_invalid_values_are_rejected(value_type: str, value: object, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        HandleValue.make(2, value_type, value)
    assert reason in str(caught.value)


def test_format_type_mismatches() -> None:
    with pytest.raises(InvalidValue, match="must use format 'admin'"):
        HandleValue.make(100, HS_ADMIN, "x", data_format="string")
    with pytest.raises(InvalidValue, match="must be binary"):
        HandleValue.make(300, "HS_PUBKEY", "text")
    with pytest.raises(InvalidValue, match="not valid base64"):
        HandleValue.make(300, "HS_PUBKEY", "***", data_format="base64")
    with pytest.raises(InvalidValue, match="unknown data format"):
        HandleValue.make(2, URL, "https://a.example", data_format="xml")
    assert HandleValue.make(300, "HS_PUBKEY", "AAEC", data_format="hex").value == "aaec"


def test_index_assignment_follows_handle_net_conventions() -> None:
    record = HandleRecord(H)
    record = record.add("DESCRIPTION", "d").add(URL, "https://a.example")
    record = record.add(HS_ADMIN, AdminGrant.parse("200:0.NA/20.500.1").to_data())
    record = record.add(URL, "https://b.example")
    assert [(v.index, v.type) for v in record.values] == [
        (1, URL),
        (2, "DESCRIPTION"),
        (3, URL),
        (100, HS_ADMIN),
    ]
    assert [v.value for v in record.by_type(URL)] == ["https://a.example", "https://b.example"]
    assert record.by_index(100).value["permissions"] == "011111110011"
    with pytest.raises(InvalidValue, match="already used"):
        record.add("X", "y", index=2)
    with pytest.raises(NotFound):
        record.without(7)
    with pytest.raises(InvalidValue, match=r"duplicate value indices \[2\]"):
        HandleRecord(H, (HandleValue.make(2, "A", "a"), HandleValue.make(2, "B", "b")))


def test_subtype_lookup() -> None:
    record = HandleRecord(H).add("URL.ORIGINAL", "https://o.example").add("URLX", "u")
    assert [v.type for v in record.by_type(URL)] == ["URL.ORIGINAL"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("URL=https://a.example/x=y", (None, URL, "string", "https://a.example/x=y")),
        ("7:EMAIL=a@b.example", (7, "EMAIL", "string", "a@b.example")),
        (
            "HS_ADMIN=300:20.500.1/admin@111111111111",
            (
                None,
                HS_ADMIN,
                "admin",
                {"handle": "20.500.1/admin", "index": 300, "permissions": "111111111111"},
            ),
        ),
        (
            "HS_VLIST=300:20.500.1/a, 301:20.500.1/b",
            (
                None,
                HS_VLIST,
                "vlist",
                [{"handle": "20.500.1/a", "index": 300}, {"handle": "20.500.1/b", "index": 301}],
            ),
        ),
        ("HS_PUBKEY=AAEC", (None, "HS_PUBKEY", "base64", "AAEC")),
    ],
)
def test_parse_value_assignment(text: str, expected: tuple) -> None:
    assert parse_value_assignment(text) == expected


@pytest.mark.parametrize("text", ["URL", "=x", "A B=c", "HS_ADMIN=nope", "HS_ADMIN=1:x/y@2"])
def test_parse_value_assignment_rejects(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_value_assignment(text)


def _sample_record() -> HandleRecord:
    return HandleRecord(
        H,
        (
            HandleValue.make(1, URL, "https://a.example", timestamp=WHEN),
            HandleValue.make(
                2,
                "NOTE",
                "internal",
                timestamp=WHEN,
                ttl=60,
                permissions=Permissions(pub_read=False),
                references=[AdminIdentity.parse("300:20.500.1/ref")],
            ),
            HandleValue.make(
                100, HS_ADMIN, AdminGrant.parse("300:20.500.1/admin").to_data(), timestamp=WHEN
            ),
        ),
    )


def test_plain_json_round_trip_and_shape() -> None:
    record = _sample_record()
    data = record.to_dict()
    assert data["v"] == 1 and data["handle"] == "20.500.1/obj-1"
    assert data["values"][1] == {
        "index": 2,
        "type": "NOTE",
        "data": {"format": "string", "value": "internal"},
        "ttl": 60,
        "timestamp": "2026-05-01T12:00:00Z",
        "references": ["300:20.500.1/ref"],
        "permissions": {
            "admin_read": True,
            "admin_write": True,
            "pub_read": False,
            "pub_write": False,
        },
    }
    assert HandleRecord.from_dict(data) == record


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(v=2), "$.v"),
        (lambda d: d.update(handle="nohandle"), "$.handle"),
        (lambda d: d["values"][1].update(index="2"), "$.values[1].index"),
        (lambda d: d["values"][1].update(ttl=-1), "$.values[1].ttl"),
        (lambda d: d["values"][0]["data"].update(value="ftp://x"), "$.values[0].data.value"),
        (lambda d: d["values"][2]["data"]["value"].update(index="x"), "$.values[2].data.value"),
        (lambda d: d["values"][1].update(timestamp="yesterday"), "$.values[1].timestamp"),
        (lambda d: d["values"][1].update(extra=1), "$.values[1]"),
        (lambda d: d["values"][1]["permissions"].update(pub_read=1), "$.values[1].permissions"),
    ],
)
def test_plain_json_errors_carry_json_paths(mutate, path: str) -> None:
    data = _sample_record().to_dict()
    mutate(data)
    with pytest.raises(InvalidValue) as caught:
        HandleRecord.from_dict(data)
    assert caught.value.path.startswith(path)


def _store(*records: HandleRecord):
    table = {r.handle: r for r in records}
    return table.get


def _alias(source: str, target: str) -> HandleRecord:
    return HandleRecord(Handle.parse(source)).add(HS_ALIAS, target)


def test_follow_aliases() -> None:
    from identifiers.record import follow_aliases

    final = HandleRecord(Handle.parse("20.500.1/c")).add(URL, "https://c.example")
    lookup = _store(_alias("20.500.1/a", "20.500.1/b"), _alias("20.500.1/b", "20.500.1/c"), final)
    assert follow_aliases(Handle.parse("20.500.1/a"), lookup) == final
    assert follow_aliases(Handle.parse("20.500.1/c"), lookup) == final
    assert follow_aliases(Handle.parse("20.500.1/none"), lookup) is None
    with pytest.raises(AliasLoop, match="more than 1 HS_ALIAS"):
        follow_aliases(Handle.parse("20.500.1/a"), lookup, max_hops=1)


def test_follow_aliases_detects_cycles_and_dangling_targets() -> None:
    from identifiers.record import follow_aliases

    loop = _store(_alias("9.9/a", "9.9/b"), _alias("9.9/b", "9.9/a"))
    with pytest.raises(AliasLoop, match=re.escape("9.9/a -> 9.9/b -> 9.9/a")):
        follow_aliases(Handle.parse("9.9/a"), loop)
    dangling = _store(_alias("9.9/a", "9.9/gone"))
    with pytest.raises(NotFound, match=re.escape("9.9/gone")):
        follow_aliases(Handle.parse("9.9/a"), dangling)


def test_permission_string_bit_order() -> None:
    # Handle.net's default admin grant: everything but LIST_HANDLES, ADD_NA and DELETE_NA.
    assert permissions_to_string(DEFAULT_PERMISSIONS) == "011111110011"
    parsed = permissions_from_string("011111110011")
    assert parsed & AdminPermission.ADD_HANDLE and parsed & AdminPermission.READ_VALUE
    assert not parsed & AdminPermission.LIST_HANDLES and not parsed & AdminPermission.ADD_NA
    assert permissions_from_string("1") == AdminPermission.LIST_HANDLES


ADMIN = AdminIdentity.parse("300:20.500.1/admin")
OTHER = AdminIdentity.parse("300:20.500.1/other")


def _owned(permissions: str = "011111110011", admin: str = "300:20.500.1/admin") -> HandleRecord:
    grant = AdminGrant.parse(f"{admin}@{permissions}")
    return HandleRecord(H).add(HS_ADMIN, grant.to_data()).add(URL, "https://a.example")


def test_required_permissions_for_changes() -> None:
    before = _owned()
    changed = before.with_value(HandleValue.make(1, URL, "https://b.example"))
    added = before.add("NOTE", "n")
    admin_added = before.add(HS_ADMIN, AdminGrant(OTHER).to_data())
    assert required_permissions(None, before) == AdminPermission.ADD_HANDLE
    assert required_permissions(before, None) == AdminPermission.DELETE_HANDLE
    assert required_permissions(before, changed) == AdminPermission.MODIFY_VALUE
    assert required_permissions(before, added) == AdminPermission.ADD_VALUE
    assert required_permissions(before, before.without(1)) == AdminPermission.REMOVE_VALUE
    assert required_permissions(before, admin_added) == AdminPermission.ADD_ADMIN
    assert required_permissions(before, before) == AdminPermission(0)


def test_authorise_change_uses_hs_admin_grants() -> None:
    before = _owned(permissions="011111100011")  # no MODIFY_VALUE
    changed = before.with_value(HandleValue.make(1, URL, "https://b.example"))
    authorise_change(before, before.add("NOTE", "n"), ADMIN)
    with pytest.raises(NotAllowed, match="lacks MODIFY_VALUE"):
        authorise_change(before, changed, ADMIN)
    with pytest.raises(NotAllowed, match="lacks ADD_VALUE"):
        authorise_change(before, before.add("NOTE", "n"), OTHER)
    authorise_change(before, None, ADMIN)


def test_creation_is_authorised_by_the_prefix_record() -> None:
    prefix_record = HandleRecord(H.prefix_handle).add(
        HS_ADMIN, AdminGrant.parse("300:20.500.1/admin@000000000001").to_data()
    )
    new = HandleRecord(H).add(URL, "https://a.example")
    authorise_change(None, new, ADMIN, prefix_record=prefix_record)
    with pytest.raises(NotAllowed, match="no prefix record"):
        authorise_change(None, new, ADMIN)
    with pytest.raises(NotAllowed, match="lacks ADD_HANDLE"):
        authorise_change(None, new, OTHER, prefix_record=prefix_record)


def test_group_membership_through_hs_vlist() -> None:
    group_handle = Handle.parse("20.500.1/admins")
    group = HandleRecord(group_handle).add(
        HS_VLIST, parse_value_assignment("HS_VLIST=300:20.500.1/other")[3], index=200
    )
    record = _owned(admin="200:20.500.1/admins")
    lookup = _store(group)
    assert is_authorised(record, OTHER, AdminPermission.ADD_VALUE, lookup)
    assert not is_authorised(record, OTHER, AdminPermission.ADD_VALUE)  # no lookup given
    assert not is_authorised(record, ADMIN, AdminPermission.ADD_VALUE, lookup)
    # A group that contains itself does not loop forever.
    cyclic = HandleRecord(group_handle).add(
        HS_VLIST, parse_value_assignment("HS_VLIST=200:20.500.1/admins")[3], index=200
    )
    assert not is_authorised(record, OTHER, AdminPermission.ADD_VALUE, _store(cyclic))
