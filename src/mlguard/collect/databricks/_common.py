"""What every Databricks family module shares: the per-workspace context, resource building,
errors-as-data and the read-only guard on the SDK's HTTP layer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from databricks.sdk.core import ApiClient
from databricks.sdk.errors.base import DatabricksError
from databricks.sdk.errors.platform import NotFound, ResourceDoesNotExist

from mlguard.collect.base import InventorySink, Progress, timed
from mlguard.collect.databricks.redact import scrub
from mlguard.model import CollectionError, Coverage, Resource, iso, utcnow

PROVIDER = "databricks"
T = TypeVar("T")
R = TypeVar("R")

# Errors that are data (recorded, scan goes on), not bugs.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    DatabricksError,
    requests.RequestException,
    TimeoutError,
)

# The only POST requests allowed to leave the process: documented read-only searches.
READ_ONLY_POSTS = frozenset({"/api/2.0/mlflow/experiments/search"})


class ReadOnlyViolation(RuntimeError):
    """A mutating request was about to be sent. A bug in mlguard, never caught as data."""


_route = threading.local()


def last_route() -> str:
    """``METHOD path`` of the last request this thread sent through a guarded client."""
    return getattr(_route, "value", "unknown")


def guard_read_only(api: ApiClient, before: Callable[[], None] | None = None) -> ApiClient:
    """Wrap the SDK client's ``do`` (every service call goes through it) so that only GET and the
    read-only POST searches can be sent. Also remembers the route, to name it in errors.
    ``before`` runs first on every call (the sink's deadline check after a ``--timeout``)."""
    if getattr(api, "_mlguard_guarded", False):
        return api
    inner = api.do

    def do(method: str, path: str | None = None, url: str | None = None, **kwargs: Any) -> Any:
        if before is not None:
            before()
        target = path if path is not None else urlsplit(url or "").path
        verb = method.upper()
        if verb != "GET" and not (verb == "POST" and target in READ_ONLY_POSTS):
            raise ReadOnlyViolation(f"mlguard is read-only: refusing {verb} {target}")
        _route.value = f"{verb} {target}"
        return inner(method, path, url, **kwargs)

    api.do = do  # type: ignore[method-assign,assignment]
    api._mlguard_guarded = True  # type: ignore[attr-defined]
    return api


def host_of(url: str) -> str:
    """The workspace host without scheme: the ``workspace`` of every resource."""
    split = urlsplit(url if "://" in url else f"https://{url}")
    return split.netloc or url


def ms_to_iso(value: Any) -> str | None:
    """Databricks epoch-milliseconds to ISO-8601 UTC; None for absent, 0 or negative."""
    if not isinstance(value, int | float) or value <= 0:
        return None
    return iso(datetime.fromtimestamp(value / 1000, tz=UTC))


def error_code(exc: BaseException) -> str:
    if isinstance(exc, DatabricksError):
        return exc.error_code or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return "TIMEOUT"
    if isinstance(exc, requests.Timeout):
        return "TIMEOUT"
    if isinstance(exc, requests.ConnectionError):
        return "CONNECTION_ERROR"
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if isinstance(exc, TimeoutError) and cause is not None:
        text = f"{text}: {cause}"
    return text.splitlines()[0][:500]


@dataclass
class WorkspaceContext:
    """One workspace being collected: the client, the requested types and the sink."""

    client: Any  # databricks.sdk.WorkspaceClient (Any: the SDK is untyped)
    host: str
    types: frozenset[str]
    sink: InventorySink
    progress: Progress
    workers: int = 8  # bound on concurrent per-resource detail calls
    account: str | None = None  # the Databricks account id, in an account scan
    collected_at: str = field(default_factory=lambda: iso(utcnow()))

    def wants(self, *types: str) -> bool:
        return any(t in self.types for t in types)

    def uid(self, rtype: str, ident: str) -> str:
        return f"databricks://{self.host}/{rtype.removeprefix('databricks.')}/{ident}"

    def add(
        self,
        rtype: str,
        ident: str,
        name: str | None,
        data: dict[str, Any],
        *,
        tags: dict[str, Any] | None = None,
        region: str | None = None,
    ) -> str:
        uid = self.uid(rtype, ident)
        self.sink.add(
            Resource(
                uid=uid,
                type=rtype,
                provider=PROVIDER,
                id=ident,
                name=name,
                account=self.account,
                workspace=self.host,
                region=region,
                tags=scrub({str(k): str(v) for k, v in (tags or {}).items()}),
                data=scrub(data),
                collected_at=self.collected_at,
            )
        )
        return uid

    def record(
        self,
        rtype: str | None,
        exc: BaseException,
        *,
        operation: str | None = None,
        resource_uid: str | None = None,
        attributes: list[str] | None = None,
    ) -> None:
        self.sink.error(
            CollectionError(
                provider=PROVIDER,
                account=self.account,
                workspace=self.host,
                resource_type=rtype,
                operation=operation or last_route(),
                code=error_code(exc),
                message=error_message(exc),
                resource_uid=resource_uid,
                attributes=attributes or [],
            )
        )

    def get(self, path: str, query: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET a route as raw JSON through the SDK's ApiClient (its auth, retries and errors).

        Raw JSON rather than the SDK's typed classes: those turn an enum value they do not know
        (a newer data_security_mode, privilege or workload type) into None, which a policy would
        read as "not set"."""
        resp = self.client.api_client.do("GET", path, query=query)
        return resp if isinstance(resp, dict) else {"items": resp}

    def pages(self, path: str, key: str, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a ``next_page_token`` list (empty pages mid-stream included)."""
        q = dict(query or {})
        out: list[dict[str, Any]] = []
        while True:
            resp = self.get(path, q)
            out.extend(resp.get(key) or [])
            token = resp.get("next_page_token")
            if not token:
                return out
            q["page_token"] = token

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` (per-resource detail calls) over ``items`` on a bounded pool, results in
        order. Exceptions propagate: never swallowed."""
        todo = list(items)
        if len(todo) <= 1 or self.workers <= 1:
            return [fn(item) for item in todo]
        with ThreadPoolExecutor(
            max_workers=min(self.workers, len(todo)), thread_name_prefix="dbx-detail"
        ) as pool:
            return [f.result() for f in [pool.submit(fn, item) for item in todo]]

    def fan_out(self, fn: Callable[[T], int], items: Iterable[T]) -> int:
        """:meth:`map` for functions that return how many resources they added."""
        return sum(self.map(fn, items))

    def cover(self, rtype: str) -> None:
        self.sink.covered(
            Coverage(provider=PROVIDER, account=self.account, workspace=self.host, resource_type=rtype)
        )

    @contextmanager
    def section(self, rtype: str, *also: str) -> Iterator[list[int]]:
        """Collect resource types read by one listing: coverage is recorded for each, a failure
        becomes a CollectionError for each whole type, and the scan goes on."""
        types = (rtype, *also)
        for t in types:
            self.cover(t)
        with timed(self.progress, f"databricks:{self.host}:{rtype}", f"{self.host} {rtype}") as counts:
            try:
                yield counts
            except TRANSIENT_ERRORS as exc:
                counts[1] += 1
                for t in types:
                    self.record(t, exc)

    def try_list(self, types: list[str], call: Callable[[], list[T]]) -> list[T] | None:
        """A listing inside a tree walk: on failure every type that depended on it is incomplete."""
        try:
            return call()
        except TRANSIENT_ERRORS as exc:
            for t in types:
                self.record(t, exc)
            return None

    def detail(
        self,
        rtype: str,
        uid: str,
        attributes: list[str],
        call: Callable[[], T],
        *,
        missing_ok: bool = False,
    ) -> tuple[T | None, bool]:
        """A per-resource detail call: (value, ok). A failure is recorded against the resource and
        only the attributes that call fills. ``missing_ok``: a 404 means "none", not an error."""
        try:
            return call(), True
        except TRANSIENT_ERRORS as exc:
            if missing_ok and isinstance(exc, DatabricksError) and is_not_found(exc):
                return None, True
            self.record(rtype, exc, resource_uid=uid, attributes=attributes)
            return None, False


def is_not_found(exc: DatabricksError) -> bool:
    return isinstance(exc, NotFound | ResourceDoesNotExist) or (exc.error_code or "").endswith(
        "DOES_NOT_EXIST"
    )


def as_dict(obj: Any) -> dict[str, Any]:
    """An SDK dataclass (or raw dict) as its REST JSON."""
    if isinstance(obj, dict):
        return obj
    result: dict[str, Any] = obj.as_dict()
    return result


def grants_summary(assignments: list[dict[str, Any]]) -> dict[str, Any]:
    """Unity Catalog privilege assignments as data, with the facts policies ask about most."""
    grants: list[dict[str, Any]] = []
    account_users: set[str] = set()
    for a in assignments:
        privileges = sorted(str(p) for p in a.get("privileges") or [])
        grants.append({"principal": a.get("principal"), "privileges": privileges})
        if a.get("principal") == "account users":
            account_users.update(privileges)
    return {
        "grants": grants,
        "account_users_privileges": sorted(account_users),
        "account_users_all_privileges": "ALL_PRIVILEGES" in account_users,
        "account_users_manage": "MANAGE" in account_users,
    }


GRANT_ATTRIBUTES = [
    "grants",
    "account_users_privileges",
    "account_users_all_privileges",
    "account_users_manage",
]


def read_grants(ctx: WorkspaceContext, securable_type: str, full_name: str) -> list[dict[str, Any]]:
    """All privilege assignments on a securable (paginated form: max_results=0)."""
    return ctx.pages(
        f"/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}",
        "privilege_assignments",
        {"max_results": 0},
    )
