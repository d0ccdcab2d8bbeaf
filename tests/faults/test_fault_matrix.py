"""The fault matrix: each fault, injected on one service (AWS, through a proxy in front of the moto
server) or one route (Databricks, in front of the fake workspace), must make exactly the types that
service feeds ERROR, leave everything else as it was, keep error messages to one line (never an
HTML page), and end within the run's --timeout when the fault never clears.

Faults: denied, throttled, 5xx, an HTML error page (a proxy's 502), a 200 HTML page (a login
portal), a reset connection, a frozen answer, a killed server (nobody listening)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from moto.server import ThreadedMotoServer

from mlguard.collect.aws import AwsCollector
from mlguard.collect.base import Collector, NullProgress
from mlguard.collect.databricks.provider import DatabricksCollector
from mlguard.config import Config, ScopeConfig
from mlguard.demo import moto_ext
from mlguard.demo.databricks_fake import FakeWorkspaceServer, demo_state
from mlguard.model import Inventory
from mlguard.pipeline import Collected, LoadedConfig, collect
from tests.collect.aws.estate import seed
from tests.support.faults import FaultProxy, offline_aws_env

# One type per AWS protocol: JSON, REST-XML, EC2 query, REST-JSON.
AWS_TYPES = {
    "sagemaker": "aws.sagemaker.notebook_instance",
    "s3": "aws.s3.bucket",
    "ec2": "aws.ec2.instance",
    "lambda": "aws.lambda.function",
}
DBX_TYPES = {
    "GET /api/2.1/clusters/list": "databricks.cluster",
    "GET /api/2.2/jobs/list": "databricks.job",
    "GET /api/2.0/sql/warehouses": "databricks.sql_warehouse",
}
QUICK_FAULTS = ("deny", "5xx", "html", "malformed", "reset")
BLOCKING_FAULTS = ("throttle", "freeze")  # never clear: the run's --timeout ends them
TIMEOUT = 4.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Estate:
    proxy: FaultProxy
    baseline: Inventory


def _aws_run(
    proxy_url: str,
    monkeypatch: pytest.MonkeyPatch,
    timeout: float | None,
    attempts: int,
    regions: tuple[str, ...] = ("us-east-1",),
) -> Collected:
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy_url)
    config = Config()
    config.scope.aws.regions = list(regions)
    config.scope.aws.max_workers = 4

    def factory(scope: ScopeConfig) -> Collector:
        return AwsCollector(scope, max_attempts=attempts)

    return collect(
        LoadedConfig(config, None, None),
        ["aws"],
        set(AWS_TYPES.values()),
        NullProgress(),
        timeout=timeout,
        factories={"aws": factory},
    )


@pytest.fixture(scope="module")
def aws() -> Iterator[Estate]:
    mp = pytest.MonkeyPatch()
    offline_aws_env(mp)
    # The demo's moto extension (notebook platforms, which moto drops), so the baseline collection
    # is complete.
    moto_ext.apply()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        seed(f"http://127.0.0.1:{port}", scale=1)
        with FaultProxy(f"http://127.0.0.1:{port}") as proxy:
            baseline = _aws_run(proxy.url, mp, None, 2).inventory
            assert not baseline.errors
            assert {r.type for r in baseline.resources} == set(AWS_TYPES.values())
            yield Estate(proxy, baseline)
    finally:
        server.stop()
        mp.undo()


def _by_type(inv: Inventory) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in inv.resources:
        out.setdefault(r.type, set()).add(r.uid)
    return out


def _assert_one_line(inv: Inventory) -> None:
    for e in inv.errors:
        assert "\n" not in e.message, e
        assert "<html" not in e.message.lower(), e
        assert "<h1>" not in e.message.lower(), e
        assert len(e.message) <= 500, e


def _assert_only_affected(got: Inventory, baseline: Inventory, affected: str, all_types: set[str]) -> None:
    errored = {e.resource_type for e in got.errors}
    assert affected in errored, got.errors
    assert errored <= {affected}, got.errors  # no other type, no provider-wide error
    before, after = _by_type(baseline), _by_type(got)
    for t in all_types - {affected}:
        assert after.get(t) == before.get(t), t  # nothing else changed
    _assert_one_line(got)


# Every fault on the JSON-protocol service, and the faults whose parsing differs per protocol on
# the others: a representative matrix that stays well under a minute.
AWS_CASES = [("sagemaker", f) for f in QUICK_FAULTS] + [
    (service, fault) for service in ("s3", "ec2", "lambda") for fault in ("deny", "html", "malformed")
]


@pytest.mark.parametrize(("service", "fault"), AWS_CASES)
def test_aws_fault_is_error_for_its_service_only(
    aws: Estate, service: str, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = aws.proxy.inject(service, fault)
    try:
        got = _aws_run(aws.proxy.url, monkeypatch, 60, 2)
    finally:
        aws.proxy.clear()
    assert rule.hits > 0
    assert not got.timed_out
    _assert_only_affected(got.inventory, aws.baseline, AWS_TYPES[service], set(AWS_TYPES.values()))


@pytest.mark.parametrize("fault", BLOCKING_FAULTS)
def test_aws_fault_that_never_clears_ends_at_the_timeout(
    aws: Estate, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default retries (8 attempts, adaptive, capped by the budget) against a service that never
    recovers: the run ends by --timeout at the latest; what the other services answered is kept."""
    aws.proxy.inject("sagemaker", fault)
    try:
        got = _aws_run(aws.proxy.url, monkeypatch, TIMEOUT, 8)
    finally:
        aws.proxy.clear()
    assert "aws.sagemaker.notebook_instance" not in _by_type(got.inventory)
    if got.timed_out:
        assert any(e.code == "Timeout" for e in got.inventory.errors)
        _assert_one_line(got.inventory)
    else:  # the retries the budget allowed ran out before the deadline: the type alone is ERROR
        all_types = set(AWS_TYPES.values())
        _assert_only_affected(got.inventory, aws.baseline, "aws.sagemaker.notebook_instance", all_types)


def test_aws_killed_service_is_error_for_its_service_only(
    aws: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", f"http://127.0.0.1:{_free_port()}")  # nobody listens
    got = _aws_run(aws.proxy.url, monkeypatch, 60, 2)
    assert not got.timed_out
    _assert_only_affected(
        got.inventory, aws.baseline, "aws.sagemaker.notebook_instance", set(AWS_TYPES.values())
    )
    assert {e.code for e in got.inventory.errors} == {"ConnectionError"}


def test_aws_fault_in_one_region_is_error_for_that_scope_only(
    aws: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    regions = ("us-east-1", "eu-west-1")
    before = _aws_run(aws.proxy.url, monkeypatch, 60, 2, regions).inventory
    assert not before.errors
    aws.proxy.inject("eu-west-1/sagemaker", "deny")
    try:
        got = _aws_run(aws.proxy.url, monkeypatch, 60, 2, regions).inventory
    finally:
        aws.proxy.clear()
    scopes = {(e.region, e.resource_type) for e in got.errors}
    assert scopes == {("eu-west-1", "aws.sagemaker.notebook_instance")}
    assert {r.uid for r in got.resources} == {r.uid for r in before.resources}
    assert {e.code for e in got.errors} == {"AccessDeniedException"}


# --------------------------------------------------------------------------- Databricks


def _dbx_run(url: str, token: str, timeout: float | None, patience: int = 2) -> Collected:
    """A collection through the proxy; ``patience``: the HTTP and retry timeouts (seconds), short
    so that a faulted route gives up quickly."""
    config = Config()
    config.scope.databricks.host = url
    config.scope.databricks.http_timeout_seconds = patience
    config.scope.databricks.retry_timeout_seconds = patience

    def factory(scope: ScopeConfig) -> Collector:
        return DatabricksCollector(scope, token=token, workspace_name="faults.example")

    return collect(
        LoadedConfig(config, None, None),
        ["databricks"],
        set(DBX_TYPES.values()),
        NullProgress(),
        timeout=timeout,
        factories={"databricks": factory},
    )


@dataclass
class Workspace(Estate):
    token: str


@pytest.fixture(scope="module")
def dbx() -> Iterator[Workspace]:
    server = FakeWorkspaceServer(demo_state()).start()
    try:
        with FaultProxy(server.host) as proxy:
            # No fault: the default timeouts, so a loaded test machine's slow answer is not an error.
            baseline = _dbx_run(proxy.url, server.token, None, patience=60).inventory
            assert not baseline.errors
            assert {r.type for r in baseline.resources} == set(DBX_TYPES.values())
            yield Workspace(proxy, baseline, server.token)
    finally:
        server.stop()


@pytest.mark.parametrize("fault", QUICK_FAULTS + BLOCKING_FAULTS)
@pytest.mark.parametrize("route", ["GET /api/2.1/clusters/list"])
def test_databricks_fault_is_error_for_its_route_only(dbx: Workspace, route: str, fault: str) -> None:
    """The SDK's own retry budget (2 s here) ends a fault that never clears; --timeout bounds it too."""
    rule = dbx.proxy.inject(route, fault)
    try:
        got = _dbx_run(dbx.proxy.url, dbx.token, 60)
    finally:
        dbx.proxy.clear()
    assert rule.hits > 0
    assert not got.timed_out
    _assert_only_affected(got.inventory, dbx.baseline, DBX_TYPES[route], set(DBX_TYPES.values()))


# --------------------------------------------------------------------------- error messages


def test_aws_html_page_becomes_its_heading_and_status(aws: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.proxy.inject("sagemaker", "html")
    try:
        got = _aws_run(aws.proxy.url, monkeypatch, 60, 2)
    finally:
        aws.proxy.clear()
    [error] = got.inventory.errors
    assert error.code == "403"
    assert error.message == "Request blocked (HTTP 403, an HTML error page, not an API answer)"


def test_aws_200_html_page_is_not_an_empty_account(aws: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.proxy.inject("sagemaker", "malformed")
    try:
        got = _aws_run(aws.proxy.url, monkeypatch, 60, 2)
    finally:
        aws.proxy.clear()
    [error] = got.inventory.errors
    assert error.code == "MalformedResponse"
    assert "Request blocked (HTTP 200, an HTML error page" in error.message


def test_databricks_html_page_becomes_its_heading_and_status(dbx: Workspace) -> None:
    dbx.proxy.inject("GET /api/2.1/clusters/list", "html")
    try:
        got = _dbx_run(dbx.proxy.url, dbx.token, 60)
    finally:
        dbx.proxy.clear()
    [error] = got.inventory.errors
    assert error.message == "Request blocked (HTTP 403, an HTML error page, not an API answer)"
    assert "Databricks SDK" not in error.message  # not the SDK's "report this bug" request log
