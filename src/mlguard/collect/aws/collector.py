"""The AWS provider: sessions (profile, role, organisation), regions, and the concurrent scan.

Config fields and what they do:

- ``scope.aws.profile``: named profile of the AWS config files (else the default credential chain).
- ``scope.aws.role_arn`` (+ ``external_id``): assume this role first; the scan runs as that role.
- ``scope.aws.org_role`` (+ ``external_id``, ``accounts``): list the accounts of the Organization
  (from the management or delegated account) and assume ``org_role`` in each active account
  (``accounts`` limits the list); the caller's own account is scanned with the caller's own
  credentials (that role rarely exists in the management account). Roles are assumed a few
  accounts at a time while others are read, with credentials refreshed before they expire. A
  failed assume-role is a CollectionError for that account (account, region, operation) only.
- ``scope.aws.org_skip_management``: leave the management account out of an org scan.
- ``scope.aws.regions``: regions to read; default: the regions enabled for each account
  (ec2 DescribeRegions). Account-level types (IAM, S3 listing) are read once per account.
- ``scope.aws.job_lookback_days``: training/processing jobs created within these days, plus every
  job still in progress.
- ``scope.aws.metrics_days``: CloudWatch look-back for utilisation figures.
- ``scope.aws.max_in_flight``: the scan's one budget of API calls in flight, over all accounts,
  regions, types and per-item details; ``scope.aws.max_workers``: the same within one account
  (AWS rate limits are per account).
- ``scope.aws.retry_mode`` / ``max_attempts`` (``--retry-mode``, ``--max-attempts``): botocore's
  ``standard`` retries (with the SDK's retry quota) by default; ``adaptive`` adds a client-side
  rate limiter, which lives in each client: per (account, region, service).
- ``scope.aws.rate_limit``: every endpoint (account, region, service) has its own token bucket
  (``mlguard.collect.ratelimit``), unlimited by default or starting at this many calls per second;
  repeated throttling answers halve that endpoint's rate and it recovers gradually, so a throttled
  service slows neither the other services nor the other accounts.

Every account's session shares one botocore loader (the parsed service models), and every client
its service's model and client class (``clients.share``); clients are made when first needed and
dropped when their region's work is done, so memory does not grow with the number of accounts
beyond the resources read. Their HTTPS goes through the scan's pools (``connections``): the CA bundle is
loaded once per process, and the clients of one endpoint with the same settings (verify, proxies,
client certificate) share its connections, whatever their account; they are closed after the scan.

Endpoints come from botocore's own resolution, so ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` work exactly as they do for the AWS CLI.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials, RefreshableCredentials
from botocore.exceptions import BotoCoreError, NoCredentialsError, NoRegionError, ProfileNotFound

from mlguard.collect.aws import clients, connections
from mlguard.collect.aws.engine import (
    CAUGHT,
    PROVIDER,
    Account,
    ApiStats,
    Breaker,
    Caller,
    Engine,
    Gate,
    Guard,
    client_config,
    error_code,
    unit_key,
)
from mlguard.collect.aws.spec import SPECS, ResourceSpec, allowlist
from mlguard.collect.base import CallMeter, CollectionCancelled, Collector, InventorySink, Progress, register
from mlguard.collect.errors import collection_error
from mlguard.collect.ratelimit import RateLimits
from mlguard.collect.shard import aws_unit
from mlguard.config import AwsScope, ScopeConfig
from mlguard.errors import CollectionSetupError, ConfigError
from mlguard.gc_pause import scan_gc
from mlguard.model import Identity

DEFAULT_REGION = "us-east-1"
_ENABLED = ("opt-in-not-required", "opted-in")


@register
class AwsCollector(Collector):
    """Reads the AWS resource types of the catalogue, read-only, concurrently, errors as data."""

    provider = PROVIDER

    def __init__(
        self, scope: ScopeConfig, *, max_attempts: int | None = None, retry_mode: str | None = None
    ) -> None:
        self.scope: AwsScope = scope.aws
        self.stats = ApiStats()
        self.guard = Guard(allowlist(), self.stats)
        self.config = client_config(
            max_attempts or self.scope.max_attempts,
            retry_mode or self.scope.retry_mode,
            self.scope.max_workers,
        )
        self.gate = Gate(self.scope.max_in_flight)
        self.breaker = Breaker()  # per endpoint: a dead host fails fast (see engine.Breaker)
        self.limits = RateLimits(self.scope.rate_limit)  # per endpoint, halved on throttling
        self.loader: Any = None  # botocore's data loader, shared by the sessions of every account
        self.pools = connections.Pools(self.scope.max_in_flight)  # every client's, closed after a scan

    @property
    def accounts_in_flight(self) -> int:
        """How many accounts are worked on at once (assume-role included): enough to keep the
        in-flight budget busy, few enough that memory does not follow the organisation's size."""
        return 1 + -(-self.scope.max_in_flight // self.scope.max_workers)

    @classmethod
    def resource_types(cls) -> frozenset[str]:
        from mlguard.collect.aws import families  # noqa: F401  (registers the specs)

        return frozenset(SPECS)

    @classmethod
    def prepare(cls, types: frozenset[str]) -> None:
        """Parse the models of the services ``types`` call (see :func:`clients.preload`)."""
        clients.preload(s for t in types if t in SPECS for s, _ in SPECS[t].operations())

    @classmethod
    def detect(cls, scope: ScopeConfig) -> bool:
        a = scope.aws
        if "aws" in scope.providers or a.profile or a.role_arn or a.org_role or a.regions or a.accounts:
            return True
        try:
            return boto3.Session().get_credentials() is not None
        except (ProfileNotFound, BotoCoreError):
            return False

    # ------------------------------------------------------------------ sessions

    def base_session(self) -> boto3.Session:
        """The session of the default chain or profile (guarded and counted). Its botocore loader
        (the parsed service models) becomes the one every other account's session uses."""
        core = connections.Session(self.pools, profile=self.scope.profile, event_hooks=clients.LeanEmitter())
        try:
            session = boto3.Session(botocore_session=core)
        except ProfileNotFound as exc:
            raise ConfigError(f"AWS profile not found: {self.scope.profile}") from exc
        if self.loader is None:  # the process's: models parsed once (before a --jobs fork, see prepare)
            self.loader = clients.process_loader(core)  # and service models, client classes shared
        core.register_component("data_loader", self.loader)
        return self.guard.install(session)

    def session_with(self, credentials: Credentials, region: str | None) -> boto3.Session:
        """A guarded session holding ``credentials`` (an assumed role's, refreshed before they
        expire) that shares the base session's loader: no account loads the models again."""
        core = connections.Session(self.pools, profile=self.scope.profile, event_hooks=clients.LeanEmitter())
        core.register_component("credential_provider", CredentialResolver([_Given(credentials)]))
        session = boto3.Session(botocore_session=core, region_name=region)
        if self.loader is not None:  # after boto3 set up its own loader, which only resources use
            core.register_component("data_loader", self.loader)
        return self.guard.install(session)

    def read_proxies(self) -> None:
        """Read the environment's proxies once for the scan's clients (``clients.environment_proxies``;
        when they depend on the endpoint, botocore reads them for each client)."""
        proxies = clients.environment_proxies()
        self.config = self.config.merge(Config(proxies=proxies))

    def _home_region(self, session: boto3.Session) -> str:
        return self.scope.regions[0] if self.scope.regions else session.region_name or DEFAULT_REGION

    def _account_of(self, session: boto3.Session, account_id: str, partition: str, region: str) -> Account:
        return Account(
            id=account_id,
            partition=partition,
            session=session,
            home_region=region,
            config=self.config,
            budget=self.guard.budgeted,
            gates=(Gate(self.scope.max_workers), self.gate),
            breaker=self.breaker,
            limits=self.limits,
        )

    def assume(self, via: Account, role_arn: str, sink: InventorySink) -> Account:
        """``role_arn`` assumed through ``via``'s credentials; the credentials are refreshed with
        the same call before they expire. The principal comes from the AssumeRole answer."""
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": "mlguard-scan"}
        if self.scope.external_id:
            params["ExternalId"] = self.scope.external_id
        # Every AssumeRole (refreshes too) waits its turn at the rate limit of ``via``'s STS
        # endpoint, whose throttles it feeds: many accounts assumed at once slow down together.
        caller = Caller(via, None)
        answer: dict[str, Any] = {}
        first = True

        def fetch() -> dict[str, Any]:
            # A refresh runs inside another call's signing, whose thread holds budget slots: it
            # takes none (it could wait for its own), only its turn at the rate limit.
            if first:
                resp = caller.call("sts", "assume_role", **params)
            else:
                resp = caller.call_unslotted("sts", "assume_role", **params)
            answer.update(resp)
            c = resp["Credentials"]
            expiry = c["Expiration"]
            return {
                "access_key": c["AccessKeyId"],
                "secret_key": c["SecretAccessKey"],
                "token": c["SessionToken"],
                "expiry_time": expiry.isoformat() if isinstance(expiry, datetime) else str(expiry),
            }

        metadata = fetch()
        first = False
        creds = RefreshableCredentials.create_from_metadata(
            metadata, refresh_using=fetch, method="assume-role"
        )
        arn = str(answer["AssumedRoleUser"]["Arn"])
        parts = arn.split(":")
        account = self._account_of(
            self.session_with(creds, via.session.region_name),
            parts[4] if len(parts) > 4 and parts[4] else role_arn.split(":")[4],
            parts[1] if arn.startswith("arn:") else via.partition,
            via.home_region,
        )
        sink.identity(Identity(provider=PROVIDER, account=account.id, principal=arn))
        return account

    def _caller(self, session: boto3.Session, sink: InventorySink) -> Account:
        region = self._home_region(session)
        ident = Caller(self._account_of(session, "", "aws", region), region).call(
            "sts", "get_caller_identity"
        )
        arn = str(ident["Arn"])
        account = self._account_of(
            session, str(ident["Account"]), arn.split(":")[1] if arn.startswith("arn:") else "aws", region
        )
        sink.identity(Identity(provider=PROVIDER, account=account.id, principal=arn))
        return account

    def root(self, sink: InventorySink) -> Account:
        """The account the scan starts from (the caller's, or ``role_arn``'s). Raises
        CollectionSetupError if it cannot be reached."""
        session = self.base_session()
        try:
            if self.scope.role_arn:
                arn = self.scope.role_arn.split(":")
                partition = arn[1] if len(arn) > 1 and arn[1] else "aws"
                base = self._account_of(session, "", partition, self._home_region(session))
                root = self.assume(base, self.scope.role_arn, sink)
            else:
                root = self._caller(session, sink)
        except (NoCredentialsError, NoRegionError) as exc:
            raise CollectionSetupError(f"no usable AWS credentials: {exc}") from exc
        except CAUGHT as exc:
            code, message = error_code(exc)
            raise CollectionSetupError(f"cannot start the AWS scan ({code}): {message}") from exc
        return root

    def org_accounts(self, root: Account) -> list[str]:
        """The ids of the organization's active accounts in scope (``accounts``, and without the
        management account if ``org_skip_management``)."""
        caller = Caller(root, None)
        try:
            listed = [
                str(a["Id"])
                for page in caller.pages("organizations", "list_accounts")
                for a in page["Accounts"]
                if a.get("Status", "ACTIVE") == "ACTIVE"
            ]
            management = (
                str(caller.call("organizations", "describe_organization")["Organization"]["MasterAccountId"])
                if self.scope.org_skip_management
                else None
            )
        except CAUGHT as exc:
            code, message = error_code(exc)
            raise CollectionSetupError(
                f"cannot list the organization's accounts ({code}): {message}"
            ) from exc
        wanted = set(self.scope.accounts)
        return [a for a in listed if (not wanted or a in wanted) and a != management]

    def regions(self, account: Account, sink: InventorySink) -> list[str]:
        if self.scope.regions:
            return list(self.scope.regions)
        try:
            resp = Caller(account, None).call(
                "ec2", "describe_regions", Filters=[{"Name": "opt-in-status", "Values": list(_ENABLED)}]
            )
            return sorted(str(r["RegionName"]) for r in resp["Regions"])
        except CAUGHT as exc:
            sink.error(
                collection_error(
                    PROVIDER,
                    "ec2:DescribeRegions",
                    exc,
                    error_code,
                    account=account.id,
                    note=f"; scanning only {account.home_region}",
                )
            )
            return [account.home_region]

    # ------------------------------------------------------------------ scan

    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        """Accounts are worked through a few at a time (assume-role, regions, then their types):
        the budget of in-flight calls is shared by all, and an account's clients and session are
        dropped when it is done, so memory does not grow with the number of accounts."""
        with scan_gc():
            try:
                self._collect(types, sink, progress)
            finally:
                self.pools.close()

    def _collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        from mlguard.collect.aws import families  # noqa: F401  (registers the specs)

        wanted = [SPECS[t] for t in sorted(types) if t in SPECS]
        self.guard.before = sink.check_cancelled
        self.guard.remaining = sink.remaining
        self.limits.check = sink.check_cancelled
        self.stats.meter = sink.meter
        self.read_proxies()
        root = self.root(sink)
        workers = self.scope.max_in_flight
        plan: list[str | None] = [None]  # None: the root account, with the caller's own credentials
        if self.scope.org_role:
            plan = [None if a == root.id else a for a in self.org_accounts(root)]
        scanned: list[str] = []
        with (
            ThreadPoolExecutor(
                max(1, min(len(plan), self.accounts_in_flight * _sharers(sink))), "mlguard-aws-account"
            ) as accounts,
            ThreadPoolExecutor(workers, thread_name_prefix="mlguard-aws") as pool,
            ThreadPoolExecutor(workers, thread_name_prefix="mlguard-aws-detail") as details,
        ):
            engine = Engine(
                sink,
                self.stats,
                details,
                self.scope.job_lookback_days,
                self.scope.metrics_days,
                helpers=self.scope.max_workers,
            )
            scan = _Scan(self, engine, pool, wanted, sink, progress)
            futures = [accounts.submit(scan.account, root, member) for member in plan]
            for f in futures:
                done = f.result()
                if done is not None:
                    scanned.append(done)
        if not scanned:
            raise CollectionSetupError("no account of the organization could be assumed")


def _sharers(sink: InventorySink) -> int:
    """How many processes share each account's work: with ``--jobs N`` (units claimed, see
    :class:`~mlguard.collect.shard.Shard`) each process reads about 1/N of every account, so it
    works on N times the accounts at once for the same work, and memory, in flight; else 1."""
    shard = sink.shard
    return shard.count if shard is not None and shard.claims is not None else 1


class _Given(CredentialProvider):
    """A credential provider that hands out credentials obtained by the collector."""

    METHOD = "assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self.credentials = credentials

    def load(self) -> Credentials:
        return self.credentials


class _Scan:
    """The work of one account: assume its role, find its regions, read every type there."""

    def __init__(
        self,
        collector: AwsCollector,
        engine: Engine,
        pool: ThreadPoolExecutor,
        wanted: list[ResourceSpec],
        sink: InventorySink,
        progress: Progress,
    ) -> None:
        self.collector = collector
        self.engine = engine
        self.pool = pool
        self.wanted = wanted
        self.sink = sink
        self.progress = progress
        self.backlog = _Backlog()  # --jobs: when this process claims its next unit

    def account(self, root: Account, member: str | None) -> str | None:
        """Scan ``member`` (None: ``root`` itself); returns its id, or None if it was not reached."""
        sink = self.sink
        shard = sink.shard
        fixed = self.collector.scope.regions
        if shard is not None and fixed:  # the units are known before assuming: skip unneeded roles
            member_id = member or root.id
            keys = [aws_unit(member_id, None)] + [aws_unit(member_id, r) for r in fixed]
            if not [k for k in keys if shard.keeps(k)]:
                return member_id
        if member is None:
            account = root
        else:
            role = f"arn:{root.partition}:iam::{member}:role/{self.collector.scope.org_role}"
            try:
                account = self.collector.assume(root, role, sink)
            except CAUGHT as exc:
                sink.error(
                    collection_error(
                        PROVIDER,
                        "sts:AssumeRole",
                        exc,
                        error_code,
                        account=member,
                        region=root.home_region,
                        note=" (nothing of this account was read)",
                    )
                )
                return None
        account.regions = self.collector.regions(account, sink)
        sink.scope(account=account.id)
        for name in account.regions:
            sink.scope(account=account.id, region=name)
        # Each region's clients are dropped as soon as the last of its types is read.
        pending: Counter[str] = Counter()
        lock = threading.Lock()

        def release(region: str) -> Callable[[Future[None]], None]:
            def done(_: Future[None]) -> None:
                with lock:
                    pending[region] -= 1
                    last = pending[region] == 0
                if last:
                    account.release(region)

            return done

        submitted: list[tuple[Future[None], str]] = []
        tasks = _tasks(account, self.wanted)
        if shard is not None:  # only this shard's units: (account, region) and the account's global types
            kept = {r for r in [None, *account.regions] if shard.keeps(aws_unit(account.id, r))}
            for r in kept - {r for r, _ in tasks}:
                shard.owns(aws_unit(account.id, r))  # nothing to read there: decided now
            tasks = {(r, f): specs for (r, f), specs in tasks.items() if r in kept}
        claims = shard if shard is not None and shard.claims is not None else None
        for region, families in _by_region(tasks).items():
            queued: list[tuple[_FamilyUnit, ResourceSpec]] = []
            with self.backlog.turn(sink) if claims is not None else nullcontext(True) as ready:
                # --jobs: claimed when this process has no spec waiting (see _Backlog)
                if claims is not None and not (ready and claims.takes(aws_unit(account.id, region))):
                    continue  # another process reads this unit (or the scan's time is up)
                for family, specs in families:
                    unit = _FamilyUnit(self.progress, (account, region, family), len(specs), self.sink.meter)
                    queued += [(unit, spec) for spec in specs]
                backlog = self.backlog if claims is not None else None
                for unit, spec in queued:
                    pending[region or account.home_region] += 1
                    if backlog is not None:
                        backlog.queued(1)
                    try:
                        future = self.pool.submit(
                            _run_spec, self.engine, unit, account, region, spec, backlog
                        )
                    except BaseException:  # (the scan is stopping) never queued: waits for nothing
                        if backlog is not None:
                            backlog.started()
                        raise
                    submitted.append((future, region or account.home_region))
        for future, key in submitted:
            future.add_done_callback(release(key))
        for future, _ in submitted:
            future.result()
        return account.id


def _tasks(account: Account, specs: list[ResourceSpec]) -> dict[tuple[str | None, str], list[ResourceSpec]]:
    """The specs to read per (region, family), the longest chains of calls first: the types with
    the most operations (list, details, enrichments) start first, so the last to finish are short."""
    tasks: dict[tuple[str | None, str], list[ResourceSpec]] = defaultdict(list)
    for spec in sorted(specs, key=lambda s: (-len(s.operations()), s.type)):
        regions: list[str | None] = [None] if spec.scope == "account" else list(account.regions)
        for region in regions:
            tasks[(region, spec.family)].append(spec)
    return tasks


def _by_region(
    tasks: dict[tuple[str | None, str], list[ResourceSpec]],
) -> dict[str | None, list[tuple[str, list[ResourceSpec]]]]:
    """The tasks grouped by unit (region; None: the account's global types), in their order."""
    units: dict[str | None, list[tuple[str, list[ResourceSpec]]]] = defaultdict(list)
    for (region, family), specs in tasks.items():
        units[region].append((family, specs))
    return units


class _FamilyUnit:
    """One (account, region, family) unit of the progress display; its types run concurrently."""

    def __init__(
        self,
        progress: Progress,
        where: tuple[Account, str | None, str],
        remaining: int,
        meter: CallMeter | None = None,
    ) -> None:
        account, region, family = where
        self.key = unit_key(account.id, region, family)
        self.meter = meter
        self.description = f"AWS {account.id} {region or 'global'} {family}"
        self.progress = progress
        self.remaining = remaining
        self.started = False
        self.resources = 0
        self.errors = 0
        self._lock = threading.Lock()

    def begin(self) -> None:
        with self._lock:
            if not self.started:
                self.started = True
                self.progress.start(self.key, self.description)

    def done(self, resources: int, errors: int) -> None:
        with self._lock:
            self.resources += resources
            self.errors += errors
            self.remaining -= 1
            if self.remaining == 0 and self.started:
                calls = self.meter.counts(self.key) if self.meter is not None else None
                self.progress.finish(self.key, self.resources, self.errors, calls)


class _Backlog:
    """The specs this process has queued and not yet started, for ``--jobs``: a process claims an
    (account, region) unit only when it has none waiting, one unit at a time (:meth:`turn`). Every
    process walks the same units, so a busier process (more work in flight, or larger units) claims
    fewer, and the processes finish together; claiming each unit as its first type started (the
    earlier way) let the first process to start claim most units within its first round trips,
    since every account's work was queued at once."""

    def __init__(self) -> None:
        self._waiting = 0
        self._turn = False
        self._cond = threading.Condition()

    @contextmanager
    def turn(self, sink: InventorySink) -> Iterator[bool]:
        """Wait until no spec waits and no other thread is claiming; yields False (nothing may be
        claimed) when the scan's time is up first. Specs queued inside the turn (:meth:`queued`)
        are counted before the next thread's turn."""
        mine = False
        with self._cond:
            while (self._waiting or self._turn) and _running(sink):
                self._cond.wait(0.5)
            if not (self._waiting or self._turn):
                self._turn = mine = True
        try:
            yield mine and _running(sink)
        finally:
            if mine:
                with self._cond:
                    self._turn = False
                    self._cond.notify_all()

    def queued(self, count: int) -> None:
        with self._cond:
            self._waiting += count

    def started(self) -> None:
        """One queued type no longer waits: it started (or could not be queued)."""
        with self._cond:
            self._waiting -= 1
            if not self._waiting:
                self._cond.notify_all()


def _running(sink: InventorySink) -> bool:
    try:
        sink.check_cancelled()
    except CollectionCancelled:
        return False
    return True


def _run_spec(
    engine: Engine,
    unit: _FamilyUnit,
    account: Account,
    region: str | None,
    spec: ResourceSpec,
    backlog: _Backlog | None = None,
) -> None:
    try:
        unit.begin()
    finally:  # after its unit began (a claim that follows sees it started), and whatever happened
        if backlog is not None:
            backlog.started()
    n = e = 0
    try:
        n, e = engine.collect(account, region, spec)
    finally:
        unit.done(n, e)
