"""The service models are parsed once per process (`AwsCollector.prepare`, before `--jobs` forks):
every collector of the process, and every forked child, uses that loader's models; a session with
another data path (``AWS_DATA_PATH``) gets its own."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest
from moto import mock_aws

from mlguard.collect.aws import AwsCollector, clients
from mlguard.config import ScopeConfig


@pytest.fixture(autouse=True)
def _aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)


def test_every_collector_uses_the_models_prepare_parsed() -> None:
    AwsCollector.prepare(frozenset({"aws.kms.key"}))
    loader = clients.process_loader(botocore.session.Session())
    parsed = loader.load_service_model("kms", "service-2")
    with mock_aws():
        first, second = AwsCollector(ScopeConfig()), AwsCollector(ScopeConfig())
        kms = [c.base_session().client("kms", region_name="us-east-1") for c in (first, second)]
    assert first.loader is second.loader is loader
    for client in kms:  # the model every client of the process reads is the one parsed up front
        assert client.meta.service_model._service_description is parsed


def test_another_data_path_gets_its_own_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = clients.process_loader(botocore.session.Session())
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    other = clients.process_loader(botocore.session.Session())
    assert other is not default
    assert str(tmp_path) in other.search_paths
    assert str(tmp_path) not in default.search_paths
    assert clients.process_loader(botocore.session.Session()) is other


def test_prepare_checks_the_shortcuts_code_before_a_fork() -> None:
    """Reading botocore's source for the per-call shortcuts (collect/aws/reviewed.py) happens in
    the scanning process, before --jobs forks: the children inherit the answers."""
    from mlguard.collect.aws import endpoints, sigv4, timestamps

    for shortcut in (sigv4, endpoints, timestamps):
        shortcut.reviewed.cache_clear()
    AwsCollector.prepare(frozenset({"aws.kms.key"}))
    assert [s.reviewed.cache_info().currsize for s in (sigv4, endpoints, timestamps)] == [1, 1, 1]
