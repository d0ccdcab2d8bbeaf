"""The store's tables (SQLAlchemy Core). The migrations in ``migrations/versions`` create them.

Every table name starts with ``mlguard_`` so the store can share a PostgreSQL database. A test
compares this metadata with the migrated schema, so the two cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

VERSION_TABLE = "mlguard_alembic_version"

metadata = MetaData()

runs = Table(
    "mlguard_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False, index=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("mlguard_version", String(64), nullable=False),
    Column("command", Text, nullable=True),
    Column("provenance", JSON, nullable=False),
    Column("scope", JSON, nullable=False),
    Column("total", Integer, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("waived", Integer, nullable=False),
    Column("resources", Integer, nullable=False),
    Column("collection_errors", Integer, nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("inventory_source", String(16), nullable=False),
)

documents = Table(
    "mlguard_run_documents",
    metadata,
    Column("run_id", String(32), ForeignKey("mlguard_runs.id"), primary_key=True),
    Column("encoding", String(16), nullable=False),
    Column("results_json", LargeBinary, nullable=False),
)

results = Table(
    "mlguard_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("mlguard_runs.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("resource_uid", Text, nullable=False),
    Column("resource_type", String(100), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("account", String(64), nullable=True),
    Column("workspace", String(255), nullable=True),
    Column("region", String(64), nullable=True),
    Column("status", String(8), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("category", String(16), nullable=False),
    Column("frameworks", JSON, nullable=False),
    Index("ix_mlguard_results_run_fingerprint", "run_id", "fingerprint"),
    Index("ix_mlguard_results_fingerprint", "fingerprint"),
)

inventory = Table(
    "mlguard_inventory",
    metadata,
    Column("run_id", String(32), ForeignKey("mlguard_runs.id"), primary_key=True),
    Column("uid", Text, primary_key=True),
    Column("type", String(100), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("account", String(64), nullable=True),
    Column("region", String(64), nullable=True),
    Column("workspace", String(255), nullable=True),
)

collection_errors = Table(
    "mlguard_collection_errors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("mlguard_runs.id"), nullable=False, index=True),
    Column("provider", String(32), nullable=False),
    Column("account", String(64), nullable=True),
    Column("region", String(64), nullable=True),
    Column("workspace", String(255), nullable=True),
    Column("resource_type", String(100), nullable=True),
    Column("resource_uid", Text, nullable=True),
    Column("operation", String(200), nullable=False),
    Column("code", String(100), nullable=False),
)

run_stats = Table(
    "mlguard_run_stats",
    metadata,
    Column("run_id", String(32), ForeignKey("mlguard_runs.id"), primary_key=True),
    Column("dimension", String(16), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("status", String(8), primary_key=True),
    Column("count", Integer, nullable=False),
)

CHILD_TABLES = (documents, results, inventory, collection_errors, run_stats)

# The partial inventories of a sharded run (`mlguard collect --shard K/N --record-part RUN`), kept
# until `mlguard history finalize RUN` merges them into one recorded run.
shard_parts = Table(
    "mlguard_shard_parts",
    metadata,
    Column("run", String(128), primary_key=True),
    Column("shard_index", Integer, primary_key=True),
    Column("shard_count", Integer, primary_key=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("encoding", String(16), nullable=False),
    Column("inventory_json", LargeBinary, nullable=False),
)
