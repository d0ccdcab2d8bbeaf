# mypy: ignore-errors
"""Helpers shared by mlguard's checkov checks (runs inside checkov's process only)."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from checkov.common.models.enums import CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

# AWS / Azure / GCP node types with GPUs, as Databricks names them.
DATABRICKS_GPU_NODE = re.compile(
    r"^(?:(?:g4dn|g5|g5g|g6|g6e|gr6|p2|p3|p3dn|p4d|p4de|p5|p5e)\."
    r"|Standard_N[CDV]"
    r"|a2-|a3-|g2-)",
    re.IGNORECASE,
)
# SageMaker hosting instance types with GPUs: ml.g*, ml.p*.
SAGEMAKER_GPU_INSTANCE = re.compile(r"^ml\.(?:g\d|p\d)", re.IGNORECASE)


def first(conf: dict[str, Any], key: str, default: Any = None) -> Any:
    """checkov wraps every HCL attribute in a one-element list; unwrap it."""
    value = conf.get(key, default)
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def blocks(conf: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The nested blocks named ``key`` (always a list of dicts)."""
    value = conf.get(key) or []
    if isinstance(value, dict):
        value = [value]
    out: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list):
            out.extend(i for i in item if isinstance(i, dict))
    return out


def as_bool(value: Any) -> bool | None:
    """A Terraform boolean, written as a bool or a string; None when unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value.strip()))
        except ValueError:
            return None
    return None


_REFERENCE = re.compile(
    r"^(?:var|local|module|data|each|count|self|path|terraform)\."  # Terraform references
    r"|^[A-Za-z_][\w-]*\.(?:value|key)(?:[.\[]|$)"  # a dynamic block's iterator
)


def is_unresolved(value: Any) -> bool:
    """True for a value checkov could not render (a variable or reference left as text)."""
    if isinstance(value, list):
        return any(is_unresolved(v) for v in value)
    return isinstance(value, str) and ("${" in value or bool(_REFERENCE.match(value)))


class ModuleAwareCheck(BaseResourceCheck):
    """A resource check that may look at the other resources of the same Terraform module.

    checkov hands each check its registry's graph; this remembers which file is being scanned so
    ``module_resources`` can select the resources declared in the same directory.
    """

    _scanned_file = ""

    def run(self, scanned_file, entity_configuration, entity_name, entity_type, skip_info):
        self._scanned_file = scanned_file or ""
        return super().run(scanned_file, entity_configuration, entity_name, entity_type, skip_info)

    def _graph_nodes(self) -> Iterator[dict[str, Any]]:
        graph = self.graph
        if graph is None:
            return
        if hasattr(graph, "node_indices"):  # rustworkx (checkov's default)
            for payload in graph.nodes():
                attrs = payload[1] if isinstance(payload, tuple) else payload
                if isinstance(attrs, dict):
                    yield attrs
        else:  # networkx (CHECKOV_GRAPH_FRAMEWORK=NETWORKX)
            for _, attrs in graph.nodes(data=True):
                if isinstance(attrs, dict):
                    yield attrs

    def module_resources(self, resource_type: str) -> list[dict[str, Any]] | None:
        """Graph vertices of every ``resource_type`` resource in the module being scanned.

        None when the module cannot be seen (no graph): the caller must then not claim a PASS.
        """
        return self.module_blocks("resource", resource_type)

    def module_data(self, data_type: str, name: str) -> dict[str, Any] | None:
        """The list-wrapped configuration of ``data "<data_type>" "<name>"`` in this module, if any."""
        for attrs in self.module_blocks("data", data_type) or []:
            conf = (attrs.get("config_") or {}).get(data_type, {}).get(name)
            if isinstance(conf, dict):
                return conf
        return None

    def module_blocks(self, block_type: str, type_name: str) -> list[dict[str, Any]] | None:
        if self.graph is None or not self._scanned_file:
            return None
        # a module outside checkov's root directory comes as "/../../modules/x/main.tf"
        scanned = posixpath.normpath(self._scanned_file.replace("\\", "/")).lstrip("/")
        while scanned.startswith("../"):
            scanned = scanned[3:]
        module_dir = None
        nodes = list(self._graph_nodes())
        for attrs in nodes:
            path = str(attrs.get("file_path_", "")).replace("\\", "/")
            if path.endswith("/" + scanned) or path == scanned:
                module_dir = os.path.dirname(path)
                break
        if module_dir is None:
            return None
        return [
            attrs
            for attrs in nodes
            if attrs.get("block_type_") == block_type
            and type_name in (attrs.get("config_") or {})
            and os.path.dirname(str(attrs.get("file_path_", "")).replace("\\", "/")) == module_dir
        ]


__all__ = [
    "DATABRICKS_GPU_NODE",
    "SAGEMAKER_GPU_INSTANCE",
    "CheckResult",
    "ModuleAwareCheck",
    "as_bool",
    "as_int",
    "blocks",
    "first",
    "is_unresolved",
]
