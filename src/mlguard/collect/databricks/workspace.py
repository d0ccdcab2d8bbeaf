"""``databricks.workspace``: workspace-conf keys, settings-v2 values, the admins group size and
who may use personal access tokens.

workspace-conf answers a whole request with 403 if any one key is admin-only, so keys are read in
small groups and a failing group is retried key by key: a denied key costs only itself.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from mlguard.collect.databricks._common import (
    TRANSIENT_ERRORS,
    WorkspaceContext,
    as_dict,
)
from mlguard.collect.databricks.engine import run_family
from mlguard.collect.databricks.object_acls import acl_entries
from mlguard.collect.databricks.spec import Detail, FamilySpec, Item, ResourceSpec

TYPE = "databricks.workspace"
# Who may create and use personal access tokens (the permissions API's "authorization/tokens").
TOKEN_PERMISSIONS = "/api/2.0/permissions/authorization/tokens"

# Security-relevant workspace-conf keys (GET /api/2.0/workspace-conf?keys=...).
CONF_KEYS: tuple[str, ...] = (
    "maxTokenLifetimeDays",
    "enableTokensConfig",
    "enableIpAccessLists",
    "enableResultsDownloading",
    "enableExportNotebook",
    "enableNotebookTableClipboard",
    "enableDbfsFileBrowser",
    "enableFileStoreEndpoint",
    "enableVerboseAuditLogs",
    "enforceUserIsolation",
    "enableWorkspaceAclsConfig",
    "enforceWorkspaceViewAcls",
    "storeInteractiveNotebookResultsInCustomerAccount",
    "enableDeprecatedGlobalInitScripts",
    "enableEnforceImdsV2",
    "enableWebTerminal",
)
GROUP_SIZE = 4

# settings-v2: data key -> (setting name in the route, body field, value field)
SETTINGS: dict[str, tuple[str, str, str]] = {
    "restrict_workspace_admins": ("restrict_workspace_admins", "restrict_workspace_admins", "status"),
    "automatic_cluster_update_enabled": (
        "automatic_cluster_update",
        "automatic_cluster_update_workspace",
        "enabled",
    ),
    "disable_legacy_dbfs": ("disable_legacy_dbfs", "disable_legacy_dbfs", "value"),
}


def _normalise(value: Any) -> Any:
    """workspace-conf values are strings: booleans and integers become JSON types."""
    if not isinstance(value, str):
        return value
    low = value.strip().lower()
    if low in {"true", "false"}:
        return low == "true"
    if low.lstrip("-").isdigit():
        return int(low)
    return value


def collect(ctx: WorkspaceContext) -> None:
    run_family(ctx, FAMILY)


def _conf(ctx: WorkspaceContext, item: Item) -> dict[str, Any]:
    """Every key's value, read in groups; a refused group is read key by key (a denied or
    unknown key is an error on that key only, and is absent from the result)."""
    out: dict[str, Any] = {}
    for start in range(0, len(CONF_KEYS), GROUP_SIZE):
        group = CONF_KEYS[start : start + GROUP_SIZE]
        try:
            values = ctx.client.workspace_conf.get_status(keys=",".join(group))
        except TRANSIENT_ERRORS:
            for key in group:
                call = partial(ctx.client.workspace_conf.get_status, keys=key)
                one, ok = ctx.detail(TYPE, item.uid, [key], call)
                if ok:
                    out[key] = _normalise((one or {}).get(key))
            continue
        for key in group:
            out[key] = _normalise((values or {}).get(key))
    return out


def _settings(ctx: WorkspaceContext, item: Item) -> dict[str, Any]:
    """Each settings-v2 value (None when never set: 404); a failed one is an error on its key."""
    out: dict[str, Any] = {}
    for key, (name, body, field) in SETTINGS.items():
        route = f"/api/2.0/settings/types/{name}/names/default"
        got, ok = ctx.detail(TYPE, item.uid, [key], partial(ctx.get, route), missing_ok=True)
        if ok:
            out[key] = (got or {}).get(body, {}).get(field) if got else None
    return out


def _admins(ctx: WorkspaceContext, item: Item) -> list[dict[str, Any]]:
    groups = ctx.client.groups.list(filter='displayName eq "admins"', attributes="id,displayName,members")
    return [as_dict(g) for g in groups]


def _admins_group_size(data: dict[str, Any], groups: Any) -> None:
    if groups is not None:
        admins = [g for g in groups if g.get("displayName") == "admins"]
        data["admins_group_size"] = len(admins[0].get("members") or []) if admins else 0


def _token_acl(data: dict[str, Any], tokens: Any) -> None:
    if isinstance(tokens, dict):
        data["token_acl"] = acl_entries(tokens)


def _workspace(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    """The workspace's data is what its detail calls read (merged by their ``apply``)."""
    item.data = {}
    if "admins" in item.failed:  # read and failed: the size is not known
        item.data["admins_group_size"] = None


_CONF_CALL = f"workspace_conf.get_status(keys=...) in groups of {GROUP_SIZE}, then key by key"

FAMILY = FamilySpec(
    name="workspace",
    specs=(
        ResourceSpec(
            type=TYPE,
            family="workspace",
            list_route="",
            list_sdk_call="",
            items="",
            paging="self",
            id=lambda w: str(w["host"]),
            name=lambda w: str(w["host"]),
            normalize=_workspace,
            details=(
                Detail(
                    name="conf",
                    routes=("GET /api/2.0/workspace-conf",),
                    sdk_calls=(
                        f"workspace_conf.get_status(keys=...) in groups of {GROUP_SIZE}, then key by key",
                    ),
                    attributes=CONF_KEYS,
                    fetch=_conf,
                    apply=lambda data, values: data.update(values),
                ),
                Detail(
                    name="settings",
                    routes=("GET /api/2.0/settings/types/{name}/names/default",),
                    sdk_calls=tuple(f"settings.{name}.get" for name, _, _ in SETTINGS.values()),
                    attributes=tuple(SETTINGS),
                    fetch=_settings,
                    apply=lambda data, values: data.update(values),
                ),
                Detail(
                    name="admins",
                    routes=("GET /api/2.0/preview/scim/v2/Groups",),
                    sdk_calls=("groups.list(filter='displayName eq \"admins\"')",),
                    attributes=("admins_group_size",),
                    fetch=_admins,
                    apply=_admins_group_size,
                ),
                Detail(
                    name="token_acl",
                    routes=(f"GET {TOKEN_PERMISSIONS}",),
                    sdk_calls=("api_client.do GET permissions/authorization/tokens (permissions.get)",),
                    attributes=("token_acl",),
                    fetch=lambda ctx, item: ctx.get(TOKEN_PERMISSIONS),
                    apply=_token_acl,
                ),
            ),
            requires="workspace admin (workspace-conf and settings are admin-only)",
            without_admin="each denied workspace-conf key / setting is a CollectionError for that "
            "attribute only; their policies come out ERROR",
        ),
    ),
)
