"""Identity: personal access tokens (token management, admin only), IP access lists, secret scopes
with their ACLs, service principals."""

from __future__ import annotations

from functools import partial
from typing import Any

from mlguard.collect.databricks._common import WorkspaceContext, as_dict, ms_to_iso
from mlguard.collect.netrange import open_to_internet
from mlguard.collect.secrets import mask_text

TOKEN = "databricks.token"
IP_LIST = "databricks.ip_access_list"
SCOPE = "databricks.secret_scope"
SP = "databricks.service_principal"
TYPES = (TOKEN, IP_LIST, SCOPE, SP)

DAY_MS = 86_400_000


def collect(ctx: WorkspaceContext) -> None:
    if ctx.wants(TOKEN):
        _tokens(ctx)
    if ctx.wants(IP_LIST):
        _ip_lists(ctx)
    if ctx.wants(SCOPE):
        _scopes(ctx)
    if ctx.wants(SP):
        _service_principals(ctx)


def _tokens(ctx: WorkspaceContext) -> None:
    with ctx.section(TOKEN) as counts:
        for t in ctx.pages("/api/2.0/token-management/tokens", "token_infos"):
            created = t.get("creation_time")
            expiry = t.get("expiry_time")
            never = not isinstance(expiry, int) or expiry <= 0
            lifetime = None
            if not never and isinstance(created, int) and isinstance(expiry, int):
                lifetime = round((expiry - created) / DAY_MS, 1)
            data = {
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
            ctx.add(TOKEN, str(t.get("token_id")), t.get("comment") and mask_text(str(t["comment"])), data)
            counts[0] += 1


def _open_to_world(cidrs: list[str]) -> bool:
    """Any entry wider than /8 (IPv4) or /32 (IPv6) that holds public addresses (``netrange``)."""
    return any(open_to_internet(c) for c in cidrs)


def _ip_lists(ctx: WorkspaceContext) -> None:
    with ctx.section(IP_LIST) as counts:
        for i in ctx.pages("/api/2.0/ip-access-lists", "ip_access_lists"):
            addresses = list(i.get("ip_addresses") or [])
            data = {
                "label": i.get("label"),
                "list_type": i.get("list_type"),
                "enabled": bool(i.get("enabled", False)),
                "ip_addresses": addresses,
                "address_count": i.get("address_count", len(addresses)),
                "allows_any_address": i.get("list_type") == "ALLOW" and _open_to_world(addresses),
                "created_at": ms_to_iso(i.get("created_at")),
                "updated_at": ms_to_iso(i.get("updated_at")),
            }
            ctx.add(IP_LIST, str(i.get("list_id")), i.get("label"), data)
            counts[0] += 1


def _scopes(ctx: WorkspaceContext) -> None:
    with ctx.section(SCOPE) as counts:
        for s in ctx.pages("/api/2.0/secrets/scopes/list", "scopes"):
            name = str(s.get("name"))
            uid = ctx.uid(SCOPE, name)
            data: dict[str, Any] = {"backend_type": s.get("backend_type")}
            acls, ok = ctx.detail(
                SCOPE,
                uid,
                ["acls", "users_can_read", "principals"],
                partial(ctx.pages, "/api/2.0/secrets/acls/list", "items", {"scope": name}),
            )
            if ok:
                items = [
                    {"principal": a.get("principal"), "permission": a.get("permission")} for a in acls or []
                ]
                data["acls"] = items
                data["principals"] = sorted(str(a["principal"]) for a in items)
                data["users_can_read"] = any(a["principal"] == "users" for a in items)
            ctx.add(SCOPE, name, name, data)
            counts[0] += 1


def _service_principals(ctx: WorkspaceContext) -> None:
    with ctx.section(SP) as counts:
        for sp in ctx.client.service_principals.list():
            p = as_dict(sp)
            data = {
                "application_id": p.get("applicationId"),
                "display_name": p.get("displayName"),
                "active": bool(p.get("active", False)),
                "entitlements": sorted(str(e.get("value")) for e in p.get("entitlements") or []),
                "groups": sorted(str(g.get("display") or g.get("value")) for g in p.get("groups") or []),
            }
            ctx.add(SP, str(p.get("id")), p.get("displayName"), data)
            counts[0] += 1
