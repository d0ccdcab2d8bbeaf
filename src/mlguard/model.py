"""The published data formats: inventory (what was collected) and scan result (what was found).

Every stage of mlguard reads and writes one of these, so each stage can run, be tested and be
replayed on its own. The JSON Schemas printed by ``mlguard schema`` are generated from these
models; changing a field here changes the published interface.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlguard.cost.model import Cost, CostSummary, GpuFleet
from mlguard.graph.model import Estate

INVENTORY_SCHEMA_VERSION = "1.0"
RESULT_SCHEMA_VERSION = "1.0"

# Keys of the resource envelope. Policy paths see them beside ``data``, so ``data`` may not use them.
ENVELOPE_KEYS = frozenset({"uid", "type", "provider", "id", "name", "account", "region", "workspace", "tags"})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provider(StrEnum):
    AWS = "aws"
    DATABRICKS = "databricks"
    IAC = "iac"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Category(StrEnum):
    SECURITY = "security"
    COST = "cost"
    MONITORING = "monitoring"
    GOVERNANCE = "governance"
    RELIABILITY = "reliability"


class Status(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIP = "SKIP"
    WAIVED = "WAIVED"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(dt: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix: the one timestamp format of every output."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- inventory


class Scope(_Frozen):
    """Where something was read: an AWS account and region, or a Databricks workspace."""

    provider: str
    account: str | None = None
    region: str | None = None
    workspace: str | None = None

    def label(self) -> str:
        parts = [self.provider]
        parts += [p for p in (self.account, self.region, self.workspace) if p]
        return "/".join(parts)

    def contains(self, account: str | None, region: str | None, workspace: str | None) -> bool:
        """True if a resource at (account, region, workspace) lies inside this scope.

        A field left empty in the scope matches anything: an error recorded for a whole account
        covers all of its regions.
        """
        return (
            (self.account is None or self.account == account)
            and (self.region is None or self.region == region)
            and (self.workspace is None or self.workspace == workspace)
        )


class Resource(_Frozen):
    uid: str = Field(
        description="Globally unique, stable id: the ARN on AWS, databricks://... on Databricks."
    )
    type: str = Field(description="Catalogue type, provider.service.kind.")
    provider: str
    id: str
    name: str | None = None
    account: str | None = None
    region: str | None = None
    workspace: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict, description="Attributes as read, JSON types only.")
    collected_at: str | None = Field(default=None, description="ISO-8601 UTC time of the read.")

    @field_validator("data")
    @classmethod
    def _no_envelope_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = ENVELOPE_KEYS.intersection(value)
        if clash:
            raise ValueError(f"data may not use envelope keys: {sorted(clash)}")
        return value

    def document(self) -> dict[str, Any]:
        """The JSON object that policy paths are evaluated against: data plus the envelope."""
        doc = dict(self.data)
        doc.update(
            uid=self.uid,
            type=self.type,
            provider=self.provider,
            id=self.id,
            name=self.name,
            account=self.account,
            region=self.region,
            workspace=self.workspace,
            tags=self.tags,
        )
        return doc


class CollectionError(_Frozen):
    """Something that could not be read. Data, never a silently empty list.

    With no ``resource_uid`` the error covers the whole (scope, resource_type): the listing failed.
    With a ``resource_uid`` it covers that resource; ``attributes`` (top-level data keys) narrows it
    further, so a denied detail call only makes policies that read those attributes come out ERROR.
    ``attributes`` without ``resource_uid``: a detail call that failed for the whole scope or a batch
    left those attributes unread for every resource of the type in the scope (listing succeeded).
    """

    provider: str
    account: str | None = None
    region: str | None = None
    workspace: str | None = None
    resource_type: str | None = Field(default=None, description="None: every type in the scope.")
    operation: str = Field(description="API operation or route that failed.")
    code: str = Field(description="Error code, e.g. AccessDenied, Throttling, PERMISSION_DENIED.")
    message: str
    resource_uid: str | None = None
    attributes: list[str] = Field(default_factory=list)

    @property
    def scope(self) -> Scope:
        return Scope(
            provider=self.provider, account=self.account, region=self.region, workspace=self.workspace
        )


class Coverage(_Frozen):
    """A resource type that collection was attempted for, in one scope.

    Policies only judge a resource type in scopes where it was collected; a related type that was
    not collected makes a join ERROR rather than a silent "none found".
    """

    provider: str
    account: str | None = None
    region: str | None = None
    workspace: str | None = None
    resource_type: str
    unread: tuple[str, ...] | None = Field(
        default=None,
        description="Data keys deliberately not read here (no selected policy read them): unknown "
        "to anything that evaluates them, never absent.",
    )

    @property
    def scope(self) -> Scope:
        return Scope(
            provider=self.provider, account=self.account, region=self.region, workspace=self.workspace
        )


class Identity(_Frozen):
    provider: str
    account: str | None = None
    workspace: str | None = None
    principal: str = Field(description="AWS caller ARN or Databricks user name.")


class ShardInfo(_Frozen):
    """One shard of a sharded collection (``--shard K/N``): the units it read and every unit it saw."""

    index: int = Field(ge=0)
    count: int = Field(ge=1)
    units: list[str] = Field(default_factory=list, description="Units this shard read.")
    all_units: list[str] = Field(
        default_factory=list, description="Every unit the shard saw, its own and the other shards'."
    )
    source: str | None = Field(default=None, description="The part file (in a merged run).")
    balanced_by: str | None = Field(
        default=None,
        description="The recorded run whose unit sizes placed the units on shards (absent: a hash "
        "of each unit's key placed it).",
    )


class Provenance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: Literal["mlguard"] = "mlguard"
    version: str
    policy_pack_version: str | None = None
    started_at: str
    finished_at: str | None = None
    command: str | None = None
    identities: list[Identity] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    workspaces: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="Inventory files or IaC paths read.")
    shard: ShardInfo | None = Field(default=None, description="This partial inventory's shard (--shard).")
    shards: list[ShardInfo] = Field(default_factory=list, description="The shards merged (mlguard merge).")


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1.0"] = "1.0"
    provenance: Provenance
    resources: list[Resource] = Field(default_factory=list)
    errors: list[CollectionError] = Field(default_factory=list)
    coverage: list[Coverage] = Field(default_factory=list)
    iac: IacScan | None = Field(
        default=None,
        description="A shard's checkov findings for the IaC units it read (`scan --shard K/N --iac "
        "PATH`), or a merge's of every part; evaluated with the live policies.",
    )


# --------------------------------------------------------------------------- results


_M = TypeVar("_M", bound=BaseModel)


def _built(cls: type[_M], fields: dict[str, Any], given: set[str]) -> _M:
    """What ``cls.model_construct(**fields)`` builds, for ``fields`` naming every field of ``cls`` in
    its declared order (``given``: those the caller set; one set may be shared by many instances,
    as pydantic copies it before any change): no validation, so only for values already of their
    declared types (the evaluator's own); ``tests/policy/test_results_compact.py`` holds it to
    the validated model."""
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", fields)
    object.__setattr__(model, "__pydantic_fields_set__", given)
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model


class Evidence(_Frozen):
    values: dict[str, Any] = Field(
        default_factory=dict, description="Path (as written in the policy) -> value read."
    )
    collected_at: str | None = None
    related: list[str] = Field(default_factory=list, description="uids of related resources used.")

    @classmethod
    def built(cls, values: dict[str, Any], collected_at: str | None, related: list[str]) -> Evidence:
        """``Evidence(values=..., collected_at=..., related=...)`` from values of the declared types
        (str keys; no validation: see :func:`_built`); the model keeps the dict and list given."""
        fields = {"values": values, "collected_at": collected_at, "related": related}
        return _built(cls, fields, _EVIDENCE_GIVEN)


_EVIDENCE_GIVEN = {"values", "collected_at", "related"}


class WaiverRef(_Frozen):
    id: str
    reason: str
    owner: str
    expires: str
    ticket: str | None = None
    expired: bool = False


class SourceLocation(_Frozen):
    file: str
    start_line: int = Field(ge=1)
    end_line: int | None = Field(default=None, ge=1)


class Result(_Frozen):
    policy_id: str
    resource_uid: str
    resource_type: str
    resource_name: str | None = None
    provider: str
    account: str | None = None
    region: str | None = None
    workspace: str | None = None
    status: Status
    severity: Severity
    category: Category
    title: str
    message: str
    evidence: Evidence = Field(default_factory=Evidence)
    fingerprint: str
    compliance: list[str] = Field(default_factory=list, description="framework:requirement ids.")
    waiver: WaiverRef | None = None
    baseline: Literal["new", "existing"] | None = None
    source: SourceLocation | None = Field(default=None, description="IaC file and line, when known.")
    cost: Cost | None = Field(
        default=None, description="What a failing cost finding wastes per month (GPU-hours, node-hours, $)."
    )

    @classmethod
    def built(
        cls,
        policy_id: str,
        resource_uid: str,
        resource_type: str,
        resource_name: str | None,
        provider: str,
        account: str | None,
        region: str | None,
        workspace: str | None,
        status: Status,
        severity: Severity,
        category: Category,
        title: str,
        message: str,
        evidence: Evidence,
        compliance: list[str],
    ) -> Result:
        """The evaluator's result, from values of the declared types (enums as enum members; no
        validation: see :func:`_built`): what ``Result(...)`` with these fields would hold."""
        fields = {
            "policy_id": policy_id,
            "resource_uid": resource_uid,
            "resource_type": resource_type,
            "resource_name": resource_name,
            "provider": provider,
            "account": account,
            "region": region,
            "workspace": workspace,
            "status": status,
            "severity": severity,
            "category": category,
            "title": title,
            "message": message,
            "evidence": evidence,
            "fingerprint": fingerprint(policy_id, resource_uid),
            "compliance": compliance,
            "waiver": None,
            "baseline": None,
            "source": None,
            "cost": None,
        }
        return _built(cls, fields, _RESULT_GIVEN)

    @classmethod
    def built_from(cls, fields: dict[str, Any]) -> Result:
        """What :meth:`built` makes, from the dict of every field in declared order (a copy of a
        built result's ``__dict__`` with some values replaced, of their declared types): one dict
        copy rather than a call with every field, for the evaluator's 300k results."""
        return _built(cls, fields, _RESULT_GIVEN)


_RESULT_GIVEN = {
    "policy_id", "resource_uid", "resource_type", "resource_name", "provider", "account", "region",
    "workspace", "status", "severity", "category", "title", "message", "evidence", "fingerprint",
    "compliance",
}  # fmt: skip


def fingerprint(policy_id: str, resource_uid: str) -> str:
    """Stable identity of a finding across runs: the same policy on the same resource."""
    return hashlib.sha256(f"{policy_id}\x00{resource_uid}".encode()).hexdigest()[:32]


class PolicyInfo(_Frozen):
    """Rule metadata carried in the result so any past scan can be re-rendered on its own."""

    id: str
    title: str
    description: str
    severity: Severity
    category: Category
    resource: str
    provider: str
    remediation: str | None = None
    remediation_cli: str | None = None
    remediation_terraform: str | None = None
    references: list[str] = Field(default_factory=list)
    compliance: list[str] = Field(default_factory=list)
    source: str | None = Field(
        default=None, description="mlguard (built-in), a policy directory, or checkov."
    )

    @classmethod
    def of_result(cls, result: Result) -> PolicyInfo:
        """What a result alone says of its policy, for a result whose policy is missing from
        ``scan.policies`` (results files of older versions)."""
        return cls(
            id=result.policy_id,
            title=result.title,
            description=result.title,
            severity=result.severity,
            category=result.category,
            resource=result.resource_type,
            provider=result.provider,
            compliance=result.compliance,
        )


class IacScan(BaseModel):
    """What checkov produced over an IaC path (``scan --iac``), already in mlguard's terms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="The path scanned, relative to repo_root when inside it.")
    repo_root: str = Field(description="Absolute directory that result file paths are relative to.")
    checkov_version: str | None = None
    frameworks: list[str]
    started_at: str
    finished_at: str
    duration_seconds: float = Field(description="Wall time of the checkov process(es).")
    results: list[Result] = Field(default_factory=list)
    policies: list[PolicyInfo] = Field(default_factory=list)
    errors: list[CollectionError] = Field(default_factory=list)

    @property
    def resources(self) -> int:
        return len({r.resource_uid for r in self.results})


class RequirementInfo(_Frozen):
    id: str
    title: str
    description: str | None = None
    policies: list[str] = Field(default_factory=list)


class FrameworkInfo(_Frozen):
    id: str
    name: str
    version: str | None = None
    url: str | None = None
    requirements: list[RequirementInfo] = Field(default_factory=list)


class NotRun(_Frozen):
    policy_id: str
    reason: str


class StaleWaiver(_Frozen):
    id: str
    policy: str
    resource: str
    reason: str


class BaselineInfo(_Frozen):
    file: str
    fixed: list[str] = Field(default_factory=list, description="Fingerprints that failed before, not now.")
    new: int = 0
    existing: int = 0


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)
    by_severity: dict[str, dict[str, int]] = Field(default_factory=dict)
    by_category: dict[str, dict[str, int]] = Field(default_factory=dict)
    by_provider: dict[str, dict[str, int]] = Field(default_factory=dict)
    resources: int = 0
    policies_run: int = 0
    collection_errors: int = 0
    incomplete_scopes: list[str] = Field(
        default_factory=list,
        description="Scopes (provider/account/region or workspace) with collection errors: not fully seen.",
    )

    @classmethod
    def of(
        cls,
        results: list[Result],
        resources: int,
        policies_run: int,
        errors: int,
        incomplete_scopes: list[str] | None = None,
    ) -> Summary:
        s = cls(
            total=len(results),
            resources=resources,
            policies_run=policies_run,
            collection_errors=errors,
            incomplete_scopes=incomplete_scopes or [],
        )
        for st in Status:
            s.by_status[st.value] = 0
        # One count per distinct (status, severity, category, provider), in order of first sight:
        # each table's keys come in the order their first result came (the dicts' order is the
        # file's), at a fraction of the cost of four lookups per result.
        # Counted by enum member (one per value, so the same order), then named by value.
        counts = Counter(map(_SUMMARY_KEY, results))
        tables = (s.by_severity, s.by_category, s.by_provider)
        for (status_member, severity, category, provider), n in counts.items():
            status, keys = status_member.value, (severity.value, category.value, provider)
            s.by_status[status] += n
            for table, key in zip(tables, keys, strict=True):
                row = table.get(key)
                if row is None:
                    row = table[key] = {st.value: 0 for st in Status}
                row[status] += n
        return s


_SUMMARY_KEY = attrgetter("status", "severity", "category", "provider")

MAX_SCOPES_NAMED = 10


def error_scopes(errors: list[CollectionError]) -> list[str]:
    """The scopes the errors leave incompletely read, sorted, each once."""
    return sorted({e.scope.label() for e in errors})


def incomplete_note(errors: list[CollectionError]) -> str | None:
    """The one line every report opens with when collection was incomplete (None when complete)."""
    if not errors:
        return None
    scopes = error_scopes(errors)
    named = ", ".join(scopes[:MAX_SCOPES_NAMED])
    if len(scopes) > MAX_SCOPES_NAMED:
        named += f" and {len(scopes) - MAX_SCOPES_NAMED} more"
    plural = "" if len(errors) == 1 else "s"
    return f"incomplete: {len(errors)} collection error{plural} in these scopes: {named}"


class ResultFilter(BaseModel):
    """A report shows only some results (``--status``): which, and how many of how many."""

    model_config = ConfigDict(extra="forbid")

    statuses: list[Status]
    shown: int
    total: int

    def note(self) -> str:
        wanted = ", ".join(s.value for s in self.statuses)
        return (
            f"filtered: only {wanted} results are listed ({self.shown} of {self.total}); "
            "the totals cover every result"
        )


class ScanResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal["1.0"] = "1.0"
    provenance: Provenance
    results: list[Result] = Field(default_factory=list)
    errors: list[CollectionError] = Field(default_factory=list)
    summary: Summary
    policies: list[PolicyInfo] = Field(default_factory=list)
    frameworks: list[FrameworkInfo] = Field(default_factory=list)
    not_run: list[NotRun] = Field(default_factory=list)
    stale_waivers: list[StaleWaiver] = Field(default_factory=list)
    baseline: BaselineInfo | None = None
    cost: CostSummary | None = Field(
        default=None, description="Totals of the failing cost findings (derived from the results)."
    )
    gpu_fleet: GpuFleet | None = Field(
        default=None, description="All accelerated capacity in the inventory (set when cost policies ran)."
    )
    filter: ResultFilter | None = Field(
        default=None,
        description="Set when the results list was filtered by status (--status); summary is unfiltered.",
    )
    estate: Estate | None = Field(
        default=None,
        description="The estate map's resources and links, from the inventory (see `mlguard graph`).",
    )

    def only(self, statuses: list[Status]) -> ScanResult:
        """A copy listing only the results of these statuses; the summary (and so every total a
        report shows) still covers all of them, and ``filter`` says what was left out."""
        shown = [r for r in self.results if r.status in statuses]
        total = self.filter.total if self.filter is not None else len(self.results)
        return self.model_copy(
            update={
                "results": shown,
                "filter": ResultFilter(statuses=list(statuses), shown=len(shown), total=total),
            }
        )

    def with_derived_figures(self) -> ScanResult:
        """The summary recomputed from the results and errors, the figures a reader trusts: a file
        whose ``summary`` was edited cannot carry a false count into a report. ``resources`` and
        ``policies_run`` are not derivable from the results (a resource or policy may have none)."""
        self.summary = Summary.of(
            self.results,
            resources=self.summary.resources,
            policies_run=self.summary.policies_run,
            errors=len(self.errors),
            incomplete_scopes=error_scopes(self.errors),
        )
        if self.cost is not None:  # totals recomputed from the results, with the same price source
            from mlguard.cost.summary import summarize

            self.cost = summarize(
                self.results, self.cost.pricing, self.cost.sample_prices, self.cost.owner_tags
            )
        return self

    @property
    def incomplete(self) -> str | None:
        return incomplete_note(self.errors)
