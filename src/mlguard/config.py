"""The configuration file (``mlguard.yaml``): scope, policy selection, parameters, waivers, outputs.

Validated by the JSON Schema generated from these models (``mlguard schema config``) before it is
used, with errors that name the file, line and field.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from mlguard.model import Severity

CONFIG_FILE_NAMES = ("mlguard.yaml", "mlguard.yml", ".mlguard.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AwsScope(_Strict):
    profile: str | None = Field(default=None, description="Named profile from the AWS config files.")
    role_arn: str | None = Field(default=None, description="Role to assume before scanning.")
    external_id: str | None = Field(default=None, description="External id for role_arn / org_role.")
    org_role: str | None = Field(
        default=None, description="Role name to assume in every account of the AWS Organization."
    )
    accounts: list[str] = Field(default_factory=list, description="Limit an org scan to these ids.")
    org_skip_management: bool = Field(
        default=False,
        description="Org scan: leave out the organization's management account (else it is scanned "
        "with the caller's own credentials when the caller is in it, like any member otherwise).",
    )
    regions: list[str] = Field(
        default_factory=list, description="Regions to scan (default: enabled regions)."
    )
    job_lookback_days: int = Field(
        default=30, ge=1, description="Training/processing jobs older than this are not read."
    )
    metrics_days: int = Field(default=14, ge=1, le=63, description="Days of CloudWatch metrics read.")
    max_workers: int = Field(
        default=16, ge=1, le=128, description="API calls in flight at once in one account."
    )
    max_in_flight: int = Field(
        default=64,
        ge=1,
        le=512,
        description="API calls in flight at once over the whole scan (all accounts of an org scan).",
    )
    retry_mode: Literal["standard", "adaptive"] = Field(
        default="standard",
        description="botocore retry mode: standard (with the SDK's retry quota), or adaptive (adds a "
        "client-side rate limiter per account, region and service).",
    )
    max_attempts: int = Field(default=8, ge=1, le=20, description="Attempts per API call, retries included.")
    rate_limit: float | None = Field(
        default=None,
        gt=0,
        le=10000,
        description="API calls per second to start each (account, region, service) at (default: "
        "unlimited); halved when that endpoint throttles repeatedly, then recovers gradually.",
    )


class DatabricksScope(_Strict):
    profile: str | None = Field(default=None, description="Profile in ~/.databrickscfg.")
    host: str | None = Field(default=None, description="Workspace URL (else DATABRICKS_HOST).")
    account_profile: str | None = Field(
        default=None, description="Account-level profile: scan every workspace of the account."
    )
    workspaces: list[str] = Field(default_factory=list, description="Limit an account scan to these.")
    http_timeout_seconds: int = Field(default=20, ge=1, description="Timeout of one HTTP request.")
    retry_timeout_seconds: int = Field(
        default=60, ge=1, description="How long the SDK retries one call (throttles, 5xx) before giving up."
    )
    max_workers: int = Field(
        default=8,
        ge=1,
        le=64,
        description="API calls in flight at once across the whole Databricks scan (every workspace, "
        "family and per-item detail share this one bound).",
    )


class ScopeConfig(_Strict):
    providers: list[str] = Field(
        default_factory=list, description="Providers to scan (default: those configured or detected)."
    )
    aws: AwsScope = Field(default_factory=AwsScope)
    databricks: DatabricksScope = Field(default_factory=DatabricksScope)


class PolicySelection(_Strict):
    paths: list[str] = Field(default_factory=list, description="Extra policy directories.")
    builtin: bool = Field(default=True, description="Load the built-in policy pack.")
    include: list[str] = Field(default_factory=list, description="Policy ids or globs to run.")
    exclude: list[str] = Field(default_factory=list, description="Policy ids or globs to skip.")
    severities: list[Severity] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    frameworks: list[str] = Field(default_factory=list)
    resource_types: list[str] = Field(default_factory=list)


class WaiverSpec(_Strict):
    id: str | None = Field(default=None, description="Optional name; defaults to policy:resource.")
    policy: str = Field(description="Policy id or glob.")
    resource: str = Field(default="*", description="Resource uid or glob.")
    reason: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: date
    ticket: str | None = None


class WaiversFile(_Strict):
    waivers: list[WaiverSpec] = Field(default_factory=list)


class Outputs(_Strict):
    dir: str | None = None
    formats: list[str] = Field(default_factory=list)


class CostConfig(_Strict):
    pricing: str | None = Field(
        default=None,
        description="Price file (YAML/JSON, `mlguard schema pricing`) or aws (the AWS Price List API).",
    )
    owner_tags: list[str] = Field(
        default_factory=lambda: ["owner", "team", "cost-center"],
        min_length=1,
        description="Tag keys that name a resource's owner, first found wins (case-insensitive).",
    )


class Config(_Strict):
    version: int = Field(default=1, description="Config format version.")
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    policies: PolicySelection = Field(default_factory=PolicySelection)
    parameters: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per policy id: parameter name -> value."
    )
    waivers: list[WaiverSpec] = Field(default_factory=list)
    waivers_file: str | None = Field(default=None, description="A YAML file with a waivers: list.")
    fail_on: Severity | None = Field(default=None, description="Lowest failing severity for exit 1.")
    fail_on_error: bool = Field(default=False, description="Exit 3 when collection was incomplete.")
    outputs: Outputs = Field(default_factory=Outputs)
    store: str | None = Field(default=None, description="Results store: SQLite path or database URL.")
    cost: CostConfig = Field(default_factory=CostConfig)

    # Where the file was read from; relative paths in it are relative to its folder.
    _base_dir: Path | None = PrivateAttr(default=None)

    def with_base_dir(self, base: Path) -> Config:
        self._base_dir = base
        return self

    def resolve(self, path: str) -> Path:
        p = Path(path).expanduser()
        if not p.is_absolute() and self._base_dir is not None:
            p = self._base_dir / p
        return p
