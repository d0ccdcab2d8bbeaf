"""The results store: schema, recording, reading back, retention, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from mlguard.errors import EXIT_BAD_INPUT
from mlguard.history import tables
from mlguard.history.errors import StoreError
from mlguard.history.store import Store, store_url
from mlguard.model import Status, iso, utcnow
from tests.history import estates as e


def test_migrations_create_exactly_the_declared_schema(store: Store) -> None:
    assert store.revision() == "0002"
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": tables.VERSION_TABLE})
        assert compare_metadata(ctx, tables.metadata) == []


def test_reopening_does_not_migrate_again(store_target: str) -> None:
    with Store.open(store_target) as first:
        run = first.record(e.week1().scan())
    with Store.open(store_target) as again:
        assert [r.id for r in again.runs()] == [run]


def test_record_keeps_counts_scope_and_provenance(store: Store) -> None:
    week1 = e.week1()
    run_id = store.record(week1.scan(), week1.inventory())
    assert run_id.startswith("20261101-020000-")
    (run,) = store.runs()
    assert run.id == run_id
    assert iso(run.started_at) == "2026-11-01T02:00:00Z"
    assert run.counts.total == 5
    assert run.counts.failed == 2
    assert run.counts.passed == 3
    assert run.resources == 5
    assert run.complete
    assert run.inventory_source == "inventory"
    assert run.scope == [
        "aws:111122223333",
        "region:eu-west-1",
        "databricks:dbc-1234.cloud.databricks.com",
    ]
    assert store.provenance(run_id) == week1.provenance()
    stored = sorted((r.fingerprint, r.policy_id, r.resource_uid, r.status) for r in store.results(run_id))
    expected = sorted(
        (r.fingerprint, r.policy_id, r.resource_uid, r.status.value) for r in week1.scan().results
    )
    assert stored == expected
    assert Status.FAIL.value in {s[3] for s in stored}
    assert store.scan(run_id) == week1.scan()


def test_recording_the_same_scan_twice_gives_one_run(store: Store) -> None:
    scan = e.week1().scan()
    first = store.record(scan)
    assert store.add(scan) == (first, False)
    assert len(store.runs()) == 1


def test_without_inventory_resources_come_from_results(store: Store) -> None:
    run_id = store.record(e.week2().scan())
    (run,) = store.runs()
    assert run.inventory_source == "results"
    assert {i.uid for i in store.inventory(run_id)} == {r.uid for r in e.week2().resources}


def test_resolve_run_references(store: Store) -> None:
    a = store.record(e.week1().scan())
    b = store.record(e.week2().scan())
    assert store.resolve("latest").id == b
    assert store.resolve("latest~1").id == a
    assert store.resolve(a[:10]).id == a  # 20261101-0 is a unique prefix
    assert store.previous(b) is not None
    assert store.previous(b).id == a  # type: ignore[union-attr]
    assert store.previous(a) is None
    with pytest.raises(StoreError, match="ambiguous"):
        store.resolve("2026")
    with pytest.raises(StoreError, match="no run"):
        store.resolve("latest~2")
    with pytest.raises(StoreError, match="no run"):
        store.resolve("1999")
    with pytest.raises(StoreError, match="latest~N"):
        store.resolve("latest~x")


def test_prune_keeps_newest_runs(store: Store) -> None:
    ids = []
    for day in range(1, 6):
        est = e.week1()
        est.started = f"2026-11-0{day}T02:00:00Z"
        ids.append(store.record(est.scan(), est.inventory()))
    assert store.prune(keep=2, dry_run=True) == ids[:3]
    assert len(store.runs()) == 5
    assert store.prune(keep=2) == ids[:3]
    assert [r.id for r in store.runs()] == ids[3:]
    with store.engine.connect() as conn:
        for table in tables.CHILD_TABLES:
            left = conn.execute(text(f"SELECT COUNT(DISTINCT run_id) FROM {table.name}")).scalar_one()
            assert left <= 2, table.name
    assert store.prune(keep=0) == ids[3:]
    assert store.runs() == []


def test_prune_by_age_and_union_of_rules(store: Store) -> None:
    now = utcnow()
    ids = []
    for age in (40, 20, 1):
        est = e.week1()
        est.started = iso(now - timedelta(days=age))
        ids.append(store.record(est.scan()))
    assert store.prune(keep_days=30, dry_run=True) == ids[:1]
    # Either rule keeps a run: the newest 1, or those of the last 30 days.
    assert store.prune(keep=1, keep_days=30) == ids[:1]
    assert store.prune(keep=1, keep_days=10) == ids[1:2]
    with pytest.raises(StoreError, match="say what to keep"):
        store.prune()


def test_store_url_forms(tmp_path: Path) -> None:
    assert store_url(str(tmp_path / "x.sqlite")).database == str(tmp_path / "x.sqlite")
    assert store_url("postgresql://u:p@db/mlg").drivername == "postgresql+psycopg"
    assert store_url("postgres://u:p@db/mlg").drivername == "postgresql+psycopg"
    with pytest.raises(StoreError, match="unsupported store backend"):
        store_url("mysql://u:p@db/x")


def test_unreachable_server_is_a_clean_error_without_the_password() -> None:
    with pytest.raises(StoreError) as info:
        Store.open("postgresql+psycopg://mlguard:s3cr3t-canary@127.0.0.1:1/nowhere?connect_timeout=2")
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert "s3cr3t-canary" not in info.value.render()
    assert "cannot open the results store" in info.value.render()


def test_a_store_from_a_newer_mlguard_is_refused(store_target: str) -> None:
    with Store.open(store_target) as s, s.engine.begin() as conn:
        conn.execute(text(f"UPDATE {tables.VERSION_TABLE} SET version_num = '9999'"))
    with pytest.raises(StoreError, match="newer than this mlguard"):
        Store.open(store_target)
