"""Resource types described as data; the engine (``engine.py``) does the rest.

A :class:`ResourceSpec` says which list operation finds a type, where the items sit in each page,
which fields hold the id, name and ARN, which per-item detail calls fill which data attributes, and
which batched enrichments run over the listed items. The read-only allowlist and the IAM policy of
``mlguard permissions aws`` are both derived from these declarations, and so is what a scan whose
policies read fewer fields leaves out (:meth:`ResourceSpec.pruned`: a detail's ``attributes`` are
the data keys it fills).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Literal, Protocol

import botocore.session
from botocore import xform_name

from mlguard.collect.secrets import SECRET_PATHS


@dataclass(frozen=True, kw_only=True, slots=True)
class Options:
    """What spec callables may know about the scope being read."""

    account: str
    region: str | None
    partition: str
    job_lookback_days: int
    metrics_days: int
    now: datetime


@dataclass(frozen=True, kw_only=True, slots=True)
class Unknown:
    """Facts of one item that neither the API nor mlguard's tables know (an unknown instance type).

    The engine drops ``attributes`` from the item's data and records a per-resource collection
    error for them, so policies that read them come out ERROR for that resource only.
    """

    operation: tuple[str, str]  # (service, boto operation) whose answer lacked the facts
    code: str
    message: str
    attributes: tuple[str, ...]


@dataclass(kw_only=True, slots=True)
class Item:
    """One listed resource while it is being read: raw API shapes, then normalised data."""

    raw: dict[str, Any]
    region: str | None
    data: dict[str, Any] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    unknown: list[Unknown] = field(default_factory=list)


class Caller(Protocol):
    """Guarded, counted access to AWS for one account and region (see ``engine.Caller``)."""

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]: ...

    def pages(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]: ...

    # The same, made once for every identical call of the account and region (``engine.SharedCalls``):
    # for a call other types (or items) make too.
    def call_shared(self, service: str, operation: str, **params: Any) -> dict[str, Any]: ...

    def pages_shared(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Detail:
    """A per-item call that fills ``attributes`` of the item's data.

    By default ``operation`` is called with ``params(raw)`` and the response (or its ``select``
    part) is merged into the raw item, or stored under ``into``. With ``items``, the engine pages
    the operation (its paginator) and the result is the list of every page's ``items`` (a
    JMESPath expression, as in :class:`ResourceSpec`). An error code in ``absent_codes``
    means "not configured" (stored as None), not a failure. ``fetch`` replaces the default call for
    details that need several calls (it must only call the operations listed in ``operation`` and
    ``also``). ``shared``: the default call is made once per account and region for all the items
    and types that make it with the same parameters (``engine.SharedCalls``; each gets its answer
    or its error).
    """

    operation: str
    attributes: tuple[str, ...]
    params: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    fetch: Callable[[Caller, dict[str, Any]], Any] | None = None
    also: tuple[str, ...] = ()
    service: str | None = None
    into: str | None = None
    select: str | None = None
    items: str | None = None
    absent_codes: frozenset[str] = frozenset()
    apply: Callable[[dict[str, Any], Item], None] | None = None
    when: Callable[[dict[str, Any]], bool] | None = None
    always: bool = False  # identity or scope (the bucket's region): made whatever the policies read
    shared: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Enrichment:
    """A batched step over all listed items of a type (instance type facts, CloudWatch metrics)."""

    name: str
    operations: tuple[tuple[str, str], ...]
    attributes: tuple[str, ...]
    run: Callable[[list[Item], Caller, Options], None]
    always: bool = False
    # Fields it completes the elements of (ec2 volumes' encryption): it runs when they are read;
    # when it is left out they count as unread too (their elements lack what it adds).
    extends: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourceSpec:
    type: str
    family: str
    service: str
    operation: str
    items: str
    id: str
    name: str | None = None
    arn: str | None = None
    arn_template: str | None = None
    scope: Literal["region", "account"] = "region"
    params: Callable[[Options], list[dict[str, Any]]] | None = None
    include: Callable[[dict[str, Any], Options], bool] | None = None
    details: tuple[Detail, ...] = ()
    enrich: tuple[Enrichment, ...] = ()
    normalize: Callable[[Item, Options], dict[str, Any]] | None = None
    tags: str | None = None
    single: bool = False  # the "list" call returns one settings object; AccountId/Region are added
    shared_list: bool = False  # its listing is read once with other types' identical ones (SharedCalls)
    absent_codes: frozenset[str] = frozenset()  # single: these codes mean "not configured" ({} read)

    def pruned(self, reads: frozenset[str] | None) -> Pruned:
        """Which details and enrichments a scan whose policies read only ``reads`` (root data keys
        of this type; None: everything) can leave out, and the attributes that leaves unread.

        A detail (or enrichment) is made when one of its attributes is read, when it supplies an
        attribute every scan reads (:data:`ALWAYS_READ`: tags, GPU facts), when it is marked
        ``always`` (identity, scope), or when it declares no attribute at all. A kept detail with a
        ``when`` condition keeps every detail before it (the condition may test what they fetched).
        When a selected policy reads the secret scrub's record, nothing is left out: the scrub must
        have seen every text the type holds. Otherwise a left-out detail also leaves that record
        unread (its text was never scrubbed)."""
        if reads is None or SECRET_PATHS in reads:
            return Pruned()
        wanted = reads | ALWAYS_READ

        def needed(attributes: tuple[str, ...], always: bool) -> bool:
            return always or not attributes or bool(wanted.intersection(attributes))

        keep = [needed(d.attributes, d.always) for d in self.details]
        for i in range(len(keep) - 1, -1, -1):
            if keep[i] and self.details[i].when is not None:
                keep[:i] = [True] * i
        skip_details = frozenset(i for i, k in enumerate(keep) if not k)
        skip_enrich = frozenset(
            i for i, e in enumerate(self.enrich) if not needed((*e.attributes, *e.extends), e.always)
        )
        unread: dict[str, None] = {}
        for i in sorted(skip_details):
            unread.update(dict.fromkeys((*self.details[i].attributes, SECRET_PATHS)))
        for i in sorted(skip_enrich):
            unread.update(dict.fromkeys((*self.enrich[i].attributes, *self.enrich[i].extends)))
        return Pruned(details=skip_details, enrich=skip_enrich, unread=tuple(sorted(unread)))

    def operations(self) -> list[tuple[str, str]]:
        """Every (service, boto operation) this type may call."""
        ops = [(self.service, self.operation)]
        for d in self.details:
            svc = d.service or self.service
            ops.append((svc, d.operation))
            ops.extend((svc, o) for o in d.also)
        for e in self.enrich:
            ops.extend(e.operations)
        return ops


# Attributes every scan reads, whatever its policies: tags (owners, waivers, reports) and the GPU
# facts of compute (the GPU inventory and cost figures).
ALWAYS_READ: frozenset[str] = frozenset({"tags", "gpu", "is_gpu", "gpu_fleet"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Pruned:
    """What a scan leaves out of one type (see :meth:`ResourceSpec.pruned`): indexes into its
    ``details`` and ``enrich``, and the attributes that leaves unread (recorded on the type's
    coverage, so anything that reads them is unknown, never a pass)."""

    details: frozenset[int] = frozenset()
    enrich: frozenset[int] = frozenset()
    unread: tuple[str, ...] = ()


SPECS: dict[str, ResourceSpec] = {}


def define(*specs: ResourceSpec) -> None:
    for spec in specs:
        if spec.type in SPECS:
            raise ValueError(f"resource type defined twice: {spec.type}")
        if spec.arn is None and spec.arn_template is None:
            raise ValueError(f"{spec.type}: needs arn or arn_template")
        SPECS[spec.type] = spec


# Operations the session itself needs, beyond the resource specs.
SESSION_OPERATIONS: tuple[tuple[str, str], ...] = (
    ("sts", "get_caller_identity"),
    ("sts", "assume_role"),
    ("ec2", "describe_regions"),
    ("organizations", "list_accounts"),
    ("pricing", "get_products"),  # --pricing aws: the cost module's one read (mlguard.cost.aws_pricing)
    ("organizations", "describe_organization"),  # the management account, for org_skip_management
)

# IAM action prefixes that differ from the client name, and actions that differ from the API name.
_IAM_PREFIX = {
    "emr": "elasticmapreduce",
    "s3control": "s3",
    "apigateway": "apigateway",
    "bedrock-agentcore-control": "bedrock-agentcore",
    "bedrock-agent": "bedrock",  # Agents for Amazon Bedrock authorises as bedrock:*
}
_IAM_ACTION = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("cloudwatch", "GetMetricData"): "cloudwatch:GetMetricData",
}


@cache
def _api_names(service: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def api_name(service: str, operation: str) -> str:
    """The API operation name (``ListBuckets``) of a boto method name (``list_buckets``)."""
    try:
        return _api_names(service)[operation]
    except KeyError as exc:
        raise ValueError(f"{service} has no operation {operation}") from exc


def iam_action(service: str, operation: str) -> str:
    api = api_name(service, operation)
    if service == "apigateway":  # API Gateway authorises by HTTP verb on resource paths
        return "apigateway:GET"
    return _IAM_ACTION.get((service, api), f"{_IAM_PREFIX.get(service, service)}:{api}")


def declared_operations(types: frozenset[str] | None = None) -> list[tuple[str, str]]:
    ops = list(SESSION_OPERATIONS)
    for spec in SPECS.values():
        if types is None or spec.type in types:
            ops.extend(spec.operations())
    return ops


def allowlist(types: frozenset[str] | None = None) -> frozenset[tuple[str, str]]:
    """(service, API operation name) pairs the scanner may call."""
    return frozenset((svc, api_name(svc, op)) for svc, op in declared_operations(types))


def first(mapping: Mapping[str, Any] | None, *keys: str) -> Any:
    """The first present key of ``mapping`` (AWS shapes sometimes rename fields)."""
    for k in keys:
        if mapping and k in mapping:
            return mapping[k]
    return None
