"""The moto server behind the fault proxy, for the tests that inject faults per service."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer

from tests.support.faults import FaultProxy, offline_aws_env


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """A fresh moto server (us-east-1 default) reached through a :class:`FaultProxy`: the AWS
    environment points every client at the proxy; rules injected on it apply per service."""
    offline_aws_env(monkeypatch)
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
