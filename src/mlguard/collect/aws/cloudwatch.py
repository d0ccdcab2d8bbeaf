"""CloudWatch metric alarms, with what they watch (endpoint, variant, instance) made explicit."""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import as_list, to_json
from mlguard.collect.aws.spec import Item, Options, ResourceSpec, define


def _dimensions(raw: dict[str, Any]) -> dict[str, str]:
    dims = {d["Name"]: d["Value"] for d in as_list(raw.get("Dimensions"))}
    for query in as_list(raw.get("Metrics")):  # metric-math alarms
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        dims.update({d["Name"]: d["Value"] for d in as_list(metric.get("Dimensions"))})
    return dims


def _alarm(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    dims = _dimensions(raw)
    namespaces = {raw.get("Namespace")} | {
        ((q.get("MetricStat") or {}).get("Metric") or {}).get("Namespace")
        for q in as_list(raw.get("Metrics"))
    }
    return {
        "namespace": raw.get("Namespace"),
        "namespaces": sorted(n for n in namespaces if n),
        "metric_name": raw.get("MetricName"),
        "dimensions": dims,
        "statistic": raw.get("Statistic") or raw.get("ExtendedStatistic"),
        "threshold": raw.get("Threshold"),
        "comparison_operator": raw.get("ComparisonOperator"),
        "evaluation_periods": raw.get("EvaluationPeriods"),
        "period": raw.get("Period"),
        "actions_enabled": bool(raw.get("ActionsEnabled", False)),
        "alarm_actions": as_list(raw.get("AlarmActions")),
        "ok_actions": as_list(raw.get("OKActions")),
        "insufficient_data_actions": as_list(raw.get("InsufficientDataActions")),
        "has_actions": bool(raw.get("ActionsEnabled", False) and raw.get("AlarmActions")),
        "state_value": raw.get("StateValue"),
        "state_updated": to_json(raw.get("StateUpdatedTimestamp")),
        "endpoint_name": dims.get("EndpointName"),
        "variant_name": dims.get("VariantName"),
        "instance_id": dims.get("InstanceId"),
    }


define(
    ResourceSpec(
        type="aws.cloudwatch.alarm",
        family="cloudwatch",
        service="cloudwatch",
        operation="describe_alarms",
        params=lambda o: [{"AlarmTypes": ["MetricAlarm"]}],
        items="MetricAlarms",
        id="AlarmName",
        name="AlarmName",
        arn="AlarmArn",
        normalize=_alarm,
    ),
)
