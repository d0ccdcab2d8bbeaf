"""The AWS provider: sessions (profile, role, organisation), regions, and the concurrent scan.

Config fields and what they do:

- ``scope.aws.profile``: named profile of the AWS config files (else the default credential chain).
- ``scope.aws.role_arn`` (+ ``external_id``): assume this role first; the scan runs as that role.
- ``scope.aws.org_role`` (+ ``external_id``, ``accounts``): list the accounts of the Organization
  (from the management or delegated account) and assume ``org_role`` in each active account
  (``accounts`` limits the list). A failed assume-role is a CollectionError for that account.
- ``scope.aws.regions``: regions to read; default: the regions enabled for each account
  (ec2 DescribeRegions). Account-level types (IAM, S3 listing) are read once per account.
- ``scope.aws.job_lookback_days``: training/processing jobs created within these days, plus every
  job still in progress.
- ``scope.aws.metrics_days``: CloudWatch look-back for utilisation figures.
- ``scope.aws.max_workers``: bound of the (account x region x family) pool and of the per-item
  detail pool.

Endpoints come from botocore's own resolution, so ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` work exactly as they do for the AWS CLI.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, NoCredentialsError, NoRegionError, ProfileNotFound

from mlguard.collect.aws.engine import (
    CAUGHT,
    PROVIDER,
    Account,
    ApiStats,
    Engine,
    Guard,
    client_config,
    error_code,
    unit_key,
)
from mlguard.collect.aws.spec import SPECS, ResourceSpec, allowlist
from mlguard.collect.base import CallMeter, Collector, InventorySink, Progress, register
from mlguard.config import AwsScope, ScopeConfig
from mlguard.errors import CollectionSetupError, ConfigError
from mlguard.model import CollectionError, Identity

DEFAULT_REGION = "us-east-1"
_ENABLED = ("opt-in-not-required", "opted-in")


@register
class AwsCollector(Collector):
    """Reads the AWS resource types of the catalogue, read-only, concurrently, errors as data."""

    provider = PROVIDER

    def __init__(self, scope: ScopeConfig, *, max_attempts: int = 8, retry_mode: str = "adaptive") -> None:
        self.scope: AwsScope = scope.aws
        self.stats = ApiStats()
        self.guard = Guard(allowlist(), self.stats)
        self.config = client_config(max_attempts, retry_mode, self.scope.max_workers)

    @classmethod
    def resource_types(cls) -> frozenset[str]:
        from mlguard.collect.aws import families  # noqa: F401  (registers the specs)

        return frozenset(SPECS)

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
        """The session of the default chain or profile (guarded and counted)."""
        try:
            session = boto3.Session(profile_name=self.scope.profile)
        except ProfileNotFound as exc:
            raise ConfigError(f"AWS profile not found: {self.scope.profile}") from exc
        return self.guard.install(session)

    def _home_region(self, session: boto3.Session) -> str:
        return self.scope.regions[0] if self.scope.regions else session.region_name or DEFAULT_REGION

    def _assume(self, session: boto3.Session, role_arn: str, region: str) -> boto3.Session:
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": "mlguard-scan"}
        if self.scope.external_id:
            params["ExternalId"] = self.scope.external_id
        creds = session.client(
            "sts", region_name=region, config=self.guard.budgeted(self.config)
        ).assume_role(**params)["Credentials"]
        assumed = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=session.region_name,
        )
        return self.guard.install(assumed)

    def _account(self, session: boto3.Session, sink: InventorySink) -> Account:
        region = self._home_region(session)
        ident = session.client(
            "sts", region_name=region, config=self.guard.budgeted(self.config)
        ).get_caller_identity()
        arn = str(ident["Arn"])
        account = Account(
            id=str(ident["Account"]),
            partition=arn.split(":")[1] if arn.startswith("arn:") else "aws",
            session=session,
            home_region=region,
            config=self.config,
            budget=self.guard.budgeted,
        )
        sink.identity(Identity(provider=PROVIDER, account=account.id, principal=arn))
        return account

    def accounts(self, sink: InventorySink) -> list[Account]:
        """Every account in scope, with its session. Raises CollectionSetupError if none."""
        session = self.base_session()
        region = self._home_region(session)
        try:
            if self.scope.role_arn:
                session = self._assume(session, self.scope.role_arn, region)
            root = self._account(session, sink)
        except (NoCredentialsError, NoRegionError) as exc:
            raise CollectionSetupError(f"no usable AWS credentials: {exc}") from exc
        except CAUGHT as exc:
            code, message = error_code(exc)
            raise CollectionSetupError(f"cannot start the AWS scan ({code}): {message}") from exc
        if not self.scope.org_role:
            return [root]
        return self._org_accounts(root, sink)

    def _org_accounts(self, root: Account, sink: InventorySink) -> list[Account]:
        try:
            listed = [
                a
                for page in root.client("organizations", None).get_paginator("list_accounts").paginate()
                for a in page["Accounts"]
                if a.get("Status", "ACTIVE") == "ACTIVE"
            ]
        except CAUGHT as exc:
            code, message = error_code(exc)
            raise CollectionSetupError(
                f"cannot list the organization's accounts ({code}): {message}"
            ) from exc
        wanted = set(self.scope.accounts)
        out: list[Account] = []
        for entry in listed:
            acct_id = str(entry["Id"])
            if wanted and acct_id not in wanted:
                continue
            role = f"arn:{root.partition}:iam::{acct_id}:role/{self.scope.org_role}"
            try:
                out.append(self._account(self._assume(root.session, role, root.home_region), sink))
            except CAUGHT as exc:
                code, message = error_code(exc)
                sink.error(
                    CollectionError(
                        provider=PROVIDER,
                        account=acct_id,
                        operation="sts:AssumeRole",
                        code=code,
                        message=message,
                    )
                )
        if not out:
            raise CollectionSetupError("no account of the organization could be assumed")
        return out

    def regions(self, account: Account, sink: InventorySink) -> list[str]:
        if self.scope.regions:
            return list(self.scope.regions)
        try:
            resp = account.client("ec2", None).describe_regions(
                Filters=[{"Name": "opt-in-status", "Values": list(_ENABLED)}]
            )
            return sorted(str(r["RegionName"]) for r in resp["Regions"])
        except CAUGHT as exc:
            code, message = error_code(exc)
            sink.error(
                CollectionError(
                    provider=PROVIDER,
                    account=account.id,
                    operation="ec2:DescribeRegions",
                    code=code,
                    message=f"{message}; scanning only {account.home_region}",
                )
            )
            return [account.home_region]

    # ------------------------------------------------------------------ scan

    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        from mlguard.collect.aws import families  # noqa: F401  (registers the specs)

        wanted = [SPECS[t] for t in sorted(types) if t in SPECS]
        self.guard.before = sink.check_cancelled
        self.guard.remaining = sink.remaining
        self.stats.meter = sink.meter
        accounts = self.accounts(sink)
        workers = self.scope.max_workers
        with (
            ThreadPoolExecutor(workers, thread_name_prefix="mlguard-aws") as pool,
            ThreadPoolExecutor(workers, thread_name_prefix="mlguard-aws-detail") as details,
        ):
            engine = Engine(sink, self.stats, details, self.scope.job_lookback_days, self.scope.metrics_days)
            futures: list[Future[None]] = []
            for account in accounts:
                account.regions = self.regions(account, sink)
                sink.scope(account=account.id)
                for name in account.regions:
                    sink.scope(account=account.id, region=name)
                for (region, family), specs in _tasks(account, wanted).items():
                    unit = _FamilyUnit(progress, (account, region, family), len(specs), sink.meter)
                    futures.extend(
                        pool.submit(_run_spec, engine, unit, account, region, spec) for spec in specs
                    )
            for f in futures:
                f.result()


def _tasks(account: Account, specs: list[ResourceSpec]) -> dict[tuple[str | None, str], list[ResourceSpec]]:
    tasks: dict[tuple[str | None, str], list[ResourceSpec]] = defaultdict(list)
    for spec in specs:
        regions: list[str | None] = [None] if spec.scope == "account" else list(account.regions)
        for region in regions:
            tasks[(region, spec.family)].append(spec)
    return tasks


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
            if self.remaining == 0:
                calls = self.meter.counts(self.key) if self.meter is not None else None
                self.progress.finish(self.key, self.resources, self.errors, calls)


def _run_spec(
    engine: Engine, unit: _FamilyUnit, account: Account, region: str | None, spec: ResourceSpec
) -> None:
    unit.begin()
    n = e = 0
    try:
        n, e = engine.collect(account, region, spec)
    finally:
        unit.done(n, e)
