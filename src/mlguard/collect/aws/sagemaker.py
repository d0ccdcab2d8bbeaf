"""SageMaker: notebooks, Studio domains and user profiles, models, endpoint configs, endpoints, jobs,
monitoring schedules, feature store, experiments and pipelines (the model registry is in
``sagemaker_registry``, monitoring job definitions in ``sagemaker_monitoring``, Studio images in
``sagemaker_studio``, inference experiments in ``sagemaker_inference``)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from mlguard.collect.aws import metrics
from mlguard.collect.aws.ecr import repository_arns
from mlguard.collect.aws.normalize import as_list, data_of, snake, to_json
from mlguard.collect.aws.spec import (
    Caller,
    Detail,
    Enrichment,
    Item,
    Options,
    ResourceSpec,
    Unknown,
    define,
)
from mlguard.collect.facts import (
    accelerator_facts,
    accelerator_table,
    end_of_support_table,
    instance_type_facts,
    runtime_support,
)
from mlguard.collect.secrets import SECRET_PATHS, has_credential

_GPU_FIELDS = ("is_gpu", "accelerator", "gpu_count", "gpu_model", "gpu_memory_mib")


def ml_instance_facts(instance_type: str | None) -> dict[str, Any]:
    """Accelerator facts of a SageMaker ``ml.*`` instance type from mlguard's dated table (a size
    it does not list takes its family's kind). A type it does not know has ``is_gpu`` None:
    unknown, never "not a GPU". No instance type (a serverless variant) has no accelerator."""
    facts = instance_type_facts(instance_type)
    if instance_type is None:
        facts = accelerator_facts(
            kind=None, count=0, model=None, manufacturer=None, memory_mib=None, nvme_gb=None, source=""
        )
    return {"instance_type": instance_type, **{k: (facts or {}).get(k) for k in _GPU_FIELDS}}


def _unknown_type(item: Item, operation: str, instance_type: Any, attributes: tuple[str, ...]) -> None:
    """Record that the accelerator facts of ``item`` are unknown (see :class:`Unknown`)."""
    item.unknown.append(
        Unknown(
            operation=("sagemaker", operation),
            code="UnknownInstanceType",
            message=f"no accelerator facts for instance type {instance_type}: mlguard's table (as of "
            f"{accelerator_table().as_of}) does not know it and no family rule covers it",
            attributes=attributes,
        )
    )


def s3_bucket_of(uri: Any) -> str | None:
    """The bucket name of an ``s3://bucket/key`` URI (None for anything else)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    return uri[5:].split("/", 1)[0] or None


def s3_buckets(*uris: Any) -> list[str]:
    """Sorted distinct bucket names of the S3 URIs given (joins from ``aws.s3.bucket`` use them)."""
    return sorted({b for b in (s3_bucket_of(u) for u in uris) if b})


def _first(raw: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = raw
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _spec(
    kind: str,
    op: str,
    items: str,
    key: str,
    *,
    describe: str | None = None,
    normalize: Any = None,
    **extra: Any,
) -> ResourceSpec:
    """The common SageMaker shape: list<X>s -> <X>Name/<X>Arn, then describe<X>(<X>Name)."""
    details: tuple[Detail, ...] = ()
    tags: tuple[Detail, ...] = ()
    if extra.pop("tagged", False):  # read last: describe responses may carry their own (partial) Tags
        tags = (_tags(f"{key}Arn"),)
        extra["tags"] = "Tags"
    if describe:
        details = (
            Detail(
                operation=describe,
                params=lambda r: {f"{key}Name": r[f"{key}Name"]},
                attributes=extra.pop("attributes", ()),
                shared=extra.pop("shared", False),
            ),
        )
    return ResourceSpec(
        type=f"aws.sagemaker.{kind}",
        family="sagemaker",
        service="sagemaker",
        operation=op,
        items=items,
        id=f"{key}Name",
        name=f"{key}Name",
        arn=f"{key}Arn",
        details=details + extra.pop("details", ()) + tags,
        normalize=normalize,
        **extra,
    )


def _tags(arn_key: str) -> Detail:
    """Tags of one SageMaker resource (SageMaker lists carry none)."""
    return Detail(
        operation="list_tags",
        params=lambda r: {"ResourceArn": r[arn_key]},
        select="Tags",
        into="Tags",
        attributes=("tags",),
    )


def _lifecycle_scripts(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The OnCreate/OnStart scripts of a lifecycle configuration (base64 shell scripts) as hook
    names with a ``looks_like_secret`` flag; the script text itself never enters the inventory."""
    out: list[dict[str, Any]] = []
    for hook in ("OnCreate", "OnStart"):
        for i, part in enumerate(as_list((config or {}).get(hook))):
            try:
                script = base64.b64decode(str((part or {}).get("Content") or ""), validate=False)
                text = script.decode("utf-8", errors="replace")
            except ValueError:
                text = str((part or {}).get("Content") or "")
            out.append({"name": f"{snake(hook)}[{i}]", "looks_like_secret": has_credential(text)})
    return out


def _notebook(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    config = raw.pop("LifecycleConfig", None)
    data = data_of(raw, drop=("NotebookInstanceArn",))
    data["lifecycle_scripts"] = _lifecycle_scripts(config)
    data.update(ml_instance_facts(raw.get("InstanceType")))
    if data["is_gpu"] is None:
        _unknown_type(item, "describe_notebook_instance", raw.get("InstanceType"), _GPU_FIELDS)
    data["platform_support"] = runtime_support("sagemaker_notebook_platform", raw.get("PlatformIdentifier"))
    if data["platform_support"] is None:
        item.unknown.append(
            Unknown(
                operation=("sagemaker", "describe_notebook_instance"),
                code="UnknownRuntime",
                message=f"no end-of-support date for notebook platform {raw.get('PlatformIdentifier')}: "
                f"mlguard's table (as of {end_of_support_table().as_of}) does not know it",
                attributes=("platform_support",),
            )
        )
    data["direct_internet_access"] = raw.get("DirectInternetAccess", "Enabled") == "Enabled"  # AWS default
    data["root_access_enabled"] = raw.get("RootAccess", "Enabled") == "Enabled"
    data["in_vpc"] = bool(raw.get("SubnetId"))
    # A notebook outside a VPC has none: SageMaker's own network fronts it.
    data["security_group_ids"] = [str(g) for g in as_list(raw.get("SecurityGroups"))]
    data["imds_minimum_version"] = _first(
        raw, ("InstanceMetadataServiceConfiguration", "MinimumInstanceMetadataServiceVersion")
    )
    return data


def _domain(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    data = data_of(raw, drop=("DomainArn", "DomainId", "DomainName"))
    # The groups of the Studio apps' network interfaces: the domain's own, the user and space defaults.
    data["security_group_ids"] = sorted(
        {
            str(g)
            for g in (
                *as_list(_first(raw, ("DomainSettings", "SecurityGroupIds"))),
                *as_list(_first(raw, ("DefaultUserSettings", "SecurityGroups"))),
                *as_list(_first(raw, ("DefaultSpaceSettings", "SecurityGroups"))),
            )
        }
    )
    return data


def _model(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    data = data_of(raw, drop=("ModelArn",))
    containers = [c for c in [raw.get("PrimaryContainer"), *as_list(raw.get("Containers"))] if c]
    data["network_isolation"] = bool(raw.get("EnableNetworkIsolation", False))
    data["in_vpc"] = bool(raw.get("VpcConfig"))
    data["security_group_ids"] = [str(g) for g in as_list(_first(raw, ("VpcConfig", "SecurityGroupIds")))]
    data["images"] = sorted({c.get("Image") for c in containers if c.get("Image")})
    data["ecr_repository_arns"] = repository_arns(data["images"])  # join keys to aws.ecr.repository
    data["repository_access_modes"] = sorted(
        {_first(c, ("ImageConfig", "RepositoryAccessMode")) or "Platform" for c in containers}
    )
    # A model has one PrimaryContainer or a list of Containers (an inference pipeline or a
    # multi-container endpoint); moto answers {} / [] for the form that is not used.
    primary = raw.get("PrimaryContainer") or None
    data["primary_container_repository_access_mode"] = (
        (_first(primary, ("ImageConfig", "RepositoryAccessMode")) or "Platform") if primary else None
    )
    data["multi_container"] = bool([c for c in as_list(raw.get("Containers")) if c])
    # Models deployed from the model registry name their (versioned) model package.
    data["model_package_names"] = sorted(
        {str(c["ModelPackageName"]) for c in containers if c.get("ModelPackageName")}
    )
    data["s3_buckets"] = s3_buckets(
        *(c.get("ModelDataUrl") for c in containers),
        *(_first(c, ("ModelDataSource", "S3DataSource", "S3Uri")) for c in containers),
    )
    return data


def _variants(config: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [
        {
            "variant_name": v.get("VariantName"),
            "model_name": v.get("ModelName"),
            "initial_instance_count": v.get("InitialInstanceCount"),
            "serverless": "ServerlessConfig" in v,
            **ml_instance_facts(v.get("InstanceType")),
        }
        for v in as_list((config or {}).get("ProductionVariants"))
    ]


def _unknown_variants(item: Item, operation: str, variants: list[dict[str, Any]]) -> None:
    """A variant whose instance type nobody knows leaves the GPU facts of the whole resource
    (``is_gpu``) and of its variants unknown."""
    unknown = [v["instance_type"] for v in variants if v["is_gpu"] is None]
    if unknown:
        _unknown_type(item, operation, ", ".join(map(str, unknown)), ("is_gpu", "variants"))


def _capture(config: dict[str, Any] | None) -> dict[str, Any]:
    capture = (config or {}).get("DataCaptureConfig") or {}
    return {
        "data_capture_enabled": bool(capture.get("EnableCapture", bool(capture))),
        "data_capture_kms_key_id": capture.get("KmsKeyId"),
    }


def _endpoint_config(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    variants = _variants(raw)
    data = data_of(raw, drop=("EndpointConfigArn", "ProductionVariants"))
    _unknown_variants(item, "describe_endpoint_config", variants)
    return {
        **data,
        "variants": variants,
        "is_gpu": any(v["is_gpu"] for v in variants),
        "kms_key_id": raw.get("KmsKeyId"),
        **_capture(raw),
        "s3_buckets": s3_buckets(
            _first(raw, ("DataCaptureConfig", "DestinationS3Uri")),
            _first(raw, ("AsyncInferenceConfig", "OutputConfig", "S3OutputPath")),
            _first(raw, ("AsyncInferenceConfig", "OutputConfig", "S3FailurePath")),
        ),
    }


def _endpoint(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    config = raw.get("Config")
    configured = {v["variant_name"]: v for v in _variants(config)}
    variants = []
    for v in as_list(raw.get("ProductionVariants")):
        base = configured.get(v.get("VariantName"), {})
        variants.append(
            {
                **base,
                "variant_name": v.get("VariantName"),
                "current_instance_count": v.get("CurrentInstanceCount"),
                "desired_instance_count": v.get("DesiredInstanceCount"),
                "current_weight": v.get("CurrentWeight"),
            }
        )
    data: dict[str, Any] = {
        "endpoint_status": raw.get("EndpointStatus"),
        "endpoint_config_name": raw.get("EndpointConfigName"),
        "creation_time": to_json(raw.get("CreationTime")),
        "last_modified_time": to_json(raw.get("LastModifiedTime")),
        "failure_reason": raw.get("FailureReason"),
        "variants": variants,
    }
    if "Config" in raw:
        _unknown_variants(item, "describe_endpoint_config", variants)
        data["is_gpu"] = any(v.get("is_gpu") for v in variants)
        data["kms_key_id"] = (config or {}).get("KmsKeyId")
        data.update(_capture(config))
    return data


def _invocations(items: list[Item], caller: Caller, opts: Options) -> None:
    """Invocations summed over every variant and ``metrics_days`` (batched GetMetricData). An
    endpoint whose Describe failed has no known variants: it is left out (its ``invocations_sum``
    is unread with the rest of that call), and the other endpoints keep their metrics."""
    items = [i for i in items if "variants" in i.data]
    queries = [
        metrics.Query(
            f"{i.raw['EndpointName']}/{v['variant_name']}",
            "AWS/SageMaker",
            "Invocations",
            (("EndpointName", i.raw["EndpointName"]), ("VariantName", str(v["variant_name"]))),
            "Sum",
        )
        for i in items
        for v in i.data["variants"]
    ]
    values = metrics.fetch(caller, queries, opts) if queries else {}
    for i in items:
        i.data["metrics_days"] = opts.metrics_days
        total = 0.0
        for v in i.data["variants"]:
            series = values[f"{i.raw['EndpointName']}/{v['variant_name']}"]
            v["invocations_sum"] = sum(series)
            total += sum(series)
        i.data["invocations_sum"] = total


def _job(item: Item, opts: Options, arn_key: str) -> dict[str, Any]:
    raw = item.raw
    resources = raw.get("ResourceConfig") or _first(raw, ("ProcessingResources", "ClusterConfig")) or {}
    data = data_of(raw, drop=(arn_key,))
    data.update(ml_instance_facts(resources.get("InstanceType")))
    if data["is_gpu"] is None:
        operation = "describe_training_job" if arn_key == "TrainingJobArn" else "describe_processing_job"
        _unknown_type(item, operation, resources.get("InstanceType"), _GPU_FIELDS)
    network = raw.get("NetworkConfig") or {}
    data.update(
        {
            "instance_count": resources.get("InstanceCount"),
            "volume_kms_key_id": resources.get("VolumeKmsKeyId"),
            "in_vpc": bool(raw.get("VpcConfig") or network.get("VpcConfig")),
            "network_isolation": bool(
                raw.get("EnableNetworkIsolation", network.get("EnableNetworkIsolation", False))
            ),
            "inter_container_encryption": bool(
                raw.get(
                    "EnableInterContainerTrafficEncryption",
                    network.get("EnableInterContainerTrafficEncryption", False),
                )
            ),
            "managed_spot": bool(raw.get("EnableManagedSpotTraining", False)),
            "max_runtime_seconds": _first(raw, ("StoppingCondition", "MaxRuntimeInSeconds")),
            "output_kms_key_id": _first(raw, ("OutputDataConfig", "KmsKeyId"))
            or _first(raw, ("ProcessingOutputConfig", "KmsKeyId")),
            "output_s3_path": _first(raw, ("OutputDataConfig", "S3OutputPath")),
            "s3_buckets": s3_buckets(
                _first(raw, ("OutputDataConfig", "S3OutputPath")),
                _first(raw, ("CheckpointConfig", "S3Uri")),
                *(
                    _first(c, ("DataSource", "S3DataSource", "S3Uri"))
                    for c in as_list(raw.get("InputDataConfig"))
                ),
                *(_first(i, ("S3Input", "S3Uri")) for i in as_list(raw.get("ProcessingInputs"))),
                *(
                    _first(o, ("S3Output", "S3Uri"))
                    for o in as_list(_first(raw, ("ProcessingOutputConfig", "Outputs")))
                ),
            ),
        }
    )
    return data


#: Fields of a training or processing job that only its Describe call supplies (the list summary
#: has names, times and status): unknown, hence ERROR, when that call fails.
_JOB_FIELDS = (
    "instance_type",
    *_GPU_FIELDS,
    "instance_count",
    "volume_kms_key_id",
    "in_vpc",
    "network_isolation",
    "inter_container_encryption",
    "managed_spot",
    "max_runtime_seconds",
    "output_kms_key_id",
    "output_s3_path",
    "s3_buckets",
    SECRET_PATHS,
)


def _recent(opts: Options) -> list[dict[str, Any]]:
    """Jobs created within the look-back, plus every job still running whatever its age."""
    return [
        {"CreationTimeAfter": opts.now - timedelta(days=opts.job_lookback_days)},
        {"StatusEquals": "InProgress"},
    ]


def _schedule(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    job = _first(raw, ("MonitoringScheduleConfig", "MonitoringJobDefinition")) or {}
    network = job.get("NetworkConfig") or {}
    return {
        **data_of(raw, drop=("MonitoringScheduleArn",)),
        "endpoint_name": raw.get("EndpointName"),
        "monitoring_type": raw.get("MonitoringType")
        or _first(raw, ("MonitoringScheduleConfig", "MonitoringType")),
        "schedule_status": raw.get("MonitoringScheduleStatus"),
        "job_definition_name": _first(raw, ("MonitoringScheduleConfig", "MonitoringJobDefinitionName")),
        "network_isolation": bool(network.get("EnableNetworkIsolation", False)) if job else None,
        "inter_container_encryption": bool(network.get("EnableInterContainerTrafficEncryption", False))
        if job
        else None,
        "volume_kms_key_id": _first(job, ("MonitoringResources", "ClusterConfig", "VolumeKmsKeyId")),
        "output_kms_key_id": _first(job, ("MonitoringOutputConfig", "KmsKeyId")),
    }


def _feature_group(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    return {
        **data_of(raw, drop=("FeatureGroupArn", "FeatureDefinitions")),
        "feature_count": len(as_list(raw.get("FeatureDefinitions"))),
        "online_store_enabled": bool(_first(raw, ("OnlineStoreConfig", "EnableOnlineStore"))),
        "online_store_kms_key_id": _first(raw, ("OnlineStoreConfig", "SecurityConfig", "KmsKeyId")),
        "offline_store_enabled": bool(raw.get("OfflineStoreConfig")),
        "offline_store_kms_key_id": _first(raw, ("OfflineStoreConfig", "S3StorageConfig", "KmsKeyId")),
    }


define(
    _spec(
        "notebook_instance",
        "list_notebook_instances",
        "NotebookInstances",
        "NotebookInstance",
        describe="describe_notebook_instance",
        normalize=_notebook,
        tagged=True,
        attributes=(
            "direct_internet_access",
            "root_access_enabled",
            "in_vpc",
            "subnet_id",
            "security_group_ids",
            "kms_key_id",
            "imds_minimum_version",
            "platform_identifier",
            "platform_support",
            "root_access",
            SECRET_PATHS,
        ),
        details=(
            Detail(
                operation="describe_notebook_instance_lifecycle_config",
                params=lambda r: {
                    "NotebookInstanceLifecycleConfigName": r["NotebookInstanceLifecycleConfigName"]
                },
                when=lambda r: bool(r.get("NotebookInstanceLifecycleConfigName")),
                into="LifecycleConfig",
                attributes=("lifecycle_scripts", SECRET_PATHS),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.sagemaker.domain",
        family="sagemaker",
        service="sagemaker",
        operation="list_domains",
        items="Domains",
        id="DomainId",
        name="DomainName",
        arn="DomainArn",
        details=(
            Detail(
                operation="describe_domain",
                params=lambda r: {"DomainId": r["DomainId"]},
                attributes=(
                    "auth_mode",
                    "app_network_access_type",
                    "kms_key_id",
                    "default_user_settings",
                    "security_group_ids",
                ),
            ),
        ),
        normalize=_domain,
    ),
    ResourceSpec(
        type="aws.sagemaker.user_profile",
        family="sagemaker",
        service="sagemaker",
        operation="list_user_profiles",
        items="UserProfiles",
        id="join('/', [DomainId, UserProfileName])",
        name="UserProfileName",
        arn="UserProfileArn",
        arn_template="arn:{partition}:sagemaker:{region}:{account}:user-profile/{id}",
        details=(
            Detail(
                operation="describe_user_profile",
                params=lambda r: {"DomainId": r["DomainId"], "UserProfileName": r["UserProfileName"]},
                attributes=("user_settings", "status", "single_sign_on_user_identifier"),
            ),
        ),
        normalize=lambda item, opts: data_of(item.raw, drop=("UserProfileArn", "UserProfileName")),
    ),
    _spec(
        "model",
        "list_models",
        "Models",
        "Model",
        describe="describe_model",
        normalize=_model,
        tagged=True,
        attributes=(
            "s3_buckets",
            "in_vpc",
            "network_isolation",
            "repository_access_modes",
            "security_group_ids",
            "primary_container_repository_access_mode",
            "multi_container",
            "model_package_names",
            "images",
            "ecr_repository_arns",
            SECRET_PATHS,
        ),
    ),
    _spec(
        "endpoint_config",
        "list_endpoint_configs",
        "EndpointConfigs",
        "EndpointConfig",
        describe="describe_endpoint_config",
        normalize=_endpoint_config,
        shared=True,  # the endpoints using a config describe it too: one call per config
        attributes=(
            "variants",
            "is_gpu",
            "kms_key_id",
            "data_capture_enabled",
            "data_capture_kms_key_id",
            "data_capture_config",
            "async_inference_config",
            "s3_buckets",
        ),
    ),
    _spec(
        "endpoint",
        "list_endpoints",
        "Endpoints",
        "Endpoint",
        describe="describe_endpoint",
        normalize=_endpoint,
        tagged=True,
        attributes=(
            "variants",
            "endpoint_config_name",
            "failure_reason",
            # read from the config DescribeEndpoint names, so unknown without it
            "is_gpu",
            "kms_key_id",
            "data_capture_enabled",
            "data_capture_kms_key_id",
            "invocations_sum",
            "metrics_days",
        ),
        details=(
            Detail(
                operation="describe_endpoint_config",
                params=lambda r: {"EndpointConfigName": r["EndpointConfigName"]},
                when=lambda r: bool(r.get("EndpointConfigName")),
                into="Config",
                shared=True,  # as the endpoint_config type's own describe (and other endpoints')
                attributes=(
                    "is_gpu",
                    "kms_key_id",
                    "data_capture_enabled",
                    "data_capture_kms_key_id",
                    # each variant's instance type and serverless setting come from the config
                    "variants",
                    "invocations_sum",
                    "metrics_days",
                ),
            ),
        ),
        enrich=(
            Enrichment(
                name="endpoint invocations",
                operations=(("cloudwatch", "get_metric_data"),),
                attributes=("invocations_sum", "metrics_days"),
                run=_invocations,
                extends=("variants",),  # each variant's invocations_sum
            ),
        ),
    ),
    _spec(
        "training_job",
        "list_training_jobs",
        "TrainingJobSummaries",
        "TrainingJob",
        describe="describe_training_job",
        normalize=lambda item, opts: _job(item, opts, "TrainingJobArn"),
        params=_recent,
        tagged=True,
        attributes=_JOB_FIELDS,
    ),
    _spec(
        "processing_job",
        "list_processing_jobs",
        "ProcessingJobSummaries",
        "ProcessingJob",
        describe="describe_processing_job",
        normalize=lambda item, opts: _job(item, opts, "ProcessingJobArn"),
        params=_recent,
        attributes=_JOB_FIELDS,
    ),
    _spec(
        "monitoring_schedule",
        "list_monitoring_schedules",
        "MonitoringScheduleSummaries",
        "MonitoringSchedule",
        describe="describe_monitoring_schedule",
        normalize=_schedule,
        attributes=(
            "monitoring_schedule_config",  # policies ask whether it holds an inline job definition
            "job_definition_name",
            "network_isolation",
            "inter_container_encryption",
            "volume_kms_key_id",
            "output_kms_key_id",
        ),
    ),
    _spec(
        "feature_group",
        "list_feature_groups",
        "FeatureGroupSummaries",
        "FeatureGroup",
        describe="describe_feature_group",
        normalize=_feature_group,
        attributes=(
            "online_store_enabled",
            "online_store_kms_key_id",
            "offline_store_enabled",
            "offline_store_kms_key_id",
        ),
    ),
    _spec(
        "experiment",
        "list_experiments",
        "ExperimentSummaries",
        "Experiment",
        describe=None,
        normalize=lambda item, opts: data_of(item.raw, drop=("ExperimentArn",)),
    ),
    _spec(
        "pipeline",
        "list_pipelines",
        "PipelineSummaries",
        "Pipeline",
        describe=None,
        normalize=lambda item, opts: data_of(item.raw, drop=("PipelineArn",)),
    ),
)
