"""S3: buckets (per-bucket configuration read in the bucket's region) and the account-level
Block Public Access settings."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from mlguard.collect.aws.normalize import as_list, policy_document, to_json
from mlguard.collect.aws.policydoc import public_statements, tls_only
from mlguard.collect.aws.spec import Caller, Detail, Enrichment, Item, Options, ResourceSpec, define

PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
_PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _bucket(raw: dict[str, Any]) -> dict[str, Any]:
    return {"Bucket": raw["Name"]}


def _set_region(resp: dict[str, Any], item: Item) -> None:
    loc = resp.get("LocationConstraint")
    item.region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(loc, loc)
    item.raw["BucketRegion"] = item.region


# ListBuckets names each bucket's region (``BucketRegion``) only when the request has a parameter
# ("If the request contains at least one valid parameter, it is included in the response"): a page
# size asks for it, and pages the listing as S3 wants for accounts of more than 10,000 buckets.
_LIST_PAGE = 10_000  # MaxBuckets' maximum (botocore's model)


def _location(caller: Caller, raw: dict[str, Any]) -> dict[str, Any]:
    """The bucket's location: the region ListBuckets gave with it, else GetBucketLocation's answer
    (an S3 that does not give it, an older API, a test server). Both go through ``_set_region``."""
    listed = raw.get("BucketRegion")
    if isinstance(listed, str) and listed:
        return {"LocationConstraint": listed}
    return caller.call("s3", "get_bucket_location", **_bucket(raw))


def _pab(config: dict[str, Any] | None) -> dict[str, Any]:
    cfg = config or {}
    return {
        "block_public_acls": bool(cfg.get("BlockPublicAcls", False)),
        "ignore_public_acls": bool(cfg.get("IgnorePublicAcls", False)),
        "block_public_policy": bool(cfg.get("BlockPublicPolicy", False)),
        "restrict_public_buckets": bool(cfg.get("RestrictPublicBuckets", False)),
        "fully_blocked": all(bool(cfg.get(k, False)) for k in _PAB_KEYS),
    }


# Derived facts: the bucket's public status as S3 enforces it (see ``effective_public_access``).
EFFECTIVE_FACTS = (
    "effective_acl_public",
    "effective_policy_public",
    "effective_public",
    "public_access_neutralised_by",
)
_ACCOUNT_PAB = "account_public_access_block"


def effective_public_access(data: dict[str, Any], account_pab: dict[str, Any]) -> dict[str, Any]:
    """Combine the raw facts of one bucket into its effective public status.

    An ACL grant to AllUsers/AuthenticatedUsers counts only while ACLs are enabled (object
    ownership is not BucketOwnerEnforced) and neither the bucket's nor the account's Block Public
    Access has IgnorePublicAcls. A public bucket policy (by mlguard's evaluation of the document or
    by S3's own GetBucketPolicyStatus) counts only while neither has RestrictPublicBuckets (which
    limits a public policy to AWS services and the bucket owner's account).
    """
    bucket_pab = data["public_access_block"]
    neutralised: list[str] = []
    acl_public = bool(data["acl_public"])
    if acl_public:
        if data["acls_disabled"]:
            neutralised.append("ACL grants ignored: object ownership BucketOwnerEnforced (ACLs disabled)")
        for level, pab in (("bucket", bucket_pab), ("account", account_pab)):
            if pab["ignore_public_acls"]:
                neutralised.append(f"ACL grants ignored: IgnorePublicAcls ({level} Block Public Access)")
    policy_public = bool(data["policy_public"]) or bool(data["policy_is_public"])
    if policy_public:
        for level, pab in (("bucket", bucket_pab), ("account", account_pab)):
            if pab["restrict_public_buckets"]:
                neutralised.append(
                    f"public policy restricted: RestrictPublicBuckets ({level} Block Public Access)"
                )
    effective_acl = acl_public and not any(n.startswith("ACL") for n in neutralised)
    effective_policy = policy_public and not any(n.startswith("public policy") for n in neutralised)
    return {
        "effective_acl_public": effective_acl,
        "effective_policy_public": effective_policy,
        "effective_public": effective_acl or effective_policy,
        "public_access_neutralised_by": neutralised,
    }


def _account_pab(caller: Caller, opts: Options) -> dict[str, Any] | None:
    try:
        resp = caller.call("s3control", "get_public_access_block", AccountId=opts.account)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchPublicAccessBlockConfiguration":
            return None
        raise
    config: dict[str, Any] | None = resp.get("PublicAccessBlockConfiguration")
    return config


def _effective(items: list[Item], caller: Caller, opts: Options) -> None:
    """One account-level Block Public Access read per account, folded into every bucket. A bucket
    whose inputs were not all read keeps no effective facts (unknown, never "not public")."""
    account_pab = _pab(_account_pab(caller, opts))
    for item in items:
        item.data[_ACCOUNT_PAB] = account_pab
        if item.missing.intersection(EFFECTIVE_FACTS):
            continue
        item.data.update(effective_public_access(item.data, account_pab))


def _bucket_data(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    rules = as_list((raw.get("Encryption") or {}).get("Rules"))
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    policy = policy_document(raw.get("Policy"))
    grants = [
        {
            "grantee_type": g.get("Grantee", {}).get("Type"),
            "grantee": g.get("Grantee", {}).get("URI") or g.get("Grantee", {}).get("ID"),
            "permission": g.get("Permission"),
            "public": g.get("Grantee", {}).get("URI") in PUBLIC_GROUPS,
        }
        for g in as_list((raw.get("Acl") or {}).get("Grants"))
    ]
    versioning = raw.get("Versioning") or {}
    logging = raw.get("Logging")
    ownership = raw.get("Ownership")
    lifecycle = as_list(raw.get("Lifecycle"))
    return {
        "bucket_region": raw.get("BucketRegion"),
        "creation_date": to_json(raw.get("CreationDate")),
        "encrypted": bool(default),
        "sse_algorithm": default.get("SSEAlgorithm"),
        "kms_key_id": default.get("KMSMasterKeyID"),
        "bucket_key_enabled": bool(rules[0].get("BucketKeyEnabled", False)) if rules else False,
        "public_access_block": _pab(raw.get("PublicAccessBlock")),
        "public_access_block_configured": raw.get("PublicAccessBlock") is not None,
        "policy": policy,
        "tls_only": tls_only(policy),
        "policy_public": bool(public_statements(policy)),
        "policy_is_public": bool(raw.get("PolicyStatus") or False),
        "acl_grants": grants,
        "acl_public": any(g["public"] for g in grants),
        "versioning": versioning.get("Status") or "Disabled",
        "mfa_delete": versioning.get("MFADelete") == "Enabled",
        "logging_enabled": bool(logging),
        "logging_target_bucket": (logging or {}).get("TargetBucket"),
        "lifecycle_rules": to_json(lifecycle),
        "lifecycle_rule_count": len(lifecycle),
        "object_ownership": ownership,
        "acls_disabled": ownership == "BucketOwnerEnforced",
    }


_ENC = ("encrypted", "sse_algorithm", "kms_key_id", "bucket_key_enabled")

define(
    ResourceSpec(
        type="aws.s3.bucket",
        family="s3",
        service="s3",
        operation="list_buckets",
        params=lambda o: [{"MaxBuckets": _LIST_PAGE}],
        items="Buckets",
        id="Name",
        name="Name",
        arn_template="arn:{partition}:s3:::{id}",
        scope="account",
        tags="TagSet",
        normalize=_bucket_data,
        enrich=(
            Enrichment(
                name="effective public access",
                operations=(("s3control", "get_public_access_block"),),
                attributes=(_ACCOUNT_PAB, *EFFECTIVE_FACTS),
                run=_effective,
            ),
        ),
        details=(
            Detail(
                operation="get_bucket_location",
                fetch=_location,
                apply=_set_region,
                attributes=("bucket_region",),
                always=True,  # the bucket's region: its scope, and where its other details are read
            ),
            Detail(
                operation="get_bucket_encryption",
                params=_bucket,
                select="ServerSideEncryptionConfiguration",
                into="Encryption",
                absent_codes=frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
                attributes=_ENC,
            ),
            Detail(
                operation="get_public_access_block",
                params=_bucket,
                select="PublicAccessBlockConfiguration",
                into="PublicAccessBlock",
                absent_codes=frozenset({"NoSuchPublicAccessBlockConfiguration"}),
                attributes=("public_access_block", "public_access_block_configured", *EFFECTIVE_FACTS),
            ),
            Detail(
                operation="get_bucket_policy",
                params=_bucket,
                select="Policy",
                into="Policy",
                absent_codes=frozenset({"NoSuchBucketPolicy"}),
                attributes=("policy", "tls_only", "policy_public", *EFFECTIVE_FACTS),
            ),
            Detail(
                operation="get_bucket_policy_status",
                params=_bucket,
                select="PolicyStatus.IsPublic",
                into="PolicyStatus",
                absent_codes=frozenset({"NoSuchBucketPolicy"}),
                attributes=("policy_is_public", *EFFECTIVE_FACTS),
            ),
            Detail(
                operation="get_bucket_acl",
                params=_bucket,
                into="Acl",
                attributes=("acl_grants", "acl_public", *EFFECTIVE_FACTS),
            ),
            Detail(
                operation="get_bucket_versioning",
                params=_bucket,
                into="Versioning",
                attributes=("versioning", "mfa_delete"),
            ),
            Detail(
                operation="get_bucket_logging",
                params=_bucket,
                select="LoggingEnabled",
                into="Logging",
                attributes=("logging_enabled", "logging_target_bucket"),
            ),
            Detail(
                operation="get_bucket_lifecycle_configuration",
                params=_bucket,
                select="Rules",
                into="Lifecycle",
                absent_codes=frozenset({"NoSuchLifecycleConfiguration"}),
                attributes=("lifecycle_rules", "lifecycle_rule_count"),
            ),
            Detail(
                operation="get_bucket_ownership_controls",
                params=_bucket,
                select="OwnershipControls.Rules[0].ObjectOwnership",
                into="Ownership",
                absent_codes=frozenset({"OwnershipControlsNotFoundError"}),
                attributes=("object_ownership", "acls_disabled", *EFFECTIVE_FACTS),
            ),
            Detail(
                operation="get_bucket_tagging",
                params=_bucket,
                select="TagSet",
                into="TagSet",
                absent_codes=frozenset({"NoSuchTagSet"}),
                attributes=("tags",),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.s3.account_public_access_block",
        family="s3",
        service="s3control",
        operation="get_public_access_block",
        params=lambda o: [{"AccountId": o.account}],
        items="PublicAccessBlockConfiguration",
        single=True,
        absent_codes=frozenset({"NoSuchPublicAccessBlockConfiguration"}),
        id="AccountId",
        arn_template="arn:{partition}:s3::{account}:account-public-access-block",
        scope="account",
        normalize=lambda item, opts: {**_pab(item.raw), "configured": set(_PAB_KEYS) <= set(item.raw)},
    ),
)
