"""Batched CloudWatch ``GetMetricData`` reads for the utilisation figures cost policies need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from mlguard.collect.aws.spec import Caller, Options

_BATCH = 500  # GetMetricData accepts up to 500 queries per request
_DAY = 86400


@dataclass(frozen=True, slots=True)
class Query:
    key: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str


def fetch(caller: Caller, queries: list[Query], opts: Options) -> dict[str, list[float]]:
    """Daily datapoints of each query over ``opts.metrics_days``; key -> values (possibly empty)."""
    out: dict[str, list[float]] = {q.key: [] for q in queries}
    end = opts.now
    start = end - timedelta(days=opts.metrics_days)
    for offset in range(0, len(queries), _BATCH):
        batch = queries[offset : offset + _BATCH]
        ids = {f"m{i}": q.key for i, q in enumerate(batch)}
        request = [
            {
                "Id": f"m{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": q.namespace,
                        "MetricName": q.metric,
                        "Dimensions": [{"Name": n, "Value": v} for n, v in q.dimensions],
                    },
                    "Period": _DAY,
                    "Stat": q.stat,
                },
                "ReturnData": True,
            }
            for i, q in enumerate(batch)
        ]
        for page in caller.pages(
            "cloudwatch", "get_metric_data", MetricDataQueries=request, StartTime=start, EndTime=end
        ):
            for result in page.get("MetricDataResults", []):
                out[ids[result["Id"]]].extend(float(v) for v in result.get("Values", []))
    return out
