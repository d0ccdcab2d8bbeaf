"""SageMaker inference experiments (shadow tests): a shadow variant served beside a production
variant of an endpoint, with the KMS key of its instance storage volumes and, when requests and
responses are captured, the S3 destination and KMS key of that data.

``ListInferenceExperiments`` carries no ARN; ``DescribeInferenceExperiment`` does (``Arn``), and
when it cannot be read the ARN is built from the name.
"""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import as_list, data_of
from mlguard.collect.aws.sagemaker import _first, s3_buckets
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define


def _experiment(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    storage = raw.get("DataStorageConfig")
    data = data_of(raw, drop=("Arn", "Name", "Type", "KmsKey", "EndpointMetadata"))
    data.update(
        {
            "experiment_type": raw.get("Type"),
            "endpoint_name": _first(raw, ("EndpointMetadata", "EndpointName")),
            # Encrypts the storage volumes of the ML instances that host the experiment's variants.
            "kms_key_id": raw.get("KmsKey"),
            "data_storage_enabled": bool(storage),
            "data_storage_kms_key_id": (storage or {}).get("KmsKey"),
            "model_names": sorted(
                {str(v["ModelName"]) for v in as_list(raw.get("ModelVariants")) if v.get("ModelName")}
            ),
            "s3_buckets": s3_buckets((storage or {}).get("Destination")),
        }
    )
    return data


define(
    ResourceSpec(
        type="aws.sagemaker.inference_experiment",
        family="sagemaker",
        service="sagemaker",
        operation="list_inference_experiments",
        items="InferenceExperiments",
        id="Name",
        name="Name",
        arn="Arn",
        arn_template="arn:{partition}:sagemaker:{region}:{account}:inference-experiment/{id}",
        details=(
            Detail(
                operation="describe_inference_experiment",
                params=lambda r: {"Name": r["Name"]},
                attributes=(
                    "endpoint_name",
                    "kms_key_id",
                    "data_storage_enabled",
                    "data_storage_kms_key_id",
                    "data_storage_config",
                    "model_variants",
                    "model_names",
                    "shadow_mode_config",
                    "s3_buckets",
                ),
            ),
        ),
        normalize=_experiment,
    ),
)
