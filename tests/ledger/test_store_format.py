"""The database format: stamped on creation, checked on every open, older layouts handled."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger import keys, store
from ledger.errors import LedgerError
from ledger.log import Ledger

ORIGIN = "example.org/format-test"


@pytest.fixture
def ledger(database_url: str):
    log = Ledger.open(database_url, keys.generate(), ORIGIN)
    log.append_many([("lot.event", {"n": n}) for n in range(5)])
    yield log
    log.engine.dispose()


def sql(log: Ledger, statement: str, **params: object) -> list[tuple]:
    with log.engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def reopen(log: Ledger) -> Ledger:
    return Ledger.open(log.engine, log.signer, ORIGIN)


def test_a_new_database_records_the_current_format(ledger: Ledger):
    assert sql(ledger, "SELECT id, version FROM tracespace_format") == [(1, store.STORE_FORMAT)]
    reopen(ledger)  # and opens again, unchanged
    assert sql(ledger, "SELECT version FROM tracespace_format") == [(store.STORE_FORMAT,)]


def test_a_newer_format_is_refused_and_left_alone(ledger: Ledger):
    newer = store.STORE_FORMAT + 1
    sql(ledger, "UPDATE tracespace_format SET version = :v", v=newer)
    with pytest.raises(LedgerError, match=f"format {newer}, written by a newer tracespace"):
        reopen(ledger)
    assert sql(ledger, "SELECT version FROM tracespace_format") == [(newer,)]


def test_a_database_from_before_the_format_was_recorded_is_stamped(ledger: Ledger):
    sql(ledger, "DROP TABLE tracespace_format")
    reopened = reopen(ledger)
    assert sql(ledger, "SELECT version FROM tracespace_format") == [(store.STORE_FORMAT,)]
    assert reopened.size == ledger.size


def test_the_pre_release_node_layout_is_refused(ledger: Ledger):
    sql(ledger, "DROP TABLE tracespace_format")
    # In the pre-release layout, key 1 was the hash of leaf 1.
    sql(ledger, "INSERT INTO ledger_node (id, hash) VALUES (1, :h)", h=b"\x01" * 32)
    with pytest.raises(LedgerError, match="pre-release key layout"):
        reopen(ledger)


def test_older_formats_are_migrated_step_by_step(ledger: Ledger, monkeypatch):
    steps: list[int] = []
    sql(ledger, "UPDATE tracespace_format SET version = 1")
    monkeypatch.setattr(store, "STORE_FORMAT", 3)
    monkeypatch.setattr(
        store, "MIGRATIONS", {1: lambda conn: steps.append(1), 2: lambda conn: steps.append(2)}
    )
    reopen(ledger)
    assert steps == [1, 2]
    assert sql(ledger, "SELECT version FROM tracespace_format") == [(3,)]
    reopen(ledger)
    assert steps == [1, 2]  # nothing left to do


def test_a_failing_migration_changes_nothing(ledger: Ledger, monkeypatch):
    def broken(conn) -> None:
        conn.execute(text("DELETE FROM ledger_head"))
        raise RuntimeError("step failed")

    sql(ledger, "UPDATE tracespace_format SET version = 1")
    monkeypatch.setattr(store, "STORE_FORMAT", 2)
    monkeypatch.setattr(store, "MIGRATIONS", {1: broken})
    with pytest.raises(RuntimeError):
        reopen(ledger)
    assert sql(ledger, "SELECT version FROM tracespace_format") == [(1,)]
    assert sql(ledger, "SELECT size FROM ledger_head") == [(ledger.size,)]


def test_a_step_that_is_not_loaded_is_a_clear_error(ledger: Ledger, monkeypatch):
    sql(ledger, "UPDATE tracespace_format SET version = 1")
    monkeypatch.setattr(store, "MIGRATIONS", {})
    with pytest.raises(LedgerError, match="the step from format 1 is not loaded here"):
        reopen(ledger)
    assert sql(ledger, "SELECT version FROM tracespace_format") == [(1,)]


def test_every_format_below_the_current_one_has_a_step():
    import connector.tables  # noqa: F401  (the node's packages register their steps)

    assert sorted(store.MIGRATIONS) == list(range(1, store.STORE_FORMAT))
