"""Object permissions of workspace objects (jobs, pipelines, clusters, SQL warehouses, MLflow
experiments, serving endpoints, the token permission): who can manage, run, attach, use or query,
read from ``GET /api/2.0/permissions/{object_type}/{id}`` (the route behind the SDK's
``permissions.get``) and attached to the object's resource as an access-control summary (the
:func:`acl_detail` of its spec).

Read as raw JSON through the SDK's ``api_client.do`` like every other list here: the typed
``PermissionLevel`` enum turns a level it does not know into None, which would hide a grant."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mlguard.collect.databricks._common import WorkspaceContext
from mlguard.collect.databricks.spec import Detail

# The object types of the permissions API mlguard reads (the path segment after /permissions/).
OBJECT_TYPES = ("jobs", "pipelines", "clusters", "warehouses", "experiments", "serving-endpoints")
ROUTE = "GET /api/2.0/permissions/{object_type}/{id}"
TOKENS_ROUTE = "GET /api/2.0/permissions/authorization/tokens"

# Levels that let a principal change the object, its permissions or its owner.
MANAGE_LEVELS = frozenset({"CAN_MANAGE", "IS_OWNER"})

ACL_ATTRIBUTES = ["acl", "acl_owner", "acl_owner_type", "acl_managers", "acl_user_managers"]
_KINDS = (("user_name", "user"), ("group_name", "group"), ("service_principal_name", "service_principal"))


def acl_entries(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The access-control list of a permissions answer: one entry per principal with its type
    (user, group or service_principal), every level it holds (direct or inherited, sorted) and
    the levels it inherits from a parent object (the workspace's admins, a folder)."""
    levels: dict[tuple[str, str], set[str]] = {}
    inherited: dict[tuple[str, str], set[str]] = {}
    for entry in body.get("access_control_list") or []:
        who = next(((kind, str(entry[key])) for key, kind in _KINDS if entry.get(key)), None)
        if who is None:
            continue
        # One principal listed twice (a direct and an inherited entry) is one principal.
        for p in entry.get("all_permissions") or []:
            if p.get("permission_level"):
                levels.setdefault(who, set()).add(str(p["permission_level"]))
                if p.get("inherited") is True:
                    inherited.setdefault(who, set()).add(str(p["permission_level"]))
        levels.setdefault(who, set())
    return [
        {
            "principal": principal,
            "principal_type": ptype,
            "permission_levels": sorted(levels[(ptype, principal)]),
            "inherited_levels": sorted(inherited.get((ptype, principal), set())),
        }
        for ptype, principal in sorted(levels)
    ]


def acl_summary(body: dict[str, Any]) -> dict[str, Any]:
    """The facts policies ask about: the owner, who can manage the object, which of them are
    individual users."""
    entries = acl_entries(body)
    owner = next((e for e in entries if "IS_OWNER" in e["permission_levels"]), None)
    managers = [e for e in entries if MANAGE_LEVELS.intersection(e["permission_levels"])]
    return {
        "acl": entries,
        "acl_owner": owner["principal"] if owner else None,
        "acl_owner_type": owner["principal_type"] if owner else None,
        "acl_managers": sorted(e["principal"] for e in managers),
        "acl_user_managers": sorted(e["principal"] for e in managers if e["principal_type"] == "user"),
    }


def read_acl(ctx: WorkspaceContext, object_type: str, object_id: str) -> dict[str, Any]:
    return ctx.get(f"/api/2.0/permissions/{object_type}/{quote(object_id, safe='')}")


def _apply(data: dict[str, Any], body: Any) -> None:
    if isinstance(body, dict):
        data.update(acl_summary(body))


def acl_detail(object_type: str) -> Detail:
    """The object-permissions detail of a spec: the access-control summary of each item (its id
    the item's), read after its data is built."""
    return Detail(
        name="acl",
        routes=(f"GET /api/2.0/permissions/{object_type}/{{id}}",),
        sdk_calls=(f"api_client.do GET permissions/{object_type}/{{id}} (permissions.get)",),
        attributes=tuple(ACL_ATTRIBUTES),
        fetch=lambda ctx, item: read_acl(ctx, object_type, item.ident),
        apply=_apply,
    )
