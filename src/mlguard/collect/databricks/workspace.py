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
from mlguard.collect.databricks.object_acls import acl_entries

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
    if not ctx.wants(TYPE):
        return
    with ctx.section(TYPE) as counts:
        uid = ctx.uid(TYPE, ctx.host)
        data: dict[str, Any] = {}
        _read_conf(ctx, uid, data)
        for key, (name, body, field) in SETTINGS.items():
            route = f"/api/2.0/settings/types/{name}/names/default"
            got, ok = ctx.detail(TYPE, uid, [key], partial(ctx.get, route), missing_ok=True)
            if ok:
                data[key] = (got or {}).get(body, {}).get(field) if got else None
        data["admins_group_size"] = None
        groups, ok = ctx.detail(
            TYPE,
            uid,
            ["admins_group_size"],
            lambda: [
                as_dict(g)
                for g in ctx.client.groups.list(
                    filter='displayName eq "admins"', attributes="id,displayName,members"
                )
            ],
        )
        if ok and groups is not None:
            admins = [g for g in groups if g.get("displayName") == "admins"]
            data["admins_group_size"] = len(admins[0].get("members") or []) if admins else 0
        tokens, ok = ctx.detail(TYPE, uid, ["token_acl"], partial(ctx.get, TOKEN_PERMISSIONS))
        if ok and isinstance(tokens, dict):
            data["token_acl"] = acl_entries(tokens)
        ctx.add(TYPE, ctx.host, ctx.host, data)
        counts[0] += 1


def _read_conf(ctx: WorkspaceContext, uid: str, data: dict[str, Any]) -> None:
    for start in range(0, len(CONF_KEYS), GROUP_SIZE):
        group = CONF_KEYS[start : start + GROUP_SIZE]
        try:
            values = ctx.client.workspace_conf.get_status(keys=",".join(group))
        except TRANSIENT_ERRORS:
            for key in group:  # one by one: a denied or unknown key costs only itself
                one, ok = ctx.detail(
                    TYPE, uid, [key], partial(ctx.client.workspace_conf.get_status, keys=key)
                )
                if ok:
                    data[key] = _normalise((one or {}).get(key))
            continue
        for key in group:
            data[key] = _normalise((values or {}).get(key))
