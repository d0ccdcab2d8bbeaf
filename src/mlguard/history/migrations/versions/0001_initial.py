"""Initial schema: runs, their results, inventory, collection errors and aggregates.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlguard_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("mlguard_version", sa.String(64), nullable=False),
        sa.Column("command", sa.Text, nullable=True),
        sa.Column("provenance", sa.JSON, nullable=False),
        sa.Column("scope", sa.JSON, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("passed", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("skipped", sa.Integer, nullable=False),
        sa.Column("waived", sa.Integer, nullable=False),
        sa.Column("resources", sa.Integer, nullable=False),
        sa.Column("collection_errors", sa.Integer, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("inventory_source", sa.String(16), nullable=False),
    )
    op.create_index("ix_mlguard_runs_started_at", "mlguard_runs", ["started_at"])
    op.create_table(
        "mlguard_run_documents",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("mlguard_runs.id"), primary_key=True),
        sa.Column("encoding", sa.String(16), nullable=False),
        sa.Column("results_json", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "mlguard_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("mlguard_runs.id"), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("policy_id", sa.String(200), nullable=False),
        sa.Column("resource_uid", sa.Text, nullable=False),
        sa.Column("resource_type", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("workspace", sa.String(255), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("frameworks", sa.JSON, nullable=False),
    )
    op.create_index("ix_mlguard_results_run_fingerprint", "mlguard_results", ["run_id", "fingerprint"])
    op.create_index("ix_mlguard_results_fingerprint", "mlguard_results", ["fingerprint"])
    op.create_table(
        "mlguard_inventory",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("mlguard_runs.id"), primary_key=True),
        sa.Column("uid", sa.Text, primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("workspace", sa.String(255), nullable=True),
    )
    op.create_table(
        "mlguard_collection_errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("mlguard_runs.id"), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("workspace", sa.String(255), nullable=True),
        sa.Column("resource_type", sa.String(100), nullable=True),
        sa.Column("resource_uid", sa.Text, nullable=True),
        sa.Column("operation", sa.String(200), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
    )
    op.create_index("ix_mlguard_collection_errors_run_id", "mlguard_collection_errors", ["run_id"])
    op.create_table(
        "mlguard_run_stats",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("mlguard_runs.id"), primary_key=True),
        sa.Column("dimension", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(8), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "mlguard_run_stats",
        "mlguard_collection_errors",
        "mlguard_inventory",
        "mlguard_results",
        "mlguard_run_documents",
        "mlguard_runs",
    ):
        op.drop_table(table)
