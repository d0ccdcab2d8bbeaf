# mypy: ignore-errors
"""mlguard checks for SageMaker Terraform resources that checkov's built-in checks miss.

The cross-resource checks (autoscaling target, alarm) look only at the module being scanned: a
target or alarm defined in another module cannot be seen, so the finding says "in the same module".
"""

from __future__ import annotations

import re

from checkov.common.models.enums import CheckCategories
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from mlg_common import (
    SAGEMAKER_GPU_INSTANCE,
    CheckResult,
    ModuleAwareCheck,
    as_bool,
    as_int,
    blocks,
    first,
    is_unresolved,
)

_TARGET_ID = re.compile(r"^endpoint/(?P<endpoint>[^/]+)/variant/(?P<variant>[^/]+)$")


def _config(attrs):
    """The rendered, list-wrapped configuration of a graph vertex (as checks receive it)."""
    config = attrs.get("config_") or {}
    for by_name in config.values():
        for conf in by_name.values():
            return conf
    return {}


class EndpointConfigDataCapture(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SageMaker endpoint configuration captures inference data (data_capture_config enabled)",
            id="MLG_SM_1",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_sagemaker_endpoint_configuration"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = [
            "data_capture_config/[0]/enable_capture",
            "data_capture_config/[0]/initial_sampling_percentage",
        ]
        for capture in blocks(conf, "data_capture_config"):
            raw_enabled = first(capture, "enable_capture", True)
            raw_sampling = first(capture, "initial_sampling_percentage")
            if is_unresolved(raw_enabled) or is_unresolved(raw_sampling):
                return CheckResult.UNKNOWN
            sampling = as_int(raw_sampling)
            if as_bool(raw_enabled) is not False and (sampling is None or sampling > 0):
                return CheckResult.PASSED
        return CheckResult.FAILED


class GpuVariantAutoscaling(ModuleAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SageMaker GPU production variants have an autoscaling target in the same module",
            id="MLG_SM_2",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_sagemaker_endpoint_configuration"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = [
            "production_variants/[*]/instance_type",
            "production_variants/[*]/variant_name",
        ]
        gpu_variants = [
            first(v, "variant_name")
            for v in blocks(conf, "production_variants")
            if isinstance(first(v, "instance_type"), str)
            and SAGEMAKER_GPU_INSTANCE.match(first(v, "instance_type"))
        ]
        if not gpu_variants:
            return CheckResult.UNKNOWN  # no GPU variant: not applicable
        endpoints = self.module_resources("aws_sagemaker_endpoint")
        targets = self.module_resources("aws_appautoscaling_target")
        if endpoints is None or targets is None:
            return CheckResult.UNKNOWN
        config_name = first(conf, "name")
        if config_name is None or is_unresolved(config_name):
            return CheckResult.UNKNOWN
        endpoint_names = {
            first(_config(ep), "name")
            for ep in endpoints
            if config_name is not None and first(_config(ep), "endpoint_config_name") == config_name
        }
        scaled = set()
        unknown = any(is_unresolved(n) for n in endpoint_names)
        for target in targets:
            tconf = _config(target)
            if first(tconf, "service_namespace") != "sagemaker":
                continue
            resource_id = first(tconf, "resource_id", "")
            match = _TARGET_ID.match(str(resource_id))
            if match and match.group("endpoint") in endpoint_names:
                scaled.add(match.group("variant"))
            elif is_unresolved(resource_id) or (match and is_unresolved(match.group("endpoint"))):
                unknown = True
        missing = [v for v in gpu_variants if v not in scaled]
        if missing and unknown:
            return CheckResult.UNKNOWN  # a target only known at apply time may cover them
        self.details = [f"GPU variant {v} has no aws_appautoscaling_target in this module" for v in missing]
        return CheckResult.FAILED if missing else CheckResult.PASSED


class EndpointAlarm(ModuleAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="SageMaker endpoint has a CloudWatch metric alarm on it in the same module",
            id="MLG_SM_3",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_sagemaker_endpoint"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["name"]
        alarms = self.module_resources("aws_cloudwatch_metric_alarm")
        if alarms is None:
            return CheckResult.UNKNOWN
        name = first(conf, "name")
        if name is None or is_unresolved(name):
            return CheckResult.UNKNOWN
        unknown = False
        for alarm in alarms:
            aconf = _config(alarm)
            dims = [first(aconf, "dimensions") or {}]
            for query in blocks(aconf, "metric_query"):
                for metric in blocks(query, "metric"):
                    dims.append(first(metric, "dimensions") or {})
            for dim in dims:
                if not isinstance(dim, dict):
                    unknown = unknown or is_unresolved(dim)
                    continue
                endpoint = first(dim, "EndpointName")
                if endpoint == name:
                    return CheckResult.PASSED
                unknown = unknown or is_unresolved(endpoint)
        return CheckResult.UNKNOWN if unknown else CheckResult.FAILED


checks = [EndpointConfigDataCapture(), GpuVariantAutoscaling(), EndpointAlarm()]
