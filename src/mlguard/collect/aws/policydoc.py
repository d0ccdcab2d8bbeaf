"""Facts computed from IAM-style policy documents (identity, trust and resource policies)."""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws.normalize import as_list

_RESTRICTING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:sourceowner",
        "lambda:functionurlauthtype",
    }
)
_CONFUSED_DEPUTY_KEYS = frozenset(
    {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"}
)


def statements(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def condition_keys(statement: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for block in (statement.get("Condition") or {}).values():
        if isinstance(block, dict):
            keys.update(str(k).lower() for k in block)
    return keys


def principal_values(principal: Any, kind: str) -> list[str]:
    if principal == "*":
        return ["*"] if kind == "AWS" else []
    if isinstance(principal, dict):
        return [str(v) for v in as_list(principal.get(kind))]
    return []


def is_public_principal(principal: Any) -> bool:
    return principal == "*" or "*" in principal_values(principal, "AWS")


def _matches(action: str, wanted: str) -> bool:
    a = action.lower()
    if a == "*":
        return True
    svc, _, name = wanted.lower().partition(":")
    a_svc, _, a_name = a.partition(":")
    if a_svc != svc:
        return False
    if a_name.endswith("*"):
        return name.startswith(a_name[:-1])
    return a_name == name


def public_statements(doc: dict[str, Any] | None, action: str | None = None) -> list[dict[str, Any]]:
    """Allow statements open to any principal with no condition that narrows who can use them."""
    out = []
    for s in statements(doc):
        if s.get("Effect") != "Allow" or not is_public_principal(s.get("Principal")):
            continue
        if condition_keys(s) & _RESTRICTING_KEYS:
            continue
        if action is not None and not any(_matches(str(a), action) for a in as_list(s.get("Action"))):
            continue
        out.append(s)
    return out


def tls_only(doc: dict[str, Any] | None) -> bool:
    """True when the policy denies every request that does not use TLS (aws:SecureTransport false)."""
    for s in statements(doc):
        if s.get("Effect") != "Deny" or not is_public_principal(s.get("Principal")):
            continue
        actions = [str(a).lower() for a in as_list(s.get("Action"))]
        if not any(a in ("*", "s3:*") for a in actions):
            continue
        for op, block in (s.get("Condition") or {}).items():
            if str(op).lower() not in ("bool", "boolifexists") or not isinstance(block, dict):
                continue
            for key, value in block.items():
                if str(key).lower() == "aws:securetransport" and [str(v).lower() for v in as_list(value)] == [
                    "false"
                ]:
                    return True
    return False


def identity_policy_facts(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Facts about an identity policy: admin access, wildcard actions and resources."""
    allows_admin = False
    wildcard_actions: set[str] = set()
    wildcard_resource = False
    for s in statements(doc):
        if s.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in as_list(s.get("Action"))]
        resources = [str(r) for r in as_list(s.get("Resource"))]
        if "NotAction" in s:
            wildcard_actions.add("NotAction")
        wildcard_actions.update(a for a in actions if "*" in a)
        if "*" in resources:
            wildcard_resource = True
            if any(a in ("*", "*:*") for a in actions):
                allows_admin = True
    return {
        "allows_admin": allows_admin,
        "wildcard_actions": sorted(wildcard_actions),
        "wildcard_resource": wildcard_resource,
    }


def trust_facts(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Who can assume a role, and whether service principals are guarded against confused deputies."""
    services: set[str] = set()
    aws_principals: set[str] = set()
    federated: set[str] = set()
    guarded = True
    has_service = False
    external_id = False
    for s in statements(doc):
        if s.get("Effect") != "Allow":
            continue
        principal = s.get("Principal")
        keys = condition_keys(s)
        svc = principal_values(principal, "Service")
        services.update(svc)
        aws_principals.update(principal_values(principal, "AWS"))
        federated.update(principal_values(principal, "Federated"))
        if "sts:externalid" in keys:
            external_id = True
        if svc:
            has_service = True
            if not keys & _CONFUSED_DEPUTY_KEYS:
                guarded = False
    return {
        "trusted_services": sorted(services),
        "trusted_aws_principals": sorted(aws_principals),
        "trusted_federated": sorted(federated),
        "trust_public": "*" in aws_principals,
        "trust_external_id_required": external_id,
        "confused_deputy_conditions": guarded if has_service else None,
    }
