# mypy: ignore-errors
"""mlguard checks for Databricks Terraform resources (checkov ships none for ``databricks_*``).

They mirror mlguard's live Databricks policies where the attribute exists in Terraform.
"""

from __future__ import annotations

import re

from checkov.common.models.enums import CheckCategories
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck
from mlg_common import (
    DATABRICKS_GPU_NODE,
    CheckResult,
    ModuleAwareCheck,
    as_bool,
    as_int,
    blocks,
    first,
    is_unresolved,
)

MAX_AUTOTERMINATION_MINUTES = 120
MAX_TOKEN_LIFETIME_SECONDS = 90 * 24 * 3600
UC_SECURITY_MODES = frozenset(
    {
        "SINGLE_USER",
        "USER_ISOLATION",
        "DATA_SECURITY_MODE_AUTO",
        "DATA_SECURITY_MODE_STANDARD",
        "DATA_SECURITY_MODE_DEDICATED",
    }
)
BROAD_PRINCIPALS = frozenset({"account users", "users"})
# workspace-conf key -> the value a secure workspace sets.
SECURE_WORKSPACE_CONF = {
    "enableIpAccessLists": True,
    "enableVerboseAuditLogs": True,
    "enableResultsDownloading": False,
    "enableExportNotebook": False,
    "enableNotebookTableClipboard": False,
    "enableDbfsFileBrowser": False,
}


class ClusterAutotermination(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name=f"Databricks cluster terminates after at most {MAX_AUTOTERMINATION_MINUTES} idle minutes",
            id="MLG_DBX_1",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["databricks_cluster"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["autotermination_minutes"]
        minutes = first(conf, "autotermination_minutes")
        if minutes is None:
            # The API applies a default (60 for interactive clusters): require the limit in code.
            return CheckResult.FAILED
        if is_unresolved(minutes):
            return CheckResult.UNKNOWN
        value = as_int(minutes)
        if value is None or value <= 0 or value > MAX_AUTOTERMINATION_MINUTES:
            return CheckResult.FAILED
        return CheckResult.PASSED


class ClusterAutoscale(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databricks multi-node cluster uses autoscale instead of a fixed worker count",
            id="MLG_DBX_2",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["databricks_cluster"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["autoscale", "num_workers"]
        if blocks(conf, "autoscale"):
            return CheckResult.PASSED
        workers = first(conf, "num_workers")
        if is_unresolved(workers):
            return CheckResult.UNKNOWN
        if as_int(workers) == 0:
            return CheckResult.PASSED  # single-node cluster: nothing to scale
        return CheckResult.FAILED


class ClusterUnityCatalogMode(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databricks cluster runs in a Unity Catalog access mode (data_security_mode)",
            id="MLG_DBX_3",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_cluster"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["data_security_mode"]
        mode = first(conf, "data_security_mode")
        if is_unresolved(mode):
            return CheckResult.UNKNOWN
        if isinstance(mode, str) and mode.upper() in UC_SECURITY_MODES:
            return CheckResult.PASSED
        return CheckResult.FAILED


_NODE_TYPE_DATA = re.compile(r"^(?:\$\{)?data\.databricks_node_type\.([A-Za-z0-9_-]+)\.id\}?$")


class GpuClusterPolicy(ModuleAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databricks GPU cluster is governed by a cluster policy (policy_id)",
            id="MLG_DBX_4",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["databricks_cluster"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["node_type_id", "driver_node_type_id", "spark_version", "policy_id"]
        if not self._is_gpu(conf):
            return CheckResult.UNKNOWN  # not a GPU cluster (or node type unknown): not applicable
        policy = first(conf, "policy_id")
        if isinstance(policy, str) and policy.strip():
            return CheckResult.PASSED
        return CheckResult.FAILED

    def _is_gpu(self, conf) -> bool:
        """A GPU node type, a GPU runtime, or a ``databricks_node_type`` data source asking for a GPU."""
        spark_version = first(conf, "spark_version")
        if isinstance(spark_version, str) and "-gpu-" in spark_version:
            return True
        for node_type in (first(conf, "node_type_id"), first(conf, "driver_node_type_id")):
            if not isinstance(node_type, str):
                continue
            if DATABRICKS_GPU_NODE.match(node_type):
                return True
            ref = _NODE_TYPE_DATA.match(node_type)
            if ref:
                data = self.module_data("databricks_node_type", ref.group(1))
                if data is not None and as_bool(first(data, "gpu")) is True:
                    return True
        return False


class ServingScaleToZero(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databricks model serving endpoint scales to zero when idle",
            id="MLG_DBX_5",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["databricks_model_serving"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = [
            "config/[0]/served_entities/[*]/scale_to_zero_enabled",
            "config/[0]/served_models/[*]/scale_to_zero_enabled",
        ]
        served = []
        for config in blocks(conf, "config"):
            served += blocks(config, "served_entities") + blocks(config, "served_models")
        if not served:
            return CheckResult.UNKNOWN
        values = [as_bool(first(s, "scale_to_zero_enabled")) for s in served]
        if any(
            v is None and is_unresolved(first(s, "scale_to_zero_enabled"))
            for v, s in zip(values, served, strict=True)
        ):
            return CheckResult.UNKNOWN
        return CheckResult.PASSED if all(v is True for v in values) else CheckResult.FAILED


class ServingInferenceTable(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databricks model serving endpoint logs requests to an inference table",
            id="MLG_DBX_6",
            categories=[CheckCategories.LOGGING],
            supported_resources=["databricks_model_serving"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = [
            "config/[0]/auto_capture_config/[0]/enabled",
            "ai_gateway/[0]/inference_table_config/[0]/enabled",
        ]
        unknown = False
        for config in blocks(conf, "config"):
            for capture in blocks(config, "auto_capture_config"):
                enabled = first(capture, "enabled", True)  # defaults to true when the block is present
                unknown = unknown or is_unresolved(enabled)
                if as_bool(enabled) is True:
                    return CheckResult.PASSED
        for gateway in blocks(conf, "ai_gateway"):
            for table in blocks(gateway, "inference_table_config"):
                enabled = first(table, "enabled")
                unknown = unknown or is_unresolved(enabled)
                if as_bool(enabled) is True:
                    return CheckResult.PASSED
        return CheckResult.UNKNOWN if unknown else CheckResult.FAILED


class TokenLifetime(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databricks token has a lifetime of at most 90 days",
            id="MLG_DBX_7",
            categories=[CheckCategories.SECRETS],
            supported_resources=["databricks_token", "databricks_obo_token"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["lifetime_seconds"]
        lifetime = first(conf, "lifetime_seconds")
        if is_unresolved(lifetime):
            return CheckResult.UNKNOWN
        value = as_int(lifetime)
        if value is None or value <= 0 or value > MAX_TOKEN_LIFETIME_SECONDS:
            return CheckResult.FAILED
        return CheckResult.PASSED


class NoAllPrivilegesToAccountUsers(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Unity Catalog grants give no ALL_PRIVILEGES to all account users",
            id="MLG_DBX_8",
            categories=[CheckCategories.IAM],
            supported_resources=["databricks_grants", "databricks_grant"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = ["grant/[*]/principal", "grant/[*]/privileges", "principal", "privileges"]
        grants = blocks(conf, "grant") if "grant" in conf else [conf]
        unknown = False
        for grant in grants:
            principal = first(grant, "principal")
            privileges = grant.get("privileges") or []
            if privileges and isinstance(privileges[0], list):
                privileges = privileges[0]
            all_privileges = any(isinstance(p, str) and p.upper() == "ALL_PRIVILEGES" for p in privileges)
            broad = isinstance(principal, str) and principal.strip().lower() in BROAD_PRINCIPALS
            if broad and all_privileges:
                return CheckResult.FAILED
            # A principal or privilege list only known at apply time might be exactly that.
            if (is_unresolved(principal) and (all_privileges or is_unresolved(privileges))) or (
                broad and is_unresolved(privileges)
            ):
                unknown = True
        return CheckResult.UNKNOWN if unknown else CheckResult.PASSED


class WorkspaceConfSecurity(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Databricks workspace conf enables IP access lists and audit logs and disables data export",
            id="MLG_DBX_9",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["databricks_workspace_conf"],
        )

    def scan_resource_conf(self, conf):
        self.evaluated_keys = [f"custom_config/[0]/{key}" for key in SECURE_WORKSPACE_CONF]
        custom = first(conf, "custom_config") or {}
        if not isinstance(custom, dict):
            return CheckResult.UNKNOWN
        wrong = []
        for key, expected in SECURE_WORKSPACE_CONF.items():
            value = custom.get(key)
            if isinstance(value, list) and len(value) == 1:
                value = value[0]
            if as_bool(value) is not expected:
                wrong.append(key)
        self.details = [f"{key} must be {str(SECURE_WORKSPACE_CONF[key]).lower()}" for key in wrong]
        return CheckResult.FAILED if wrong else CheckResult.PASSED


checks = [
    ClusterAutotermination(),
    ClusterAutoscale(),
    ClusterUnityCatalogMode(),
    GpuClusterPolicy(),
    ServingScaleToZero(),
    ServingInferenceTable(),
    TokenLifetime(),
    NoAllPrivilegesToAccountUsers(),
    WorkspaceConfSecurity(),
]
