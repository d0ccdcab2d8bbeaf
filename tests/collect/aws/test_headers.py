"""The collector's clients read answers' headers without the email package: the same message,
the same response, the same parsed answer as ``http.client`` and botocore's own path."""

from __future__ import annotations

import http.client
import io
import json
import random
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials

from mlguard.collect.aws import AwsCollector, headers
from mlguard.config import ScopeConfig
from tests.support.http import serving

_NAMES = ["Content-Type", "x-amzn-RequestId", "Content-Length", "Date", "Connection", "x-amz-id-2"]
_NAMES += ["Transfer-Encoding", "Set-Cookie", "X-Odd_Name!", "content-length", "Server"]
_VALUES = ["text/xml", "abc-123", "12", "Sun, 06 Dec 2026 11:00:00 GMT", "keep-alive", "close"]
_VALUES += ["", "  padded  ", "\ttabbed", "chunked", "a=b; Path=/", "x:y:z"]
# Lines the plain reader must leave to the email parser: folds, no colon, empty names, control
# and non-ASCII characters, bare CRs, unix-from lines, spaces before the colon.
_ODD = [b" folded continuation\r\n", b"\tfolded\r\n", b"NoColonHere\r\n", b": no name\r\n"]
_ODD += [b"Bad Name: v\r\n", b"X-Ctl: a\x01b\r\n", b"X-Latin: caf\xe9\r\n", b"X-Cr: a\rb\r\n"]
_ODD += [b"From someone\r\n", b"X-Vt: a\x0bb\r\n", b"X-Nel: a\x85b\r\n", b"Name : spaced\r\n"]


def _block(rng: random.Random) -> bytes:
    lines: list[bytes] = []
    for _ in range(rng.randrange(0, 9)):
        if rng.random() < 0.15:
            lines.append(rng.choice(_ODD))
        else:
            sep = rng.choice([": ", ":", ":  ", ":\t"])
            end = rng.choice(["\r\n", "\r\n", "\n"])
            lines.append(f"{rng.choice(_NAMES)}{sep}{rng.choice(_VALUES)}{end}".encode())
    lines.append(rng.choice([b"\r\n", b"\r\n", b"\n", b""]))
    return b"".join(lines)


def _state(msg: http.client.HTTPMessage) -> dict[str, Any]:
    state = dict(vars(msg))
    state["defects"] = [(type(d), str(d)) for d in msg.defects]
    return state


def test_headers_read_as_http_client_reads_them() -> None:
    rng = random.Random(15)
    plain = 0
    for _ in range(3000):
        raw = _block(rng) + b"body-after-the-headers"
        theirs_fp, mine_fp = io.BytesIO(raw), io.BytesIO(raw)
        theirs = http.client.parse_headers(theirs_fp)
        mine = headers.parse_headers(mine_fp)
        plain += type(mine) is headers.LeanMessage
        assert isinstance(mine, http.client.HTTPMessage)
        assert _state(mine) == _state(theirs), raw
        assert mine.items() == theirs.items()
        assert mine.values() == theirs.values()
        assert mine.keys() == theirs.keys()
        for name in [*_NAMES, "missing"]:
            assert mine.get(name) == theirs.get(name)
            assert mine.get(name, "dflt") == theirs.get(name, "dflt")
            assert mine[name] == theirs[name]
            assert mine.get_all(name) == theirs.get_all(name)
        assert mine.as_string() == theirs.as_string()
        assert mine_fp.read() == theirs_fp.read()  # the body left where http.client leaves it
    assert 1000 < plain < 3000  # both readers were exercised


def test_limits_are_http_client_s() -> None:
    too_many = b"".join(b"X-H%d: v\r\n" % i for i in range(http.client._MAXHEADERS + 1)) + b"\r\n"  # type: ignore[attr-defined]
    with pytest.raises(http.client.HTTPException, match="more than"):
        headers.parse_headers(io.BytesIO(too_many))
    with pytest.raises(http.client.LineTooLong):
        headers.parse_headers(io.BytesIO(b"X-Long: " + b"a" * 70000 + b"\r\n\r\n"))


def test_a_message_changed_later_reads_as_email_reads_it() -> None:
    raw = b"Content-Type: text/xml\r\nX-A: 1\r\n\r\n"
    mine, theirs = headers.parse_headers(io.BytesIO(raw)), http.client.parse_headers(io.BytesIO(raw))
    for msg in (mine, theirs):
        msg["X-B"] = "caf\udce9"  # a value with a surrogate: the policy makes a Header of it
        del msg["X-A"]
    assert [(k, str(v)) for k, v in mine.items()] == [(k, str(v)) for k, v in theirs.items()]
    assert type(mine["X-B"]) is type(theirs["X-B"])


class _Sock:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))


def test_responses_begin_as_http_client_s() -> None:
    rng = random.Random(6)
    for _ in range(1500):
        status = rng.choice(
            [b"200 OK", b"204 No Content", b"404 Not Found", b"304 Not Modified", b"500 Oops"]
        )
        version = rng.choice([b"HTTP/1.1", b"HTTP/1.0"])
        head = b"HTTP/1.1 100 Continue\r\nX-Skip: 1\r\n\r\n" if rng.random() < 0.1 else b""
        body = b"hello world!"
        raw = head + version + b" " + status + b"\r\n" + _block(rng) + body
        method = rng.choice(["GET", "POST", "HEAD"])
        outcomes = []
        for cls in (http.client.HTTPResponse, headers.LeanHTTPResponse):
            resp = cls(_Sock(raw), method=method)  # type: ignore[arg-type]
            try:
                resp.begin()
            except (http.client.HTTPException, ValueError) as exc:
                outcomes.append(("raised", type(exc), str(exc)))
                continue
            seen = (resp.status, resp.reason, resp.version, resp.chunked, resp.length, resp.will_close)
            try:
                data: Any = resp.read()
            except (http.client.HTTPException, ValueError) as exc:
                data = (type(exc), str(exc))
            outcomes.append((seen, _state(resp.msg), resp.getheaders(), data))
        assert outcomes[0] == outcomes[1], raw


# ------------------------------------------------------------------ through botocore, over HTTP

_BODY = json.dumps({"Models": [{"ModelName": "m", "ModelArn": "arn:aws:sagemaker:us-east-1:1:model/m"}]})


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = _BODY.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("x-amzn-RequestId", "req-1")
        self.send_header("X-Spaced", "  padded value  ")
        self.send_header("X-Folded", "first\r\n  second")  # an obsolete fold: the email parser's
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    with serving(_Answer) as url:
        yield url


def _plain(response: dict[str, Any]) -> dict[str, Any]:
    meta = response["ResponseMetadata"]
    meta["HTTPHeaders"].pop("date", None)
    meta["HTTPHeaders"].pop("server", None)
    return response


def test_collector_clients_answer_as_botocore_s(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    collector = AwsCollector(ScopeConfig())
    collector.base_session()  # the scan's loader: its sessions' clients are the collector's
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    config = Config(retries={"total_max_attempts": 1})
    mine = session.client("sagemaker", region_name="us-east-1", config=config)
    theirs = boto3.Session(aws_access_key_id="AKIAONE", aws_secret_access_key="secret").client(
        "sagemaker", region_name="us-east-1", config=config
    )
    seen: list[type] = []
    for client in (mine, theirs):
        client.meta.events.register(
            "after-call", lambda http_response, **_: seen.append(type(http_response.raw._original_response))
        )
    assert _plain(mine.list_models()) == _plain(theirs.list_models())
    assert seen == [headers.LeanHTTPResponse, http.client.HTTPResponse]  # plain boto3 is untouched
    assert mine.list_models()["ResponseMetadata"]["HTTPHeaders"]["x-folded"] == "first second"


def test_only_botocore_s_own_sessions_are_changed() -> None:
    client = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
        "s3", region_name="us-east-1"
    )
    pools = client._endpoint.http_session._pool_classes_by_scheme
    pools["https"] = type("Custom", (pools["https"],), {})
    before = dict(pools)
    assert headers.install(client) is False
    assert pools == before
    assert headers.install(object()) is False
    lean = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
        "s3", region_name="us-east-1"
    )
    assert headers.install(lean) is True
    assert headers.install(lean) is True  # once is enough; again changes nothing
    assert lean._endpoint.http_session._pool_classes_by_scheme["https"] is headers.LeanHTTPSConnectionPool
