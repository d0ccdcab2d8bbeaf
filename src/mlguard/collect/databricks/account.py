"""Account level: the account's workspaces (network, PrivateLink, customer-managed keys). The
provider then scans each listed workspace concurrently with the same credentials."""

from __future__ import annotations

from typing import Any

from databricks.sdk import AccountClient
from databricks.sdk.service.provisioning import Workspace

from mlguard.collect.base import InventorySink, Progress, timed
from mlguard.collect.databricks._common import (
    PROVIDER,
    TRANSIENT_ERRORS,
    error_code,
    error_message,
    host_of,
    ms_to_iso,
)
from mlguard.collect.databricks.redact import scrub
from mlguard.model import CollectionError, Coverage, Resource, iso, utcnow

TYPE = "databricks.account_workspace"
PAS_ROUTE = "GET /api/2.0/accounts/{account_id}/private-access-settings"
_PAS_ATTRIBUTES = ["private_link", "public_access_enabled", "private_access_level"]


def _private_access(
    acct: AccountClient, account_id: str
) -> tuple[dict[str, dict[str, Any]] | None, BaseException | None]:
    """The account's private access settings by id (one list call), or the error that hid them."""
    try:
        listing = acct.api_client.do("GET", f"/api/2.0/accounts/{account_id}/private-access-settings")
    except TRANSIENT_ERRORS as exc:
        return None, exc
    items = listing if isinstance(listing, list) else []
    return {str(p.get("private_access_settings_id")): p for p in items if isinstance(p, dict)}, None


def _private_link(
    pas_id: Any, settings: dict[str, dict[str, Any]] | None
) -> tuple[dict[str, Any], str | None]:
    """PrivateLink facts of a workspace and, when they are unknown, why. PrivateLink is true only
    with attached private access settings whose public access is disabled (``public_access_enabled``
    defaults to false in the API, and is omitted when false)."""
    if not pas_id:
        return {"private_link": False, "public_access_enabled": None, "private_access_level": None}, None
    if settings is None:
        return {}, "unreadable"
    pas = settings.get(str(pas_id))
    if pas is None:
        return {}, f"private access settings {pas_id} are attached but not in the account's list"
    public = bool(pas.get("public_access_enabled", False))
    return {
        "private_link": not public,
        "public_access_enabled": public,
        "private_access_level": pas.get("private_access_level"),
    }, None


def workspace_host(acct: AccountClient, ws: Any) -> str:
    return host_of(acct.config.environment.deployment_url(str(ws.deployment_name)))


def _selected(ws: dict[str, Any], only: list[str]) -> bool:
    if not only:
        return True
    names = {str(ws.get("workspace_id")), str(ws.get("workspace_name")), str(ws.get("deployment_name"))}
    return bool(names.intersection(only))


def collect(
    acct: AccountClient, types: frozenset[str], sink: InventorySink, progress: Progress, only: list[str]
) -> list[Any]:
    """List the account's workspaces (raising if that fails) and record them if asked for.
    Returns the workspaces in scope."""
    account_id = str(acct.config.account_id)
    sink.scope(account=account_id)
    with timed(progress, f"databricks:account:{account_id}", f"account {account_id} workspaces") as counts:
        # Raw JSON (the typed Workspace drops enum values it does not know), typed only for
        # AccountClient.get_workspace_client.
        listing = acct.api_client.do("GET", f"/api/2.0/accounts/{account_id}/workspaces")
        raw = [w for w in listing if isinstance(w, dict)] if isinstance(listing, list) else []
        selected = [w for w in raw if _selected(w, only)]
        workspaces = [Workspace.from_dict(w) for w in selected]
        if TYPE not in types:
            return workspaces
        sink.covered(Coverage(provider=PROVIDER, account=account_id, resource_type=TYPE))
        now = iso(utcnow())
        settings, pas_error = _private_access(acct, account_id)
        for ws, w in zip(workspaces, selected, strict=True):
            host = workspace_host(acct, ws)
            data = {
                "workspace_id": w.get("workspace_id"),
                "workspace_name": w.get("workspace_name"),
                "deployment_name": w.get("deployment_name"),
                "aws_region": w.get("aws_region"),
                "cloud": w.get("cloud"),
                "pricing_tier": w.get("pricing_tier"),
                "workspace_status": w.get("workspace_status"),
                "credentials_id": w.get("credentials_id"),
                "storage_configuration_id": w.get("storage_configuration_id"),
                "network_id": w.get("network_id"),
                "customer_managed_vpc": bool(w.get("network_id")),
                "private_access_settings_id": w.get("private_access_settings_id"),
                "storage_customer_managed_key_id": w.get("storage_customer_managed_key_id"),
                "managed_services_customer_managed_key_id": w.get("managed_services_customer_managed_key_id"),
                "storage_cmk": bool(w.get("storage_customer_managed_key_id")),
                "managed_services_cmk": bool(w.get("managed_services_customer_managed_key_id")),
                "created_at": ms_to_iso(w.get("creation_time")),
            }
            ident = str(w.get("workspace_id"))
            uid = f"databricks://{host}/account_workspace/{ident}"
            link, unknown = _private_link(w.get("private_access_settings_id"), settings)
            data.update(link)
            if unknown is not None:
                sink.error(
                    CollectionError(
                        provider=PROVIDER,
                        account=account_id,
                        workspace=host,
                        resource_type=TYPE,
                        operation=PAS_ROUTE,
                        code=error_code(pas_error) if pas_error is not None else "NotListed",
                        message=error_message(pas_error) if pas_error is not None else unknown,
                        resource_uid=uid,
                        attributes=list(_PAS_ATTRIBUTES),
                    )
                )
            sink.add(
                Resource(
                    uid=uid,
                    type=TYPE,
                    provider=PROVIDER,
                    id=ident,
                    name=w.get("workspace_name"),
                    account=account_id,
                    workspace=host,
                    tags=scrub({str(k): str(v) for k, v in (w.get("custom_tags") or {}).items()}),
                    data=scrub(data),
                    collected_at=now,
                )
            )
            counts[0] += 1
    return workspaces
