"""Instance profiles registered in a workspace: the AWS IAM role every cluster launched with the
profile runs as. The role ARN is the one the workspace registered, or (when the admin registered
only the profile, which Databricks allows when role and profile share a name) derived from the
profile ARN."""

from __future__ import annotations

from typing import Any

from mlguard.collect.databricks._common import WorkspaceContext
from mlguard.collect.databricks.engine import run_family
from mlguard.collect.databricks.spec import FamilySpec, Item, ResourceSpec

TYPE = "databricks.instance_profile"
TYPES = (TYPE,)


def role_of(profile_arn: str, role_arn: Any) -> tuple[str | None, str | None, bool]:
    """(role ARN, role name, derived) of an instance profile. ``arn:aws:iam::<acct>:instance-profile/
    <path/>name`` names the role ``arn:aws:iam::<acct>:role/<path/>name`` when no role ARN was
    registered; anything else is unknown (None)."""
    if isinstance(role_arn, str) and role_arn:
        return role_arn, role_arn.rsplit("/", 1)[-1], False
    head, sep, resource = profile_arn.partition(":instance-profile/")
    if not sep or not head.startswith("arn:") or not resource:
        return None, None, False
    return f"{head}:role/{resource}", resource.rsplit("/", 1)[-1], True


def _normalize(ctx: WorkspaceContext, item: Item, preludes: dict[str, Any]) -> None:
    p = item.raw
    arn = str(p.get("instance_profile_arn") or "")
    role_arn, role_name, derived = role_of(arn, p.get("iam_role_arn"))
    item.data = {
        "instance_profile_arn": arn,
        "iam_role_arn": role_arn,
        "iam_role_name": role_name,
        "iam_role_arn_derived": derived,
        "is_meta_instance_profile": bool(p.get("is_meta_instance_profile", False)),
    }


def _short(p: dict[str, Any]) -> str:
    arn = str(p.get("instance_profile_arn") or "")
    return arn.rsplit("/", 1)[-1] or arn


FAMILY = FamilySpec(
    name="instance_profiles",
    specs=(
        ResourceSpec(
            type=TYPE,
            family="instance_profiles",
            list_route="GET /api/2.0/instance-profiles/list",
            list_sdk_call="instance_profiles.list",
            items="instance_profiles",
            paging="single",
            id=_short,
            name=lambda p: str(p.get("instance_profile_arn") or "").rsplit("/", 1)[-1] or None,
            normalize=_normalize,
            requires="workspace-access",
            without_admin="every workspace user may list the instance profiles",
        ),
    ),
)


def collect(ctx: WorkspaceContext) -> None:
    run_family(ctx, FAMILY)
