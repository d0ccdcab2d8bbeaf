"""The scan's HTTPS path (``mlguard.collect.aws.connections``), against a moto server behind TLS."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ProxyConnectionError, ReadTimeoutError, SSLError
from cryptography.hazmat.primitives import serialization
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from mlguard.collect.aws import AwsCollector, connections
from mlguard.collect.base import InventorySink
from mlguard.config import AwsScope, ScopeConfig
from tests.collect.aws.conftest import NullProgress
from tests.collect.aws.tls import TlsFiles, make_tls_files


class _Handler(BaseHTTPRequestHandler):
    """Answers each request with moto's WSGI application (in this process), keeping the connection
    open between requests as AWS's endpoints do (moto's own server closes it after each answer)."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *_: Any) -> None:
        return None

    def _answer(self) -> None:
        time.sleep(self.server.delay)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = [(k, v) for k, v in self.headers.items() if k.lower() != "host"]
        host = self.headers.get("Host") or "127.0.0.1"
        answer = Client(self.server.app).open(
            self.path, method=self.command, headers=headers, data=body, base_url=f"https://{host}"
        )
        data = answer.get_data()
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = DomainDispatcherApplication(create_backend_app)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.accepted = 0
        self.counting = threading.Lock()
        self.delay = 0.0  # seconds before each answer

    def get_request(self) -> Any:
        got = super().get_request()
        with self.counting:
            self.accepted += 1
        return got


class TlsServer:
    """moto behind TLS on 127.0.0.1 (keep-alive), counting the connections it accepted."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self.server = _Server(files.server_context())
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def accepted(self) -> int:
        return self.server.accepted

    def __enter__(self) -> TlsServer:
        self.thread.start()
        requests.post(f"{self.url}/moto-api/reset", timeout=30, verify=str(self.files.ca))
        self.server.accepted = 0
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path)


@pytest.fixture
def server(tls: TlsFiles) -> Iterator[TlsServer]:
    with TlsServer(tls) as srv:
        yield srv


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every CA bundle loaded into an SSL context (by anyone: urllib3, botocore, mlguard)."""
    seen: list[str] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, cafile: Any = None, capath: Any = None, cadata: Any = None) -> None:
        seen.append(str(cafile))
        load(self, cafile, capath, cadata)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    return seen


ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})


def _client(session: botocore.session.Session, url: str, config: Config = ONE_ATTEMPT, **kw: Any) -> Any:
    return session.create_client("sts", region_name="us-east-1", endpoint_url=url, config=config, **kw)


def _session(pools: connections.Pools | None, key: str) -> botocore.session.Session:
    """An account's session (its own credentials), pooled or botocore's own."""
    session = connections.Session(pools) if pools is not None else botocore.session.Session()
    session.set_credentials(key, "secret")
    return session


def test_two_accounts_clients_of_one_endpoint_share_a_connection_and_the_ca_is_loaded_once(
    server: TlsServer, tls: TlsFiles, loads: list[str]
) -> None:
    pools = connections.Pools(8)
    first, second = (_client(_session(pools, k), server.url, verify=str(tls.ca)) for k in ("AKIA1", "AKIA2"))
    for _ in range(3):
        for client in (first, second):
            assert client.get_caller_identity()["Account"]
    assert server.accepted == 1  # one connection, kept and reused by both accounts' clients
    assert loads == [str(tls.ca)]  # loaded once, into the one context, not per connection
    pools.close()
    assert first.get_caller_identity()["Account"]
    assert server.accepted == 2  # closed at the end of the scan: a later call connects again
    assert loads == [str(tls.ca)]


def test_botocores_own_clients_load_the_bundle_for_each_connection(
    server: TlsServer, tls: TlsFiles, loads: list[str]
) -> None:
    """What the pools save: botocore's clients (no pools) each connect and each load the bundle."""
    clients = [_client(_session(None, k), server.url, verify=str(tls.ca)) for k in ("AKIA1", "AKIA2")]
    for client in clients:
        assert client.get_caller_identity()["Account"]
    assert server.accepted == 2
    assert loads == [str(tls.ca)] * 2


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_clients_with_other_tls_or_socket_settings_get_other_pools(
    server: TlsServer, tls: TlsFiles, loads: list[str]
) -> None:
    key = serialization.load_pem_private_key(tls.key.read_bytes(), None)
    assert key is not None
    tls.cert.write_bytes(
        tls.cert.read_bytes()
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )  # the client certificate's file holds its key too (the server asks for none)
    pools = connections.Pools(8)
    session = _session(pools, "AKIA1")
    keepalive = ONE_ATTEMPT.merge(Config(tcp_keepalive=True))
    with_cert = ONE_ATTEMPT.merge(Config(client_cert=str(tls.cert)))
    clients = [
        _client(session, server.url, verify=str(tls.ca)),
        _client(session, server.url, verify=False),
        _client(session, server.url, config=with_cert, verify=str(tls.ca)),
        _client(session, server.url, config=keepalive, verify=str(tls.ca)),
    ]
    for _ in range(2):
        for client in clients:
            assert client.get_caller_identity()["Account"]
    assert server.accepted == len(clients)
    # a verifying client's context has the bundle once; the unverified one loads nothing
    assert loads == [str(tls.ca)] * 2  # two contexts verify: without and with the client certificate
    # a client of the same settings as the first shares its pool
    assert _client(_session(pools, "AKIA2"), server.url, verify=str(tls.ca)).get_caller_identity()
    assert server.accepted == len(clients)


def test_a_client_with_a_proxy_goes_through_it_not_through_a_direct_pool(
    server: TlsServer, tls: TlsFiles
) -> None:
    pools = connections.Pools(8)
    session = _session(pools, "AKIA1")
    assert _client(session, server.url, verify=str(tls.ca)).get_caller_identity()
    proxied = _client(
        session,
        server.url,
        config=ONE_ATTEMPT.merge(Config(proxies={"https": "http://127.0.0.1:9"})),
        verify=str(tls.ca),
    )
    with pytest.raises(ProxyConnectionError):
        proxied.get_caller_identity()
    assert server.accepted == 1


def test_each_client_keeps_its_own_timeouts_on_a_shared_connection(server: TlsServer, tls: TlsFiles) -> None:
    pools = connections.Pools(8)
    patient = _client(_session(pools, "AKIA1"), server.url, verify=str(tls.ca))
    hasty = _client(
        _session(pools, "AKIA2"),
        server.url,
        config=ONE_ATTEMPT.merge(Config(read_timeout=0.2)),
        verify=str(tls.ca),
    )
    assert patient.get_caller_identity()
    assert hasty.get_caller_identity()
    assert server.accepted == 1  # the same pool: timeouts are not part of what is shared
    server.server.delay = 1.0
    with pytest.raises(ReadTimeoutError):
        hasty.get_caller_identity()
    assert patient.get_caller_identity()["Account"]  # its own 30 s, not the other client's 0.2 s


@pytest.mark.parametrize("bundle", ["missing", "not a certificate", "wrong CA"])
def test_a_bad_ca_bundle_fails_as_it_did(
    server: TlsServer, tls: TlsFiles, tmp_path: Path, bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bundle.pem"
    if bundle == "not a certificate":
        path.write_text("not a certificate\n")
    elif bundle == "wrong CA":
        other = tmp_path / "other"
        other.mkdir()
        path.write_bytes(make_tls_files(other).ca.read_bytes())
    monkeypatch.setenv("AWS_CA_BUNDLE", str(path))

    def failure(pools: connections.Pools | None) -> str:
        client = _client(_session(pools, "AKIA1"), server.url)
        with pytest.raises(SSLError) as caught:
            client.get_caller_identity()
        return str(caught.value)

    pools = connections.Pools(8)
    pooled = failure(pools)
    assert pooled == failure(None)  # botocore's own message, from the same place
    assert {
        "missing": "No such file",
        "not a certificate": "SSL validation failed",
        "wrong CA": "CERTIFICATE_VERIFY_FAILED",
    }[bundle] in pooled
    assert failure(pools) == pooled  # a bundle that failed is not taken as loaded


def test_an_org_scan_over_tls_loads_the_bundle_once_and_shares_connections(
    server: TlsServer, tls: TlsFiles, loads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    org = boto3.client("organizations", endpoint_url=server.url, region_name="us-east-1", verify=str(tls.ca))
    org.create_organization(FeatureSet="ALL")
    ids = [
        org.create_account(AccountName=f"m{i}", Email=f"m{i}@example.com")["CreateAccountStatus"]["AccountId"]
        for i in range(2)
    ]
    loads.clear()
    before = server.accepted
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tls.ca))
    regions = ["us-east-1", "eu-west-1"]
    scope = AwsScope(org_role="OrganizationAccountAccessRole", accounts=ids, regions=regions)
    collector = AwsCollector(ScopeConfig(aws=scope))
    made: list[Any] = []
    adopt = collector.pools.adopt

    def counted(client: Any) -> None:
        made.append(client)
        adopt(client)

    collector.pools.adopt = counted  # type: ignore[method-assign]
    sink = InventorySink()
    types = frozenset({"aws.s3.bucket", "aws.sagemaker.notebook_instance", "aws.iam.role"})
    collector.collect(types, sink, NullProgress())
    assert {i.account for i in sink.identities} >= set(ids)
    opened = server.accepted - before
    assert len(made) > 2 * len(ids)  # sts, organizations, ec2... and the types' clients, per account
    assert opened < len(made)  # shared: fewer connections than clients
    assert opened <= scope.max_in_flight
    assert loads == [str(tls.ca)]  # once for the scan, whatever the connections and clients
