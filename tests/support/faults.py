"""Misbehaving servers for the fault suite.

:class:`FrozenServer` accepts connections and never answers. :class:`FaultProxy` stands in front of
a real server (the moto server, the fake Databricks workspace) and passes every request through,
except those a rule picks: it answers them with a fault instead (denied, throttled, 5xx, an HTML
error page (403, a WAF's block page), a 200 HTML page, a reset connection, no answer at all).
AWS requests are picked by the service in their SigV4 credential scope, Databricks requests by path.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

import pytest

from mlguard.demo import s3control_host

FAULTS = ("deny", "throttle", "5xx", "html", "malformed", "reset", "freeze")
# A WAF or proxy block page: no <title>, so the SDKs cannot pick a reason out of it themselves.
HTML_PAGE = (
    '<!DOCTYPE html>\r\n<html>\r\n<body>\r\n<div class="box">\r\n<h1>Request blocked</h1>\r\n'
    "<p>Your request was blocked by the network security policy. Reference #18.4f2e</p>\r\n"
    "</div>\r\n</body>\r\n</html>\r\n"
    + "<!-- a padding comment proxies add so browsers show their own page -->\r\n"
    * 6
)
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/aws4_request")


@dataclass
class Rule:
    """Answer requests whose keys match ``pattern`` with ``fault`` (one of :data:`FAULTS`). An AWS
    request's keys are its service (``sagemaker``) and its scope (``eu-west-1/sagemaker``); a
    Databricks request's key is ``METHOD /path``."""

    pattern: str
    fault: str
    hits: int = 0

    def matches(self, keys: tuple[str, ...]) -> bool:
        return any(re.fullmatch(self.pattern, key) is not None for key in keys)


@dataclass
class _Upstream:
    host: str
    port: int
    rules: list[Rule] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _aws_error(
    service: str, headers: dict[str, str], code: str, message: str
) -> tuple[dict[str, str], bytes]:
    """An AWS error body in the protocol the request used (what botocore parses for that service)."""
    if "x-amz-target" in headers:  # JSON protocol
        body = json.dumps({"__type": code, "message": message}).encode()
        return {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}, body
    if service in ("s3", "s3control"):  # REST-XML
        xml = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>f</RequestId></Error>"
        return {"Content-Type": "application/xml"}, xml.encode()
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        if service == "ec2":
            xml = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>f</RequestID></Response>"
            )
        else:  # query protocol
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>f</RequestId></ErrorResponse>"
            )
        return {"Content-Type": "text/xml"}, xml.encode()
    body = json.dumps({"message": message}).encode()  # REST-JSON
    return {"Content-Type": "application/json", "x-amzn-ErrorType": code}, body


class _ProxyHandler(BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        scope = _SCOPE.search(headers.get("authorization", ""))
        aws_service = scope.group(2) if scope else None
        keys = (
            (scope.group(2), f"{scope.group(1)}/{scope.group(2)}")
            if scope
            else (f"{self.command} {urlsplit(self.path).path}",)
        )
        up = self.server.upstream
        with up.lock:
            rule = next((r for r in up.rules if r.matches(keys)), None)
            if rule is not None:
                rule.hits += 1
        if rule is None:
            self._forward(body)
        else:
            self._fault(rule.fault, aws_service, headers)

    def _forward(self, body: bytes) -> None:
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.host, up.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body or None, headers=dict(self.headers.items()))
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self._body(data)
        finally:
            conn.close()

    def _body(self, data: bytes, content_type: str | None = None) -> None:
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _fault(self, fault: str, aws_service: str | None, headers: dict[str, str]) -> None:
        if fault == "freeze":
            self.server.upstream.release.wait()
            self.close_connection = True
            return
        if fault == "reset":  # RST instead of an answer
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault in ("html", "malformed"):
            self.send_response(403 if fault == "html" else 200)
            self._body(HTML_PAGE.encode(), "text/html")
            return
        status, code, dbx_code, message = {
            "deny": (
                403,
                "AccessDenied",
                "PERMISSION_DENIED",
                "User is not authorized to perform this action",
            ),
            "throttle": (400, "ThrottlingException", "REQUEST_LIMIT_EXCEEDED", "Rate exceeded"),
            "5xx": (503, "ServiceUnavailable", "TEMPORARILY_UNAVAILABLE", "Service is unavailable"),
        }[fault]
        if aws_service is None:  # Databricks
            status = 429 if fault == "throttle" else status
            self.send_response(status)
            self._body(json.dumps({"error_code": dbx_code, "message": message}).encode(), "application/json")
            return
        if fault == "deny" and "x-amz-target" in headers:
            code = "AccessDeniedException"
        extra, data = _aws_error(aws_service, headers, code, message)
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self._body(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        return None


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, upstream: _Upstream) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream


class FaultProxy:
    """A pass-through proxy to ``upstream`` (``http://host:port``) that injects faults by rule."""

    def __init__(self, upstream: str) -> None:
        split = urlsplit(upstream)
        self._up = _Upstream(split.hostname or "127.0.0.1", split.port or 80)
        self._server = _ProxyServer(self._up)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, pattern: str, fault: str) -> Rule:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (one of {', '.join(FAULTS)})")
        rule = Rule(pattern, fault)
        with self._up.lock:
            self._up.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop every rule and let frozen requests go (they are answered by a closed connection)."""
        with self._up.lock:
            self._up.rules.clear()
        self._up.release.set()
        self._up.release = threading.Event()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._up.release.set()
        self._server.shutdown()
        self._server.server_close()


def offline_aws_env(mp: pytest.MonkeyPatch) -> None:
    """moto's fake credentials in us-east-1, no profile, config file or instance metadata, and the
    s3control host plugin (the account-level S3 reads), for a collection against a local server."""
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        s3control_host.PLUGIN_ENV: s3control_host.PLUGIN_SPEC,
    }.items():
        mp.setenv(var, value)
    mp.delenv("AWS_PROFILE", raising=False)


class FrozenServer:
    """Listens on 127.0.0.1, accepts every connection, reads what is sent and never answers: what a
    hung API, a stuck proxy or a black-holed load balancer looks like to a client."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="frozen-server", daemon=True)
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)  # kept open, never read from or written to

    def __enter__(self) -> FrozenServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()


def main() -> None:
    """``python -m tests.support.faults``: print the URL of a frozen server, then hold it open."""
    with FrozenServer() as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
