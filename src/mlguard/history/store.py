"""The results store: every recorded scan, its results, inventory and collection errors.

SQLite (a file path, the default) or PostgreSQL (a ``postgresql+psycopg://`` URL) through
SQLAlchemy; the schema is created and upgraded by the Alembic migrations shipped in this package,
on open. Run ids are ``YYYYMMDD-HHMMSS-xxxxxx``: the scan's start time in UTC plus the start of the
digest of its results, so they sort by time and an import of the same results gives the same id.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

import sqlalchemy.exc
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import URL, Connection, Engine, create_engine, delete, event, func, make_url, select, text
from sqlalchemy.pool import StaticPool

from mlguard.cost.model import CostSummary
from mlguard.history import tables as t
from mlguard.history.defaults import DEFAULT_LOCK_TIMEOUT
from mlguard.history.errors import StoreError
from mlguard.history.lock import advisory_key, advisory_lock, file_lock, memory_lock
from mlguard.history.models import (
    InventoryItem,
    RunCounts,
    RunInfo,
    items_from_results,
    summarise,
)
from mlguard.model import Inventory, Provenance, ScanResult, Status, utcnow

SCRIPT_LOCATION = "mlguard.history:migrations"
_CHUNK = 5000
_RUN_LOCK = "mlguard.history.run"
_MIGRATE_LOCK = "mlguard.history.migrate"


class StoredResult(NamedTuple):
    """A result as the store keeps it: enough to compare runs (a tuple: runs hold 100k of them)."""

    fingerprint: str
    policy_id: str
    resource_uid: str
    resource_type: str
    provider: str
    account: str | None
    region: str | None
    workspace: str | None
    status: str
    severity: str
    category: str


class InventoryRow(NamedTuple):
    """One resource of a run's inventory, as stored."""

    uid: str
    type: str
    provider: str
    account: str | None
    region: str | None
    workspace: str | None

    def item(self) -> InventoryItem:
        return InventoryItem(**self._asdict())


class StoredError(BaseModel):
    """The scope of one collection error of a run."""

    model_config = ConfigDict(frozen=True)

    provider: str
    account: str | None
    region: str | None
    workspace: str | None
    resource_type: str | None
    resource_uid: str | None
    operation: str
    code: str

    def covers(self, item: InventoryRow) -> bool:
        """True if this error may hide ``item``: its listing or its own read failed."""
        if self.resource_uid is not None:
            return self.resource_uid == item.uid
        return (
            self.provider == item.provider
            and (self.resource_type is None or self.resource_type == item.type)
            and (self.account is None or self.account == item.account)
            and (self.region is None or self.region == item.region)
            and (self.workspace is None or self.workspace == item.workspace)
        )


def store_url(target: str) -> URL:
    """A database URL from ``--store``: a SQLite file path, or a SQLAlchemy URL."""
    if "://" not in target:
        path = Path(target).expanduser().resolve()
        return URL.create("sqlite", database=str(path))
    try:
        url = make_url(target)
    except sqlalchemy.exc.ArgumentError as exc:
        raise StoreError(f"--store is neither a file path nor a database URL: {exc}") from None
    if url.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver mlguard ships with
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported store backend {url.get_backend_name()!r}: use a SQLite path or a postgresql:// URL"
        )
    return url


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_time(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def scope_labels(p: Provenance) -> list[str]:
    labels = [f"aws:{a}" for a in sorted(p.accounts)]
    labels += [f"region:{r}" for r in sorted(p.regions)]
    labels += [f"databricks:{w}" for w in sorted(p.workspaces)]
    labels += [f"source:{s}" for s in p.sources]
    return labels


def _frameworks(compliance: Iterable[str]) -> list[str]:
    return sorted({c.split(":", 1)[0] for c in compliance if c})


def cost_stats(cost: CostSummary | None) -> list[dict[str, Any]]:
    """The run's cost totals as whole numbers (``history trend --metric cost``); none when no cost
    policy ran, and no row for a figure that is unknown or unpriced."""
    if cost is None:
        return []
    t = cost.total
    figures = {
        "gpu_hours_per_month": t.gpu_hours_per_month,
        "node_hours_per_month": t.node_hours_per_month,
        "usd_per_month": t.usd_per_month,
        "findings": t.findings,
        "unknown": t.unknown,
    }
    return [
        {"dimension": "cost", "key": k, "status": Status.FAIL.value, "count": round(v)}
        for k, v in figures.items()
        if v is not None
    ]


def _stats(scan: ScanResult) -> list[dict[str, Any]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for r in scan.results:
        status = r.status.value
        counts["severity", r.severity.value, status] += 1
        counts["category", r.category.value, status] += 1
        counts["provider", r.provider, status] += 1
        for fw in _frameworks(r.compliance):
            counts["framework", fw, status] += 1
    rows = [{"dimension": d, "key": k, "status": s, "count": n} for (d, k, s), n in sorted(counts.items())]
    return rows + cost_stats(scan.cost)


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), _CHUNK):
        yield rows[i : i + _CHUNK]


class Store:
    """An open results store. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self.engine = engine
        self.url = url

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, target: str, *, migrate: bool = True) -> Store:
        url = store_url(target)
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                try:
                    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(
                        f"cannot create the folder of the store {url.database}: {exc.strerror}"
                    ) from None
                engine = create_engine(url)
            else:
                engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            try:
                engine = create_engine(url, pool_pre_ping=True)
            except ModuleNotFoundError as exc:
                raise StoreError(
                    f"the PostgreSQL driver is missing ({exc.name}): pip install 'mlguard[postgres]'"
                ) from None
        store = cls(engine, url)
        if migrate:
            try:
                store.migrate()
            except sqlalchemy.exc.DBAPIError as exc:  # unreachable, refused, not a database, ...
                engine.dispose()
                raise StoreError(f"cannot open the results store {store.display}: {exc.orig}") from None
        return store

    @property
    def display(self) -> str:
        """The store's URL with any password hidden: safe to print."""
        return self.url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    @property
    def _sqlite_file(self) -> Path | None:
        db = self.url.database
        if self.backend == "sqlite" and db and db != ":memory:":
            return Path(db)
        return None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ schema

    @staticmethod
    def _alembic_config() -> AlembicConfig:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", SCRIPT_LOCATION)
        return cfg

    def _revision(self, conn: Connection) -> str | None:
        ctx = MigrationContext.configure(conn, opts={"version_table": t.VERSION_TABLE})
        return ctx.get_current_revision()

    def migrate(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is already there)."""
        cfg = self._alembic_config()
        script = ScriptDirectory.from_config(cfg)
        head = script.get_current_head()
        with self.engine.connect() as conn:
            current = self._revision(conn)
        if current == head:
            return
        if current is not None:
            try:
                script.get_revision(current)
            except CommandError:
                raise StoreError(
                    f"the store {self.display} has schema revision {current}, newer than this mlguard "
                    "knows: upgrade mlguard"
                ) from None
        guard: AbstractContextManager[None] = nullcontext()
        sqlite_file = self._sqlite_file
        if sqlite_file is not None:
            guard = file_lock(sqlite_file.with_name(sqlite_file.name + ".migrate.lock"), 120, self.display)
        with guard, self.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(_MIGRATE_LOCK)})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def revision(self) -> str | None:
        with self.engine.connect() as conn:
            return self._revision(conn)

    # ------------------------------------------------------------------ locking

    def lock(self, timeout: float = DEFAULT_LOCK_TIMEOUT) -> AbstractContextManager[None]:
        """Exclusive use of the store for one run; raises StoreLockTimeout after ``timeout`` s."""
        sqlite_file = self._sqlite_file
        if sqlite_file is not None:
            return file_lock(sqlite_file.with_name(sqlite_file.name + ".lock"), timeout, self.display)
        if self.backend == "sqlite":
            return memory_lock(self.engine, timeout, self.display)
        return advisory_lock(self.engine, _RUN_LOCK, timeout, self.display)

    # ------------------------------------------------------------------ writing

    def record(self, scan: ScanResult, inventory: Inventory | Sequence[InventoryItem] | None = None) -> str:
        """Record one scan and return its run id (the existing id if it was recorded before).

        ``inventory`` is what was collected (the Inventory or its summary) and feeds drift
        detection; without it the resources are taken from the results, which misses resources
        no policy judged, and the run says so (``inventory_source = "results"``).
        """
        return self.add(scan, inventory)[0]

    def add(
        self, scan: ScanResult, inventory: Inventory | Sequence[InventoryItem] | None = None
    ) -> tuple[str, bool]:
        """Like :meth:`record`, and also say whether the run was new."""
        body = scan.model_dump_json(exclude_none=True).encode()
        digest = hashlib.sha256(body).hexdigest()
        existing = self._run_with_digest(digest)
        if existing is not None:
            return existing, False

        source: Literal["inventory", "results"] = "inventory"
        if isinstance(inventory, Inventory):
            items = summarise(inventory)
        elif inventory is None:
            items = items_from_results(scan.results)
            source = "results"
        else:
            items = list(inventory)
        unique_items = {i.uid: i for i in items}

        p = scan.provenance
        started = _parse_time(p.started_at)
        statuses = Counter(r.status for r in scan.results)
        run_id = f"{started:%Y%m%d-%H%M%S}-{digest[:6]}"
        with self.engine.begin() as conn:
            if conn.execute(select(t.runs.c.id).where(t.runs.c.id == run_id)).first() is not None:
                run_id = f"{started:%Y%m%d-%H%M%S}-{digest[:12]}"
            conn.execute(
                t.runs.insert().values(
                    id=run_id,
                    started_at=started,
                    finished_at=_parse_time(p.finished_at) if p.finished_at else None,
                    recorded_at=utcnow(),
                    digest=digest,
                    mlguard_version=p.version,
                    command=p.command,
                    provenance=p.model_dump(mode="json"),
                    scope=scope_labels(p),
                    total=len(scan.results),
                    passed=statuses[Status.PASS],
                    failed=statuses[Status.FAIL],
                    errors=statuses[Status.ERROR],
                    skipped=statuses[Status.SKIP],
                    waived=statuses[Status.WAIVED],
                    resources=len(unique_items),
                    collection_errors=len(scan.errors),
                    complete=not scan.errors,
                    inventory_source=source,
                )
            )
            conn.execute(
                t.documents.insert().values(
                    run_id=run_id, encoding="gzip", results_json=gzip.compress(body, mtime=0)
                )
            )
            result_rows = [
                {
                    "run_id": run_id,
                    "fingerprint": r.fingerprint,
                    "policy_id": r.policy_id,
                    "resource_uid": r.resource_uid,
                    "resource_type": r.resource_type,
                    "provider": r.provider,
                    "account": r.account,
                    "workspace": r.workspace,
                    "region": r.region,
                    "status": r.status.value,
                    "severity": r.severity.value,
                    "category": r.category.value,
                    "frameworks": _frameworks(r.compliance),
                }
                for r in scan.results
            ]
            for chunk in _chunks(result_rows):
                conn.execute(t.results.insert(), chunk)
            inventory_rows = [{"run_id": run_id, **i.model_dump()} for i in unique_items.values()]
            for chunk in _chunks(inventory_rows):
                conn.execute(t.inventory.insert(), chunk)
            error_rows = [
                {
                    "run_id": run_id,
                    "provider": e.provider,
                    "account": e.account,
                    "region": e.region,
                    "workspace": e.workspace,
                    "resource_type": e.resource_type,
                    "resource_uid": e.resource_uid,
                    "operation": e.operation,
                    "code": e.code,
                }
                for e in scan.errors
            ]
            if error_rows:
                conn.execute(t.collection_errors.insert(), error_rows)
            stats = [{"run_id": run_id, **s} for s in _stats(scan)]
            if stats:
                conn.execute(t.run_stats.insert(), stats)
        return run_id, True

    def prune(
        self, keep: int | None = None, keep_days: float | None = None, *, dry_run: bool = False
    ) -> list[str]:
        """Delete old runs; return their ids, oldest first.

        ``keep``: the newest N runs are kept. ``keep_days``: runs started in the last D days are
        kept. With both, a run is kept if either rule keeps it.
        """
        if keep is None and keep_days is None:
            raise StoreError("say what to keep: --keep N runs and/or --keep-days D")
        if (keep is not None and keep < 0) or (keep_days is not None and keep_days < 0):
            raise StoreError("--keep and --keep-days must not be negative")
        runs = self.runs()
        kept: set[str] = set()
        if keep is not None:
            kept.update(r.id for r in runs[len(runs) - keep :] if keep)
        if keep_days is not None:
            cutoff = utcnow() - timedelta(days=keep_days)
            kept.update(r.id for r in runs if r.started_at >= cutoff)
        doomed = [r.id for r in runs if r.id not in kept]
        if doomed and not dry_run:
            with self.engine.begin() as conn:
                for i in range(0, len(doomed), 500):
                    ids = doomed[i : i + 500]
                    for table in t.CHILD_TABLES:
                        conn.execute(delete(table).where(table.c.run_id.in_(ids)))
                    conn.execute(delete(t.runs).where(t.runs.c.id.in_(ids)))
        return doomed

    # ------------------------------------------------------------------ sharded runs

    def add_part(self, run: str, inventory: Inventory) -> None:
        """Keep one shard's partial inventory under ``run`` until ``history finalize`` merges the
        run's parts. A second part of the same shard of the same run is refused (exit 2), as
        ``mlguard merge`` refuses two files of one shard."""
        shard = inventory.provenance.shard
        if shard is None:
            raise StoreError("only a shard's partial inventory (collect --shard K/N) is a part of a run")
        body = gzip.compress(inventory.model_dump_json(exclude_none=True).encode(), mtime=0)
        row = {
            "run": run,
            "shard_index": shard.index,
            "shard_count": shard.count,
            "recorded_at": utcnow(),
            "encoding": "gzip",
            "inventory_json": body,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(t.shard_parts.insert().values(**row))
        except sqlalchemy.exc.IntegrityError:
            raise StoreError(
                f"shard {shard.index}/{shard.count} of run {run!r} is already in the store {self.display}"
            ) from None

    def parts(self, run: str) -> list[tuple[str, Inventory]]:
        """The parts recorded under ``run``, each with a label naming it, by shard count and index."""
        query = (
            select(t.shard_parts.c.shard_index, t.shard_parts.c.shard_count, t.shard_parts.c.inventory_json)
            .where(t.shard_parts.c.run == run)
            .order_by(t.shard_parts.c.shard_count, t.shard_parts.c.shard_index)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise StoreError(f"no shard parts of run {run!r} in the store {self.display}")
        parts = []
        for index, count, body in rows:
            label = f"{self.display}#{run}/shard-{index}-of-{count}"
            try:
                parts.append((label, Inventory.model_validate_json(gzip.decompress(body))))
            except ValidationError as exc:
                raise StoreError(f"{label} holds an inventory this mlguard cannot read: {exc}") from None
        return parts

    # ------------------------------------------------------------------ reading

    def _run_with_digest(self, digest: str) -> str | None:
        with self.engine.connect() as conn:
            existing = conn.execute(select(t.runs.c.id).where(t.runs.c.digest == digest)).scalar()
        return None if existing is None else str(existing)

    def find(self, scan: ScanResult) -> str | None:
        """The id of the run that recorded exactly these results (e.g. a loaded results.json), if any."""
        return self._run_with_digest(
            hashlib.sha256(scan.model_dump_json(exclude_none=True).encode()).hexdigest()
        )

    def runs(self, limit: int | None = None, until: str | None = None) -> list[RunInfo]:
        """Recorded runs, oldest first: the newest ``limit`` if given, up to run ``until`` if given."""
        query = select(t.runs).order_by(t.runs.c.id.desc())
        if until is not None:
            query = query.where(t.runs.c.id <= until)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_run_info(row) for row in reversed(rows)]

    def resolve(self, ref: str) -> RunInfo:
        """A run by id, unique id prefix, ``latest`` or ``latest~N`` (N runs before the latest)."""
        if ref == "latest" or ref.startswith("latest~"):
            back = 0
            if ref != "latest":
                try:
                    back = int(ref.removeprefix("latest~"))
                except ValueError:
                    raise StoreError(f"bad run reference {ref!r}: use latest~N with a number N") from None
            runs = self.runs(limit=back + 1)
            if len(runs) <= back:
                raise StoreError(f"no run {ref}: the store {self.display} holds {len(runs)} run(s)")
            return runs[0]
        with self.engine.connect() as conn:
            rows = (
                conn.execute(select(t.runs).where(t.runs.c.id.startswith(ref, autoescape=True)).limit(2))
                .mappings()
                .all()
            )
        if not rows:
            raise StoreError(f"no run {ref!r} in the store {self.display}")
        if len(rows) > 1:
            raise StoreError(f"run reference {ref!r} is ambiguous: give more of the id")
        return _run_info(rows[0])

    def previous(self, run_id: str) -> RunInfo | None:
        """The run recorded just before ``run_id``, if any (for 'diff against the previous run')."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(t.runs).where(t.runs.c.id < run_id).order_by(t.runs.c.id.desc()).limit(1))
                .mappings()
                .first()
            )
        return _run_info(row) if row is not None else None

    def results(self, run_id: str) -> list[StoredResult]:
        cols = [t.results.c[name] for name in StoredResult._fields]
        with self.engine.connect() as conn:
            return [
                StoredResult(*row)
                for row in conn.execute(select(*cols).where(t.results.c.run_id == run_id)).all()
            ]

    def result_counts(self, run_id: str, provider: str) -> dict[str, int]:
        """How many results each resource of ``provider`` has in run ``run_id`` (uid -> count)."""
        uid = t.results.c.resource_uid
        query = (
            select(uid, func.count())
            .where(t.results.c.run_id == run_id, t.results.c.provider == provider)
            .group_by(uid)
        )
        with self.engine.connect() as conn:
            return {str(u): int(n) for u, n in conn.execute(query)}

    def inventory_rows(self, run_id: str) -> list[InventoryRow]:
        cols = [t.inventory.c[name] for name in InventoryRow._fields]
        with self.engine.connect() as conn:
            return [
                InventoryRow(*row)
                for row in conn.execute(select(*cols).where(t.inventory.c.run_id == run_id))
            ]

    def inventory(self, run_id: str) -> list[InventoryItem]:
        return [row.item() for row in self.inventory_rows(run_id)]

    def errors(self, run_id: str) -> list[StoredError]:
        cols = [t.collection_errors.c[name] for name in StoredError.model_fields]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(t.collection_errors.c.run_id == run_id)).mappings().all()
        return [StoredError.model_validate(dict(row)) for row in rows]

    def provenance(self, run_id: str) -> Provenance:
        with self.engine.connect() as conn:
            value = conn.execute(select(t.runs.c.provenance).where(t.runs.c.id == run_id)).scalar_one()
        return Provenance.model_validate(value)

    def document(self, run_id: str) -> bytes:
        """The results JSON of a run, exactly as it was recorded."""
        with self.engine.connect() as conn:
            body = conn.execute(
                select(t.documents.c.results_json).where(t.documents.c.run_id == run_id)
            ).scalar_one_or_none()
        if body is None:
            raise StoreError(f"no run {run_id!r} in the store {self.display}")
        return gzip.decompress(body)

    def scan(self, run_id: str) -> ScanResult:
        try:
            return ScanResult.model_validate_json(self.document(run_id))
        except ValidationError as exc:
            raise StoreError(f"run {run_id} holds results this mlguard cannot read: {exc}") from None

    def stats(self, run_ids: Sequence[str], dimension: str) -> dict[str, dict[str, dict[str, int]]]:
        """run id -> key -> status -> count, for one dimension."""
        out: dict[str, dict[str, dict[str, int]]] = {rid: {} for rid in run_ids}
        query = (
            select(
                t.run_stats.c.run_id, t.run_stats.c.key, t.run_stats.c.status, func.sum(t.run_stats.c.count)
            )
            .where(t.run_stats.c.run_id.in_(list(run_ids)), t.run_stats.c.dimension == dimension)
            .group_by(t.run_stats.c.run_id, t.run_stats.c.key, t.run_stats.c.status)
        )
        with self.engine.connect() as conn:
            for run_id, key, status, count in conn.execute(query):
                out[str(run_id)].setdefault(str(key), {})[str(status)] = int(count)
        return out


def _run_info(row: Any) -> RunInfo:
    started = _utc(row["started_at"])
    recorded = _utc(row["recorded_at"])
    assert started is not None  # NOT NULL column
    assert recorded is not None  # NOT NULL column
    return RunInfo(
        id=row["id"],
        started_at=started,
        finished_at=_utc(row["finished_at"]),
        recorded_at=recorded,
        mlguard_version=row["mlguard_version"],
        command=row["command"],
        scope=list(row["scope"]),
        counts=RunCounts(
            total=row["total"],
            passed=row["passed"],
            failed=row["failed"],
            errors=row["errors"],
            skipped=row["skipped"],
            waived=row["waived"],
        ),
        resources=row["resources"],
        collection_errors=row["collection_errors"],
        complete=bool(row["complete"]),
        inventory_source=row["inventory_source"],
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@contextmanager
def open_store(target: str, *, migrate: bool = True) -> Iterator[Store]:
    """``with open_store(path_or_url) as store: ...``"""
    store = Store.open(target, migrate=migrate)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def open_for_run(target: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[Store]:
    """Open the store and hold its lock for a whole scheduled run (collect, evaluate, record).

    ``with open_for_run(store, deadline.budget(600)) as store: ...; store.record(scan, inventory)``
    """
    with open_store(target) as store, store.lock(lock_timeout):
        yield store
