"""EventBridge rules of the default bus, with their targets and event patterns."""

from __future__ import annotations

import json
from typing import Any

from mlguard.collect.aws.normalize import as_list
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define


def _service_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[2] if len(parts) > 2 else None


def _rule(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    pattern = raw.get("EventPattern")
    targets = [
        {
            "target_id": t.get("Id"),
            "arn": t.get("Arn"),
            "service": _service_of(t.get("Arn")),
            "role_arn": t.get("RoleArn"),
        }
        for t in as_list(raw.get("Targets"))
    ]
    return {
        "state": raw.get("State"),
        "enabled": raw.get("State") == "ENABLED",
        "description": raw.get("Description"),
        "event_bus_name": raw.get("EventBusName", "default"),
        "schedule_expression": raw.get("ScheduleExpression"),
        "event_pattern": json.loads(pattern) if isinstance(pattern, str) and pattern else None,
        "managed_by": raw.get("ManagedBy"),
        "role_arn": raw.get("RoleArn"),
        "targets": targets,
        "target_services": sorted({t["service"] for t in targets if t["service"]}),
    }


define(
    ResourceSpec(
        type="aws.events.rule",
        family="events",
        service="events",
        operation="list_rules",
        items="Rules",
        id="Name",
        name="Name",
        arn="Arn",
        normalize=_rule,
        details=(
            Detail(
                operation="list_targets_by_rule",
                params=lambda r: {"Rule": r["Name"], "EventBusName": r.get("EventBusName", "default")},
                select="Targets",
                into="Targets",
                attributes=("targets", "target_services"),
            ),
        ),
    ),
)
