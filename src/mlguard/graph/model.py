"""The estate graph's data: what a scan stores (:class:`Estate`) and what ``mlguard graph`` writes
(:class:`EstateGraph`, whose JSON Schema is ``mlguard schema graph``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GRAPH_SCHEMA_VERSION = "1.0"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Stage(StrEnum):
    """Columns of the map, in the order data flows through an ML estate."""

    DATA = "data"
    TRAINING = "training"
    MODELS = "models"
    SERVING = "serving"
    IDENTITY = "identity"  # roles, keys, credentials, images and other supporting resources


class EstateNode(_Frozen):
    """A resource of the estate, as the scan saw it (no findings: those are in the results)."""

    uid: str
    type: str
    provider: str
    name: str | None = None
    account: str | None = None
    region: str | None = None
    workspace: str | None = None
    stage: Stage
    group: str = Field(description="Where the node is drawn: account/region, workspace or catalog.")


class EstateEdge(_Frozen):
    """``source`` refers to ``target``; ``why``: each declaration that relates them."""

    source: str
    target: str
    why: list[str] = Field(min_length=1)
    cross_provider: bool = False


class Estate(BaseModel):
    """The estate's nodes and links, computed from the inventory when the scan is evaluated."""

    model_config = ConfigDict(extra="forbid")

    nodes: list[EstateNode] = Field(default_factory=list)
    edges: list[EstateEdge] = Field(default_factory=list)


class Findings(_Frozen):
    """A node's results: counts per status and the worst of them."""

    FAIL: int = 0
    ERROR: int = 0
    WAIVED: int = 0
    PASS: int = 0
    SKIP: int = 0
    worst_status: str | None = Field(default=None, description="FAIL > ERROR > WAIVED > PASS > SKIP.")
    worst_severity: str | None = Field(
        default=None, description="Highest severity among the FAIL and ERROR results."
    )


class GraphNode(EstateNode):
    findings: Findings = Field(default_factory=Findings)


class GraphGroup(_Frozen):
    """A group of one column: its nodes are drawn together (and collapsed together)."""

    stage: Stage
    group: str
    nodes: int
    worst_status: str | None = None


class EstateGraph(BaseModel):
    """The estate graph ``mlguard graph`` writes: nodes with their findings, labelled edges."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1.0"] = "1.0"
    source: Literal["inventory", "results"] = Field(
        description="inventory: edges from reference fields and joins; results: from the scan's estate, "
        "or, for results without one, from the related resources its joins used."
    )
    nodes: list[GraphNode] = Field(default_factory=list)
    edges: list[EstateEdge] = Field(default_factory=list)
    groups: list[GraphGroup] = Field(default_factory=list)
