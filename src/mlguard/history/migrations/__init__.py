"""Alembic migrations of the results store; run by :func:`mlguard.history.store.migrate`."""
