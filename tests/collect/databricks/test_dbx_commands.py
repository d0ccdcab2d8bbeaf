"""``mlguard permissions databricks`` as a click command."""

from __future__ import annotations

import json

from click.testing import CliRunner

from mlguard.collect.databricks import ALL_TYPES
from mlguard.collect.databricks.commands import permissions_databricks


def test_json_lists_every_type() -> None:
    result = CliRunner().invoke(permissions_databricks, ["--format", "json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)["permissions"]
    assert {r["resource_type"] for r in rows} == ALL_TYPES


def test_text_for_chosen_types() -> None:
    result = CliRunner().invoke(permissions_databricks, ["--type", "databricks.token"])
    assert result.exit_code == 0
    assert "databricks.token" in result.output
    assert "GET /api/2.0/token-management/tokens" in result.output
    assert "databricks.cluster\n" not in result.output


def test_unknown_type_is_a_usage_error() -> None:
    result = CliRunner().invoke(permissions_databricks, ["--type", "databricks.nope"])
    assert result.exit_code == 2
