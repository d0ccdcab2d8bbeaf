"""Facts computed from IAM-style policy documents (identity, trust and resource policies).

The public-access evaluation follows the AWS definition of a public policy (S3 Block Public
Access, "the meaning of public"): an ``Allow`` statement open to every principal (``Principal: "*"``,
``{"AWS": "*"}``, or any ``NotPrincipal``) is public unless one of its conditions really narrows who
can use it. A condition narrows only when

- its operator is a positive match (``StringEquals``, ``StringLike``, ``ArnEquals``, ``ArnLike``,
  ``IpAddress`` and their ``IgnoreCase`` / ``ForAnyValue:`` forms): negated operators (``StringNotEquals``,
  ``NotIpAddress``...), ``ForAllValues:`` (true when the key is absent), ``...IfExists`` (true when the
  key is absent), ``Null`` and ``Bool`` (``aws:SecureTransport`` is about transport, not identity) never do;
- its key identifies the caller or its network: ``aws:SourceVpc(e)``, ``aws:SourceIp``,
  ``aws:SourceAccount`` / ``SourceArn`` / ``SourceOwner`` / ``SourceOrgID`` / ``SourceOrgPaths``,
  ``aws:PrincipalOrgID`` / ``PrincipalOrgPaths`` / ``PrincipalAccount`` / ``PrincipalArn``,
  ``aws:userid``, ``kms:CallerAccount``...;
- every value is fixed: no wildcard in the identifying part (an account, an org id, a VPC id, the
  account of an ARN, the bucket of an S3 ARN), no policy variable, and for ``aws:SourceIp`` a CIDR
  narrower than the internet (IPv4 prefix of at least /8, IPv6 of at least /32).

``Effect: Deny`` never grants; a Deny for every principal whose conditions are all negated fixed
restrictions (``StringNotEquals aws:SourceVpce vpce-1a2b3c4d``, ``NotIpAddress aws:SourceIp ...``)
narrows the public Allow statements whose actions and resources it covers. Statements are matched
against an action with ``Action`` / ``NotAction`` and IAM wildcards (``*`` and ``?``).
"""

from __future__ import annotations

import re
from typing import Any

from mlguard.collect.aws.normalize import as_list
from mlguard.collect.netrange import is_narrow, parse_cidr

# Condition keys whose fixed values narrow who (or which network) may use a statement. The
# aws:Resource* keys are absent on purpose: they describe the resource, not the caller.
_ACCOUNT_KEYS = frozenset(
    {
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:principalaccount",
        "kms:calleraccount",
        "aws:vpceaccount",
    }
)
_ORG_KEYS = frozenset({"aws:principalorgid", "aws:sourceorgid", "aws:vpceorgid"})
_ORG_PATH_KEYS = frozenset({"aws:principalorgpaths", "aws:sourceorgpaths", "aws:vpceorgpaths"})
_ARN_KEYS = frozenset({"aws:sourcearn", "aws:principalarn", "aws:sourcevpcarn"})
_NETWORK_KEYS = frozenset({"aws:sourcevpc", "aws:sourcevpce"})
_IP_KEYS = frozenset({"aws:sourceip"})
_USERID_KEYS = frozenset({"aws:userid"})
RESTRICTING_KEYS = (
    _ACCOUNT_KEYS | _ORG_KEYS | _ORG_PATH_KEYS | _ARN_KEYS | _NETWORK_KEYS | _IP_KEYS | _USERID_KEYS
)
# Keys that tie a service principal's use of a role to the caller's own resources.
_CONFUSED_DEPUTY_KEYS = frozenset(
    {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"}
)
_POSITIVE_OPERATORS = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}
)
_MAX_ACTION = 512  # IAM caps an action name far below this; longer values never match


def statements(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not doc or not isinstance(doc, dict):
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, dict)]


def condition_keys(statement: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return keys
    for block in condition.values():
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
    """``"*"``, or an AWS principal with a wildcard (AWS accepts only the full ``"*"``; any other
    wildcard is read as the widest thing it could mean)."""
    return principal == "*" or any("*" in v for v in principal_values(principal, "AWS"))


def open_to_everyone(statement: dict[str, Any]) -> bool:
    """The statement's principal part admits any caller: ``Principal: "*"``/``{"AWS": "*"}``, or a
    ``NotPrincipal`` (everyone except the listed principals)."""
    return "NotPrincipal" in statement or is_public_principal(statement.get("Principal"))


def action_matches(pattern: str, action: str) -> bool:
    """IAM wildcard match (``*`` any run, ``?`` one character), case-insensitive.

    A two-pointer scan with backtracking to the last ``*`` only: O(len(pattern) * len(action)) in
    the worst case, so a crafted pattern cannot stall the scan the way a backtracking regex can.
    """
    if len(pattern) > _MAX_ACTION or len(action) > _MAX_ACTION:
        return False
    p, t = pattern.lower(), action.lower()
    pi = ti = 0
    star, mark = -1, 0
    while ti < len(t):
        if pi < len(p) and p[pi] == "*":
            star, mark = pi, ti
            pi += 1
        elif pi < len(p) and p[pi] in ("?", t[ti]):
            pi += 1
            ti += 1
        elif star >= 0:
            mark += 1
            pi, ti = star + 1, mark
        else:
            return False
    while pi < len(p) and p[pi] == "*":
        pi += 1
    return pi == len(p)


def allows_action(statement: dict[str, Any], action: str) -> bool:
    """The statement's ``Action`` covers ``action`` (or its ``NotAction`` does not exclude it)."""
    if "NotAction" in statement:
        return not any(action_matches(str(p), action) for p in as_list(statement.get("NotAction")))
    return any(action_matches(str(p), action) for p in as_list(statement.get("Action")))


def _operator(name: str) -> tuple[str, str | None, bool]:
    """(base operator, set qualifier, if-exists) of a condition operator, all lower case."""
    op = name.lower()
    qualifier = None
    if ":" in op:
        qualifier, _, op = op.partition(":")
    if_exists = op.endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    return op, qualifier, if_exists


def _wild(value: str) -> bool:
    return "*" in value or "?" in value or "${" in value


def _fixed_cidr(value: str) -> bool:
    net = parse_cidr(value)
    return net is not None and is_narrow(net)


def _fixed_arn(value: str) -> bool:
    """The ARN names one account (or, for S3, one bucket); wildcards only below that."""
    if "${" in value:
        return False
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[0].lower() != "arn" or _wild(parts[1]) or _wild(parts[2]):
        return False
    account, resource = parts[4], parts[5]
    if account:
        return account.isdigit() and len(account) == 12
    bucket = resource.split("/", 1)[0]  # account-less ARNs (S3): the bucket name must be fixed
    return bool(bucket) and not _wild(bucket)


def _fixed_value(key: str, value: Any) -> bool:
    if not isinstance(value, str | int) or isinstance(value, bool):
        return False
    text = str(value).strip()
    if not text:
        return False
    if key in _IP_KEYS:
        return _fixed_cidr(text)
    if key in _ARN_KEYS:
        return _fixed_arn(text)
    if key in _ORG_PATH_KEYS:
        org = text.split("/", 1)[0]
        return org.startswith("o-") and not _wild(org) and "${" not in text
    if key in _USERID_KEYS:  # "AROAEXAMPLEID:*" (one role, any session) is fixed
        head = text.split(":", 1)[0]
        return bool(head) and not _wild(head) and "${" not in text
    return not _wild(text)


def restricting_conditions(statement: dict[str, Any], keys: frozenset[str] = RESTRICTING_KEYS) -> list[str]:
    """The ``operator:key`` pairs of the statement that really narrow who can use it."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return []
    out = []
    for op_name, block in condition.items():
        if not isinstance(block, dict):
            continue
        op, qualifier, if_exists = _operator(str(op_name))
        if op not in _POSITIVE_OPERATORS or if_exists or qualifier == "forallvalues":
            continue
        for key, values in block.items():
            k = str(key).lower()
            if k not in keys or (op == "ipaddress") != (k in _IP_KEYS):
                continue
            vals = as_list(values)
            if vals and all(_fixed_value(k, v) for v in vals):
                out.append(f"{op_name}:{key}")
    return out


def _fence(statement: dict[str, Any]) -> bool:
    """A Deny for every principal whose conditions all deny callers outside a fixed set, e.g.
    ``StringNotEquals aws:SourceVpce vpce-1a2b3c4d`` (a negated operator is true when the key is
    absent, so internet callers are denied too)."""
    if statement.get("Effect") != "Deny" or not is_public_principal(statement.get("Principal")):
        return False
    condition = statement.get("Condition", {})
    if not isinstance(condition, dict):
        return False
    for op_name, block in condition.items():  # no condition: it denies everyone
        op, qualifier, _ = _operator(str(op_name))
        if qualifier is not None or not op.startswith(("stringnot", "arnnot", "notipaddress")):
            return False
        positive = op.replace("not", "", 1)
        if not isinstance(block, dict) or not block:
            return False
        for key, values in block.items():
            k = str(key).lower()
            vals = as_list(values)
            if k not in RESTRICTING_KEYS or (positive == "ipaddress") != (k in _IP_KEYS):
                return False
            if not vals or not all(_fixed_value(k, v) for v in vals):
                return False
    return True


def _covers(patterns: list[Any], wanted: list[Any]) -> bool:
    """Every pattern in ``wanted`` is matched, as a string, by one of ``patterns``."""
    return bool(wanted) and all(any(action_matches(str(p), str(w)) for p in patterns) for w in wanted)


def _fenced(allow: dict[str, Any], fences: list[dict[str, Any]], action: str | None) -> bool:
    for deny in fences:
        if "NotAction" in deny or "NotResource" in deny:
            continue
        if action is not None:
            if not allows_action(deny, action):
                continue
        elif "NotAction" in allow:
            if not _covers(as_list(deny.get("Action")), ["*"]):
                continue
        elif not _covers(as_list(deny.get("Action")), as_list(allow.get("Action"))):
            continue
        wanted = ["*"] if "NotResource" in allow else as_list(allow.get("Resource"))
        if _covers(as_list(deny.get("Resource")), wanted):
            return True
    return False


def public_statements(doc: dict[str, Any] | None, action: str | None = None) -> list[dict[str, Any]]:
    """Allow statements open to any principal with no condition that narrows who can use them
    (and, given ``action``, that allow it). An Allow that a fixed-condition Deny for everyone
    covers (same actions, same resources) is narrowed by that Deny."""
    found = statements(doc)
    fences = [s for s in found if _fence(s)]
    out = []
    for s in found:
        if s.get("Effect") != "Allow" or not open_to_everyone(s):
            continue
        if restricting_conditions(s):
            continue
        if action is not None and not allows_action(s, action):
            continue
        if _fenced(s, fences, action):
            continue
        out.append(s)
    return out


def tls_only(doc: dict[str, Any] | None) -> bool:
    """True when the policy denies every request that does not use TLS (aws:SecureTransport false)."""
    for s in statements(doc):
        if s.get("Effect") != "Deny" or not is_public_principal(s.get("Principal")):
            continue
        if not any(str(a).lower() in ("*", "s3:*") for a in as_list(s.get("Action"))):
            continue
        condition = s.get("Condition")
        for op, block in (condition if isinstance(condition, dict) else {}).items():
            if str(op).lower() not in ("bool", "boolifexists") or not isinstance(block, dict):
                continue
            for key, value in block.items():
                if str(key).lower() == "aws:securetransport" and [str(v).lower() for v in as_list(value)] == [
                    "false"
                ]:
                    return True
    return False


# Actions that, allowed on every resource, make a principal an administrator.
_ADMIN_PROBES = ("iam:PassRole", "iam:PutRolePolicy", "iam:CreateAccessKey", "sts:AssumeRole", "s3:GetObject")


def _every_arn(pattern: str) -> bool:
    """The resource pattern matches every ARN (of its partition): ``*``, ``arn:*``,
    ``arn:aws:*:*:*:*``. A ``*`` in the last field also spans the colons of the fields after it."""
    if pattern == "*":
        return True
    parts = pattern.split(":", 5)
    if parts[0] != "arn" or len(parts) < 2:
        return False
    fields = parts[2:] if len(parts) > 2 else parts[1:]  # any one partition is the whole account
    return all(f and set(f) == {"*"} for f in fields)


def _every_resource(statement: dict[str, Any]) -> bool:
    if "NotResource" in statement:
        return True
    return any(_every_arn(str(r)) for r in as_list(statement.get("Resource")))


def identity_policy_facts(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Facts about an identity policy: admin access, wildcard actions and resources.

    ``allows_admin``: Allows on every resource (``"*"``, an all-wildcard ARN such as
    ``arn:*:*:*:*:*``, or any ``NotResource``) whose actions together cover IAM privilege escalation
    and data access, e.g. ``Action: "*"``, ``NotAction: ["s3:DeleteBucket"]``, or ``iam:*`` + ``sts:*``
    in one statement and ``s3:*`` in another.
    ``wildcard_actions`` lists the wildcard action patterns, and ``NotAction`` for a statement that
    allows everything but a list.
    """
    probes_allowed: set[str] = set()
    wildcard_actions: set[str] = set()
    wildcard_resource = False
    for s in statements(doc):
        if s.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in as_list(s.get("Action"))]
        if "NotAction" in s:
            wildcard_actions.add("NotAction")
        wildcard_actions.update(a for a in actions if "*" in a or "?" in a)
        if _every_resource(s):
            wildcard_resource = True
            probes_allowed.update(p for p in _ADMIN_PROBES if allows_action(s, p))
    return {
        "allows_admin": probes_allowed.issuperset(_ADMIN_PROBES),
        "wildcard_actions": sorted(wildcard_actions),
        "wildcard_resource": wildcard_resource,
        **marketplace_subscribe_facts(doc),
    }


#: Subscribing to an AWS Marketplace product (which is how access to third-party Amazon Bedrock
#: models is enabled). The action has no resource-level permissions; the product is fenced only by
#: an ``aws-marketplace:ProductId`` condition.
MARKETPLACE_SUBSCRIBE = "aws-marketplace:Subscribe"
_PRODUCT_KEY = "aws-marketplace:productid"


def marketplace_subscribe_facts(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Whether the document lets its holder subscribe to any Marketplace product.

    ``marketplace_subscribe_any_product``: an Allow statement on every resource covers
    ``aws-marketplace:Subscribe`` (by name, a wildcard or ``NotAction``) with no
    ``aws-marketplace:ProductId`` condition naming the products. ``marketplace_subscribe_denied``:
    a Deny statement on every resource covers the action unconditionally (it overrides any Allow of
    the same principal, so the principal-level fact folds the two).
    """
    allowed = denied = False
    for s in statements(doc):
        if not _every_resource(s) or not allows_action(s, MARKETPLACE_SUBSCRIBE):
            continue
        if s.get("Effect") == "Allow" and _PRODUCT_KEY not in condition_keys(s):
            allowed = True
        elif s.get("Effect") == "Deny" and not s.get("Condition"):
            denied = True
    return {"marketplace_subscribe_any_product": allowed, "marketplace_subscribe_denied": denied}


def principal_account(principal: str) -> str:
    """The account of an AWS principal: a bare account id, or the account field of an IAM ARN
    (``arn:aws:iam::111122223333:root``); ``"*"`` for a wildcard or an unrecognised shape (read as
    the widest thing it could mean: any account)."""
    if re.fullmatch(r"[0-9]{12}", principal):
        return principal
    parts = principal.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and re.fullmatch(r"[0-9]{12}", parts[4]):
        return parts[4]
    return "*"


def cross_account_trust(facts: dict[str, Any], own_account: str | None) -> dict[str, Any]:
    """Which trusted AWS principals belong to another account than the role's own, and which of
    them a statement without an ``sts:ExternalId`` condition lets assume the role."""
    others = [p for p in facts["trusted_aws_principals"] if principal_account(p) != own_account]
    unguarded = set(facts["aws_principals_without_external_id"])
    return {
        "cross_account_principals": others,
        "cross_account_without_external_id": [p for p in others if p in unguarded],
    }


def external_ids(statement: dict[str, Any]) -> set[str]:
    """The ``sts:ExternalId`` values an Allow statement requires exactly: values of a
    ``StringEquals`` (not ``...IfExists``, which an absent ID satisfies) condition on that key."""
    found: set[str] = set()
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return found
    for name, block in condition.items():
        op, qualifier, if_exists = _operator(str(name))
        if op != "stringequals" or if_exists or qualifier is not None or not isinstance(block, dict):
            continue
        for key, value in block.items():
            if str(key).lower() == "sts:externalid":
                found.update(str(v) for v in (value if isinstance(value, list) else [value]))
    return found


def trust_facts(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Who can assume a role, and whether service principals are guarded against confused deputies.

    ``trust_public``: an Allow statement lets any principal (``"*"`` or ``NotPrincipal``) assume the
    role with no condition that fixes who it is. ``confused_deputy_conditions``: every Allow for a
    service principal carries a fixed ``aws:SourceAccount`` / ``SourceArn`` / ``SourceOrgID`` /
    ``SourceOrgPaths`` condition (None when no service is trusted).
    """
    services: set[str] = set()
    aws_principals: set[str] = set()
    federated: set[str] = set()
    guarded = True
    has_service = False
    external_id = False
    unguarded_aws: set[str] = set()
    required_ids: set[str] = set()
    for s in statements(doc):
        if s.get("Effect") != "Allow":
            continue
        required_ids.update(external_ids(s))
        principal = s.get("Principal")
        keys = condition_keys(s)
        svc = principal_values(principal, "Service")
        services.update(svc)
        aws_principals.update(principal_values(principal, "AWS"))
        federated.update(principal_values(principal, "Federated"))
        if "NotPrincipal" in s:
            aws_principals.add("*")
        if "sts:externalid" in keys:
            external_id = True
        else:
            unguarded_aws.update(principal_values(principal, "AWS"))
            if "NotPrincipal" in s:
                unguarded_aws.add("*")
        if svc:
            has_service = True
            if not restricting_conditions(s, _CONFUSED_DEPUTY_KEYS):
                guarded = False
    return {
        "trusted_services": sorted(services),
        "trusted_aws_principals": sorted(aws_principals),
        "trusted_federated": sorted(federated),
        "trust_public": bool(public_statements(doc)),
        "trust_external_id_required": external_id,
        "aws_principals_without_external_id": sorted(unguarded_aws),
        "trust_external_ids": sorted(required_ids),
        "confused_deputy_conditions": guarded if has_service else None,
    }
