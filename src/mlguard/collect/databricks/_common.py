"""What every Databricks family module shares: the per-workspace context, resource building,
errors-as-data and the read-only guard on the SDK's HTTP layer."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import requests
import requests.adapters
from databricks.sdk.core import ApiClient
from databricks.sdk.errors.base import DatabricksError
from databricks.sdk.errors.platform import NotFound, ResourceDoesNotExist

from mlguard.collect.base import CallMeter, CollectionCancelled, InventorySink, Progress, timed
from mlguard.collect.errors import ReadOnlyViolation, collection_error
from mlguard.collect.errortext import one_line_reason
from mlguard.collect.secrets import SECRET_PATHS, scrub
from mlguard.model import Coverage, Resource, iso, utcnow

PROVIDER = "databricks"
T = TypeVar("T")
R = TypeVar("R")

# Errors that are data (recorded, scan goes on), not bugs.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    DatabricksError,
    requests.RequestException,
    TimeoutError,
)


_route = threading.local()


def last_route() -> str:
    """``METHOD path`` of the last request this thread sent through a guarded client."""
    return getattr(_route, "value", "unknown")


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
# Forms a server or proxy may read as another path: dot segments, empty segments, path parameters.
_OVERRIDE = re.compile(r"x-(?:http-)?method(?:-override)?$", re.I)
_SUSPICIOUS = re.compile(r"(^|/)\.{1,2}(/|$)|//|;|\\")


@dataclass(frozen=True)
class RouteTable:
    """The routes a client may send: ``METHOD /path/{placeholder}`` templates, each placeholder one
    path segment. Built from the declarations in :mod:`mlguard.collect.databricks.permissions` (what
    ``mlguard permissions databricks`` prints is exactly what can leave the process)."""

    routes: tuple[str, ...]
    _compiled: tuple[tuple[str, re.Pattern[str]], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = []
        for route in self.routes:
            method, template = route.split(" ", 1)
            parts = _PLACEHOLDER.split(template)
            pattern = "[^/]+".join(re.escape(part) for part in parts)
            compiled.append((method, re.compile(pattern)))
        object.__setattr__(self, "_compiled", tuple(compiled))

    def refusal(self, method: str, url: str, host: str | None) -> str | None:
        """Why ``method url`` may not be sent (None when it may)."""
        split = urlsplit(url)
        target = f"{method} {split.path}"
        if host is not None and split.netloc.lower() != host.lower():
            return f"{target}: host {split.netloc!r} is not the workspace's ({host!r})"
        if split.fragment:
            return f"{target}: a URL fragment"
        decoded = unquote(split.path)
        if _SUSPICIOUS.search(split.path) or _SUSPICIOUS.search(decoded) or "%2f" in split.path.lower():
            return f"{target}: an ambiguous path (dot segments, encoded slashes or path parameters)"
        if not any(m == method and p.fullmatch(split.path) for m, p in self._compiled):
            return f"{target}: not a route mlguard declares (see `mlguard permissions databricks`)"
        return None


def declared_routes() -> RouteTable:
    from mlguard.collect.databricks.permissions import declared_routes as routes

    return RouteTable(routes())


class _GuardedAdapter(requests.adapters.BaseAdapter):
    """The transport under the SDK's requests session: every final request (after the SDK built
    the URL, and every redirect) is checked against the route table before it is sent, and its
    timeout is cut to what is left of the run's time budget."""

    def __init__(
        self,
        inner: requests.adapters.BaseAdapter,
        table: RouteTable,
        host: str | None,
        remaining: Callable[[], float | None] | None,
        meter: CallMeter | None = None,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.table = table
        self.host = host
        self.remaining = remaining
        self.meter = meter  # counts every attempt: the SDK's retries come through here too

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        method = (request.method or "").upper()
        why = self.table.refusal(method, request.url or "", self.host)
        if why is None and any(_OVERRIDE.match(h) for h in request.headers):
            why = f"{method} {urlsplit(request.url or '').path}: a method-override header"
        if why is not None:
            raise ReadOnlyViolation(f"refusing {why}")
        left = self.remaining() if self.remaining is not None else None
        if left is not None:
            if left <= 0:  # not a requests error: the SDK must not retry it
                raise CollectionCancelled("the scan's time limit was reached")
            kwargs["timeout"] = _cap_timeout(kwargs.get("timeout"), left)
        if self.meter is not None:
            self.meter.attempt()
        return self.inner.send(request, *args, **kwargs)

    def close(self) -> None:
        self.inner.close()


def _cap_timeout(timeout: Any, left: float) -> Any:
    if isinstance(timeout, tuple):
        return tuple(left if t is None else min(float(t), left) for t in timeout)
    return left if timeout is None else min(float(timeout), left)


def guard_read_only(
    api: ApiClient,
    before: Callable[[], None] | None = None,
    *,
    remaining: Callable[[], float | None] | None = None,
    table: RouteTable | None = None,
    meter: CallMeter | None = None,
) -> ApiClient:
    """Guard an SDK client: the transport under its requests session sends only the declared read
    routes to its own host (see :class:`RouteTable`), with timeouts cut to ``remaining()`` seconds
    of the run's budget. ``before`` runs first on every ``do`` call (the sink's deadline check
    after a ``--timeout``); ``do`` also remembers the route, to name it in errors. ``meter`` counts
    each ``do`` as a call and each request sent (retries included) as an attempt."""
    if getattr(api, "_mlguard_guarded", False):
        return api
    routes = table or declared_routes()
    host = urlsplit(api._cfg.host).netloc if api._cfg.host else None
    session: requests.Session = api._api_client._session
    for prefix in ("https://", "http://"):
        session.mount(prefix, _GuardedAdapter(session.get_adapter(prefix), routes, host, remaining, meter))
    inner = api.do

    def do(method: str, path: str | None = None, url: str | None = None, **kwargs: Any) -> Any:
        if before is not None:
            before()
        target = path if path is not None else urlsplit(url or "").path
        _route.value = f"{method.upper()} {target}"
        if meter is not None:
            meter.call()
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


def classify_error(exc: BaseException) -> tuple[str, str]:
    """Databricks' :class:`~mlguard.collect.errors.ErrorClassifier`."""
    return error_code(exc), error_message(exc)


_UNPARSED = re.compile(r"^unable to parse response\.", re.I)
_LOGGED_STATUS = re.compile(r"^< (\d{3})\b", re.M)


def error_message(exc: BaseException) -> str:
    """One readable line: an HTML page (a proxy's 502, a login portal) is reduced to its title and
    HTTP status; the SDK's "unable to parse response" request log (up to 10 KiB of the body) to
    the status line and the page's title."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if isinstance(exc, TimeoutError) and cause is not None:
        text = f"{text}: {cause}"
    if isinstance(exc, requests.JSONDecodeError):
        return "the answer is not JSON (a proxy or login page instead of the API?)"
    if _UNPARSED.match(text):
        found = _LOGGED_STATUS.search(text)
        status = int(found.group(1)) if found else None
        log = text.split("```", 1)[1] if "```" in text else ""
        lines = [line[2:] for line in log.splitlines() if line.startswith("< ")]
        body = "\n".join(line for line in lines if not _LOGGED_STATUS.match(f"< {line}"))
        where = f"HTTP {status}" if status is not None else "an answer"
        if "<" in body:
            return one_line_reason(body, status)
        return f"{where} that is not an API answer"
    return one_line_reason(text)


@dataclass
class WorkspaceContext:
    """One workspace being collected: the client, the requested types and the sink.

    At ``level`` ``account`` it is the account instead (the account client; ``host`` is the
    account console's): its coverage and type errors name the account and no workspace, each
    resource names the workspace it is (``workspace`` arguments), and routes name the account
    (``{account_id}``, filled by :meth:`path`)."""

    client: Any  # databricks.sdk.WorkspaceClient (Any: the SDK is untyped)
    host: str
    types: frozenset[str]
    sink: InventorySink
    progress: Progress
    # The scan's one bounded executor (engine.Scheduler); None: everything runs in the caller.
    scheduler: Any = None
    account: str | None = None  # the Databricks account id, in an account scan
    collected_at: str = field(default_factory=lambda: iso(utcnow()))
    level: Literal["workspace", "account"] = "workspace"

    @property
    def workspace(self) -> str | None:
        """The workspace this context's coverage and errors name: none at account level."""
        return None if self.level == "account" else self.host

    def path(self, route: str) -> str:
        """The path of a ``METHOD /path`` route, its ``{account_id}`` the context's account."""
        path = route.split(" ", 1)[1]
        return path.replace("{account_id}", self.account) if self.account else path

    def wants(self, *types: str) -> bool:
        return any(t in self.types for t in types)

    def reads(self, rtype: str) -> frozenset[str] | None:
        """The root data keys of ``rtype`` the run's policies read (None: every field)."""
        reads = self.sink.reads
        return None if reads is None else reads.get(rtype)

    def uid(self, rtype: str, ident: str, workspace: str | None = None) -> str:
        """The resource's uid, under its ``workspace`` (an account-level item's) or the context's host."""
        return f"databricks://{workspace or self.host}/{rtype.removeprefix('databricks.')}/{ident}"

    def add(
        self,
        rtype: str,
        ident: str,
        name: str | None,
        data: dict[str, Any],
        *,
        tags: dict[str, Any] | None = None,
        region: str | None = None,
        workspace: str | None = None,
    ) -> str:
        uid = self.uid(rtype, ident, workspace)
        self.sink.add(
            Resource(
                uid=uid,
                type=rtype,
                provider=PROVIDER,
                id=ident,
                name=name,
                account=self.account,
                workspace=workspace or self.workspace,
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
        exc: BaseException | tuple[str, str],
        *,
        operation: str | None = None,
        resource_uid: str | None = None,
        attributes: list[str] | None = None,
        workspace: str | None = None,
    ) -> None:
        """A collection error: ``exc`` the exception or an explicit ``(code, message)``;
        ``workspace``: an account-level resource's own (else the context's)."""
        self.sink.error(
            collection_error(
                PROVIDER,
                operation or last_route(),
                exc,
                classify_error,
                account=self.account,
                workspace=workspace or self.workspace,
                resource_type=rtype,
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
        """Run ``fn`` (per-resource detail calls) over ``items`` on the scan's one bounded executor
        (:class:`mlguard.collect.databricks.engine.Scheduler`), results in order. Exceptions
        propagate: never swallowed."""
        todo = list(items)
        if self.scheduler is None or len(todo) <= 1:
            return [fn(item) for item in todo]
        results: list[R] = self.scheduler.map(fn, todo)
        return results

    def fan_out(self, fn: Callable[[T], int], items: Iterable[T]) -> int:
        """:meth:`map` for functions that return how many resources they added."""
        return sum(self.map(fn, items))

    def cover(self, rtype: str, unread: tuple[str, ...] = ()) -> None:
        self.sink.covered(
            Coverage(
                provider=PROVIDER,
                account=self.account,
                workspace=self.workspace,
                resource_type=rtype,
                unread=unread or None,
            )
        )

    @contextmanager
    def section(
        self,
        rtype: str,
        *also: str,
        unread: tuple[str, ...] = (),
        unread_of: dict[str, tuple[str, ...]] | None = None,
    ) -> Iterator[list[int]]:
        """Collect resource types read by one listing: coverage is recorded for each (with the
        attributes of ``rtype`` the scan left ``unread``, or of each type ``unread_of``), a
        failure becomes a CollectionError for each whole type, and the scan goes on."""
        types = (rtype, *also)
        for t in types:
            self.cover(
                t, (unread_of or {}).get(t, ()) if unread_of is not None else unread if t == rtype else ()
            )
        where = self.workspace or f"account {self.account}"
        key, label = f"databricks:{where}:{rtype}", f"{where} {rtype}"
        with timed(self.progress, key, label, self.sink.meter) as counts:
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
        workspace: str | None = None,
    ) -> tuple[T | None, bool]:
        """A per-resource detail call: (value, ok). A failure is recorded against the resource and
        only the attributes that call fills, plus ``plaintext_secret_paths``: the final secret scrub
        never saw the text the call would have returned, so its "no secret found" is unknown.
        ``missing_ok``: a 404 means "none", not an error. ``workspace``: an account-level
        resource's own."""
        try:
            return call(), True
        except TRANSIENT_ERRORS as exc:
            if missing_ok and isinstance(exc, DatabricksError) and is_not_found(exc):
                return None, True
            blocked = [*attributes, *([] if SECRET_PATHS in attributes else [SECRET_PATHS])]
            self.record(rtype, exc, resource_uid=uid, attributes=blocked, workspace=workspace)
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


def effective_grants_summary(assignments: list[dict[str, Any]]) -> dict[str, Any]:
    """Effective Unity Catalog privileges (direct and inherited from the catalog or schema) per
    principal, with those of "account users" (every identity of the account) apart."""
    out: list[dict[str, Any]] = []
    account_users: set[str] = set()
    for a in assignments:
        privs = [p for p in a.get("privileges") or [] if p.get("privilege")]
        names = sorted({str(p["privilege"]) for p in privs})
        out.append(
            {
                "principal": a.get("principal"),
                "privileges": names,
                "inherited_from": sorted(
                    {
                        f"{p.get('inherited_from_type')}:{p.get('inherited_from_name')}"
                        for p in privs
                        if p.get("inherited_from_name")
                    }
                ),
            }
        )
        if a.get("principal") == "account users":
            account_users.update(names)
    return {
        "effective_grants": sorted(out, key=lambda e: str(e["principal"])),
        "account_users_effective_privileges": sorted(account_users),
    }


EFFECTIVE_GRANT_ATTRIBUTES = ["effective_grants", "account_users_effective_privileges"]


def read_effective_grants(ctx: WorkspaceContext, securable_type: str, full_name: str) -> list[dict[str, Any]]:
    """Every effective privilege assignment on a securable (``grants.get_effective``, paginated
    form: max_results=0; a page may be empty while a next_page_token follows)."""
    return ctx.pages(
        f"/api/2.1/unity-catalog/effective-permissions/{securable_type}/{full_name}",
        "privilege_assignments",
        {"max_results": 0},
    )
