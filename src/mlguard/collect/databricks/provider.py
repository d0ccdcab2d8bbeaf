"""The Databricks provider: builds SDK clients from the scope, guards them read-only and runs the
families concurrently per workspace (and across workspaces for an account scan), all on the scan's
one bounded executor (:class:`mlguard.collect.databricks.engine.Scheduler`)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from databricks.sdk import AccountClient, WorkspaceClient
from databricks.sdk.clock import Clock
from databricks.sdk.config import Config
from databricks.sdk.errors.base import DatabricksError
from databricks.sdk.errors.platform import PermissionDenied, Unauthenticated

from mlguard import __version__
from mlguard.collect.base import Collector, InventorySink, Progress, register
from mlguard.collect.databricks import (
    account,
    compute,
    identity,
    instance_profiles,
    jobs,
    mlflow,
    serving,
    unity_catalog,
    workspace,
)
from mlguard.collect.databricks._common import (
    PROVIDER,
    TRANSIENT_ERRORS,
    WorkspaceContext,
    classify_error,
    error_code,
    error_message,
    guard_read_only,
    host_of,
)
from mlguard.collect.databricks.engine import Scheduler
from mlguard.collect.errors import collection_error
from mlguard.collect.shard import databricks_account_unit, databricks_workspace_unit
from mlguard.config import DatabricksScope, ScopeConfig
from mlguard.errors import CollectionSetupError
from mlguard.model import Identity

# The SDK logs a warning when /.well-known/databricks-config is absent; that is normal here.
logging.getLogger("databricks.sdk").addHandler(logging.NullHandler())

FAMILIES: tuple[tuple[ModuleType, tuple[str, ...]], ...] = (
    (workspace, (workspace.TYPE,)),
    (compute, compute.TYPES),
    (jobs, jobs.TYPES),
    (serving, serving.TYPES),
    (identity, identity.TYPES),
    (mlflow, mlflow.TYPES),
    (unity_catalog, unity_catalog.TYPES),
    (instance_profiles, instance_profiles.TYPES),
)
WORKSPACE_TYPES = frozenset(t for _, types in FAMILIES for t in types)
ALL_TYPES = WORKSPACE_TYPES | {account.TYPE}

CLIENT_ERRORS: tuple[type[BaseException], ...] = (ValueError, *TRANSIENT_ERRORS)
WorkspaceClientFactory = Callable[[AccountClient, Any], WorkspaceClient]


def _preflight(host: str | None, timeout: float) -> None:
    """Fail fast on a host nobody listens on. The SDK retries a refused connection for its whole
    retry budget (and once more while resolving host metadata): minutes of waiting for an answer
    a single TCP connect gives at once."""
    if not host:
        return  # the host comes from a profile: the SDK resolves it
    url = urlsplit(host if "://" in host else f"https://{host}")
    if not url.hostname:
        raise CollectionSetupError(f"Databricks host {host!r} is not a URL")
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((url.hostname, port), timeout=min(timeout, 10)).close()
    except OSError as exc:
        raise CollectionSetupError(
            f"Databricks workspace {url.netloc}: cannot connect: {exc.strerror or exc}"
        ) from None


def _budget(seconds: float, left: float | None) -> float:
    """``seconds`` cut to what is left of the run's ``--timeout`` (at least one second)."""
    return seconds if left is None else max(1.0, min(seconds, left))


def _sdk_config(
    scope: DatabricksScope, clock: Clock | None, left: float | None = None, **overrides: Any
) -> Config:
    kwargs: dict[str, Any] = {
        "http_timeout_seconds": _budget(scope.http_timeout_seconds, left),
        "retry_timeout_seconds": int(_budget(scope.retry_timeout_seconds, left)),
        "product": "mlguard",
        "product_version": __version__,
    }
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Config(clock=clock, **kwargs)
    except ValueError as exc:  # no credentials, unknown profile, unreachable OAuth endpoint
        first = str(exc).splitlines()[0]
        raise CollectionSetupError(f"Databricks configuration: {first}") from None


@register
class DatabricksCollector(Collector):
    provider = PROVIDER

    def __init__(
        self,
        scope: ScopeConfig,
        *,
        clock: Clock | None = None,
        workspace_client_factory: WorkspaceClientFactory | None = None,
        token: str | None = None,
        workspace_name: str | None = None,
        account_id: str | None = None,
    ) -> None:
        """``clock``: the SDK retry clock (tests); ``workspace_client_factory``: how an account scan
        reaches each workspace (default ``AccountClient.get_workspace_client``); ``token``: a
        personal access token for ``scope.databricks.host`` (the demo's fake workspace);
        ``workspace_name``: the name resources carry instead of the host (a stable name for a fake
        workspace on a random local port); ``account_id``: with ``token``, the account whose own
        types (its workspaces and the account objects they name) the same host also serves (the
        demo's fake serves the account routes beside the workspace's)."""
        self.scope = scope.databricks
        self.token = token
        self.workspace_name = workspace_name
        self.account_id = account_id
        self.clock = clock
        self.workspace_client_factory = workspace_client_factory

    @classmethod
    def resource_types(cls) -> frozenset[str]:
        return ALL_TYPES

    @classmethod
    def detect(cls, scope: ScopeConfig) -> bool:
        db = scope.databricks
        return bool(
            db.host
            or db.profile
            or db.account_profile
            or os.environ.get("DATABRICKS_HOST")
            or os.environ.get("DATABRICKS_CONFIG_PROFILE")
        )

    # ------------------------------------------------------------------ entry point

    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        types = types & ALL_TYPES
        if not types:  # nothing asked of Databricks: do not even connect
            return
        with Scheduler(self.scope.max_workers, sink.meter) as scheduler:
            if self.scope.account_profile:
                self._collect_account(types, sink, progress, scheduler)
            else:
                self._collect_one(types, sink, progress, scheduler)

    def _collect_one(
        self, types: frozenset[str], sink: InventorySink, progress: Progress, scheduler: Scheduler
    ) -> None:
        auth = {"token": self.token, "auth_type": "pat"} if self.token else {"profile": self.scope.profile}
        host = self.scope.host or os.environ.get("DATABRICKS_HOST")
        if sink.shard is not None:  # one workspace, one unit: another shard's, or a profile's host
            label = self.workspace_name or (host_of(host) if host else f"profile:{self.scope.profile}")
            if not sink.shard.owns(databricks_workspace_unit(label)):
                return
        _preflight(host, _budget(self.scope.http_timeout_seconds, sink.remaining()))
        config = _sdk_config(self.scope, self.clock, sink.remaining(), host=self.scope.host, **auth)
        if self.account_id and self.token and account.TYPE in types:
            acct = AccountClient(
                config=_sdk_config(
                    self.scope,
                    self.clock,
                    sink.remaining(),
                    host=self.scope.host,
                    account_id=self.account_id,
                    **auth,
                )
            )
            guard_read_only(acct.api_client, sink.check_cancelled, remaining=sink.remaining, meter=sink.meter)
            try:
                account.collect(acct, frozenset({account.TYPE}), sink, progress, [])
            except TRANSIENT_ERRORS as exc:
                sink.error(
                    collection_error(
                        PROVIDER,
                        "GET /api/2.0/accounts/{account_id}/workspaces",
                        exc,
                        classify_error,
                        account=self.account_id,
                        resource_type=account.TYPE,
                    )
                )
        client = WorkspaceClient(config=config)
        self.collect_workspace(client, types, sink, progress, scheduler, fatal=True, name=self.workspace_name)

    def collect_workspace(
        self,
        client: WorkspaceClient,
        types: frozenset[str],
        sink: InventorySink,
        progress: Progress,
        scheduler: Scheduler,
        *,
        fatal: bool = False,
        account_id: str | None = None,
        name: str | None = None,
    ) -> None:
        """Collect ``types`` from one workspace. ``fatal``: an unusable workspace (bad credentials,
        unreachable) raises CollectionSetupError instead of being recorded."""
        guard_read_only(client.api_client, sink.check_cancelled, remaining=sink.remaining, meter=sink.meter)
        host = name or host_of(client.config.host)
        sink.scope(workspace=host)
        try:
            me = client.current_user.me()
            sink.identity(
                Identity(provider=PROVIDER, account=account_id, workspace=host, principal=str(me.user_name))
            )
        except TRANSIENT_ERRORS as exc:
            unusable = not isinstance(exc, DatabricksError) or isinstance(exc, Unauthenticated)
            if unusable and fatal:
                raise CollectionSetupError(
                    f"Databricks workspace {host}: {error_code(exc)}: {error_message(exc)}"
                ) from None
            if unusable:
                sink.error(
                    collection_error(
                        PROVIDER,
                        "GET /api/2.0/preview/scim/v2/Me",
                        exc,
                        classify_error,
                        account=account_id,
                        workspace=host,
                    )
                )
                return
            # A 403 on /Me alone does not stop the scan: the caller identity is just unknown.
        ctx = WorkspaceContext(
            client=client,
            host=host,
            types=types,
            sink=sink,
            progress=progress,
            scheduler=scheduler,
            account=account_id,
        )
        families = [module for module, family_types in FAMILIES if types.intersection(family_types)]
        # Re-raises bugs (and ReadOnlyViolation): never swallowed.
        scheduler.map(lambda module: module.collect(ctx), families, inherit_unit=False)

    # ------------------------------------------------------------------ account scan

    def _collect_account(
        self, types: frozenset[str], sink: InventorySink, progress: Progress, scheduler: Scheduler
    ) -> None:
        acct = AccountClient(
            config=_sdk_config(self.scope, self.clock, sink.remaining(), profile=self.scope.account_profile)
        )
        if not acct.config.account_id:
            raise CollectionSetupError(
                f"Databricks account profile {self.scope.account_profile!r} has no account_id"
            )
        guard_read_only(acct.api_client, sink.check_cancelled, remaining=sink.remaining, meter=sink.meter)
        account_types = types
        account_unit = databricks_account_unit(str(acct.config.account_id))
        if sink.shard is not None and not sink.shard.owns(account_unit):
            account_types = types - {account.TYPE}  # the account's own types: another shard's
        try:
            workspaces = account.collect(acct, account_types, sink, progress, self.scope.workspaces)
        except TRANSIENT_ERRORS as exc:
            detail = "permission denied" if isinstance(exc, PermissionDenied) else error_code(exc)
            raise CollectionSetupError(
                f"Databricks account {acct.config.account_id}: cannot list workspaces ({detail}): "
                f"{error_message(exc)}"
            ) from None
        ws_types = types & WORKSPACE_TYPES
        if not ws_types or not workspaces:
            return
        shard = sink.shard

        def unit(ws: Any) -> str:
            return databricks_workspace_unit(account.workspace_host(acct, ws))

        if shard is not None:
            workspaces = [ws for ws in workspaces if shard.keeps(unit(ws))]
        factory = self.workspace_client_factory or (lambda a, ws: a.get_workspace_client(ws))

        def one(ws: Any) -> None:
            if shard is not None and not shard.takes(unit(ws)):
                return  # another process reads it (``--jobs``: claimed as its turn comes)
            try:
                client = factory(acct, ws)
            except CLIENT_ERRORS as exc:
                sink.error(
                    collection_error(
                        PROVIDER,
                        "workspace client",
                        exc,
                        classify_error,
                        account=acct.config.account_id,
                        workspace=str(ws.deployment_name),
                    )
                )
                return
            self.collect_workspace(
                client, ws_types, sink, progress, scheduler, fatal=False, account_id=acct.config.account_id
            )

        scheduler.map(one, workspaces, inherit_unit=False)
