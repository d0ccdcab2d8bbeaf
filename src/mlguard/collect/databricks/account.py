"""Account level: the account's workspaces with the account objects they name (credential
configuration = cross-account IAM role, storage configuration = root bucket, network configuration
= VPC, subnets and security groups, private access settings, customer-managed keys, log delivery),
a spec run by the engine with the account client. Each account object listing is read once
(a prelude) and joined to the workspaces that name its objects. The provider then scans each
listed workspace concurrently with the same credentials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from databricks.sdk import AccountClient
from databricks.sdk.service.provisioning import Workspace

from mlguard.collect.base import InventorySink, Progress
from mlguard.collect.databricks._common import TRANSIENT_ERRORS, WorkspaceContext, host_of, ms_to_iso
from mlguard.collect.databricks.engine import listing, run_spec
from mlguard.collect.databricks.spec import FamilySpec, Item, Prelude, ResourceSpec

TYPE = "databricks.account_workspace"
_ACCOUNT = "GET /api/2.0/accounts/{account_id}"
_Read = tuple[Any, BaseException | None]  # a prelude's value, or None and the error that hid it


@dataclass(frozen=True)
class Listing:
    """An account object listing (one call for the account): its objects by id."""

    route: str  # METHOD /path
    sdk_call: str
    id_key: str  # the object's id field in the listing

    def read(self, ctx: WorkspaceContext) -> _Read:
        try:
            found = ctx.client.api_client.do("GET", ctx.path(self.route))
        except TRANSIENT_ERRORS as exc:
            return None, exc
        items = found if isinstance(found, list) else []
        return {str(i.get(self.id_key)): i for i in items if isinstance(i, dict)}, None

    def prelude(self) -> Prelude:
        return Prelude(
            name=self.route, routes=(self.route,), sdk_calls=(self.sdk_call,), read=self.read, in_section=True
        )


PRIVATE_ACCESS = Listing(
    f"{_ACCOUNT}/private-access-settings", "private_access.list (AccountClient)", "private_access_settings_id"
)
_PAS_ATTRIBUTES = ["private_link", "public_access_enabled", "private_access_level"]
CREDENTIALS = Listing(f"{_ACCOUNT}/credentials", "credentials.list (AccountClient)", "credentials_id")
STORAGE = Listing(
    f"{_ACCOUNT}/storage-configurations", "storage.list (AccountClient)", "storage_configuration_id"
)
NETWORKS = Listing(f"{_ACCOUNT}/networks", "networks.list (AccountClient)", "network_id")
KEYS = Listing(
    f"{_ACCOUNT}/customer-managed-keys", "encryption_keys.list (AccountClient)", "customer_managed_key_id"
)
LOG_DELIVERY_ROUTE = f"{_ACCOUNT}/log-delivery"
_LOG_ATTRIBUTES = ["audit_log_delivery", "billable_usage_delivery"]


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
    """An account object a workspace names by id: per workspace the facts of the object of
    ``listing`` its ``ws_key`` names (``facts(None)`` when it names none)."""

    listing: Listing
    ws_key: str  # the workspace field naming it
    facts: Callable[[dict[str, Any] | None], dict[str, Any]]

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
    Lookup(CREDENTIALS, "credentials_id", _credential),
    Lookup(STORAGE, "storage_configuration_id", _storage),
    Lookup(NETWORKS, "network_id", _network),
    Lookup(KEYS, "storage_customer_managed_key_id", _cmk("storage")),
    Lookup(KEYS, "managed_services_customer_managed_key_id", _cmk("managed_services")),
)


def _log_delivery(ctx: WorkspaceContext) -> _Read:
    """Every log delivery configuration of the account (paged), or the error that hid them."""
    try:
        configs = ctx.pages(ctx.path(LOG_DELIVERY_ROUTE), "log_delivery_configurations", {})
    except TRANSIENT_ERRORS as exc:
        return None, exc
    return [c for c in configs if isinstance(c, dict)], None


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


def _normalize(ctx: WorkspaceContext, item: Item, preludes: dict[str, Any]) -> None:
    w = item.raw
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
    settings, pas_error = preludes[PRIVATE_ACCESS.route]
    link, unknown = _private_link(w.get("private_access_settings_id"), settings)
    data.update(link)
    # (operation, error or None, why unknown, attributes) for each fact left unread
    unread: list[tuple[str, BaseException | None, str, list[str]]] = []
    if unknown is not None:
        unread.append((PRIVATE_ACCESS.route, pas_error, unknown, list(_PAS_ATTRIBUTES)))
    for lk in LOOKUPS:
        ref = w.get(lk.ws_key)
        objects, exc = preludes[lk.listing.route]
        if not ref:
            data.update(lk.facts(None))
        elif objects is None:
            unread.append((lk.listing.route, exc, "unreadable", lk.attributes))
        elif str(ref) not in objects:
            why = f"{lk.ws_key} {ref} is attached but not in the account's list"
            unread.append((lk.listing.route, None, why, lk.attributes))
        else:
            data.update(lk.facts(objects[str(ref)]))
    logs, log_error = preludes[LOG_DELIVERY_ROUTE]
    if logs is None:
        unread.append((LOG_DELIVERY_ROUTE, log_error, "unreadable", list(_LOG_ATTRIBUTES)))
    else:
        data["audit_log_delivery"] = _delivers(logs, "AUDIT_LOGS", w.get("workspace_id"))
        data["billable_usage_delivery"] = _delivers(logs, "BILLABLE_USAGE", w.get("workspace_id"))
    for operation, error, why, attributes in unread:
        ctx.record(
            TYPE,
            error if error is not None else ("NotListed", why),
            operation=operation,
            resource_uid=item.uid,
            attributes=attributes,
            workspace=item.workspace,
        )
    item.data, item.tags = data, w.get("custom_tags")


def workspace_host(acct: AccountClient, ws: Any) -> str:
    return host_of(acct.config.environment.deployment_url(str(ws.deployment_name)))


def _host(ctx: WorkspaceContext, w: dict[str, Any]) -> str:
    return host_of(ctx.client.config.environment.deployment_url(str(w.get("deployment_name"))))


FAMILY = FamilySpec(
    name="account",
    specs=(
        ResourceSpec(
            type=TYPE,
            family="account",
            level="account",
            # Raw JSON (the typed Workspace drops enum values it does not know): one list answer
            list_route=f"{_ACCOUNT}/workspaces",
            list_sdk_call="workspaces.list (AccountClient)",
            items="items",
            paging="single",
            id=lambda w: str(w.get("workspace_id")),
            name=lambda w: w.get("workspace_name"),
            workspace=_host,
            normalize=_normalize,
            preludes=(
                PRIVATE_ACCESS.prelude(),
                *(listed.prelude() for listed in dict.fromkeys(lk.listing for lk in LOOKUPS)),
                Prelude(
                    name=LOG_DELIVERY_ROUTE,
                    routes=(LOG_DELIVERY_ROUTE,),
                    sdk_calls=("log_delivery.list (AccountClient)",),
                    read=_log_delivery,
                    in_section=True,
                ),
            ),
            requires="account admin",
            without_admin="an account scan is impossible without account admin (exit 4); a denied account "
            "object listing is an attribute error on every workspace that names such an object",
        ),
    ),
)
SPEC = FAMILY.specs[0]


def _selected(ws: dict[str, Any], only: list[str]) -> bool:
    if not only:
        return True
    names = {str(ws.get("workspace_id")), str(ws.get("workspace_name")), str(ws.get("deployment_name"))}
    return bool(names.intersection(only))


def collect(
    acct: AccountClient, types: frozenset[str], sink: InventorySink, progress: Progress, only: list[str]
) -> list[Workspace]:
    """List the account's workspaces (raising if that fails: an account scan cannot go on without
    them, a workspace scan records it) and collect them as :data:`TYPE` if asked for. Returns the
    workspaces in scope, typed for ``AccountClient.get_workspace_client``."""
    account_id = str(acct.config.account_id)
    sink.scope(account=account_id)
    ctx = WorkspaceContext(
        client=acct,
        host=host_of(str(acct.config.host)),
        types=types,
        sink=sink,
        progress=progress,
        account=account_id,
        level="account",
    )
    selected = [w for w in listing(ctx, SPEC) if isinstance(w, dict) and _selected(w, only)]
    if TYPE in types:
        run_spec(ctx, SPEC, {}, listed=selected)
    return [Workspace.from_dict(w) for w in selected]
