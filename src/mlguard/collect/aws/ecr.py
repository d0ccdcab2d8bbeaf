"""ECR private repositories (scan on push, tag mutability, encryption, repository and lifecycle
policies), and the image URI -> repository ARN key that model and agent collectors expose so a
policy can join an image to the repository it is pulled from."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from mlguard.collect.aws.normalize import policy_document, to_json
from mlguard.collect.aws.policydoc import public_statements
from mlguard.collect.aws.spec import Detail, Item, Options, ResourceSpec, define

#: ``<account>.dkr.ecr[-fips].<region>.<amazonaws.com | amazonaws.com.cn | ...>/<name>[:tag | @digest]``
_PRIVATE_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?P<domain>amazonaws\.com(?:\.cn)?|"
    r"c2s\.ic\.gov|sc2s\.sgov\.gov)/(?P<name>[a-z0-9][a-z0-9._/-]*?)(?:[:@].*)?$"
)
_PARTITION = {
    "amazonaws.com": "aws",
    "amazonaws.com.cn": "aws-cn",
    "c2s.ic.gov": "aws-iso",
    "sc2s.sgov.gov": "aws-iso-b",
}
_MAX_URI = 2048


def repository_arn(image: Any) -> str | None:
    """The ARN of the ECR private repository an image URI is pulled from, or None when the image
    is not in an ECR private registry (Docker Hub, a private registry, ECR Public). GovCloud
    regions (``us-gov-*``) get the ``aws-us-gov`` partition."""
    if not isinstance(image, str) or len(image) > _MAX_URI:
        return None
    m = _PRIVATE_IMAGE.match(image.strip())
    if m is None:
        return None
    region = m["region"]
    partition = "aws-us-gov" if region.startswith("us-gov-") else _PARTITION[m["domain"]]
    return f"arn:{partition}:ecr:{region}:{m['account']}:repository/{m['name']}"


def repository_arns(images: Iterable[Any]) -> list[str]:
    """Distinct ECR repository ARNs of ``images`` (join keys to ``aws.ecr.repository`` ``uid``)."""
    return sorted({arn for arn in (repository_arn(i) for i in images) if arn})


def _lifecycle_rules(text: Any) -> int:
    try:
        doc = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return 0
    rules = doc.get("rules") if isinstance(doc, dict) else None
    return len(rules) if isinstance(rules, list) else 0


def _repository(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    encryption = raw.get("encryptionConfiguration") or {}
    mutability = raw.get("imageTagMutability")
    data: dict[str, Any] = {
        "repository_uri": raw.get("repositoryUri"),
        "registry_id": raw.get("registryId"),
        "created_at": to_json(raw.get("createdAt")),
        "scan_on_push": bool((raw.get("imageScanningConfiguration") or {}).get("scanOnPush", False)),
        "image_tag_mutability": mutability,
        # IMMUTABLE_WITH_EXCLUSION keeps every tag immutable except the excluded filters.
        "tags_immutable": mutability in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"),
        "encryption_type": encryption.get("encryptionType") or "AES256",
        "kms_key": encryption.get("kmsKey") or None,
    }
    if "RepositoryPolicy" in raw:  # None: GetRepositoryPolicy said "no policy"
        policy = policy_document(raw.get("RepositoryPolicy"))
        data["policy"] = policy
        data["policy_public"] = bool(public_statements(policy))
    if "LifecyclePolicy" in raw:
        text = raw.get("LifecyclePolicy")
        data["lifecycle_policy"] = text is not None
        data["lifecycle_rule_count"] = _lifecycle_rules(text)
    return data


define(
    ResourceSpec(
        type="aws.ecr.repository",
        family="ecr",
        service="ecr",
        operation="describe_repositories",
        items="repositories",
        id="repositoryName",
        name="repositoryName",
        arn="repositoryArn",
        normalize=_repository,
        details=(
            Detail(
                operation="get_repository_policy",
                params=lambda r: {"repositoryName": r["repositoryName"], "registryId": r["registryId"]},
                select="policyText",
                into="RepositoryPolicy",
                absent_codes=frozenset({"RepositoryPolicyNotFoundException"}),
                attributes=("policy", "policy_public"),
            ),
            Detail(
                operation="get_lifecycle_policy",
                params=lambda r: {"repositoryName": r["repositoryName"], "registryId": r["registryId"]},
                select="lifecyclePolicyText",
                into="LifecyclePolicy",
                absent_codes=frozenset({"LifecyclePolicyNotFoundException"}),
                attributes=("lifecycle_policy", "lifecycle_rule_count"),
            ),
        ),
    ),
)
