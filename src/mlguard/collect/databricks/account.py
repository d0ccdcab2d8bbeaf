"""Account level: the account's workspaces with the account objects they name (credential
configuration = cross-account IAM role, storage configuration = root bucket, network configuration
= VPC, subnets and security groups, private access settings, customer-managed keys, log delivery).
The provider then scans each listed workspace concurrently with the same credentials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from databricks.sdk import AccountClient
from databricks.sdk.service.provisioning import Workspace

from mlguard.collect.base import InventorySink, Progress, timed
from mlguard.collect.databricks._common import (
    PROVIDER,
    TRANSIENT_ERRORS,
    classify_error,
    host_of,
    ms_to_iso,
)
from mlguard.collect.errors import collection_error
from mlguard.collect.secrets import scrub
from mlguard.model import Coverage, Resource, iso, utcnow

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


@dataclass(frozen=True)
class Lookup:
    """An account object a workspace names by id: one list call for the account, then per
    workspace the facts of the object its ``ws_key`` names (``facts(None)`` when it names none)."""

    route: str  # the account-relative path, after /api/2.0/accounts/{account_id}/
    id_key: str  # the object's id field in the listing
    ws_key: str  # the workspace field naming it
    facts: Callable[[dict[str, Any] | None], dict[str, Any]]

    @property
    def operation(self) -> str:
        return f"GET /api/2.0/accounts/{{account_id}}/{self.route}"

    @property
    def attributes(self) -> list[str]:
        return sorted(self.facts(None))


def _credential(c: dict[str, Any] | None) -> dict[str, Any]:
    role = ((c or {}).get("aws_credentials") or {}).get("sts_role") or {}
    return {"credential_role_arn": role.get("role_arn")}


def _storage(c: dict[str, Any] | None) -> dict[str, Any]:
    return {"root_bucket": ((c or {}).get("root_bucket_info") or {}).get("bucket_name")}


def _network(n: dict[str, Any] | None) -> dict[str, Any]:
    n = n or {}
    return {
        "vpc_id": n.get("vpc_id"),
        "subnet_ids": list(n.get("subnet_ids") or []) if n else None,
        "security_group_ids": list(n.get("security_group_ids") or []) if n else None,
    }


def _cmk(prefix: str) -> Callable[[dict[str, Any] | None], dict[str, Any]]:
    def facts(k: dict[str, Any] | None) -> dict[str, Any]:
        return {f"{prefix}_cmk_key_arn": ((k or {}).get("aws_key_info") or {}).get("key_arn")}

    return facts


LOOKUPS: tuple[Lookup, ...] = (
    Lookup("credentials", "credentials_id", "credentials_id", _credential),
    Lookup("storage-configurations", "storage_configuration_id", "storage_configuration_id", _storage),
    Lookup("networks", "network_id", "network_id", _network),
    Lookup(
        "customer-managed-keys", "customer_managed_key_id", "storage_customer_managed_key_id", _cmk("storage")
    ),
    Lookup(
        "customer-managed-keys",
        "customer_managed_key_id",
        "managed_services_customer_managed_key_id",
        _cmk("managed_services"),
    ),
)
LOG_DELIVERY_ROUTE = "GET /api/2.0/accounts/{account_id}/log-delivery"
_LOG_ATTRIBUTES = ["audit_log_delivery", "billable_usage_delivery"]
ROUTES = (
    "GET /api/2.0/accounts/{account_id}/workspaces",
    PAS_ROUTE,
    *sorted({lk.operation for lk in LOOKUPS}),
    LOG_DELIVERY_ROUTE,
)


def _listings(
    acct: AccountClient, account_id: str
) -> dict[str, tuple[dict[str, dict[str, Any]] | None, BaseException | None]]:
    """Each lookup route's objects by id (one call per route), or the error that hid them."""
    out: dict[str, tuple[dict[str, dict[str, Any]] | None, BaseException | None]] = {}
    for lk in LOOKUPS:
        if lk.route in out:
            continue
        try:
            listing = acct.api_client.do("GET", f"/api/2.0/accounts/{account_id}/{lk.route}")
        except TRANSIENT_ERRORS as exc:
            out[lk.route] = (None, exc)
            continue
        items = listing if isinstance(listing, list) else []
        out[lk.route] = ({str(i.get(lk.id_key)): i for i in items if isinstance(i, dict)}, None)
    return out


def _log_delivery(
    acct: AccountClient, account_id: str
) -> tuple[list[dict[str, Any]] | None, BaseException | None]:
    """Every log delivery configuration of the account (paged), or the error that hid them."""
    configs: list[dict[str, Any]] = []
    query: dict[str, Any] = {}
    try:
        while True:
            page = acct.api_client.do("GET", f"/api/2.0/accounts/{account_id}/log-delivery", query=query)
            page = page if isinstance(page, dict) else {}
            configs.extend(c for c in page.get("log_delivery_configurations") or [] if isinstance(c, dict))
            token = page.get("next_page_token")
            if not token:
                return configs, None
            query = {"page_token": token}
    except TRANSIENT_ERRORS as exc:
        return None, exc


def _delivers(configs: list[dict[str, Any]], log_type: str, workspace_id: Any) -> bool:
    """Whether an enabled configuration of ``log_type`` covers the workspace (an empty or absent
    workspace_ids_filter covers every workspace of the account)."""
    for c in configs:
        if c.get("log_type") != log_type or c.get("status") != "ENABLED":
            continue
        ids = c.get("workspace_ids_filter") or []
        if not ids or str(workspace_id) in {str(i) for i in ids}:
            return True
    return False


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
    key, label = f"databricks:account:{account_id}", f"account {account_id} workspaces"
    with timed(progress, key, label, sink.meter) as counts:
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
        listings = _listings(acct, account_id)
        logs, log_error = _log_delivery(acct, account_id)
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
            # (operation, error or None, why unknown, attributes) for each fact left unread
            unread: list[tuple[str, BaseException | None, str, list[str]]] = []
            if unknown is not None:
                unread.append((PAS_ROUTE, pas_error, unknown, list(_PAS_ATTRIBUTES)))
            for lk in LOOKUPS:
                ref = w.get(lk.ws_key)
                objects, exc = listings[lk.route]
                if not ref:
                    data.update(lk.facts(None))
                elif objects is None:
                    unread.append((lk.operation, exc, "unreadable", lk.attributes))
                elif str(ref) not in objects:
                    why = f"{lk.ws_key} {ref} is attached but not in the account's list"
                    unread.append((lk.operation, None, why, lk.attributes))
                else:
                    data.update(lk.facts(objects[str(ref)]))
            if logs is None:
                unread.append((LOG_DELIVERY_ROUTE, log_error, "unreadable", list(_LOG_ATTRIBUTES)))
            else:
                data["audit_log_delivery"] = _delivers(logs, "AUDIT_LOGS", w.get("workspace_id"))
                data["billable_usage_delivery"] = _delivers(logs, "BILLABLE_USAGE", w.get("workspace_id"))
            for operation, exc, why, attributes in unread:
                sink.error(
                    collection_error(
                        PROVIDER,
                        operation,
                        exc if exc is not None else ("NotListed", why),
                        classify_error,
                        account=account_id,
                        workspace=host,
                        resource_type=TYPE,
                        resource_uid=uid,
                        attributes=attributes,
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
