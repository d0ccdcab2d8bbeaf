"""Identity: personal access tokens (token management, admin only), IP access lists, secret scopes
with their ACLs, service principals."""

from __future__ import annotations

from typing import Any

from mlguard.collect.databricks._common import WorkspaceContext, ms_to_iso
from mlguard.collect.databricks.engine import run_family
from mlguard.collect.databricks.spec import Detail, FamilySpec, Item, ResourceSpec
from mlguard.collect.netrange import open_to_internet
from mlguard.collect.secrets import mask_text

TOKEN = "databricks.token"
IP_LIST = "databricks.ip_access_list"
SCOPE = "databricks.secret_scope"
SP = "databricks.service_principal"
TYPES = (TOKEN, IP_LIST, SCOPE, SP)

DAY_MS = 86_400_000


def _token(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    t = item.raw
    created = t.get("creation_time")
    expiry = t.get("expiry_time")
    never = not isinstance(expiry, int) or expiry <= 0
    lifetime = None
    if not never and isinstance(created, int) and isinstance(expiry, int):
        lifetime = round((expiry - created) / DAY_MS, 1)
    item.data = {
        # The list never returns token values; the comment is free text and is masked.
        "comment": mask_text(str(t.get("comment") or "")),
        "created_by_username": t.get("created_by_username"),
        "created_by_id": t.get("created_by_id"),
        "owner_id": t.get("owner_id"),
        "created_at": ms_to_iso(created),
        "expires_at": None if never else ms_to_iso(expiry),
        "never_expires": never,
        "lifetime_days": lifetime,
        "last_used_at": ms_to_iso(t.get("last_used_day")),
    }


def _open_to_world(cidrs: list[str]) -> bool:
    """Any entry wider than /8 (IPv4) or /32 (IPv6) that holds public addresses (``netrange``)."""
    return any(open_to_internet(c) for c in cidrs)


def _ip_list(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    i = item.raw
    addresses = list(i.get("ip_addresses") or [])
    item.data = {
        "label": i.get("label"),
        "list_type": i.get("list_type"),
        "enabled": bool(i.get("enabled", False)),
        "ip_addresses": addresses,
        "address_count": i.get("address_count", len(addresses)),
        "allows_any_address": i.get("list_type") == "ALLOW" and _open_to_world(addresses),
        "created_at": ms_to_iso(i.get("created_at")),
        "updated_at": ms_to_iso(i.get("updated_at")),
    }


def _scope(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    item.data = {"backend_type": item.raw.get("backend_type")}


def _read_scope_acls(ctx: WorkspaceContext, item: Item) -> list[dict[str, Any]]:
    return ctx.pages("/api/2.0/secrets/acls/list", "items", {"scope": item.ident})


def _apply_scope_acls(data: dict[str, Any], acls: Any) -> None:
    items = [{"principal": a.get("principal"), "permission": a.get("permission")} for a in acls or []]
    data["acls"] = items
    data["principals"] = sorted(str(a["principal"]) for a in items)
    data["users_can_read"] = any(a["principal"] == "users" for a in items)


def _service_principal(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    p = item.raw
    item.data = {
        "application_id": p.get("applicationId"),
        "display_name": p.get("displayName"),
        "active": bool(p.get("active", False)),
        "entitlements": sorted(str(e.get("value")) for e in p.get("entitlements") or []),
        "groups": sorted(str(g.get("display") or g.get("value")) for g in p.get("groups") or []),
    }


def _token_name(t: dict[str, Any]) -> str | None:
    comment = t.get("comment")
    return comment and mask_text(str(comment))


FAMILY = FamilySpec(
    name="identity",
    specs=(
        ResourceSpec(
            type=TOKEN,
            family="identity",
            list_route="GET /api/2.0/token-management/tokens",
            list_sdk_call="token_management.list",
            items="token_infos",
            id=lambda t: str(t.get("token_id")),
            name=_token_name,
            normalize=_token,
            requires="workspace admin",
            without_admin="without admin the whole type is a CollectionError (PERMISSION_DENIED)",
        ),
        ResourceSpec(
            type=IP_LIST,
            family="identity",
            list_route="GET /api/2.0/ip-access-lists",
            list_sdk_call="ip_access_lists.list",
            items="ip_access_lists",
            id=lambda i: str(i.get("list_id")),
            name=lambda i: i.get("label"),
            normalize=_ip_list,
            requires="workspace admin",
            without_admin="without admin the whole type is a CollectionError",
        ),
        ResourceSpec(
            type=SCOPE,
            family="identity",
            list_route="GET /api/2.0/secrets/scopes/list",
            list_sdk_call="secrets.list_scopes",
            items="scopes",
            id=lambda s: str(s.get("name")),
            name=lambda s: str(s.get("name")),
            normalize=_scope,
            details=(
                Detail(
                    name="acls",
                    routes=("GET /api/2.0/secrets/acls/list",),
                    sdk_calls=("secrets.list_acls",),
                    attributes=("acls", "users_can_read", "principals"),
                    fetch=lambda ctx, item: ctx.pages(
                        "/api/2.0/secrets/acls/list", "items", {"scope": item.ident}
                    ),
                    apply=_apply_scope_acls,
                ),
            ),
            requires="workspace-access; MANAGE on a scope to list its ACLs",
            without_admin="ACLs of scopes without MANAGE are attribute errors (acls, users_can_read)",
        ),
        ResourceSpec(
            type=SP,
            family="identity",
            list_route="GET /api/2.0/preview/scim/v2/ServicePrincipals",
            list_sdk_call="service_principals.list",
            items="Resources",
            paging="sdk",
            sdk_list=lambda client: client.service_principals.list(),
            id=lambda p: str(p.get("id")),
            name=lambda p: p.get("displayName"),
            normalize=_service_principal,
            requires="workspace-access",
            without_admin="non-admins see service principals but not all entitlements",
        ),
    ),
)


def collect(ctx: WorkspaceContext) -> None:
    run_family(ctx, FAMILY)
