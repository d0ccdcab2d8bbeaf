"""The moto server behind the fault proxy, for the tests that inject faults per service."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from mlguard.demo import s3control_host
from tests.support.faults import FaultProxy


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fresh moto server (us-east-1 default) reached through a :class:`FaultProxy`: the AWS
    environment points every client at the proxy; rules injected on it apply per service."""
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv(s3control_host.PLUGIN_ENV, s3control_host.PLUGIN_SPEC)  # account-level S3 reads
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with FaultProxy(f"http://127.0.0.1:{port}") as fp:
            monkeypatch.setenv("AWS_ENDPOINT_URL", fp.url)
            yield fp
    finally:
        server.stop()
