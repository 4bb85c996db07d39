"""Shared fixtures: conformance data, and a fresh database on each backend.

PostgreSQL tests use the server at $TRACESPACE_TEST_PG (default
postgresql+psycopg://postgres@127.0.0.1:5432/test). Each test run creates its own
database and drops it at the end, so runs never see each other's data. Without a
server they skip with a message; with TRACESPACE_REQUIRE_POSTGRES=1 (CI) they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFORMANCE = REPO.parent / "shared" / "conformance"
PG_ADMIN_URL = os.environ.get(
    "TRACESPACE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def conformance() -> Path:
    if not CONFORMANCE.is_dir():
        pytest.skip(f"conformance data not found at {CONFORMANCE} (a clone without ../shared)")
    return CONFORMANCE


def _admin_connection(admin_url: str) -> Any:
    """An autocommit psycopg connection to the server's admin database."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    return psycopg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        dbname=url.database,
        connect_timeout=3,
        autocommit=True,
    )


def _postgres_or_skip() -> str:
    try:
        with _admin_connection(PG_ADMIN_URL):
            return PG_ADMIN_URL
    except Exception as exc:  # any failure to reach the server means "no PostgreSQL here"
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"
        if os.environ.get("TRACESPACE_REQUIRE_POSTGRES") == "1":
            pytest.fail(message + " (required in CI)")
        pytest.skip(message + "; SQLite covers the same tests")


@pytest.fixture(scope="session")
def pg_server() -> str:
    return _postgres_or_skip()


def _create_pg_database(admin_url: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    name = f"tracespace_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(admin_url: str, name: str) -> None:
    with _admin_connection(admin_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    admin = _postgres_or_skip()
    url, name = _create_pg_database(admin)
    try:
        yield url
    finally:
        _drop_pg_database(admin, name)
