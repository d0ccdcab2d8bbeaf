"""A local fake Databricks REST server that the real ``databricks-sdk`` talks to over HTTP.

Stdlib only (``http.server.ThreadingHTTPServer`` on 127.0.0.1). It serves the read routes the
mlguard collectors use, from a :class:`WorkspaceState`, with the behaviours a scanner must cope
with: small pages (``next_page_token``, ``has_more``, SCIM ``startIndex``), an empty page in the
middle of Unity Catalog lists, 429 with ``Retry-After`` on every Nth request, 403 on chosen
routes or workspace-conf keys, a bearer-token check, ``{"error_code", "message"}`` error bodies
and a request log of (method, path).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from mlguard.demo.databricks_fake.state import JSON, WorkspaceState


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    route: str = ""  # the route name it matched ("" when none did)


@dataclass
class Behaviour:
    """How the fake misbehaves. Mutable between requests (tests flip it)."""

    page_size: int = 100
    throttle_every: int = 0  # 0: never; N: every Nth request answers 429
    retry_after: int = 0  # seconds sent in Retry-After
    # Route names (see ``routes()``) or path regexes answered with 403 PERMISSION_DENIED.
    deny: set[str] = field(default_factory=set)
    # workspace-conf keys whose read is denied (the whole request fails, as on Databricks).
    deny_conf_keys: set[str] = field(default_factory=set)
    empty_uc_page: bool = True  # an empty page mid-stream in Unity Catalog lists
    latency_ms: int = 0  # added to every answer, to look like a real network (benchmarks)
    # Route names answered with 500 INTERNAL_ERROR.
    fail: set[str] = field(default_factory=set)
    # Route name -> seconds to stall before answering (client timeouts).
    slow: dict[str, float] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


Handler = Callable[["_Request"], Any]


@dataclass
class _Request:
    method: str
    path: str
    params: dict[str, str]
    body: JSON
    match: re.Match[str]


class FakeDatabricks:
    """The fake's logic, independent of the socket server (so it is easy to reason about)."""

    def __init__(self, state: WorkspaceState, token: str, behaviour: Behaviour | None = None) -> None:
        self.state = state
        self.token = token
        self.behaviour = behaviour or Behaviour()
        self._lock = threading.Lock()
        self._count = 0
        self.requests: list[LoggedRequest] = []
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self._install_routes()

    # ------------------------------------------------------------------ plumbing

    def _route(self, name: str, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((name, method, re.compile(f"^{pattern}$"), handler))

    def routes(self) -> list[tuple[str, str, str]]:
        """(name, method, path pattern) of every route served."""
        return [(n, m, p.pattern.strip("^$")) for n, m, p, _ in self._routes]

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(raw_path)
        path = split.path
        route = next((n for n, m, p, _ in self._routes if m == method and p.match(path)), "")
        with self._lock:
            self._count += 1
            count = self._count
            self.requests.append(LoggedRequest(method, path, split.query, route))
        if self.behaviour.latency_ms:
            time.sleep(self.behaviour.latency_ms / 1000)
        if path == "/.well-known/databricks-config":
            return 404, {}, {"error_code": "NOT_FOUND", "message": "No host metadata"}
        auth = headers.get("authorization", "")
        if auth != f"Bearer {self.token}":
            return 401, {}, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."}
        b = self.behaviour
        if b.throttle_every and count % b.throttle_every == 0:
            return (
                429,
                {"Retry-After": str(b.retry_after)},
                {"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "Too many requests, retry later."},
            )
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            payload: JSON = json.loads(body) if body else {}
        except ValueError:
            return 400, {}, {"error_code": "MALFORMED_REQUEST", "message": "Body is not JSON."}
        for name, route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None or route_method != method:
                continue
            if name in b.slow:
                time.sleep(b.slow[name])
            if name in b.fail:
                return 500, {}, {"error_code": "INTERNAL_ERROR", "message": "Internal server error."}
            if name in b.deny or any(re.fullmatch(d, path) for d in b.deny if d.startswith("/")):
                return (
                    403,
                    {},
                    {
                        "error_code": "PERMISSION_DENIED",
                        "message": f"User does not have permission to call {path}.",
                    },
                )
            try:
                return 200, {}, handler(_Request(method, path, params, payload, match))
            except ApiError as err:
                return err.status, {}, {"error_code": err.error_code, "message": err.message}
        return 404, {}, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{method} {path}'"}

    def methods_seen(self) -> set[str]:
        with self._lock:
            return {r.method for r in self.requests}

    def paths_seen(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self._count = 0

    # ------------------------------------------------------------------ paging

    def _size(self, req: _Request, client_key: str | None = None) -> int:
        size = self.behaviour.page_size
        if client_key and req.params.get(client_key, "0").isdigit():
            asked = int(req.params.get(client_key, "0"))
            if asked > 0:
                size = min(size, asked)
        return max(size, 1)

    def _page(
        self,
        req: _Request,
        items: list[JSON],
        key: str,
        *,
        uc: bool = False,
        has_more: bool = False,
        token: str | None = None,
        size_key: str | None = None,
    ) -> JSON:
        """next_page_token paging; tokens are opaque to the client ("o<offset>")."""
        size = self._size(req, size_key)
        raw = token if token is not None else req.params.get("page_token", "")
        if raw.startswith("e"):  # the planted empty page: the next real page follows
            return {key: [], "next_page_token": "o" + raw[1:]}
        offset = int(raw[1:]) if raw.startswith("o") and raw[1:].isdigit() else 0
        chunk = items[offset : offset + size]
        out: JSON = {key: chunk} if chunk else {}
        nxt = offset + size
        if nxt < len(items):
            empty_first = uc and self.behaviour.empty_uc_page and offset == 0
            out["next_page_token"] = ("e" if empty_first else "o") + str(nxt)
            if has_more:
                out["has_more"] = True
        elif has_more:
            out["has_more"] = False
        return out

    def _scim(self, req: _Request, items: list[JSON]) -> JSON:
        start = int(req.params.get("startIndex", "1") or 1)
        count = min(int(req.params.get("count", "100") or 100), self.behaviour.page_size)
        flt = req.params.get("filter", "")
        m = re.fullmatch(r'displayName eq "?([^"]*)"?', flt.strip()) if flt else None
        if m:
            items = [i for i in items if i.get("displayName") == m.group(1)]
        chunk = items[start - 1 : start - 1 + count]
        return {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": len(items),
            "startIndex": start,
            "itemsPerPage": len(chunk),
            "Resources": chunk,
        }

    # ------------------------------------------------------------------ routes

    def _install_routes(self) -> None:
        s = self.state
        r = self._route
        r("me", "GET", "/api/2.0/preview/scim/v2/Me", lambda q: s.current_user)
        r("workspace_conf", "GET", "/api/2.0/workspace-conf", self._workspace_conf)
        r("settings", "GET", r"/api/2.0/settings/types/([a-z_]+)/names/default", self._setting)

        r(
            "clusters",
            "GET",
            "/api/2.1/clusters/list",
            lambda q: self._page(q, s.clusters, "clusters", size_key="page_size"),
        )
        r("node_types", "GET", "/api/2.1/clusters/list-node-types", lambda q: {"node_types": s.node_types})
        r(
            "spark_versions",
            "GET",
            "/api/2.1/clusters/spark-versions",
            lambda q: {"versions": s.spark_versions},
        )
        r(
            "cluster_policies",
            "GET",
            "/api/2.0/policies/clusters/list",
            lambda q: {"policies": s.cluster_policies, "total_count": len(s.cluster_policies)},
        )
        r(
            "instance_pools",
            "GET",
            "/api/2.0/instance-pools/list",
            lambda q: {"instance_pools": s.instance_pools},
        )
        r(
            "warehouses",
            "GET",
            "/api/2.0/sql/warehouses",
            lambda q: self._page(q, s.warehouses, "warehouses", size_key="page_size"),
        )

        r("jobs", "GET", "/api/2.2/jobs/list", self._jobs)
        r("job", "GET", "/api/2.2/jobs/get", self._job)
        r("pipelines", "GET", "/api/2.0/pipelines", self._pipelines)
        r(
            "pipeline",
            "GET",
            "/api/2.0/pipelines/([^/]+)",
            lambda q: self._find(s.pipelines, "pipeline_id", q.match.group(1), "Pipeline"),
        )

        r("serving_endpoints", "GET", "/api/2.0/serving-endpoints", self._serving_list)
        r(
            "serving_endpoint",
            "GET",
            "/api/2.0/serving-endpoints/([^/]+)",
            lambda q: self._find(s.serving_endpoints, "name", q.match.group(1), "Serving endpoint"),
        )
        r(
            "serving_permissions",
            "GET",
            "/api/2.0/permissions/serving-endpoints/([^/]+)",
            self._serving_permissions,
        )

        r(
            "object_permissions",
            "GET",
            "/api/2.0/permissions/(jobs|pipelines|clusters|warehouses|experiments|authorization)/([^/]+)",
            self._object_permissions,
        )
        r("tokens", "GET", "/api/2.0/token-management/tokens", lambda q: {"token_infos": s.tokens})
        r(
            "ip_access_lists",
            "GET",
            "/api/2.0/ip-access-lists",
            lambda q: {"ip_access_lists": s.ip_access_lists},
        )
        r("secret_scopes", "GET", "/api/2.0/secrets/scopes/list", lambda q: {"scopes": s.secret_scopes})
        r("secret_acls", "GET", "/api/2.0/secrets/acls/list", self._secret_acls)
        r(
            "service_principals",
            "GET",
            "/api/2.0/preview/scim/v2/ServicePrincipals",
            lambda q: self._scim(q, s.service_principals),
        )
        r("groups", "GET", "/api/2.0/preview/scim/v2/Groups", lambda q: self._scim(q, s.groups))

        r("experiments", "POST", "/api/2.0/mlflow/experiments/search", self._experiments)
        r(
            "registered_models",
            "GET",
            "/api/2.0/mlflow/registered-models/list",
            lambda q: self._page(q, s.registered_models, "registered_models", size_key="max_results"),
        )

        uc = "/api/2.1/unity-catalog"
        r("metastore_assignment", "GET", f"{uc}/current-metastore-assignment", self._assignment)
        r("metastore", "GET", f"{uc}/metastores/([^/]+)", self._metastore)
        r(
            "system_schemas",
            "GET",
            f"{uc}/metastores/([^/]+)/systemschemas",
            lambda q: self._page(q, s.system_schemas, "schemas", uc=True, size_key="max_results"),
        )
        r(
            "catalogs",
            "GET",
            f"{uc}/catalogs",
            lambda q: self._page(q, s.catalogs, "catalogs", uc=True, size_key="max_results"),
        )
        r("schemas", "GET", f"{uc}/schemas", self._schemas)
        r("tables", "GET", f"{uc}/tables", self._tables)
        r(
            "external_locations",
            "GET",
            f"{uc}/external-locations",
            lambda q: self._page(
                q, s.external_locations, "external_locations", uc=True, size_key="max_results"
            ),
        )
        r(
            "storage_credentials",
            "GET",
            f"{uc}/storage-credentials",
            lambda q: self._page(
                q, s.storage_credentials, "storage_credentials", uc=True, size_key="max_results"
            ),
        )
        r(
            "uc_models",
            "GET",
            f"{uc}/models",
            lambda q: self._page(q, s.uc_models, "registered_models", uc=True, size_key="max_results"),
        )
        r("uc_model_versions", "GET", f"{uc}/models/(.+)/versions", self._model_versions)
        r(
            "recipients",
            "GET",
            f"{uc}/recipients",
            lambda q: self._page(
                q,
                [{k: v for k, v in x.items() if k != "tokens"} for x in s.recipients],  # tokens: get only
                "recipients",
                uc=True,
                size_key="max_results",
            ),
        )
        r(
            "recipient",
            "GET",
            f"{uc}/recipients/([^/]+)",
            lambda q: self._find(s.recipients, "name", unquote(q.match.group(1)), "Recipient"),
        )
        r("monitor", "GET", f"{uc}/tables/(.+)/monitor", self._monitor)
        r("grants", "GET", f"{uc}/permissions/([a-z_]+)/(.+)", self._grants)
        r("effective_grants", "GET", f"{uc}/effective-permissions/([a-z_]+)/(.+)", self._effective_grants)

        r("account_workspaces", "GET", "/api/2.0/accounts/([^/]+)/workspaces", self._account_workspaces)
        r(
            "account_private_access_settings",
            "GET",
            "/api/2.0/accounts/([^/]+)/private-access-settings",
            self._account_private_access_settings,
        )
        for name, suffix, wrap in (
            ("account_credentials", "credentials", None),
            ("account_storage_configurations", "storage-configurations", None),
            ("account_networks", "networks", None),
            ("account_customer_managed_keys", "customer-managed-keys", None),
            ("account_log_delivery", "log-delivery", "log_delivery_configurations"),
        ):
            r(name, "GET", f"/api/2.0/accounts/([^/]+)/{suffix}", self._account_list(name, wrap))
        r(
            "instance_profiles",
            "GET",
            "/api/2.0/instance-profiles/list",
            lambda q: {"instance_profiles": s.instance_profiles} if s.instance_profiles else {},
        )

    @staticmethod
    def _find(items: list[JSON], key: str, value: str, what: str) -> JSON:
        for item in items:
            if str(item.get(key)) == value:
                return item
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"{what} '{value}' does not exist.")

    def _workspace_conf(self, q: _Request) -> JSON:
        keys = [k for k in q.params.get("keys", "").split(",") if k]
        denied = [k for k in keys if k in self.behaviour.deny_conf_keys]
        if denied:
            raise ApiError(403, "PERMISSION_DENIED", f"Only admins can read {', '.join(denied)}.")
        unknown = [k for k in keys if k not in self.state.workspace_conf]
        if unknown:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid keys: {unknown}")
        return {k: self.state.workspace_conf[k] for k in keys}

    def _setting(self, q: _Request) -> JSON:
        name = q.match.group(1)
        if name not in self.state.settings:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Setting {name} does not exist.")
        return {"etag": "e1", "setting_name": "default", **self.state.settings[name]}

    # Jobs API 2.2: a job's tasks, job clusters, parameters and environments come 100 at a time.
    _JOB_ARRAYS = ("tasks", "job_clusters", "parameters", "environments")
    JOB_ARRAY_PAGE = 100

    def _job_page(self, job: JSON, page: int) -> tuple[JSON, bool]:
        """The job with the ``page``-th slice of each long array, and whether more follow."""
        settings = dict(job.get("settings") or {})
        lo, hi = page * self.JOB_ARRAY_PAGE, (page + 1) * self.JOB_ARRAY_PAGE
        more = False
        for key in self._JOB_ARRAYS:
            if isinstance(settings.get(key), list):
                more |= len(settings[key]) > hi
                settings[key] = settings[key][lo:hi]
        return {**job, "settings": settings}, more

    def _job(self, q: _Request) -> JSON:
        job = self._find(self.state.jobs, "job_id", q.params.get("job_id", ""), "Job")
        raw = q.params.get("page_token", "")
        page = int(raw[1:]) if raw.startswith("p") and raw[1:].isdigit() else 0
        out, more = self._job_page(job, page)
        if more:
            out["next_page_token"] = f"p{page + 1}"
        return out

    def _jobs(self, q: _Request) -> JSON:
        expand = q.params.get("expand_tasks") == "true"
        jobs = self.state.jobs
        if expand:
            jobs = []
            for j in self.state.jobs:
                first, more = self._job_page(j, 0)
                jobs.append({**first, "has_more": True} if more else first)
        else:
            jobs = [
                {
                    **j,
                    "settings": {
                        k: v for k, v in j.get("settings", {}).items() if k not in {"tasks", "job_clusters"}
                    },
                }
                for j in jobs
            ]
        return self._page(q, jobs, "jobs", has_more=True, size_key="limit")

    def _pipelines(self, q: _Request) -> JSON:
        statuses: list[JSON] = [
            {
                k: p[k]
                for k in (
                    "pipeline_id",
                    "name",
                    "state",
                    "creator_user_name",
                    "run_as_user_name",
                    "cluster_id",
                    "health",
                )
                if k in p
            }
            for p in self.state.pipelines
        ]
        return self._page(q, statuses, "statuses", size_key="max_results")

    def _serving_list(self, q: _Request) -> JSON:
        out = []
        for e in self.state.serving_endpoints:
            item = {k: v for k, v in e.items() if k not in {"config", "pending_config", "permission_level"}}
            entities = e.get("config", {}).get("served_entities", [])
            item["config"] = {
                "served_entities": [
                    {
                        k: v
                        for k, v in se.items()
                        if k
                        in {"name", "entity_name", "entity_version", "foundation_model", "external_model"}
                    }
                    for se in entities
                ]
            }
            out.append(item)
        return {"endpoints": out}

    def _serving_permissions(self, q: _Request) -> JSON:
        ident = q.match.group(1)
        if ident not in self.state.serving_permissions:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Serving endpoint {ident} does not exist.")
        return self.state.serving_permissions[ident]

    # object type -> (state collection, id key, creator key, the creator's level)
    _ACL_OBJECTS: dict[str, tuple[str, str, str, str]] = {
        "jobs": ("jobs", "job_id", "creator_user_name", "IS_OWNER"),
        "pipelines": ("pipelines", "pipeline_id", "creator_user_name", "IS_OWNER"),
        "clusters": ("clusters", "cluster_id", "creator_user_name", "CAN_MANAGE"),
        "warehouses": ("warehouses", "id", "creator_name", "IS_OWNER"),
        "experiments": ("experiments", "experiment_id", "", "CAN_MANAGE"),
    }

    def _object_permissions(self, q: _Request) -> JSON:
        kind, ident = q.match.group(1), unquote(q.match.group(2))
        key = f"{kind}/{ident}"
        if key in self.state.object_permissions:
            return self.state.object_permissions[key]
        admins = {
            "group_name": "admins",
            "all_permissions": [
                {"permission_level": "CAN_MANAGE", "inherited": True, "inherited_from_object": ["/"]}
            ],
        }
        if kind == "authorization":
            if ident != "tokens":
                raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"{key} does not exist.")
            return {
                "object_id": "authorization/tokens",
                "object_type": "tokens",
                "access_control_list": [admins],
            }
        collection, id_key, creator_key, level = self._ACL_OBJECTS[kind]
        obj = self._find(getattr(self.state, collection), id_key, ident, kind.rstrip("s").capitalize())
        if kind == "experiments":
            creator = next(
                (t.get("value") for t in obj.get("tags") or [] if t.get("key") == "mlflow.ownerEmail"), None
            )
        else:
            creator = obj.get(creator_key)
        acl: list[JSON] = [admins]
        if creator:  # a creator named by e-mail is a user, any other a service principal
            kind_key = "user_name" if "@" in str(creator) else "service_principal_name"
            acl.insert(
                0,
                {kind_key: creator, "all_permissions": [{"permission_level": level, "inherited": False}]},
            )
        return {"object_id": f"/{kind}/{ident}", "object_type": kind.rstrip("s"), "access_control_list": acl}

    _PARENT_TYPES = ("catalog", "schema")

    def _effective_grants(self, q: _Request) -> JSON:
        kind, name = q.match.group(1), unquote(q.match.group(2))
        key = f"{kind}/{name}"
        if key in self.state.effective_grants:
            items = self.state.effective_grants[key]
        else:
            parts = name.split(".")
            merged: dict[str, list[JSON]] = {}
            chain: list[tuple[str, str, str | None]] = [(kind, name, None)]
            if kind in ("table", "function", "volume") and len(parts) == 3:
                chain += [("schema", ".".join(parts[:2]), "SCHEMA"), ("catalog", parts[0], "CATALOG")]
            elif kind == "schema" and len(parts) == 2:
                chain += [("catalog", parts[0], "CATALOG")]
            for securable, full, inherited in chain:
                for grant in self.state.grants.get(f"{securable}/{full}", []):
                    for privilege in grant.get("privileges") or []:
                        item: JSON = {"privilege": privilege}
                        if inherited:
                            item.update(inherited_from_type=inherited, inherited_from_name=full)
                        merged.setdefault(str(grant.get("principal")), []).append(item)
            items = [{"principal": p, "privileges": privs} for p, privs in merged.items()]
        return self._page(q, items, "privilege_assignments", size_key="max_results")

    def _secret_acls(self, q: _Request) -> JSON:
        scope = q.params.get("scope", "")
        if scope not in {s["name"] for s in self.state.secret_scopes}:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Scope {scope} does not exist!")
        return {"items": self.state.secret_acls.get(scope, [])}

    def _experiments(self, q: _Request) -> JSON:
        token = q.body.get("page_token")
        size = self.behaviour.page_size
        asked = q.body.get("max_results")
        if isinstance(asked, int) and asked > 0:
            size = min(size, asked)
        fake = _Request(q.method, q.path, {"page_token": token or "", "max_results": str(size)}, {}, q.match)
        return self._page(fake, self.state.experiments, "experiments", size_key="max_results")

    def _metastore_required(self) -> JSON:
        if self.state.metastore is None:
            raise ApiError(
                404, "METASTORE_DOES_NOT_EXIST", "No metastore assigned for the current workspace."
            )
        return self.state.metastore

    def _assignment(self, q: _Request) -> JSON:
        m = self._metastore_required()
        return {
            "workspace_id": self.state.workspace_id,
            "metastore_id": m["metastore_id"],
            "default_catalog_name": "main",
        }

    def _metastore(self, q: _Request) -> JSON:
        m = self._metastore_required()
        if m["metastore_id"] != q.match.group(1):
            raise ApiError(404, "METASTORE_DOES_NOT_EXIST", f"Metastore {q.match.group(1)} does not exist.")
        return m

    def _schemas(self, q: _Request) -> JSON:
        cat = q.params.get("catalog_name", "")
        if cat not in {c["name"] for c in self.state.catalogs}:
            raise ApiError(404, "CATALOG_DOES_NOT_EXIST", f"Catalog '{cat}' does not exist.")
        items = [x for x in self.state.schemas if x["catalog_name"] == cat]
        return self._page(q, items, "schemas", uc=True, size_key="max_results")

    def _tables(self, q: _Request) -> JSON:
        cat, sch = q.params.get("catalog_name", ""), q.params.get("schema_name", "")
        if f"{cat}.{sch}" not in {x["full_name"] for x in self.state.schemas}:
            raise ApiError(404, "SCHEMA_DOES_NOT_EXIST", f"Schema '{cat}.{sch}' does not exist.")
        items = [t for t in self.state.tables if t["catalog_name"] == cat and t["schema_name"] == sch]
        return self._page(q, items, "tables", uc=True, size_key="max_results")

    def _model_versions(self, q: _Request) -> JSON:
        name = unquote(q.match.group(1))
        if name not in {m["full_name"] for m in self.state.uc_models}:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Registered model '{name}' does not exist.")
        items = self.state.uc_model_versions.get(name, [])
        return self._page(q, items, "model_versions", uc=True, size_key="max_results")

    def _monitor(self, q: _Request) -> JSON:
        name = unquote(q.match.group(1))
        if name not in self.state.monitors:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Monitor for table '{name}' does not exist.")
        return self.state.monitors[name]

    def _grants(self, q: _Request) -> JSON:
        key = f"{q.match.group(1)}/{unquote(q.match.group(2))}"
        items = self.state.grants.get(key, [])
        return self._page(q, items, "privilege_assignments", size_key="max_results")

    def _account_workspaces(self, q: _Request) -> Any:
        if q.match.group(1) != self.state.account_id:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Account {q.match.group(1)} does not exist.")
        return self.state.account_workspaces

    def _account_list(self, name: str, wrap: str | None) -> Handler:
        """An account-level list route: the state's list as is, or wrapped in ``{wrap: [...]}``."""

        def handler(q: _Request) -> Any:
            if q.match.group(1) != self.state.account_id:
                raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Account {q.match.group(1)} does not exist.")
            items = getattr(self.state, name)
            return {wrap: items} if wrap else items

        return handler

    def _account_private_access_settings(self, q: _Request) -> Any:
        if q.match.group(1) != self.state.account_id:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Account {q.match.group(1)} does not exist.")
        return self.state.account_private_access_settings


class _HTTPHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # one small response per request: no 40 ms delayed-ACK stalls

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = self.server.fake.handle(self.command, self.path, headers, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, port: int, fake: FakeDatabricks) -> None:
        super().__init__(("127.0.0.1", port), _HTTPHandler)
        self.fake = fake


class FakeWorkspaceServer:
    """Start/stop the fake on 127.0.0.1 (a free port unless one is given)."""

    def __init__(
        self,
        state: WorkspaceState,
        *,
        token: str = "dapi-fake-token",
        behaviour: Behaviour | None = None,
        port: int = 0,
    ) -> None:
        self.fake = FakeDatabricks(state, token, behaviour)
        self._server = _Server(port, self.fake)
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token(self) -> str:
        return self.fake.token

    def start(self) -> FakeWorkspaceServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-databricks",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeWorkspaceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
