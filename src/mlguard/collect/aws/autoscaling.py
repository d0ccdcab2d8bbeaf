"""Application Auto Scaling: scalable targets of SageMaker endpoint variants, with their policies.

Each target carries ``endpoint_name`` and ``variant_name`` so a policy can join it to the variant
of ``aws.sagemaker.endpoint`` it scales.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mlguard.collect.aws.normalize import to_json
from mlguard.collect.aws.spec import Caller, Enrichment, Item, Options, ResourceSpec, define

VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _target(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    parts = str(raw["ResourceId"]).split("/")  # endpoint/<name>/variant/<variant>
    return {
        "service_namespace": raw.get("ServiceNamespace"),
        "scalable_dimension": raw.get("ScalableDimension"),
        "endpoint_name": parts[1] if len(parts) == 4 and parts[0] == "endpoint" else None,
        "variant_name": parts[3] if len(parts) == 4 and parts[2] == "variant" else None,
        "min_capacity": raw.get("MinCapacity"),
        "max_capacity": raw.get("MaxCapacity"),
        "role_arn": raw.get("RoleARN"),
        "creation_time": to_json(raw.get("CreationTime")),
        "suspended_state": to_json(raw.get("SuspendedState") or {}),
    }


def _policies(items: list[Item], caller: Caller, opts: Options) -> None:
    by_target: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for page in caller.pages(
        "application-autoscaling", "describe_scaling_policies", ServiceNamespace="sagemaker"
    ):
        for p in page.get("ScalingPolicies", []):
            tracking = p.get("TargetTrackingScalingPolicyConfiguration") or {}
            by_target[(p["ResourceId"], p["ScalableDimension"])].append(
                {
                    "policy_name": p.get("PolicyName"),
                    "policy_type": p.get("PolicyType"),
                    "target_value": tracking.get("TargetValue"),
                    "predefined_metric": (tracking.get("PredefinedMetricSpecification") or {}).get(
                        "PredefinedMetricType"
                    ),
                    "customized_metric": (tracking.get("CustomizedMetricSpecification") or {}).get(
                        "MetricName"
                    ),
                    "scale_in_disabled": tracking.get("DisableScaleIn"),
                }
            )
    for item in items:
        policies = by_target.get((item.raw["ResourceId"], item.raw["ScalableDimension"]), [])
        item.data["scaling_policies"] = policies
        item.data["has_scaling_policy"] = bool(policies)


define(
    ResourceSpec(
        type="aws.applicationautoscaling.scalable_target",
        family="autoscaling",
        service="application-autoscaling",
        operation="describe_scalable_targets",
        params=lambda o: [{"ServiceNamespace": "sagemaker"}],
        include=lambda raw, o: raw.get("ScalableDimension") == VARIANT_DIMENSION,
        items="ScalableTargets",
        id="ResourceId",
        name="ResourceId",
        arn="ScalableTargetARN",
        arn_template="arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/sagemaker/{id}",
        normalize=_target,
        enrich=(
            Enrichment(
                name="scaling policies",
                operations=(("application-autoscaling", "describe_scaling_policies"),),
                attributes=("scaling_policies", "has_scaling_policy"),
                run=_policies,
            ),
        ),
    ),
)
