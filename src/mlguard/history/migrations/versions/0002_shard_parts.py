"""Shard parts: the partial inventories of a sharded run, until `history finalize` merges them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mlguard_shard_parts",
        sa.Column("run", sa.String(128), primary_key=True),
        sa.Column("shard_index", sa.Integer, primary_key=True),
        sa.Column("shard_count", sa.Integer, primary_key=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("encoding", sa.String(16), nullable=False),
        sa.Column("inventory_json", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mlguard_shard_parts")
