"""Collectors: read live AWS and Databricks resources into an Inventory."""
