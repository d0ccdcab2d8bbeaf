"""Alembic environment: mlguard runs migrations programmatically, on an open connection."""

from __future__ import annotations

from alembic import context

from mlguard.history.tables import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "mlguard's migrations run from mlguard.history.store.migrate(), which passes a connection"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
