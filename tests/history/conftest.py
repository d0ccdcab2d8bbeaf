"""Stores for the history tests: SQLite always; PostgreSQL when MLGUARD_TEST_POSTGRES_URL is set.

Start a throwaway server with ``eval "$(scripts/start-postgres.sh)"``. Each PostgreSQL test gets
its own fresh schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from mlguard.history.store import Store

PG_ENV = "MLGUARD_TEST_POSTGRES_URL"
PG_SKIP = f'PostgreSQL tests need {PG_ENV} (start a server with: eval "$(scripts/start-postgres.sh)")'


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections see only a brand-new, empty schema (dropped afterwards)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_SKIP)
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    name = f"mlguard_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store location on each backend: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_target: str) -> Iterator[Store]:
    with Store.open(store_target) as s:
        yield s
