"""Dated offline facts: the accelerators of instance types and the end of support of runtimes.

Both tables ship as data (``mlguard/data/accelerators.json``, ``mlguard/data/end_of_support.json``)
with their "as of" date and sources. Collectors use them when a live call (EC2
DescribeInstanceTypes, Databricks list-node-types) fails or does not know a type; the live answer
refines them. A name that neither knows is unknown: collectors record a per-resource collection
error for the fact fields, so policies that need them come out ERROR, never "not a GPU".
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_DATA = Path(__file__).resolve().parent.parent / "data"

AcceleratorKind = Literal["gpu", "neuron", "inference", "fpga", "media", "gaudi"]
RuntimeTable = Literal["lambda", "databricks_runtime", "sagemaker_notebook_platform"]


class UnknownFact(Exception):
    """A fact no live answer and no table knows (the exception name is the error code)."""


class UnknownInstanceType(UnknownFact):
    pass


class UnknownRuntime(UnknownFact):
    pass


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Accelerator(_Model):
    accelerator: AcceleratorKind
    count: int | float  # fractional for GPU partitions (g6f)
    model: str
    manufacturer: str
    memory_mib: int | None
    nvme_gb: int | None


class AcceleratorTable(_Model):
    as_of: date
    sources: list[str]
    notes: str
    non_accelerated_families: str
    ec2: dict[str, Accelerator]
    sagemaker: list[str]


class DatabricksVersion(_Model):
    end_of_support: date
    lts: bool


class _Lifecycle(_Model):
    sources: list[str]
    meaning: str


class DatedVersions(_Lifecycle):
    versions: dict[str, date]


class DatabricksVersions(_Lifecycle):
    versions: dict[str, DatabricksVersion]


class EndOfSupportTable(_Model):
    as_of: date
    lambda_: DatedVersions = Field(alias="lambda")
    databricks_runtime: DatabricksVersions
    sagemaker_notebook_platform: DatedVersions


@cache
def accelerator_table() -> AcceleratorTable:
    return AcceleratorTable.model_validate_json((_DATA / "accelerators.json").read_text())


@cache
def end_of_support_table() -> EndOfSupportTable:
    return EndOfSupportTable.model_validate_json((_DATA / "end_of_support.json").read_text())


@cache
def _non_accelerated() -> re.Pattern[str]:
    return re.compile(accelerator_table().non_accelerated_families)


@cache
def _families() -> dict[str, Accelerator]:
    """One table entry per accelerated family (the rule for sizes the table does not list)."""
    out: dict[str, Accelerator] = {}
    for name, acc in sorted(accelerator_table().ec2.items()):
        out.setdefault(name.split(".", 1)[0], acc)
    return out


def accelerator_facts(
    *,
    kind: str | None,
    count: int | float | None,
    model: str | None,
    manufacturer: str | None,
    memory_mib: int | None,
    nvme_gb: int | None,
    source: str,
) -> dict[str, Any]:
    """The accelerator fact fields every instance-backed resource carries (one shape for all)."""
    is_gpu = kind == "gpu"
    return {
        "is_gpu": is_gpu,
        "gpu_count": count if is_gpu else 0,
        "gpu_model": model if is_gpu else None,
        "gpu_manufacturer": manufacturer if is_gpu else None,
        "gpu_memory_mib": memory_mib if is_gpu else None,
        "accelerator": kind,
        "accelerator_count": count if kind is not None else 0,
        "accelerator_model": model,
        "nvme_gb": nvme_gb,
        "source": source,
    }


def instance_type_facts(name: str | None) -> dict[str, Any] | None:
    """Accelerator facts of an EC2 instance type, a SageMaker ``ml.*`` type or a Databricks node
    type id (on AWS these are EC2 names), from the table; None when the table does not know it.

    A size the table does not list takes its family's accelerator kind and model (count, memory
    and local storage stay unknown: None); families without accelerators (m5, c5, r5, t3...) are
    known non-GPU by rule.
    """
    if not name:
        return None
    table = accelerator_table()
    ec2_name = name.removeprefix("ml.")
    as_of = table.as_of.isoformat()
    acc = table.ec2.get(ec2_name)
    if acc is not None:
        return accelerator_facts(
            kind=acc.accelerator,
            count=acc.count,
            model=acc.model,
            manufacturer=acc.manufacturer,
            memory_mib=acc.memory_mib,
            nvme_gb=acc.nvme_gb,
            source=f"table {as_of}",
        )
    family = ec2_name.split(".", 1)[0]
    if "." in ec2_name and _non_accelerated().match(family):
        return accelerator_facts(
            kind=None,
            count=0,
            model=None,
            manufacturer=None,
            memory_mib=None,
            nvme_gb=None,
            source=f"non-accelerated family rule {as_of}",
        )
    fam = _families().get(family)
    if fam is not None and "." in ec2_name:
        return accelerator_facts(
            kind=fam.accelerator,
            count=None,
            model=fam.model,
            manufacturer=fam.manufacturer,
            memory_mib=None,
            nvme_gb=None,
            source=f"family rule {as_of}",
        )
    return None


def databricks_version(spark_version: str | None) -> str | None:
    """``15.4`` of a Databricks runtime key such as ``15.4.x-gpu-ml-scala2.12``."""
    m = re.match(r"^(\d+)\.(\d+)\.", spark_version or "")
    return f"{m.group(1)}.{m.group(2)}" if m else None


def runtime_support(table: RuntimeTable, version: str | None) -> dict[str, Any] | None:
    """``{runtime, end_of_support, lts?, as_of}`` of a runtime from the dated table; None: unknown.

    Policies compare ``end_of_support`` with the evaluator's clock, never the collection time.
    """
    if not version:
        return None
    eos = end_of_support_table()
    as_of = eos.as_of.isoformat()
    if table == "databricks_runtime":
        key = databricks_version(version)
        entry = eos.databricks_runtime.versions.get(key or "")
        if entry is None:
            return None
        return {
            "runtime": version,
            "version": key,
            "end_of_support": entry.end_of_support.isoformat(),
            "lts": entry.lts,
            "as_of": as_of,
        }
    dated = eos.lambda_ if table == "lambda" else eos.sagemaker_notebook_platform
    day = dated.versions.get(version)
    if day is None:
        return None
    return {"runtime": version, "end_of_support": day.isoformat(), "as_of": as_of}
