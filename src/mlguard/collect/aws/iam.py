"""IAM: roles, users, customer-managed policies and the password policy.

Roles, users and policies come from ``GetAccountAuthorizationDetails`` (one paginated call per
kind, not one call per role); managed policy documents are analysed once per scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlguard.collect.aws.normalize import as_list, data_of, policy_document, to_json
from mlguard.collect.aws.policydoc import (
    cross_account_trust,
    identity_policy_facts,
    principal_account,
    trust_facts,
)
from mlguard.collect.aws.spec import Caller, Detail, Enrichment, Item, Options, ResourceSpec, define

ADMIN_POLICY_NAMES = ("AdministratorAccess",)
_AUTH = "get_account_authorization_details"


def _default_version(policy: dict[str, Any]) -> dict[str, Any] | None:
    for version in as_list(policy.get("PolicyVersionList")):
        if version.get("IsDefaultVersion"):
            return policy_document(version.get("Document"))
    return None


def _merge_facts(facts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "allows_admin": any(f["allows_admin"] for f in facts),
        "wildcard_actions": sorted({a for f in facts for a in f["wildcard_actions"]}),
        # An unconditional Deny in any of the principal's policies overrides every Allow.
        "marketplace_subscribe_any_product": any(f["marketplace_subscribe_any_product"] for f in facts)
        and not any(f["marketplace_subscribe_denied"] for f in facts),
    }


def _inline(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    out = []
    for p in as_list(raw.get(key)):
        facts = identity_policy_facts(policy_document(p.get("PolicyDocument")))
        out.append({"policy_name": p.get("PolicyName"), **facts})
    return out


def _principal_data(item: Item, inline_key: str) -> dict[str, Any]:
    raw = item.raw
    inline = _inline(raw, inline_key)
    return {
        "path": raw.get("Path"),
        "create_date": to_json(raw.get("CreateDate")),
        "permissions_boundary_arn": (raw.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "inline_policies": inline,
        "attached_policy_arns": sorted(p["PolicyArn"] for p in as_list(raw.get("AttachedManagedPolicies"))),
        "inline_allows_admin": any(p["allows_admin"] for p in inline),
    }


def _role_data(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    trust = policy_document(raw.get("AssumeRolePolicyDocument"))
    last_used = (raw.get("RoleLastUsed") or {}).get("LastUsedDate")
    trust_summary = trust_facts(trust)
    own_account = principal_account(str(raw.get("Arn", "")))
    return {
        **_principal_data(item, "RolePolicyList"),
        "trust_policy": trust,
        **trust_summary,
        **cross_account_trust(trust_summary, None if own_account == "*" else own_account),
        # A role that trusts itself (the self-assume Databricks Unity Catalog requires) is not
        # another principal.
        "trusted_aws_principals_except_self": [
            p for p in trust_summary["trusted_aws_principals"] if p != raw.get("Arn")
        ],
        "max_session_duration": raw.get("MaxSessionDuration"),
        "last_used_date": to_json(last_used),
        "service_linked": str(raw.get("Path", "")).startswith("/aws-service-role/"),
        "instance_profile_arns": [p.get("Arn") for p in as_list(raw.get("InstanceProfileList"))],
    }


def _days(now: datetime, when: Any) -> int | None:
    return max(0, (now - when).days) if isinstance(when, datetime) else None


def _access_keys(caller: Caller, raw: dict[str, Any]) -> list[dict[str, Any]]:
    keys = []
    for page in caller.pages("iam", "list_access_keys", UserName=raw["UserName"]):
        for key in page["AccessKeyMetadata"]:
            used = caller.call("iam", "get_access_key_last_used", AccessKeyId=key["AccessKeyId"])
            keys.append({**key, "LastUsed": used.get("AccessKeyLastUsed") or {}})
    return keys


#: The IAM service name of Amazon Bedrock API keys (long-term, service-specific credentials).
BEDROCK_SERVICE = "bedrock.amazonaws.com"


def _bedrock_api_keys(raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Ids, status and lifetimes of the user's Bedrock API keys (never their secret)."""
    keys = []
    for c in as_list(raw.get("BedrockApiKeys")):
        expires = c.get("ExpirationDate")
        expired = isinstance(expires, datetime) and expires <= now
        keys.append(
            {
                "credential_id": c.get("ServiceSpecificCredentialId"),
                "status": c.get("Status"),
                "create_date": to_json(c.get("CreateDate")),
                "age_days": _days(now, c.get("CreateDate")),
                "expiration_date": to_json(expires),
                "never_expires": expires is None,
                "expired": expired,
            }
        )
    usable = sum(1 for k in keys if k["status"] == "Active" and not k["expired"])
    return {"bedrock_api_keys": keys, "active_bedrock_api_key_count": usable}


def _user_data(item: Item, opts: Options) -> dict[str, Any]:
    raw = item.raw
    keys = []
    for k in as_list(raw.get("AccessKeys")):
        last = k["LastUsed"].get("LastUsedDate")
        keys.append(
            {
                "access_key_id": k["AccessKeyId"],
                "status": k.get("Status"),
                "create_date": to_json(k.get("CreateDate")),
                "age_days": _days(opts.now, k.get("CreateDate")),
                "last_used_date": to_json(last),
                "last_used_days_ago": _days(opts.now, last),
                "last_used_service": k["LastUsed"].get("ServiceName"),
            }
        )
    mfa = as_list(raw.get("MFADevices"))
    login = raw.get("LoginProfile")
    return {
        **_principal_data(item, "UserPolicyList"),
        "groups": as_list(raw.get("GroupList")),
        "access_keys": keys,
        "active_access_key_count": sum(1 for k in keys if k["status"] == "Active"),
        "mfa_devices": [d.get("SerialNumber") for d in mfa],
        "mfa_enabled": bool(mfa),
        "console_password": login is not None,
        "password_last_used": to_json(raw.get("PasswordLastUsed")),
        **_bedrock_api_keys(raw, opts.now),
    }


def _managed_docs(caller: Caller) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    # Shared: the role and the user types both read every managed policy.
    for page in caller.pages_shared("iam", _AUTH, Filter=["LocalManagedPolicy", "AWSManagedPolicy"]):
        for policy in page.get("Policies", []):
            docs[policy["Arn"]] = identity_policy_facts(_default_version(policy))
    return docs


def _fold(
    item: Item, docs: dict[str, dict[str, Any]], inline: list[dict[str, Any]], attached: list[str]
) -> None:
    """Fold inline and attached managed policy facts into ``allows_admin`` / ``wildcard_actions``."""
    facts = list(inline)
    unknown = []
    for arn in attached:
        if arn in docs:
            facts.append(docs[arn])
        elif arn.rsplit("/", 1)[-1] in ADMIN_POLICY_NAMES:
            facts.append(
                {
                    "allows_admin": True,
                    "wildcard_actions": ["*"],
                    "marketplace_subscribe_any_product": True,
                    "marketplace_subscribe_denied": False,
                }
            )
        else:
            unknown.append(arn)
    item.data.update(_merge_facts(facts))
    item.data["unanalysed_policy_arns"] = sorted(set(unknown))


def _role_facts(items: list[Item], caller: Caller, opts: Options) -> None:
    """Analyse each attached managed policy's default version once per scan."""
    docs = _managed_docs(caller)
    for item in items:
        _fold(item, docs, item.data["inline_policies"], item.data["attached_policy_arns"])


def _user_facts(items: list[Item], caller: Caller, opts: Options) -> None:
    """As for roles, plus the inline and attached policies of the user's groups."""
    docs = _managed_docs(caller)
    groups = {
        g["GroupName"]: g
        for page in caller.pages("iam", _AUTH, Filter=["Group"])
        for g in page.get("GroupDetailList", [])
    }
    for item in items:
        inline = list(item.data["inline_policies"])
        attached = list(item.data["attached_policy_arns"])
        for name in item.data["groups"]:
            group = groups.get(name, {})
            inline += _inline(group, "GroupPolicyList")
            attached += [p["PolicyArn"] for p in as_list(group.get("AttachedManagedPolicies"))]
        _fold(item, docs, inline, attached)


_FACTS = ("allows_admin", "wildcard_actions", "marketplace_subscribe_any_product", "unanalysed_policy_arns")
_ROLE_FACTS = Enrichment(
    name="effective policy facts", operations=(("iam", _AUTH),), attributes=_FACTS, run=_role_facts
)
_USER_FACTS = Enrichment(
    name="effective policy facts (with groups)",
    operations=(("iam", _AUTH),),
    attributes=_FACTS,
    run=_user_facts,
)


def _policy_data(item: Item, opts: Options) -> dict[str, Any]:
    doc = _default_version(item.raw)
    data = data_of(item.raw, drop=("PolicyVersionList",))
    return {**data, "document": doc, **identity_policy_facts(doc)}


# Every field of GetAccountPasswordPolicy, so an unset one reads as null (not a missing key) and a
# policy on it is judged, not reported as reading an attribute the collector never produces.
_PASSWORD_FIELDS = (
    "MinimumPasswordLength",
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
    "AllowUsersToChangePassword",
    "ExpirePasswords",
    "MaxPasswordAge",
    "PasswordReusePrevention",
    "HardExpiry",
)


def _password_policy_data(item: Item, opts: Options) -> dict[str, Any]:
    raw = {key: item.raw.get(key) for key in _PASSWORD_FIELDS}
    return {**data_of(raw), "configured": "MinimumPasswordLength" in item.raw}


define(
    ResourceSpec(
        type="aws.iam.role",
        family="iam",
        service="iam",
        operation=_AUTH,
        params=lambda o: [{"Filter": ["Role"]}],
        items="RoleDetailList",
        id="RoleName",
        name="RoleName",
        arn="Arn",
        scope="account",
        tags="Tags",
        normalize=_role_data,
        enrich=(_ROLE_FACTS,),
    ),
    ResourceSpec(
        type="aws.iam.user",
        family="iam",
        service="iam",
        operation=_AUTH,
        params=lambda o: [{"Filter": ["User"]}],
        items="UserDetailList",
        id="UserName",
        name="UserName",
        arn="Arn",
        scope="account",
        tags="Tags",
        normalize=_user_data,
        enrich=(_USER_FACTS,),
        details=(
            Detail(
                operation="list_access_keys",
                also=("get_access_key_last_used",),
                fetch=_access_keys,
                into="AccessKeys",
                attributes=("access_keys", "active_access_key_count"),
            ),
            Detail(
                operation="list_mfa_devices",
                params=lambda r: {"UserName": r["UserName"]},
                select="MFADevices",
                into="MFADevices",
                attributes=("mfa_devices", "mfa_enabled"),
            ),
            Detail(
                operation="get_login_profile",
                params=lambda r: {"UserName": r["UserName"]},
                select="LoginProfile",
                into="LoginProfile",
                absent_codes=frozenset({"NoSuchEntity"}),
                attributes=("console_password",),
            ),
            Detail(
                operation="list_service_specific_credentials",
                params=lambda r: {"UserName": r["UserName"], "ServiceName": BEDROCK_SERVICE},
                select="ServiceSpecificCredentials",
                into="BedrockApiKeys",
                attributes=("bedrock_api_keys", "active_bedrock_api_key_count"),
            ),
        ),
    ),
    ResourceSpec(
        type="aws.iam.policy",
        family="iam",
        service="iam",
        operation=_AUTH,
        params=lambda o: [{"Filter": ["LocalManagedPolicy"]}],
        items="Policies",
        id="PolicyId || Arn",
        name="PolicyName",
        arn="Arn",
        scope="account",
        normalize=_policy_data,
    ),
    ResourceSpec(
        type="aws.iam.password_policy",
        family="iam",
        service="iam",
        operation="get_account_password_policy",
        items="PasswordPolicy",
        single=True,
        absent_codes=frozenset({"NoSuchEntity"}),
        id="AccountId",
        arn_template="arn:{partition}:iam::{account}:account-password-policy",
        scope="account",
        normalize=_password_policy_data,
    ),
)
