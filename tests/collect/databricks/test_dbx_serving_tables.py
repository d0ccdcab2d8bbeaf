"""The payload table an endpoint's inference capture writes to (joined to quality monitors)."""

from __future__ import annotations

import pytest

from mlguard.collect.databricks.serving import _payload_table


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"enabled": True, "catalog_name": "ml", "schema_name": "mon", "table_name_prefix": "fraud"},
            "ml.mon.fraud_payload",
        ),
        # No prefix: the endpoint name is the prefix.
        ({"enabled": True, "catalog_name": "ml", "schema_name": "mon"}, "ml.mon.ep_payload"),
        # The name the API reports wins, qualified when it is bare.
        (
            {
                "enabled": True,
                "catalog_name": "ml",
                "schema_name": "mon",
                "state": {"payload_table": {"name": "x_payload"}},
            },
            "ml.mon.x_payload",
        ),
        (
            {
                "enabled": True,
                "catalog_name": "ml",
                "schema_name": "mon",
                "state": {"payload_table": {"name": "a.b.c"}},
            },
            "a.b.c",
        ),
        ({"enabled": False, "catalog_name": "ml", "schema_name": "mon"}, None),
        ({"enabled": True, "catalog_name": "ml"}, None),
        (None, None),
    ],
)
def test_payload_table(config: dict[str, object] | None, expected: str | None) -> None:
    assert _payload_table(config, "ep") == expected
