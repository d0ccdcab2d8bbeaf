"""SageMaker Model Monitor job definitions: data quality, model quality, model bias and model
explainability.

A monitoring schedule may name a separate job definition instead of carrying one inline; the four
kinds of definition are four List/Describe pairs with the same shape, whose only differences are
the prefixes of four keys (``<Kind>AppSpecification``, ``<Kind>JobInput``,
``<Kind>JobOutputConfig``, ``<Kind>BaselineConfig``). They are read into four types with the same
fields, so that a policy (and a Security Hub control) names exactly one kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlguard.collect.aws.normalize import as_list, data_of
from mlguard.collect.aws.sagemaker import _first, s3_buckets
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define
from mlguard.collect.secrets import SECRET_PATHS

#: type kind -> the key prefix of its API shapes
KINDS: dict[str, str] = {
    "data_quality": "DataQuality",
    "model_quality": "ModelQuality",
    "model_bias": "ModelBias",
    "model_explainability": "ModelExplainability",
}
_PARTS = ("AppSpecification", "JobInput", "JobOutputConfig", "BaselineConfig")

#: Fields filled by the Describe call (unknown, hence ERROR, when it fails).
DESCRIBED = (
    "network_isolation",
    "inter_container_encryption",
    "in_vpc",
    "security_group_ids",
    "volume_kms_key_id",
    "output_kms_key_id",
    "image_uri",
    "role_arn",
    "instance_type",
    "instance_count",
    "s3_buckets",
    "app_specification",
    "job_input",
    "job_output_config",
    "job_resources",
    "batch_transform_input",
    "baseline_config",
    "stopping_condition",
    SECRET_PATHS,
)


def _normalizer(prefix: str) -> Callable[[Item, Options], dict[str, Any]]:
    def normalize(item: Item, opts: Options) -> dict[str, Any]:
        raw = dict(item.raw)
        for part in _PARTS:  # one name for each part, whatever the kind
            if prefix + part in raw:
                raw[part] = raw.pop(prefix + part)
        network = raw.get("NetworkConfig") or {}
        cluster = _first(raw, ("JobResources", "ClusterConfig")) or {}
        outputs = as_list(_first(raw, ("JobOutputConfig", "MonitoringOutputs")))
        job_input = raw.get("JobInput") or {}
        data = data_of(
            raw,
            drop=(
                "JobDefinitionArn",
                "JobDefinitionName",
                "MonitoringJobDefinitionArn",
                "MonitoringJobDefinitionName",
                "NetworkConfig",
            ),
        )
        data.update(
            {
                "job_definition_name": raw.get("MonitoringJobDefinitionName") or raw.get("JobDefinitionName"),
                # The endpoint (or batch transform job) whose captured data the job reads.
                "endpoint_name": _first(job_input, ("EndpointInput", "EndpointName"))
                or raw.get("EndpointName"),
                "batch_transform_input": "BatchTransformInput" in job_input,
                # Both flags are off unless NetworkConfig turns them on (the API's default).
                "network_isolation": bool(network.get("EnableNetworkIsolation", False)),
                "inter_container_encryption": bool(
                    network.get("EnableInterContainerTrafficEncryption", False)
                ),
                "in_vpc": bool(network.get("VpcConfig")),
                "security_group_ids": [
                    str(g) for g in as_list(_first(network, ("VpcConfig", "SecurityGroupIds")))
                ],
                "volume_kms_key_id": cluster.get("VolumeKmsKeyId"),
                "output_kms_key_id": _first(raw, ("JobOutputConfig", "KmsKeyId")),
                "image_uri": _first(raw, ("AppSpecification", "ImageUri")),
                "instance_type": cluster.get("InstanceType"),
                "instance_count": cluster.get("InstanceCount"),
                "s3_buckets": s3_buckets(
                    *(_first(o, ("S3Output", "S3Uri")) for o in outputs),
                    _first(job_input, ("GroundTruthS3Input", "S3Uri")),
                    _first(job_input, ("BatchTransformInput", "DataCapturedDestinationS3Uri")),
                    _first(raw, ("AppSpecification", "ConfigUri")),
                ),
            }
        )
        return data

    return normalize


def _job_definition_spec(kind: str, prefix: str) -> ResourceSpec:
    return ResourceSpec(
        type=f"aws.sagemaker.{kind}_job_definition",
        family="sagemaker",
        service="sagemaker",
        operation=f"list_{kind}_job_definitions",
        items="JobDefinitionSummaries",
        id="MonitoringJobDefinitionName",
        name="MonitoringJobDefinitionName",
        arn="MonitoringJobDefinitionArn",
        details=(
            Detail(
                operation=f"describe_{kind}_job_definition",
                params=lambda r: {"JobDefinitionName": r["MonitoringJobDefinitionName"]},
                attributes=DESCRIBED,
            ),
        ),
        normalize=_normalizer(prefix),
    )


define(*(_job_definition_spec(kind, prefix) for kind, prefix in KINDS.items()))
