"""Unity Catalog: metastore, catalogs, schemas, tables, quality monitors, external locations,
storage credentials and registered models, with grants attached to the securable they govern."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from mlguard.collect.databricks._common import (
    EFFECTIVE_GRANT_ATTRIBUTES,
    GRANT_ATTRIBUTES,
    WorkspaceContext,
    effective_grants_summary,
    grants_summary,
    ms_to_iso,
    read_effective_grants,
    read_grants,
)
from mlguard.collect.databricks.engine import run_family, run_tree
from mlguard.collect.databricks.spec import Detail, FamilySpec, Item, ResourceSpec

METASTORE = "databricks.uc.metastore"
CATALOG = "databricks.uc.catalog"
SCHEMA = "databricks.uc.schema"
TABLE = "databricks.uc.table"
MONITOR = "databricks.uc.quality_monitor"
EXT_LOCATION = "databricks.uc.external_location"
CREDENTIAL = "databricks.uc.storage_credential"
MODEL = "databricks.uc.registered_model"
RECIPIENT = "databricks.uc.recipient"
TYPES = (METASTORE, CATALOG, SCHEMA, TABLE, MONITOR, EXT_LOCATION, CREDENTIAL, MODEL, RECIPIENT)

# Schemas every catalog has, made of views over the catalog itself: no tables worth a call.
UC = "/api/2.1/unity-catalog"
SKIP_SCHEMAS = frozenset({"information_schema"})


def collect(ctx: WorkspaceContext) -> None:
    """The metastore (a current-assignment lookup whose 404 means "none"), the catalog tree
    (catalogs -> schemas -> tables -> monitors, each type listed under its parent's items, in one
    progress unit) and the flat types, all specs."""
    run_family(ctx, METASTORE_FAMILY)
    run_tree(ctx, TREE)
    run_family(ctx, FAMILY)


def _metastore(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    """The workspace's metastore: its assignment (the listed item) and the metastore itself."""
    assignment, m = item.raw, item.got["metastore"]
    item.name, item.region = m.get("name"), m.get("region")
    item.data = {
        "metastore_name": m.get("name"),
        "owner": m.get("owner"),
        "cloud": m.get("cloud"),
        "storage_root": m.get("storage_root"),
        "storage_root_credential_name": m.get("storage_root_credential_name"),
        "default_catalog_name": assignment.get("default_catalog_name"),
        "workspace_id": assignment.get("workspace_id"),
        "delta_sharing_scope": m.get("delta_sharing_scope"),
        "delta_sharing_recipient_token_lifetime_in_seconds": m.get(
            "delta_sharing_recipient_token_lifetime_in_seconds"
        ),
        "delta_sharing_organization_name": m.get("delta_sharing_organization_name"),
        "privilege_model_version": m.get("privilege_model_version"),
        "created_at": ms_to_iso(m.get("created_at")),
        "updated_at": ms_to_iso(m.get("updated_at")),
    }


def _system_schemas(data: dict[str, Any], schemas: Any) -> None:
    data["system_schemas"] = {str(s.get("schema")): s.get("state") for s in schemas or []}
    data["enabled_system_schemas"] = sorted(
        str(s.get("schema")) for s in schemas or [] if str(s.get("state", "")).startswith("ENABLE")
    )


# The current-metastore assignment is the one "listed" item; its 404 means no metastore is
# assigned: nothing to judge, nothing missing. Read before the catalog tree, as its own family.
METASTORE_FAMILY = FamilySpec(
    name="unity_catalog",
    specs=(
        ResourceSpec(
            type=METASTORE,
            family="unity_catalog",
            list_route=f"GET {UC}/current-metastore-assignment",
            list_sdk_call="metastores.current",
            items="",
            paging="sdk",
            sdk_list=lambda client: [client.metastores.current()],
            missing_ok=True,
            id=lambda a: str(a.get("metastore_id")),
            name=lambda a: None,  # the metastore's name comes with its get (``item.name``)
            normalize=_metastore,
            details=(
                Detail(
                    name="metastore",
                    routes=(f"GET {UC}/metastores/{{id}}",),
                    sdk_calls=("metastores.get",),
                    attributes=(
                        "metastore_name",
                        "owner",
                        "cloud",
                        "storage_root",
                        "storage_root_credential_name",
                        "delta_sharing_scope",
                        "delta_sharing_recipient_token_lifetime_in_seconds",
                        "delta_sharing_organization_name",
                        "privilege_model_version",
                        "created_at",
                        "updated_at",
                    ),
                    fetch=lambda ctx, item: ctx.get(f"{UC}/metastores/{item.ident}"),
                    required=True,
                ),
                Detail(
                    name="system_schemas",
                    routes=(f"GET {UC}/metastores/{{id}}/systemschemas",),
                    sdk_calls=("system_schemas.list",),
                    attributes=("system_schemas", "enabled_system_schemas"),
                    fetch=lambda ctx, item: ctx.pages(
                        f"{UC}/metastores/{item.ident}/systemschemas", "schemas", {"max_results": 0}
                    ),
                    apply=_system_schemas,
                ),
            ),
            requires="workspace-access (metastore details need metastore admin for some fields)",
            without_admin="system schemas need metastore admin: attribute error otherwise",
        ),
    ),
)


def _catalog(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    c = item.raw
    item.data = {
        "owner": c.get("owner"),
        "catalog_type": c.get("catalog_type"),
        "isolation_mode": c.get("isolation_mode"),
        "storage_root": c.get("storage_root"),
        "storage_location": c.get("storage_location"),
        "connection_name": c.get("connection_name"),
        "provider_name": c.get("provider_name"),
        "share_name": c.get("share_name"),
        "created_at": ms_to_iso(c.get("created_at")),
        "created_by": c.get("created_by"),
    }


def _schema_name(s: dict[str, Any]) -> str:
    return str(s.get("full_name") or f"{s.get('catalog_name')}.{s.get('name')}")


def _schema(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    s = item.raw
    item.data = {
        "catalog_name": str(s.get("catalog_name")),
        "schema_name": str(s.get("name")),
        "owner": s.get("owner"),
        "storage_root": s.get("storage_root"),
        "created_at": ms_to_iso(s.get("created_at")),
    }


def _table_name(t: dict[str, Any]) -> str:
    return str(t.get("full_name") or f"{t.get('catalog_name')}.{t.get('schema_name')}.{t.get('name')}")


def _table(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    t = item.raw
    item.data = {
        "catalog_name": str(t.get("catalog_name")),
        "schema_name": str(t.get("schema_name")),
        "table_name": t.get("name"),
        "table_type": t.get("table_type"),
        "data_source_format": t.get("data_source_format"),
        "storage_location": t.get("storage_location"),
        "is_external": t.get("table_type") == "EXTERNAL",
        "owner": t.get("owner"),
        "created_at": ms_to_iso(t.get("created_at")),
        "updated_at": ms_to_iso(t.get("updated_at")),
    }


def _monitor(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    """A table's quality monitor (its id and name: the table's full name)."""
    m = item.raw
    kind = next((k for k in ("inference_log", "time_series", "snapshot") if k in m), None)
    schedule = m.get("schedule") or {}
    notifications = m.get("notifications") or {}
    item.name = item.ident
    item.data = {
        "table_name": item.ident,
        "status": m.get("status"),
        "profile_type": kind,
        "problem_type": (m.get("inference_log") or {}).get("problem_type"),
        "output_schema_name": m.get("output_schema_name"),
        "profile_metrics_table_name": m.get("profile_metrics_table_name"),
        "drift_metrics_table_name": m.get("drift_metrics_table_name"),
        "baseline_table_name": m.get("baseline_table_name"),
        # A paused schedule starts no refresh: it counts as no schedule.
        "scheduled": bool(schedule.get("quartz_cron_expression"))
        and schedule.get("pause_status") != "PAUSED",
        "schedule": schedule or None,
        "has_failure_notification": bool((notifications.get("on_failure") or {}).get("email_addresses")),
        "custom_metrics_count": len(m.get("custom_metrics") or []),
        "slicing_exprs": m.get("slicing_exprs") or [],
    }


_S3_SCHEMES = frozenset({"s3", "s3a", "s3n"})


def s3_bucket(url: Any) -> str | None:
    """The bucket of an S3 URL (``s3://bucket/prefix``; s3a and s3n too), None for any other URL."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in _S3_SCHEMES or not parts.hostname:
        return None
    return parts.hostname


def _external_location(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    x = item.raw
    item.data = {
        "url": x.get("url"),
        # The join key to aws.s3.bucket (name): the bucket of an s3:// URL, null for other clouds.
        "s3_bucket": s3_bucket(x.get("url")),
        "credential_name": x.get("credential_name"),
        "owner": x.get("owner"),
        "read_only": bool(x.get("read_only", False)),
        "fallback": bool(x.get("fallback", False)),
        "isolation_mode": x.get("isolation_mode"),
        "created_at": ms_to_iso(x.get("created_at")),
    }


def _credential(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    c = item.raw
    role = c.get("aws_iam_role") or {}
    kind = next(
        (
            k
            for k in (
                "aws_iam_role",
                "azure_managed_identity",
                "azure_service_principal",
                "databricks_gcp_service_account",
                "cloudflare_api_token",
            )
            if c.get(k)
        ),
        None,
    )
    item.data = {
        "credential_id": c.get("id"),
        "owner": c.get("owner"),
        "read_only": bool(c.get("read_only", False)),
        "used_for_managed_storage": bool(c.get("used_for_managed_storage", False)),
        "isolation_mode": c.get("isolation_mode"),
        "kind": kind,
        # The IAM role only: Azure client secrets and API tokens never leave the process.
        "iam_role_arn": role.get("role_arn"),
        "created_at": ms_to_iso(c.get("created_at")),
    }


def _model_name(m: dict[str, Any]) -> str:
    return str(m.get("full_name") or f"{m.get('catalog_name')}.{m.get('schema_name')}.{m.get('name')}")


def _model(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    m = item.raw
    aliases = {str(a.get("alias_name")): a.get("version_num") for a in m.get("aliases") or []}
    data: dict[str, Any] = {
        "catalog_name": m.get("catalog_name"),
        "schema_name": m.get("schema_name"),
        "owner": m.get("owner"),
        "comment": m.get("comment"),
        "storage_location": m.get("storage_location"),
        "aliases": aliases,
        "has_aliases": bool(aliases),
        "created_at": ms_to_iso(m.get("created_at")),
    }
    item.data = data
    versions, ok = item.got.get("versions"), item.ok("versions")
    if ok:
        vs = [
            {
                "version": v.get("version"),
                "status": v.get("status"),
                "source": v.get("source"),
                "run_id": v.get("run_id"),
                "created_by": v.get("created_by"),
                "created_at": ms_to_iso(v.get("created_at")),
            }
            for v in versions or []
        ]
        data["versions"] = vs
        data["version_count"] = len(vs)
        data["versions_without_run"] = sorted(
            int(v["version"]) for v in vs if not v["run_id"] and v["version"] is not None
        )
        # An alias (champion, challenger) is what serving and batch jobs load: the version
        # behind it must trace back to the run that trained it. An alias whose version is
        # not among those listed is a version without a known run.
        with_run = {str(v["version"]) for v in vs if v["run_id"] and v["version"] is not None}
        data["aliased_versions_without_run"] = sorted(
            alias for alias, version in aliases.items() if str(version) not in with_run
        )


_VERSION_ATTRIBUTES = ("versions", "version_count", "versions_without_run", "aliased_versions_without_run")
_RECIPIENT_DETAIL = ["tokens", "active_token_count", "tokens_without_expiry"]


def _recipient(ctx: WorkspaceContext, item: Item, pre: dict[str, Any]) -> None:
    """Delta Sharing recipients. Activation URLs and sharing codes are credentials: never read
    into the inventory. Tokens come from the per-recipient get (id and times only)."""
    r = item.raw
    allowed = (r.get("ip_access_list") or {}).get("allowed_ip_addresses") or []
    data: dict[str, Any] = {
        "authentication_type": r.get("authentication_type"),
        "owner": r.get("owner"),
        "activated": r.get("activated"),
        "data_recipient_global_metastore_id": r.get("data_recipient_global_metastore_id"),
        "allowed_ip_addresses": [str(ip) for ip in allowed],
        "expires_at": ms_to_iso(r.get("expiration_time")),
        "created_at": ms_to_iso(r.get("created_at")),
        "created_by": r.get("created_by"),
    }
    if r.get("authentication_type") == "TOKEN":
        detail, ok = item.got.get("token"), item.ok("token")
        if ok and isinstance(detail, dict):
            tokens = [
                {
                    "id": tk.get("id"),
                    "created_at": ms_to_iso(tk.get("created_at")),
                    "expires_at": ms_to_iso(tk.get("expiration_time")),
                }
                for tk in detail.get("tokens") or []
            ]
            data["tokens"] = tokens
            data["active_token_count"] = len(tokens)
            data["tokens_without_expiry"] = sorted(str(tk["id"]) for tk in tokens if tk["expires_at"] is None)
    else:  # Databricks-to-Databricks and OIDC recipients hold no bearer token
        data.update(tokens=[], active_token_count=0, tokens_without_expiry=[])
    item.data = data


def _grants(securable: str, placeholder: str) -> Detail:
    """The direct privilege assignments on each item (its full name the item's id)."""
    return Detail(
        name="grants",
        routes=(f"GET {UC}/permissions/{securable}/{{{placeholder}}}",),
        sdk_calls=(f"grants.get('{securable}', {placeholder})",),
        attributes=tuple(GRANT_ATTRIBUTES),
        fetch=lambda ctx, item: read_grants(ctx, securable, item.ident),
        apply=lambda data, assignments: data.update(grants_summary(assignments or [])),
    )


def _effective_grants(securable: str, placeholder: str) -> Detail:
    """Effective privileges: what each principal holds on the securable, inherited included."""
    return Detail(
        name="effective_grants",
        routes=(f"GET {UC}/effective-permissions/{securable}/{{{placeholder}}}",),
        sdk_calls=(f"grants.get_effective('{securable}', {placeholder})",),
        attributes=tuple(EFFECTIVE_GRANT_ATTRIBUTES),
        fetch=lambda ctx, item: read_effective_grants(ctx, securable, item.ident),
        apply=lambda data, effective: data.update(effective_grants_summary(effective or [])),
    )


_ALL = {"max_results": 0}  # the paginated form of the Unity Catalog lists

TREE = FamilySpec(
    name="unity_catalog",
    specs=(
        ResourceSpec(
            type=CATALOG,
            family="unity_catalog",
            list_route=f"GET {UC}/catalogs",
            list_sdk_call="catalogs.list",
            items="catalogs",
            query=_ALL,
            id=lambda c: str(c.get("name")),
            name=lambda c: str(c.get("name")),
            normalize=_catalog,
            after=(_grants("catalog", "name"), _effective_grants("catalog", "name")),
            requires="USE CATALOG / BROWSE on the catalogs",
            without_admin="catalogs the caller cannot browse are not listed",
        ),
        ResourceSpec(
            type=SCHEMA,
            family="unity_catalog",
            list_route=f"GET {UC}/schemas",
            list_sdk_call="schemas.list(catalog)",
            items="schemas",
            query=_ALL,
            parent=CATALOG,
            parent_query=lambda c: {"catalog_name": c.get("name")},
            id=_schema_name,
            name=_schema_name,
            normalize=_schema,
            after=(_grants("schema", "full_name"), _effective_grants("schema", "full_name")),
            requires="USE CATALOG + USE SCHEMA / BROWSE",
            without_admin="schemas the caller cannot browse are not listed",
        ),
        ResourceSpec(
            type=TABLE,
            family="unity_catalog",
            list_route=f"GET {UC}/tables",
            list_sdk_call="tables.list(catalog, schema, omit_columns, omit_properties)",
            items="tables",
            query={"omit_columns": True, "omit_properties": True, **_ALL},
            parent=SCHEMA,
            parent_query=lambda s: {"catalog_name": s.get("catalog_name"), "schema_name": s.get("name")},
            under=lambda s: s.get("name") not in SKIP_SCHEMAS,
            id=_table_name,
            name=_table_name,
            normalize=_table,
            after=(_effective_grants("table", "full_name"),),
            requires="USE CATALOG + USE SCHEMA + BROWSE or SELECT",
            without_admin="tables the caller cannot browse are not listed",
        ),
        ResourceSpec(
            type=MONITOR,
            family="unity_catalog",
            list_route=f"GET {UC}/tables/{{full_name}}/monitor",
            list_sdk_call="quality_monitors.get(table)",
            via=(f"GET {UC}/tables", "tables.list"),
            items="",
            paging="get",
            missing_ok=True,  # a table without a monitor
            parent=TABLE,
            id=lambda m: str(m.get("table_name")),  # unused: a per-parent get has its table's id
            name=lambda m: None,
            normalize=_monitor,
            requires="USE CATALOG + USE SCHEMA + SELECT on the tables",
            without_admin="a monitor that cannot be read makes the type incomplete (CollectionError)",
        ),
    ),
)

FAMILY = FamilySpec(
    name="unity_catalog",
    specs=(
        ResourceSpec(
            type=EXT_LOCATION,
            family="unity_catalog",
            list_route=f"GET {UC}/external-locations",
            list_sdk_call="external_locations.list",
            items="external_locations",
            query=_ALL,
            id=lambda x: str(x.get("name")),
            name=lambda x: str(x.get("name")),
            normalize=_external_location,
            after=(_grants("external_location", "name"),),
            requires="metastore admin or owner / BROWSE on the locations",
            without_admin="only locations the caller can see are listed",
        ),
        ResourceSpec(
            type=CREDENTIAL,
            family="unity_catalog",
            list_route=f"GET {UC}/storage-credentials",
            list_sdk_call="storage_credentials.list",
            items="storage_credentials",
            query=_ALL,
            id=lambda c: str(c.get("name")),
            name=lambda c: str(c.get("name")),
            normalize=_credential,
            after=(_grants("storage_credential", "name"),),
            requires="metastore admin or owner of the credentials",
            without_admin="only credentials the caller owns or manages are listed",
        ),
        ResourceSpec(
            type=MODEL,
            family="unity_catalog",
            list_route=f"GET {UC}/models",
            list_sdk_call="registered_models.list",
            items="registered_models",
            query=_ALL,
            id=_model_name,
            name=_model_name,
            normalize=_model,
            details=(
                Detail(
                    name="versions",
                    routes=(f"GET {UC}/models/{{full_name}}/versions",),
                    sdk_calls=("model_versions.list(full_name)",),
                    attributes=(
                        "versions",
                        "version_count",
                        "versions_without_run",
                        "aliased_versions_without_run",
                    ),
                    fetch=lambda ctx, item: ctx.pages(
                        f"{UC}/models/{item.ident}/versions", "model_versions", {"max_results": 0}
                    ),
                ),
            ),
            after=(_grants("function", "full_name"), _effective_grants("function", "full_name")),
            requires="USE CATALOG + USE SCHEMA + EXECUTE or BROWSE on the models",
            without_admin="models the caller cannot browse are not listed",
        ),
        ResourceSpec(
            type=RECIPIENT,
            family="unity_catalog",
            list_route=f"GET {UC}/recipients",
            list_sdk_call="recipients.list",
            items="recipients",
            query=_ALL,
            id=lambda r: str(r.get("name")),
            name=lambda r: str(r.get("name")),
            normalize=_recipient,
            details=(
                Detail(
                    name="token",
                    routes=(f"GET {UC}/recipients/{{name}}",),
                    sdk_calls=("recipients.get(name) (token recipients)",),
                    attributes=tuple(_RECIPIENT_DETAIL),
                    fetch=lambda ctx, item: ctx.get(f"{UC}/recipients/{item.ident}"),
                    when=lambda item: item.raw.get("authentication_type") == "TOKEN",
                ),
            ),
            requires="metastore admin, or USE_RECIPIENT / ownership of the recipients",
            without_admin="only recipients the caller owns are listed",
        ),
    ),
)
