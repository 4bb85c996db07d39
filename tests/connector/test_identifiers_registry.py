"""The handle registry on SQLite and PostgreSQL: changes and their ledger entries, HS_ADMIN
checks, bulk registration, history that matches the ledger, GS1 lookups and delegations."""

from __future__ import annotations

import json

import pytest
from nacl.signing import SigningKey

from identifiers.admin import AdminGrant
from identifiers.digital_link import DigitalLink
from identifiers.errors import InvalidGs1, InvalidValue, NotAllowed, NotFound
from identifiers.handle import Handle
from identifiers.record import HS_ADMIN, HS_ALIAS, URL, HandleRecord, HandleValue
from identifiers.registry import BATCH_ENTRY, HANDLE_ENTRY, HandleExists, Registry
from ledger.log import Ledger
from ledger.verify import verify_database

PREFIX = "88.100.1"
BATCH = DigitalLink.parse("/01/09506000134376/10/LOT-7")


@pytest.fixture
def registry(database_url: str) -> Registry:
    ledger = Ledger.open(database_url, SigningKey.generate(), "test.example/registry")
    return Registry(ledger, [PREFIX], public_url="http://node.example", cache_seconds=0)


def _record(suffix: str, url: str = "https://example.com/a") -> HandleRecord:
    return HandleRecord(Handle.of(PREFIX, suffix)).add(URL, url)


def test_create_update_delete_each_append_one_entry(registry: Registry) -> None:
    ledger = registry.ledger
    start = ledger.size
    created = registry.create(_record("obj-1"))
    assert ledger.size == start + 1
    entry = ledger.entry(created.seq)
    assert entry.type == HANDLE_ENTRY
    assert entry.payload["op"] == "create"
    assert entry.payload["record"] == registry.get(created.handle).to_dict()
    # The prefix administrator's HS_ADMIN value was added.
    admin = registry.get(created.handle).first(HS_ADMIN)
    assert admin is not None and admin.value["handle"] == f"0.na/{PREFIX}"

    updated = registry.set_values(created.handle, [HandleValue.make(1, URL, "https://b.example")])
    assert ledger.entry(updated.seq).payload["op"] == "update"
    assert registry.get(created.handle).first(URL).value == "https://b.example"

    deleted = registry.delete(created.handle)
    assert ledger.entry(deleted.seq).payload == {
        "v": 1,
        "op": "delete",
        "handle": f"{PREFIX}/obj-1",
        "record": None,
        "actor": f"300:0.na/{PREFIX}",
    }
    assert registry.get(created.handle) is None
    assert ledger.size == start + 3
    history = registry.history(created.handle)
    assert [item.op for item in history] == ["create", "update", "delete"]
    assert [item.seq for item in history] == [created.seq, updated.seq, deleted.seq]
    assert verify_database(ledger.engine.url.render_as_string(hide_password=False)).size > 0


def test_refused_changes_write_nothing(registry: Registry) -> None:
    registry.create(_record("obj-1"))
    size = registry.ledger.size
    with pytest.raises(HandleExists):
        registry.create(_record("obj-1"))
    with pytest.raises(NotAllowed, match="not homed"):
        registry.create(HandleRecord(Handle.of("99.1", "x")).add(URL, "https://a.example"))
    with pytest.raises(NotFound):
        registry.delete(Handle.of(PREFIX, "missing"))
    with pytest.raises(NotFound):
        registry.remove_values(Handle.of(PREFIX, "obj-1"), [42])
    assert registry.ledger.size == size


def test_hs_admin_values_govern_changes(registry: Registry) -> None:
    """A record administered by someone else cannot be changed by the node's operator."""
    other = AdminGrant.parse(f"300:{PREFIX}/alice").to_data()
    record = _record("owned").with_value(HandleValue.make(100, HS_ADMIN, other))
    registry.create(record)
    size = registry.ledger.size
    with pytest.raises(NotAllowed, match="lacks MODIFY_VALUE"):
        registry.set_values(record.handle, [HandleValue.make(1, URL, "https://evil.example")])
    with pytest.raises(NotAllowed, match="lacks DELETE_HANDLE"):
        registry.delete(record.handle)
    assert registry.ledger.size == size
    # A grant without REMOVE_VALUE lets the operator add but not remove values.
    limited = AdminGrant.parse(f"300:0.na/{PREFIX}@000001010011").to_data()
    registry.create(_record("limited").with_value(HandleValue.make(100, HS_ADMIN, limited)))
    name = Handle.of(PREFIX, "limited")
    registry.set_values(name, [HandleValue.make(2, "NOTE", "added")])
    with pytest.raises(NotAllowed, match="REMOVE_VALUE"):
        registry.remove_values(name, [2])


def test_aliases_are_followed_with_loop_protection(registry: Registry) -> None:
    target = registry.create(_record("target")).handle
    alias = HandleRecord(Handle.of(PREFIX, "alias")).add(HS_ALIAS, str(target))
    registry.create(alias)
    assert registry.resolve(alias.handle).handle == target
    registry.create(HandleRecord(Handle.of(PREFIX, "a")).add(HS_ALIAS, f"{PREFIX}/b"))
    registry.create(HandleRecord(Handle.of(PREFIX, "b")).add(HS_ALIAS, f"{PREFIX}/a"))
    from identifiers.errors import AliasLoop

    with pytest.raises(AliasLoop, match="cycle"):
        registry.resolve(Handle.of(PREFIX, "a"))


def test_bulk_registration_is_auditable_per_handle(registry: Registry) -> None:
    ledger = registry.ledger
    start = ledger.size
    seen = []
    result = registry.register_serials(
        BATCH,
        [f"S{n:05d}" for n in range(2500)],
        url_template="https://example.com/p/{serial}",
        chunk=1000,
        progress=seen.append,
    )
    assert result.count == 2500
    assert seen == [1000, 2000, 2500]
    # One entry for the batch handle, then one per chunk of 1000.
    assert ledger.size == start + 4
    assert [ledger.entry(s).type for s in result.seqs] == [HANDLE_ENTRY] + [BATCH_ENTRY] * 3
    serial = DigitalLink.parse("/01/09506000134376/10/LOT-7/21/S01234")
    record = registry.gs1_record(serial)
    assert record is not None
    assert str(record.handle) == f"{PREFIX}/01.09506000134376.10.LOT-7.21.S01234"
    assert record.first(URL).value == "https://example.com/p/S01234"
    assert record.first("TS_GS1").value == serial.uri()
    # The history reconstructed from the batch entry is exactly the stored record.
    [item] = registry.history(record.handle)
    assert item.record == record.to_dict()
    entry = ledger.entry(item.seq)
    assert str(record.handle) in [i["handle"] for i in entry.payload["items"]]
    # A serial nobody registered falls back to the lot's handle.
    unknown = DigitalLink.parse("/01/09506000134376/10/LOT-7/21/NOPE")
    assert registry.gs1_record(unknown).handle == result.batch


def test_bulk_is_all_or_nothing(registry: Registry) -> None:
    registry.register_serials(BATCH, ["A1", "A2"])
    size, count = registry.ledger.size, registry.count()
    with pytest.raises(HandleExists, match="A2"):
        registry.register_serials(BATCH, ["A3", "A2"])
    with pytest.raises(InvalidGs1, match="listed twice"):
        registry.register_serials(BATCH, ["B1", "B1"])
    with pytest.raises(InvalidGs1):
        registry.register_serials(BATCH, ["bad serial with spaces"])
    with pytest.raises(InvalidGs1, match="batch"):
        registry.register_serials(DigitalLink.parse("/01/09506000134376/21/X"), ["1"])
    with pytest.raises(InvalidValue):
        registry.register_serials(BATCH, ["C1"], url_template="ftp://x/{serial}")
    assert (registry.ledger.size, registry.count()) == (size, count)


def test_delegation_records(registry: Registry) -> None:
    assert registry.delegation(PREFIX).url is None  # homed here
    assert registry.delegation(f"{PREFIX}.9").url is None  # homed ancestor: authoritative
    assert registry.delegation("77.1") is None
    child = HandleRecord(Handle.of("0.na", "77")).add(URL, "http://national.example/", ttl=60)
    registry.create(child)
    found = registry.delegation("77.1.2")
    assert (found.via, found.url, found.ttl) == ("77", "http://national.example", 60)


def test_linksets_round_trip_through_ledger(registry: Registry) -> None:
    entry = {
        "anchor": "/01/09506000134376",
        "defaultLinktype": "gs1:pip",
        "links": [{"linktype": "gs1:pip", "href": "https://example.com/pip", "title": "PIP"}],
    }
    anchor, seq = registry.put_linkset(entry)
    assert anchor == "/01/09506000134376"
    assert registry.ledger.entry(seq).payload["op"] == "put"
    [linkset] = registry.linksets(DigitalLink.parse("/01/09506000134376/10/L/21/S"))
    assert linkset.links[0].href == "https://example.com/pip"
    size = registry.ledger.size
    with pytest.raises(InvalidValue):
        registry.put_linkset({**entry, "links": [{"linktype": "gs1:pip", "href": "javascript:x"}]})
    assert registry.ledger.size == size
    registry.delete_linkset(anchor)
    assert registry.linksets(DigitalLink.parse("/01/09506000134376")) == []
    assert json.loads(json.dumps(registry.all_linksets())) == []
