"""demo_environment(): loopback server, environment set and restored, clean state, missing moto."""

from __future__ import annotations

import importlib
import os
import socket
import sys

import boto3
import pytest
from tests.support.netguard import SocketGuard

from mlguard.demo.environment import demo_environment
from mlguard.errors import ToolMissingError

pytestmark = pytest.mark.e2e


def test_environment_is_set_inside_and_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "prod-admin")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.example.com")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    before = dict(os.environ)

    with demo_environment(seed=False) as env:
        assert "AWS_PROFILE" not in os.environ
        assert "AWS_ENDPOINT_URL_S3" not in os.environ
        assert os.environ["AWS_ENDPOINT_URL"] == env.endpoint_url
        assert env.endpoint_url.startswith("http://127.0.0.1:")
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        assert os.environ["AWS_DEFAULT_REGION"] == env.regions[0]
        assert env.aws_scope.regions == env.regions
        assert env.aws_scope.profile is None
        assert env.databricks is None
        identity = boto3.client("sts").get_caller_identity()
        assert identity["Account"] == env.account_id

    assert dict(os.environ) == before


def test_environment_restored_when_the_block_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "dev")
    before = dict(os.environ)
    with pytest.raises(RuntimeError, match="boom"), demo_environment(seed=False):
        raise RuntimeError("boom")
    assert dict(os.environ) == before


def test_each_demo_starts_empty_and_the_server_stops() -> None:
    with demo_environment(seed=False) as env:
        boto3.client("s3").create_bucket(Bucket="left-behind")
        host, port = env.endpoint_url.removeprefix("http://").split(":")
    with demo_environment(seed=False):
        assert boto3.client("s3").list_buckets()["Buckets"] == []
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), timeout=2):
        pass


def test_socket_guard_refuses_non_loopback() -> None:
    real_connect = socket.socket.connect
    guard = SocketGuard()
    with guard.installed(), pytest.raises(ConnectionRefusedError, match="not a loopback"):
        socket.create_connection(("192.0.2.10", 443), timeout=1)
    assert guard.refused == ["192.0.2.10"]
    with guard.installed(), pytest.raises(socket.gaierror):
        socket.getaddrinfo("sagemaker.us-east-1.amazonaws.com", 443)
    assert socket.socket.connect is real_connect  # uninstalled again


def test_missing_moto_raises_tool_missing_with_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "mlguard.demo" or m.startswith("mlguard.demo.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "moto.server", None)
    with pytest.raises(ToolMissingError, match=r"pip install 'mlguard\[demo\]'"):
        importlib.import_module("mlguard.demo.environment")
