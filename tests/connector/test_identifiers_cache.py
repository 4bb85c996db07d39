"""The registry's record cache stays right when another registry (another connection, as
another process would use) changes the database: single changes, deletes, bulk runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from identifiers.digital_link import DigitalLink
from identifiers.handle import Handle
from identifiers.record import HS_ALIAS, URL, HandleRecord, HandleValue
from identifiers.registry import Registry
from ledger.log import Ledger

PREFIX = "88.100.1"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Registry, Registry]:
    """A reader with a cache that never expires by time, and a separate writer."""
    url = f"sqlite:///{tmp_path / 'node.db'}"
    key = SigningKey.generate()
    writer = Registry(Ledger.open(url, key, "test.example/w"), [PREFIX], cache_seconds=0)
    reader = Registry(Ledger.open(url, key, "test.example/r"), [PREFIX], cache_seconds=3600)
    return reader, writer


def _url(registry: Registry, handle: Handle) -> str | None:
    record = registry.get(handle)
    return None if record is None else record.first(URL).value


def test_reader_sees_other_connections_changes_at_once(pair: tuple[Registry, Registry]) -> None:
    reader, writer = pair
    name = Handle.of(PREFIX, "obj-1")
    assert reader.get(name) is None  # a cached miss
    writer.create(HandleRecord(name).add(URL, "https://a.example"))
    assert _url(reader, name) == "https://a.example"
    assert _url(reader, name) == "https://a.example"  # now cached
    writer.set_values(name, [HandleValue.make(1, URL, "https://b.example")])
    assert _url(reader, name) == "https://b.example"
    writer.delete(name)
    assert reader.get(name) is None


def test_alias_followed_through_cache(pair: tuple[Registry, Registry]) -> None:
    reader, writer = pair
    target, alias = Handle.of(PREFIX, "t"), Handle.of(PREFIX, "a")
    writer.create(HandleRecord(target).add(URL, "https://t.example"))
    writer.create(HandleRecord(alias).add(HS_ALIAS, str(target)))
    assert reader.resolve(alias).handle == target
    writer.set_values(target, [HandleValue.make(1, URL, "https://u.example")])
    assert reader.resolve(alias).first(URL).value == "https://u.example"


def test_bulk_registration_elsewhere_clears_cached_misses(pair: tuple[Registry, Registry]) -> None:
    reader, writer = pair
    batch = DigitalLink.parse("/01/09506000134376/10/L1")
    serials = [f"S{n:05d}" for n in range(1500)]  # more changes than one drop list holds
    from identifiers.canonical import gs1_to_handle

    names = [gs1_to_handle(DigitalLink.parse(f"{batch.path()}/21/{s}"), PREFIX) for s in serials]
    assert all(reader.get(n) is None for n in names[:50])
    writer.register_serials(batch, serials, url_template="https://p.example/{serial}")
    assert _url(reader, names[0]) == "https://p.example/S00000"
    assert _url(reader, names[49]) == "https://p.example/S00049"
