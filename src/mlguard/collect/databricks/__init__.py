"""Databricks and Unity Catalog collectors (``databricks-sdk``), one module per family.

Importing this package registers the ``databricks`` provider.
"""

from __future__ import annotations

from mlguard.collect.databricks.permissions import PERMISSIONS, permissions
from mlguard.collect.databricks.provider import ALL_TYPES, DatabricksCollector

__all__ = ["ALL_TYPES", "PERMISSIONS", "DatabricksCollector", "permissions"]
