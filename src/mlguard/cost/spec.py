"""The ``cost:`` block of a policy: how its waste is measured, as data (no code per policy).

Example (a SageMaker endpoint's idle instance-based variants)::

    cost:
      waste: idle
      action: stop
      platform: sagemaker
      each: variants                           # one line per element (else the resource itself)
      only: {path: serverless, op: is_false}   # elements that count
      instance_type: {path: instance_type}
      instances: {path: current_instance_count}
      keep: {value: 0}                         # instances that stay after the action
      accelerators: {path: gpu_count}          # per instance
      basis:                                   # the measurement that makes it waste (evidence)
        - {path: invocations_sum, label: invocations}
        - {path: metrics_days, label: days of CloudWatch metrics}

Paths are checked against the declared fields of the type like every policy path; ``param``
names a declared parameter. A value that was not read (a collection error) or is absent makes
the figure that needs it unknown, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlguard.policy.conditions import CompileError, Condition, Path, compile_condition, compile_path

WASTES = ("idle", "min_capacity", "idle_pool", "no_scale_to_zero", "interactive_gpu", "no_auto_stop")
ACTIONS = ("stop", "scale_down", "scale_to_zero", "right_size", "auto_stop", "bound_runtime")
PLATFORMS = ("ec2", "sagemaker", "databricks_serving", "bedrock", "databricks_compute")
TABLES = ("databricks_serving_workload",)
USAGES = ("hosting", "notebook", "training", "processing")


def cost_schema() -> dict[str, Any]:
    """JSON Schema of the ``cost:`` block (part of the policy schema)."""
    quantity = {
        "type": "object",
        "description": "A number: read from a path (in the element with each:), a literal value, "
        "or a parameter.",
        "properties": {
            "path": {"type": "string", "minLength": 1},
            "value": {"type": "number", "minimum": 0},
            "param": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
            "add": {"type": "number", "description": "Added to the value read (e.g. 1 for a driver node)."},
            "table": {
                "enum": list(TABLES),
                "description": "Look the path's value up in a dated mlguard table instead of "
                "reading a number.",
            },
        },
        "additionalProperties": False,
        "oneOf": [{"required": ["path"]}, {"required": ["value"]}, {"required": ["param"]}],
    }
    return {
        "type": "object",
        "description": "How a FAIL of this cost policy is measured: GPU-hours and node-hours per month "
        "at risk, priced when a price is known.",
        "properties": {
            "waste": {"enum": list(WASTES), "description": "What kind of waste the FAIL is."},
            "action": {"enum": list(ACTIONS), "description": "What stops it."},
            "platform": {"enum": list(PLATFORMS), "description": "How an instance-hour is priced."},
            "usage": {
                "enum": list(USAGES),
                "description": "What a sagemaker instance-hour is for (its price differs by use).",
            },
            "each": {"type": "string", "minLength": 1, "description": "List path: one line per element."},
            "only": {"$ref": "#/$defs/condition", "description": "Elements (or the resource) that count."},
            "instance_type": {
                "type": "object",
                "properties": {"path": {"type": "string", "minLength": 1}},
                "required": ["path"],
                "additionalProperties": False,
            },
            "instances": {**quantity, "description": "Instances running (default: value 1)."},
            "keep": {**quantity, "description": "Instances that stay after the action (default: value 0)."},
            "accelerators": {**quantity, "description": "Accelerators (GPUs) per instance."},
            "accelerators_unknown": {
                "type": "string",
                "minLength": 1,
                "description": "Instead of accelerators: why the platform cannot tell them (GPU-hours "
                "stay unknown).",
            },
            "hours_per_month": {
                "oneOf": [
                    {"type": "number", "exclusiveMinimum": 0, "maximum": 744},
                    {"const": "unmeasured"},
                ],
                "description": "Hours a month the waste lasts (default 730: always on); unmeasured: "
                "mlguard cannot measure them, so the monthly figures are unknown.",
            },
            "hours_note": {"type": "string", "description": "Why the hours are what they are."},
            "at_least": {"type": "boolean", "description": "The figures are a lower bound."},
            "basis": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "minLength": 1},
                        "label": {"type": "string", "minLength": 1},
                    },
                    "required": ["path", "label"],
                    "additionalProperties": False,
                },
                "description": "Values quoted in the assumptions: the measurement that makes it waste.",
            },
        },
        "required": ["waste", "action", "platform", "instance_type"],
        "not": {"required": ["accelerators", "accelerators_unknown"]},
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Quantity:
    path: str | None = None
    expr: Path | None = None
    value: float | None = None
    param: str | None = None
    add: float = 0.0
    table: str | None = None


@dataclass(frozen=True)
class Basis:
    path: str
    expr: Path
    label: str


@dataclass(frozen=True)
class CostSpec:
    waste: str
    action: str
    platform: str
    usage: str | None
    each: str | None
    each_expr: Path | None
    only: Condition | None
    instance_type: str
    instance_type_expr: Path
    instances: Quantity
    keep: Quantity
    accelerators: Quantity | None
    accelerators_unknown: str | None
    hours_per_month: float | None  # None: unmeasured
    hours_note: str | None
    at_least: bool
    basis: tuple[Basis, ...]

    def describe(self) -> str:
        """One line for the policy catalogue: what a FAIL wastes and how it is measured."""

        def q(x: Quantity | None) -> str:
            if x is None:
                return "unknown"
            if x.path is not None:
                text = f"`{x.path}`" + (f" via the {x.table} table" if x.table else "")
                return text + (f" + {x.add:g}" if x.add else "")
            return f"parameter `{x.param}`" if x.param is not None else f"{x.value:g}"

        hours = "unmeasured hours" if self.hours_per_month is None else f"{self.hours_per_month:g} h/month"
        count = q(self.instances)
        if self.keep.path is not None or self.keep.param is not None or self.keep.value:
            count = f"({count} - {q(self.keep)} kept)"
        where = f" of each `{self.each}` element" if self.each else ""
        bound = " (a lower bound)" if self.at_least else ""
        return (
            f"{self.waste.replace('_', ' ')}, fixed by {self.action.replace('_', ' ')}: {hours} x {count} "
            f"instances x {q(self.accelerators)} GPUs{where}{bound}; priced as {self.platform}"
            f"{' ' + self.usage if self.usage else ''} "
            f"`{self.instance_type}` when a price is given"
        )

    def paths(self) -> list[tuple[str, list[str | int], bool]]:
        """(path, where in the policy, read in the element) of every path the block reads."""
        out: list[tuple[str, list[str | int], bool]] = []
        inner = self.each is not None
        out.append((self.instance_type, ["cost", "instance_type", "path"], inner))
        for key, q in (
            ("instances", self.instances),
            ("keep", self.keep),
            ("accelerators", self.accelerators),
        ):
            if q is not None and q.path is not None:
                out.append((q.path, ["cost", key, "path"], inner))
        out += [(b.path, ["cost", "basis", i, "path"], False) for i, b in enumerate(self.basis)]
        return out


def _quantity(
    raw: dict[str, Any] | None, where: list[str | int], params: dict[str, Any], default: float
) -> Quantity:
    if raw is None:
        return Quantity(value=default)
    if "param" in raw:
        name = raw["param"]
        if name not in params:
            raise CompileError(
                f"unknown parameter {name!r} (declare it under parameters:)", [*where, "param"]
            )
        if not isinstance(params[name], int | float) or isinstance(params[name], bool):
            raise CompileError(f"parameter {name!r} is not a number", [*where, "param"])
    if "table" in raw and "path" not in raw:
        raise CompileError("table: looks up the value of a path; give path:", [*where, "table"])
    path = raw.get("path")
    return Quantity(
        path=path,
        expr=compile_path(path, [*where, "path"]) if path else None,
        value=raw.get("value"),
        param=raw.get("param"),
        add=float(raw.get("add", 0)),
        table=raw.get("table"),
    )


def compile_cost(raw: dict[str, Any], params: dict[str, Any]) -> CostSpec:
    """The compiled block; raises CompileError (located under ``cost``) for semantic problems."""
    where: list[str | int] = ["cost"]
    hours = raw.get("hours_per_month", 730)
    if "usage" in raw and raw["platform"] != "sagemaker":
        raise CompileError("usage: applies to the sagemaker platform only", [*where, "usage"])
    each = raw.get("each")
    return CostSpec(
        waste=raw["waste"],
        action=raw["action"],
        platform=raw["platform"],
        usage=raw.get("usage"),
        each=each,
        each_expr=compile_path(each, [*where, "each"]) if each else None,
        only=compile_condition(raw["only"], [*where, "only"], params) if "only" in raw else None,
        instance_type=raw["instance_type"]["path"],
        instance_type_expr=compile_path(raw["instance_type"]["path"], [*where, "instance_type", "path"]),
        instances=_quantity(raw.get("instances"), [*where, "instances"], params, 1),
        keep=_quantity(raw.get("keep"), [*where, "keep"], params, 0),
        accelerators=_quantity(raw["accelerators"], [*where, "accelerators"], params, 0)
        if "accelerators" in raw
        else None,
        accelerators_unknown=raw.get("accelerators_unknown"),
        hours_per_month=None if hours == "unmeasured" else float(hours),
        hours_note=raw.get("hours_note"),
        at_least=bool(raw.get("at_least", False)),
        basis=tuple(
            Basis(b["path"], compile_path(b["path"], [*where, "basis", i, "path"]), b["label"])
            for i, b in enumerate(raw.get("basis", ()))
        ),
    )
