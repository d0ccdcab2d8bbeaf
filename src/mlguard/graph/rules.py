"""What the estate map draws, as data: the stage of each type, how nodes are grouped, and the
reference fields that link one resource to another.

A reference is ``(type, path) -> (type, key)``: the values at ``path`` in a resource of the first
type name a resource of the second by its ``key`` (its uid, name, id or a data field), after an
optional :class:`KeyForm` (an ``s3://`` URI names its bucket, an image URI its ECR repository). The
policies' ``join:`` declarations add their own links (:func:`join_links`), so a join a policy
author writes shows on the map without a line of Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from mlguard.graph.model import Stage
from mlguard.model import Resource
from mlguard.policy.conditions import (
    AllOf,
    AnyOf,
    Condition,
    Join,
    Not,
    Path,
    Quantifier,
    compile_path,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mlguard.policy.loader import Policy

D, T, M, S, X = Stage.DATA, Stage.TRAINING, Stage.MODELS, Stage.SERVING, Stage.IDENTITY

# Every type drawn on the map, with its column. Types not listed (account settings, tokens, IP
# access lists, password policies...) are configuration of a scope, not part of the estate's flow.
STAGES: dict[str, Stage] = {
    # data
    "aws.s3.bucket": D,
    "aws.glue.database": D,
    "aws.glue.crawler": D,
    "aws.sagemaker.feature_group": D,
    "aws.bedrock.knowledge_base": D,
    "databricks.uc.metastore": D,
    "databricks.uc.catalog": D,
    "databricks.uc.schema": D,
    "databricks.uc.table": D,
    "databricks.uc.external_location": D,
    # training
    "aws.sagemaker.training_job": T,
    "aws.sagemaker.processing_job": T,
    "aws.sagemaker.pipeline": T,
    "aws.sagemaker.notebook_instance": T,
    "aws.sagemaker.domain": T,
    "aws.sagemaker.experiment": T,
    "aws.bedrock.model_customization_job": T,
    "aws.glue.job": T,
    "aws.emr.cluster": T,
    "databricks.job": T,
    "databricks.cluster": T,
    "databricks.pipeline": T,
    "databricks.mlflow_experiment": T,
    # models
    "aws.sagemaker.model": M,
    "aws.sagemaker.model_package_group": M,
    "aws.sagemaker.model_card": M,
    "aws.bedrock.custom_model": M,
    "aws.bedrock.imported_model": M,
    "databricks.uc.registered_model": M,
    "databricks.registered_model": M,
    # serving
    "aws.sagemaker.endpoint": S,
    "aws.sagemaker.endpoint_config": S,
    "aws.sagemaker.inference_experiment": S,
    "aws.bedrock.agent": S,
    "aws.bedrock.provisioned_throughput": S,
    "aws.bedrock.model_invocation_job": S,
    "aws.agentcore.runtime": S,
    "aws.agentcore.gateway": S,
    "databricks.serving_endpoint": S,
    # identity and other supporting resources
    "aws.iam.role": X,
    "aws.ecr.repository": X,
    "aws.kms.key": X,
    "aws.ec2.security_group": X,
    "aws.cloudwatch.alarm": X,
    "aws.applicationautoscaling.scalable_target": X,
    "aws.sagemaker.monitoring_schedule": X,
    "aws.bedrock.guardrail": X,
    "databricks.uc.storage_credential": X,
    "databricks.uc.quality_monitor": X,
    "databricks.cluster_policy": X,
    "databricks.instance_pool": X,
}


class KeyForm(StrEnum):
    """How a referring value becomes the target's key."""

    AS_IS = "as-is"
    S3_BUCKET = "s3-bucket"  # s3://bucket/prefix or arn:aws:s3:::bucket -> bucket
    IMAGE_REPO = "image-repo"  # 1234.dkr.ecr.region.amazonaws.com/repo:tag|@digest -> repository URI


_S3 = re.compile(r"^(?:s3a?://|arn:aws[a-z-]*:s3:::)([^/]+)")
_IMAGE = re.compile(r"^([^/]+\.dkr\.ecr\.[^/]+/[^:@]+)")


def keyed(value: Any, form: KeyForm) -> str | None:
    """The key a referring value names, or None when it names nothing this form understands."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    if form is KeyForm.AS_IS:
        return text or None
    pattern = _S3 if form is KeyForm.S3_BUCKET else _IMAGE
    m = pattern.match(text)
    return m.group(1) if m else None


@dataclass(frozen=True)
class Reference:
    """Values at ``path`` of a ``subject`` resource name ``target`` resources by ``key``."""

    subject: str
    path: str
    target: str
    key: str  # uid | name | id | a path into the target's document
    why: str
    form: KeyForm = KeyForm.AS_IS


R = Reference
_S3B = KeyForm.S3_BUCKET
_CATALOG_SCHEMA = "join('.', [catalog_name, schema_name])"

REFERENCES: tuple[Reference, ...] = (
    # --- SageMaker: endpoint -> config -> model -> image / artifacts / role; job -> data / role
    R(
        "aws.sagemaker.endpoint",
        "endpoint_config_name",
        "aws.sagemaker.endpoint_config",
        "name",
        "endpoint config",
    ),
    R(
        "aws.sagemaker.endpoint_config",
        "variants[].model_name",
        "aws.sagemaker.model",
        "name",
        "variant model",
    ),
    R("aws.sagemaker.endpoint_config", "s3_buckets", "aws.s3.bucket", "name", "data capture bucket"),
    R("aws.sagemaker.model", "ecr_repository_arns", "aws.ecr.repository", "uid", "container image"),
    R("aws.sagemaker.model", "s3_buckets", "aws.s3.bucket", "name", "model artifacts bucket"),
    R("aws.sagemaker.model", "execution_role_arn", "aws.iam.role", "uid", "execution role"),
    R(
        "aws.sagemaker.model",
        "primary_container.model_data_url",
        "aws.sagemaker.training_job",
        "model_artifacts.s3_model_artifacts",
        "artifacts of training job",
    ),
    R("aws.sagemaker.model_card", "model_name", "aws.sagemaker.model", "name", "model card of"),
    R(
        "aws.sagemaker.inference_experiment",
        "endpoint_name",
        "aws.sagemaker.endpoint",
        "name",
        "experiment on endpoint",
    ),
    R("aws.sagemaker.inference_experiment", "model_names", "aws.sagemaker.model", "name", "experiment model"),
    R(
        "aws.sagemaker.monitoring_schedule",
        "endpoint_name",
        "aws.sagemaker.endpoint",
        "name",
        "monitors endpoint",
    ),
    R("aws.sagemaker.training_job", "s3_buckets", "aws.s3.bucket", "name", "training input/output bucket"),
    R("aws.sagemaker.training_job", "role_arn", "aws.iam.role", "uid", "execution role"),
    R(
        "aws.sagemaker.training_job",
        "algorithm_specification.training_image",
        "aws.ecr.repository",
        "repository_uri",
        "training image",
        KeyForm.IMAGE_REPO,
    ),
    R(
        "aws.sagemaker.processing_job",
        "s3_buckets",
        "aws.s3.bucket",
        "name",
        "processing input/output bucket",
    ),
    R("aws.sagemaker.processing_job", "role_arn", "aws.iam.role", "uid", "execution role"),
    R("aws.sagemaker.notebook_instance", "role_arn", "aws.iam.role", "uid", "execution role"),
    R("aws.sagemaker.feature_group", "role_arn", "aws.iam.role", "uid", "offline store role"),
    R(
        "aws.sagemaker.feature_group",
        "offline_store_config.s3_storage_config.s3_uri",
        "aws.s3.bucket",
        "name",
        "offline store bucket",
        _S3B,
    ),
    # --- Bedrock
    R(
        "aws.bedrock.custom_model",
        "job_arn",
        "aws.bedrock.model_customization_job",
        "uid",
        "customized by job",
    ),
    R("aws.bedrock.custom_model", "training_s3_uri", "aws.s3.bucket", "name", "training data bucket", _S3B),
    R("aws.bedrock.custom_model", "output_s3_uri", "aws.s3.bucket", "name", "output bucket", _S3B),
    R(
        "aws.bedrock.model_customization_job",
        "s3_buckets",
        "aws.s3.bucket",
        "name",
        "training data/output bucket",
    ),
    R("aws.bedrock.model_customization_job", "role_arn", "aws.iam.role", "uid", "service role"),
    R(
        "aws.bedrock.provisioned_throughput",
        "model_arn",
        "aws.bedrock.custom_model",
        "uid",
        "serves custom model",
    ),
    R("aws.bedrock.imported_model", "s3_buckets", "aws.s3.bucket", "name", "imported from bucket"),
    R("aws.bedrock.knowledge_base", "s3_buckets", "aws.s3.bucket", "name", "data source bucket"),
    R("aws.bedrock.knowledge_base", "role_arn", "aws.iam.role", "uid", "service role"),
    R("aws.bedrock.agent", "agent_resource_role_arn", "aws.iam.role", "uid", "service role"),
    R("aws.bedrock.model_invocation_job", "s3_buckets", "aws.s3.bucket", "name", "batch input/output bucket"),
    R("aws.bedrock.model_invocation_job", "role_arn", "aws.iam.role", "uid", "service role"),
    R("aws.agentcore.runtime", "ecr_repository_arns", "aws.ecr.repository", "uid", "container image"),
    R("aws.agentcore.runtime", "role_arn", "aws.iam.role", "uid", "execution role"),
    # --- Unity Catalog, including its storage on AWS (cross-provider: keys only, no scope)
    R("databricks.uc.schema", "catalog_name", "databricks.uc.catalog", "name", "schema in catalog"),
    R("databricks.uc.table", _CATALOG_SCHEMA, "databricks.uc.schema", "name", "table in schema"),
    R("databricks.uc.table", "storage_location", "aws.s3.bucket", "name", "table storage", _S3B),
    R("databricks.uc.registered_model", _CATALOG_SCHEMA, "databricks.uc.schema", "name", "model in schema"),
    R("databricks.uc.registered_model", "storage_location", "aws.s3.bucket", "name", "model storage", _S3B),
    R("databricks.uc.catalog", "storage_root", "aws.s3.bucket", "name", "catalog storage root", _S3B),
    R("databricks.uc.metastore", "storage_root", "aws.s3.bucket", "name", "metastore storage root", _S3B),
    R("databricks.uc.external_location", "s3_bucket", "aws.s3.bucket", "name", "external location on bucket"),
    R(
        "databricks.uc.external_location",
        "credential_name",
        "databricks.uc.storage_credential",
        "name",
        "storage credential",
    ),
    R("databricks.uc.storage_credential", "iam_role_arn", "aws.iam.role", "uid", "assumes IAM role"),
    R("databricks.uc.quality_monitor", "table_name", "databricks.uc.table", "name", "monitors table"),
    # --- Databricks compute, jobs and serving
    R("databricks.pipeline", "catalog", "databricks.uc.catalog", "name", "publishes to catalog"),
    R("databricks.job", "existing_cluster_ids", "databricks.cluster", "id", "runs on cluster"),
    R("databricks.job", "job_clusters[].policy_id", "databricks.cluster_policy", "id", "job cluster policy"),
    R("databricks.cluster", "policy_id", "databricks.cluster_policy", "id", "cluster policy"),
    R("databricks.cluster", "instance_pool_id", "databricks.instance_pool", "id", "instance pool"),
    R(
        "databricks.serving_endpoint",
        "served_entities[].entity_name",
        "databricks.uc.registered_model",
        "name",
        "serves model",
    ),
    R(
        "databricks.serving_endpoint",
        "served_entities[].entity_name",
        "databricks.registered_model",
        "name",
        "serves model",
    ),
    R(
        "databricks.serving_endpoint",
        "inference_table_names",
        "databricks.uc.table",
        "name",
        "inference table",
    ),
)


def group_of(r: Resource) -> str:
    """The box a node is drawn in: an AWS account and region, a Databricks workspace, or, for a
    Unity Catalog schema, table or model, its catalog inside its workspace."""
    catalog = r.data.get("catalog_name") if r.type.startswith("databricks.uc.") else None
    return group_key(r.provider, r.account, r.region, r.workspace, catalog)


def group_key(
    provider: str, account: str | None, region: str | None, workspace: str | None, catalog: Any = None
) -> str:
    if provider == "aws":
        return f"aws {account or '?'} {region or 'global'}"
    scope = workspace or account or "?"
    if isinstance(catalog, str) and catalog:
        return f"catalog {catalog} @ {scope}"
    return f"{provider} {scope}"


# --------------------------------------------------------------------------- links from joins

SCOPE_FIELDS = frozenset({"account", "region", "workspace", "provider"})


@dataclass(frozen=True)
class JoinKey:
    within: tuple[Path, ...]  # quantifier paths from the resource down to the element the key is read on
    subject: Path
    subject_text: str
    related: Path
    related_text: str
    op: str  # eq | contains (the related value is a list holding the key) | in (the key is a list)


@dataclass(frozen=True)
class JoinLink:
    """A policy's join, as a link: ``subject`` resources relate to ``target`` resources whose keys match."""

    subject: str
    target: str
    keys: tuple[JoinKey, ...]
    why: str


def join_links(policies: Iterable[Policy]) -> list[JoinLink]:
    """One link per distinct join of the policies (the same join in several policies is one link,
    its ``why`` naming them). Joins on scope fields alone (every IP access list of a workspace)
    relate a whole scope, not two resources: they are left out."""
    found: dict[tuple[str, str, tuple[tuple[str, str, str, str], ...]], tuple[JoinLink, list[str]]] = {}
    for policy in sorted(policies, key=lambda p: p.id):
        for cond in (policy.where, policy.assert_):
            if cond is None:
                continue
            for join, within_pairs in _joins(cond, ()):
                within = tuple(expr for _, expr in within_pairs)
                within_text = tuple(text for text, _ in within_pairs)
                if all(o.related in SCOPE_FIELDS and o.subject in SCOPE_FIELDS for o in join.on):
                    continue
                keys = tuple(
                    JoinKey(
                        within=() if o.subject_from == "resource" else within,
                        subject=o.subject_expr,
                        subject_text=o.subject,
                        related=o.related_expr,
                        related_text=o.related,
                        op=o.op,
                    )
                    for o in join.on
                )
                sig = tuple(
                    (".".join(within_text) if k.within else "", k.subject_text, k.related_text, k.op)
                    for k in keys
                )
                index = (policy.resource, join.resource, sig)
                if index in found:
                    found[index][1].append(policy.id)
                    continue
                on = ", ".join(f"{k.related_text} {k.op} {k.subject_text}" for k in keys)
                link = JoinLink(policy.resource, join.resource, keys, f"policy join: {on}")
                found[index] = (link, [policy.id])
    out = []
    for link, ids in found.values():
        named = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        out.append(JoinLink(link.subject, link.target, link.keys, f"{link.why} ({named})"))
    return out


def _joins(
    cond: Condition, within: tuple[tuple[str, Path], ...]
) -> Iterable[tuple[Join, tuple[tuple[str, Path], ...]]]:
    if isinstance(cond, AllOf | AnyOf):
        for c in cond.items:
            yield from _joins(c, within)
    elif isinstance(cond, Not):
        yield from _joins(cond.item, within)
    elif isinstance(cond, Quantifier):
        yield from _joins(cond.satisfy, (*within, (cond.path, cond.expr)))
    elif isinstance(cond, Join):
        yield cond, within  # a join's own `filter` reads the related resource: no link of this one


def compiled(path: str) -> Path:
    return compile_path(path, ["graph", path])
