"""Scanning many accounts from one machine: shared models, caller credentials for the management
account, concurrent bounded assume-role, one in-flight budget, retry settings from the config."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from mlguard.collect.aws import AwsCollector
from mlguard.collect.aws.engine import client_config
from mlguard.collect.base import InventorySink
from mlguard.config import AwsScope, ScopeConfig
from tests.collect.aws.conftest import ACCOUNT, REGION, NullProgress
from tests.collect.aws.test_engine import failing
from tests.collect.test_ratelimit import FakeClock

pytestmark = pytest.mark.usefixtures("aws")

ROLE = "MlguardAudit"


def organisation(members: int) -> list[str]:
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    ids = []
    for i in range(members):
        status = org.create_account(AccountName=f"ml-{i}", Email=f"ml-{i}@example.com")
        ids.append(str(status["CreateAccountStatus"]["AccountId"]))
    return ids


def org_collector(**scope: Any) -> AwsCollector:
    fields: dict[str, Any] = {"regions": [REGION], "max_workers": 4, "org_role": ROLE, **scope}
    return AwsCollector(ScopeConfig(aws=AwsScope(**fields)), max_attempts=1)


def scan(
    collector: AwsCollector, types: set[str], hooks: dict[str, Callable[..., Any]] | None = None
) -> tuple[InventorySink, list[boto3.Session]]:
    """Collect ``types``; ``hooks`` go on every session (the caller's and each assumed account's).
    Returns the sink and every session the scan made."""
    sessions: list[boto3.Session] = []
    base, member = collector.base_session, collector.session_with

    def hooked(session: boto3.Session) -> boto3.Session:
        for event, hook in (hooks or {}).items():
            session.events.register(event, hook)
        sessions.append(session)
        return session

    collector.base_session = lambda: hooked(base())  # type: ignore[method-assign]
    collector.session_with = lambda *a: hooked(member(*a))  # type: ignore[method-assign]
    sink = InventorySink()
    collector.collect(frozenset(types), sink, NullProgress())
    return sink, sessions


def test_every_account_shares_one_loader_of_service_models() -> None:
    members = organisation(2)
    boto3.client("kms").create_key()
    sink, sessions = scan(org_collector(), {"aws.kms.key", "aws.iam.role"})
    assert {c.account for c in sink.coverage} == {ACCOUNT, *members}
    assert len(sessions) == 3  # the caller's, and one per assumed member account
    loaders = {id(s._session.get_component("data_loader")) for s in sessions}
    assert len(loaders) == 1  # each service model is parsed once for the whole organisation


def test_management_account_is_scanned_with_the_callers_own_credentials() -> None:
    (member,) = organisation(1)
    boto3.client("kms").create_key()
    collector = org_collector()
    sink, _ = scan(collector, {"aws.kms.key"})
    principals = {i.account: i.principal for i in sink.identities}
    assert set(principals) == {ACCOUNT, member}
    assert ":assumed-role/" not in principals[ACCOUNT]  # no role assumed into the caller's account
    assert f":{member}:assumed-role/{ROLE}/" in principals[member]
    assert collector.stats.by_operation["sts:AssumeRole"] == 1
    assert [r.account for r in sink.resources if r.type == "aws.kms.key"] == [ACCOUNT]
    assert {c.account for c in sink.coverage} == {ACCOUNT, member}


def test_org_skip_management_leaves_the_management_account_out() -> None:
    (member,) = organisation(1)
    collector = org_collector(org_skip_management=True)
    sink, _ = scan(collector, {"aws.kms.key"})
    assert {c.account for c in sink.coverage} == {member}
    assert collector.stats.by_operation["organizations:DescribeOrganization"] == 1


def test_denied_assume_role_is_that_accounts_error_and_the_others_are_collected() -> None:
    denied, allowed = organisation(2)
    deny = failing("AccessDenied", 403)

    def hook(params: dict[str, Any], **kw: Any) -> Any:
        return deny(**kw) if denied in str(params.get("body")) else None

    sink, _ = scan(org_collector(), {"aws.kms.key", "aws.iam.role"}, {"before-call.sts.AssumeRole": hook})
    (error,) = sink.errors
    assert error.model_dump(include={"account", "region", "operation", "code"}) == {
        "account": denied,
        "region": REGION,
        "operation": "sts:AssumeRole",
        "code": "AccessDenied",
    }
    assert "nothing of this account was read" in error.message
    assert {c.account for c in sink.coverage} == {ACCOUNT, allowed}
    assert denied not in sink.accounts


def test_accounts_are_assumed_concurrently_within_a_bound() -> None:
    organisation(6)
    lock = threading.Lock()
    now = [0]
    peak = [0]

    def enter(**_: Any) -> None:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.2)  # widen the window in which concurrent assumes overlap

    def leave(**_: Any) -> None:
        with lock:
            now[0] -= 1

    collector = org_collector(max_workers=4, max_in_flight=8)
    hooks = {"before-call.sts.AssumeRole": enter, "after-call.sts.AssumeRole": leave}
    sink, _ = scan(collector, {"aws.kms.key"}, hooks)
    assert collector.stats.by_operation["sts:AssumeRole"] == 6
    assert len({c.account for c in sink.coverage}) == 7
    assert 2 <= peak[0] <= collector.accounts_in_flight < 6


class InFlight:
    """before-call/after-call hooks that count the calls in flight over every session of a scan."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0

    def enter(self, **_: Any) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.01)  # widen the window in which calls overlap

    def leave(self, **_: Any) -> None:
        with self.lock:
            self.now -= 1

    def hooks(self) -> dict[str, Callable[..., Any]]:
        return {"before-call": self.enter, "after-call": self.leave}


def test_calls_in_flight_never_exceed_the_budget() -> None:
    s3 = boto3.client("s3")
    for i in range(6):
        s3.create_bucket(Bucket=f"bkt-{i}")
    count = InFlight()
    collector = AwsCollector(ScopeConfig(aws=AwsScope(regions=[REGION], max_workers=2)), max_attempts=1)
    sink, _ = scan(collector, {"aws.s3.bucket", "aws.iam.role", "aws.kms.key"}, count.hooks())
    assert len([r for r in sink.resources if r.type == "aws.s3.bucket"]) == 6
    assert 1 <= count.peak <= 2


def test_one_budget_bounds_the_calls_of_all_accounts() -> None:
    organisation(3)
    count = InFlight()
    collector = org_collector(max_workers=2, max_in_flight=3)
    sink, _ = scan(collector, {"aws.iam.role", "aws.kms.key", "aws.sagemaker.endpoint"}, count.hooks())
    assert len({c.account for c in sink.coverage}) == 4
    assert 1 <= count.peak <= 3
    assert collector.gate.peak <= 3


def test_retry_settings_come_from_the_config_and_reach_botocore() -> None:
    default = AwsCollector(ScopeConfig())
    assert default.config.retries == {"mode": "standard", "total_max_attempts": 8}
    chosen = AwsCollector(ScopeConfig(aws=AwsScope(retry_mode="adaptive", max_attempts=3)))
    assert chosen.config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    client = chosen.base_session().client("kms", region_name=REGION, config=chosen.config)
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert client_config(2, "standard", 4).retries == {"mode": "standard", "total_max_attempts": 2}
    with pytest.raises(ValueError, match="retry_mode"):
        AwsScope(retry_mode="legacy")  # type: ignore[arg-type]


def test_retry_and_org_flags_reach_the_scope(tmp_path: Any) -> None:
    from mlguard.cli import cli
    from mlguard.cli.options import ScopeOptions

    seen: list[AwsScope] = []
    real = ScopeOptions.apply

    def spy(self: ScopeOptions, loaded: Any) -> None:
        real(self, loaded)
        seen.append(loaded.config.scope.aws.model_copy())
        raise SystemExit(0)

    args = ["--retry-mode", "adaptive", "--max-attempts", "4", "--org-skip-management"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ScopeOptions, "apply", spy)
        result = CliRunner().invoke(cli, ["scan", *args, "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (aws,) = seen
    assert (aws.retry_mode, aws.max_attempts, aws.org_skip_management) == ("adaptive", 4, True)


def test_assume_role_waits_its_turn_at_the_caller_s_sts_rate_limit() -> None:
    ids = organisation(2)
    collector = org_collector(rate_limit=1)
    clock = FakeClock()
    collector.limits.clock = clock
    sink = InventorySink()
    root = collector.root(sink)
    for member in ids:
        collector.assume(root, f"arn:aws:iam::{member}:role/{ROLE}", sink)
    sts = collector.limits.bucket((root.id, REGION, "sts"))
    assert sts.waited == pytest.approx(1.0)  # the second AssumeRole waited a second behind the first
