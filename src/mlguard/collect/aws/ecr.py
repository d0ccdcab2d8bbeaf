"""ECR private repositories (scan on push, with the registry's scanning rules, tag mutability,
encryption, repository and lifecycle policies), and the image URI -> repository ARN key that
model and agent collectors expose so a policy can join an image to the repository it is pulled
from."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from mlguard.collect.aws.normalize import as_list, policy_document, to_json
from mlguard.collect.aws.policydoc import action_matches, public_statements
from mlguard.collect.aws.spec import Caller, Detail, Enrichment, Item, Options, ResourceSpec, define

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


#: Registry rule frequencies that scan an image when it is pushed (continuous scanning does too).
_ON_PUSH = frozenset({"SCAN_ON_PUSH", "CONTINUOUS_SCAN"})
_REGISTRY_FIELDS = ("registry_scan_type", "registry_scan_frequency", "scanned_on_push")


def _filter_matches(pattern: str, name: str) -> bool:
    """ECR's scanning filter rule: a filter without ``*`` matches every repository name that
    contains it; with ``*``, the wildcard stands for zero or more characters of the whole name."""
    if not pattern:
        return False
    return pattern in name if "*" not in pattern else action_matches(pattern, name)


def _rule_frequency(rules: list[Any], name: str) -> str | None:
    """The scan frequency of the registry rules whose wildcard filters match ``name`` (the most
    thorough when several match), or None when none does."""
    found = [
        str(rule.get("scanFrequency"))
        for rule in rules
        if isinstance(rule, dict)
        and any(
            isinstance(f, dict) and _filter_matches(str(f.get("filter") or ""), name)
            for f in as_list(rule.get("repositoryFilters"))
        )
    ]
    for frequency in ("CONTINUOUS_SCAN", "SCAN_ON_PUSH", "MANUAL"):
        if frequency in found:
            return frequency
    return found[0] if found else None


def _registry_scanning(items: list[Item], caller: Caller, opts: Options) -> None:
    """The registry's scanning configuration (one call per region) applied to each repository.
    With ENHANCED scanning only the registry rules count (Amazon Inspector ignores the deprecated
    repository setting); with BASIC a repository is scanned on push by a registry SCAN_ON_PUSH rule
    that matches its name, or, when the registry has no rule at all, by its own setting."""
    if not items:
        return
    config = caller.call("ecr", "get_registry_scanning_configuration").get("scanningConfiguration") or {}
    scan_type = config.get("scanType") or "BASIC"
    rules = as_list(config.get("rules"))
    for item in items:
        frequency = _rule_frequency(rules, str(item.raw.get("repositoryName") or ""))
        item.data["registry_scan_type"] = scan_type
        item.data["registry_scan_frequency"] = frequency
        by_rule = frequency in _ON_PUSH
        # Once BASIC has scan-on-push filters, a repository none of them matches is set to
        # MANUAL (AWS image-scanning-filters): its own setting counts only without any rule.
        own = bool(item.data.get("scan_on_push")) and scan_type == "BASIC" and not rules
        item.data["scanned_on_push"] = by_rule or own


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
        enrich=(
            Enrichment(
                name="registry scanning configuration",
                operations=(("ecr", "get_registry_scanning_configuration"),),
                attributes=_REGISTRY_FIELDS,
                run=_registry_scanning,
            ),
        ),
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
