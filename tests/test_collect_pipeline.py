"""Collection orchestration: setup failures, partial failures and the --timeout deadline."""

from __future__ import annotations

import threading
from typing import ClassVar

import pytest

from mlguard.collect import base
from mlguard.collect.base import Collector, InventorySink, NullProgress, Progress
from mlguard.config import Config, ScopeConfig
from mlguard.errors import CollectionSetupError
from mlguard.model import Coverage, Resource
from mlguard.pipeline import LoadedConfig, collect

T = "aws.sagemaker.endpoint"


class _Good(Collector):
    provider: ClassVar[str] = "aws"

    @classmethod
    def resource_types(cls) -> frozenset[str]:
        return frozenset({T})

    def __init__(self, scope: ScopeConfig) -> None:
        self.scope = scope

    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        sink.add(Resource(uid="arn:e/1", type=T, provider="aws", id="1", account="1", region="r"))
        sink.covered(Coverage(provider="aws", account="1", region="r", resource_type=T))


class _Broken(_Good):
    provider: ClassVar[str] = "databricks"

    @classmethod
    def resource_types(cls) -> frozenset[str]:
        return frozenset({"databricks.cluster"})

    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        raise CollectionSetupError("no Databricks host configured")


class _Slow(_Good):
    release = threading.Event()

    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        sink.add(Resource(uid="arn:e/early", type=T, provider="aws", id="early"))
        for _ in range(200):  # a provider checking the deadline before each "API call"
            sink.check_cancelled()
            self.release.wait(0.05)


class _EndsAtItsDeadline(_Good):
    """A provider whose deadline check stops it and which returns before the caller's join does
    (the race of a worker that ends exactly at the time limit), made certain by a past deadline."""

    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        sink.add(Resource(uid="arn:e/early", type=T, provider="aws", id="early"))
        sink.deadline = 0.0  # time.monotonic() is past it: the next check stops the provider
        sink.check_cancelled()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, base.ProviderEntry]:
    reg: dict[str, base.ProviderEntry] = {}
    monkeypatch.setattr(base, "_REGISTRY", reg)
    monkeypatch.setattr(base, "_load_builtin", lambda: None)
    return reg


def _entry(cls: type[Collector]) -> base.ProviderEntry:
    return base.ProviderEntry(cls.provider, cls, cls.resource_types, lambda s: True)  # type: ignore[arg-type]


def test_one_provider_failing_to_start_is_recorded(registry: dict[str, base.ProviderEntry]) -> None:
    registry["aws"] = _entry(_Good)
    registry["databricks"] = _entry(_Broken)
    got = collect(LoadedConfig(Config(), None, None), [], {T, "databricks.cluster"}, NullProgress())
    assert [r.uid for r in got.inventory.resources] == ["arn:e/1"]
    (err,) = got.inventory.errors
    assert (err.provider, err.code) == ("databricks", "SetupFailed")
    assert "no Databricks host" in err.message


def test_every_provider_failing_to_start_is_exit_4(registry: dict[str, base.ProviderEntry]) -> None:
    registry["databricks"] = _entry(_Broken)
    with pytest.raises(CollectionSetupError) as exc:
        collect(LoadedConfig(Config(), None, None), [], {"databricks.cluster"}, NullProgress())
    assert exc.value.exit_code == 4


def test_timeout_keeps_what_was_read_and_marks_the_rest_unevaluable(
    registry: dict[str, base.ProviderEntry],
) -> None:
    registry["aws"] = _entry(_Slow)
    got = collect(LoadedConfig(Config(), None, None), [], {T}, NullProgress(), timeout=1)
    assert got.timed_out
    assert [r.uid for r in got.inventory.resources] == ["arn:e/early"]
    assert [(e.provider, e.code) for e in got.inventory.errors] == [("aws", "Timeout")]
    _Slow.release.set()


def test_a_provider_stopped_by_the_deadline_is_a_timeout_even_when_it_ends_in_time(
    registry: dict[str, base.ProviderEntry],
) -> None:
    registry["aws"] = _entry(_EndsAtItsDeadline)
    got = collect(LoadedConfig(Config(), None, None), [], {T}, NullProgress(), timeout=30)
    assert got.timed_out
    assert [r.uid for r in got.inventory.resources] == ["arn:e/early"]
    assert [(e.provider, e.code) for e in got.inventory.errors] == [("aws", "Timeout")]


def test_providers_not_needed_by_the_policies_are_not_run(registry: dict[str, base.ProviderEntry]) -> None:
    registry["aws"] = _entry(_Good)
    registry["databricks"] = _entry(_Broken)  # would fail if it ran
    got = collect(LoadedConfig(Config(), None, None), [], {T}, NullProgress())
    assert got.inventory.errors == []


def test_timeout_with_the_real_databricks_collector_keeps_partial_inventory() -> None:
    """The SDK's requests pass the read-only guard, which checks the deadline: after --timeout the
    remaining calls fail fast, what was read is kept, and the run is marked incomplete."""
    from mlguard.collect.databricks.provider import ALL_TYPES, DatabricksCollector
    from mlguard.demo.databricks_fake import start_fake_workspace
    from mlguard.demo.databricks_fake.server import Behaviour

    host, token, stop = start_fake_workspace("demo", behaviour=Behaviour(latency_ms=150))
    try:
        config = Config()
        config.scope.databricks.host = host
        config.scope.databricks.max_workers = 1

        def factory(scope: ScopeConfig) -> Collector:
            return DatabricksCollector(scope, token=token, workspace_name="timeout.example")

        got = collect(
            LoadedConfig(config, None, None),
            ["databricks"],
            set(ALL_TYPES),
            NullProgress(),
            timeout=1,
            factories={"databricks": factory},
        )
    finally:
        stop()
    assert got.timed_out
    assert ("databricks", "Timeout") in [(e.provider, e.code) for e in got.inventory.errors]
    complete = {c.resource_type for c in got.inventory.coverage}
    assert complete != set(ALL_TYPES)  # far from everything was read in one second


def test_unreachable_databricks_host_fails_fast_as_a_setup_error() -> None:
    import socket

    from mlguard.collect.databricks.provider import DatabricksCollector

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = Config()
    config.scope.databricks.host = f"http://127.0.0.1:{port}"
    with pytest.raises(CollectionSetupError, match="cannot connect"):
        DatabricksCollector(config.scope, token="x").collect(
            frozenset({"databricks.cluster"}), InventorySink(), NullProgress()
        )
