"""The results store's defaults, apart from the store itself so that the CLI's options can name
them without importing SQLAlchemy and alembic."""

from __future__ import annotations

ENV_STORE = "MLGUARD_STORE"
DEFAULT_LOCK_TIMEOUT = 600.0
