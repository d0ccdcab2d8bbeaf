"""The collector's SigV4 signer signs every request exactly as botocore's own signer does.

Each comparison signs the same request twice under one frozen clock (``botocore.auth``'s
``get_current_datetime``, which both signers read): once with botocore's ``SigV4Auth`` or
``S3SigV4Auth``, once with the lean class, and compares everything the request holds afterwards:
the raw header list (names, values, order), URL, params, body (and a file body's position), the
context, and the prepared request that goes on the wire."""

from __future__ import annotations

import copy
import datetime
import io
import logging
import string
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.signers
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mlguard.collect.aws import AwsCollector, sigv4
from mlguard.collect.base import InventorySink
from mlguard.config import AwsScope, ScopeConfig
from tests.collect.aws.conftest import NullProgress
from tests.collect.aws.estate import seed
from tests.collect.aws.test_e2e_server import server  # noqa: F401  (the moto server fixture)

#: The lean signer is compared with botocore's where it is used: where the installed botocore's
#: signing code is the code it was reviewed against (elsewhere botocore's own signer signs).
lean = pytest.mark.skipif(
    not sigv4.reviewed(), reason="botocore's signing code is not the code sigv4.py was reviewed against"
)

BOTOCORE = {sigv4.LeanSigV4Auth: SigV4Auth, sigv4.LeanS3SigV4Auth: S3SigV4Auth}
NOW = datetime.datetime(2026, 12, 6, 11, 30, 15)


@contextmanager
def frozen(when: datetime.datetime) -> Iterator[None]:
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=when):
        yield


def plain(value: Any) -> Any:
    """``value`` as comparable data: a file body as its content and position, any other object
    (a client config, a chunked-upload wrapper, deep-copied on one side) as its type."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    if isinstance(value, io.BytesIO):
        return (io.BytesIO, value.getvalue(), value.tell())
    if value is None or isinstance(value, str | bytes | int | float):
        return value
    return type(value)


def state(request: AWSRequest) -> dict[str, Any]:
    """Everything a signer may have changed, and the request as it goes on the wire."""
    try:
        p = request.prepare()
        wire: Any = (p.method, p.url, list(p.headers.items()), plain(p.body))
    except Exception as exc:  # the same failure on both sides: the same request
        wire = (type(exc), str(exc))
    return {
        "headers": [(type(k), k, type(v), v) for k, v in request.headers._headers],  # type: ignore[attr-defined]
        "method": request.method,
        "url": request.url,
        "params": plain(request.params),
        "body": plain(request.data),
        "context": plain(request.context),
        "wire": wire,
    }


def outcome(sign: Callable[[], object]) -> tuple[type, str] | None:
    try:
        sign()
    except Exception as exc:  # compared: botocore's failure must be ours
        return type(exc), str(exc)
    return None


@contextmanager
def lean_paths() -> Iterator[list[bool]]:
    """Which requests the lean signer signed itself (True) or gave to botocore's add_auth (False)."""
    taken: list[bool] = []
    original = sigv4._Lean._lean

    def spy(self: Any, request: AWSRequest) -> bool:
        try:
            took = original(self, request)
        except Exception:
            taken.append(True)  # it failed signing, as botocore's did (compared by the caller)
            raise
        taken.append(took)
        return took

    with mock.patch.object(sigv4._Lean, "_lean", spy):
        yield taken


# ---------------------------------------------------------------------------- random requests

NAMES = [
    "Content-Type",
    "content-type",
    "X-Amz-Target",
    "X-AMZ-DATE",
    "x-amz-date",
    "X-Amz-Security-Token",
    "Authorization",
    "User-Agent",
    "Host",
    "X-Amz-Content-SHA256",
    "x-amz-meta-Foo",
    " X-Padded ",
    "Expect",
    "Content-MD5",
    "x-amz-checksum-crc32",
    "Transfer-Encoding",
    "amz-sdk-invocation-id",
    "X-Amzn-Trace-Id",
    "Content-Length",
]
TWICE = ["X-Amz-Content-SHA256", "x-amz-content-sha256", "X-Amz-Date", "x-amz-meta-a", "X-Amz-Meta-A", "Host"]
VALUES = ["  a   b  ", "a\r\n b", "x\n\ty\n", "", " ", "é ü", "application/x-amz-json-1.1", "1,2"]
# headers the lean signer leaves to botocore: not ASCII-named strings, not string values, surrogates
ODD = [
    ("Date", "Sun, 06 Dec 2026 11:30:15 GMT"),
    ("date", ""),
    ("X-Ünï", "v"),
    ("X-Bytes", b"v"),
    ("X-Int", 5),
    ("X-Surrogate", "a\udcffb"),
    (b"X-Bytes-Name", "v"),
]
HOSTS = [
    "sts.amazonaws.com",
    "Bucket.S3.us-west-2.AMAZONAWS.com",
    "127.0.0.1",
    "[::1]",
    "[2001:db8::1]",
    "user:pw@example.com",
    "localhost",
]
NAME_CHARS = string.ascii_letters + "-_ ."
SEGMENTS = ["", ".", "..", "a b", "%2F", "~user", "+", "a;b=c", "é", "\u2603", "a?b", "*"]


@dataclass
class Case:
    method: str
    url: str
    params: Any
    headers: list[tuple[Any, Any]]
    data: Any  # ("file", content, position) for a file body
    context: dict[str, Any]
    credentials: ReadOnlyCredentials | None
    s3: bool
    service: str
    region: str
    times: list[datetime.datetime]
    odd: bool = field(default=False)

    def request(self) -> AWSRequest:
        data = self.data
        if isinstance(data, tuple):
            data = io.BytesIO(data[1])
            data.seek(self.data[2])
        request = AWSRequest(method=self.method, url=self.url, data=data, params=copy.deepcopy(self.params))
        for name, value in self.headers:
            request.headers[name] = value
        request.context.update(self.context)  # the same client_config object on both sides
        return request

    def signers(self) -> tuple[SigV4Auth, SigV4Auth]:
        botocore_cls, lean_cls = (
            (S3SigV4Auth, sigv4.LeanS3SigV4Auth) if self.s3 else (SigV4Auth, sigv4.LeanSigV4Auth)
        )
        lean = lean_cls(self.credentials, self.service, self.region)
        lean._cache = sigv4.ClientCache()
        return botocore_cls(self.credentials, self.service, self.region), lean

    def lean_expected(self) -> bool:
        trailer = self.context.get("checksum", {}).get("request_algorithm", {})
        streaming = isinstance(trailer, dict) and trailer.get("in") == "trailer"
        return self.credentials is not None and not self.odd and not streaming


@st.composite
def cases(draw: st.DrawFn) -> Case:
    text = st.text(max_size=8)
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "get", "Patch"]))
    path = "/" + "/".join(draw(st.lists(st.sampled_from(SEGMENTS) | text, max_size=5)))
    query = draw(st.none() | st.text(alphabet="ab=&%20+é/;", max_size=12))
    port = draw(st.sampled_from(["", ":80", ":443", ":8443", ":99999"]))  # out of range: fails without Host
    url = f"{draw(st.sampled_from(['https', 'http']))}://{draw(st.sampled_from(HOSTS))}{port}{path}"
    if query is not None:
        url += "?" + query
    scalar = text | st.integers()
    params = draw(
        st.just({})
        | st.dictionaries(text, scalar, max_size=4)
        | st.lists(st.tuples(st.sampled_from(["a", "A", "a b", "ü", "", "k=v"]), scalar), max_size=4)
    )
    headers = draw(
        st.lists(
            st.tuples(
                st.sampled_from(NAMES)
                | st.sampled_from(TWICE)
                | st.text(alphabet=NAME_CHARS, min_size=1, max_size=10),
                st.sampled_from(VALUES) | st.text(max_size=12),
            ),
            max_size=8,
        )
    )
    odd = [o for o in [draw(st.sampled_from([None] * 2 * len(ODD) + ODD))] if o is not None]  # a third
    headers = draw(st.permutations(headers + odd))
    data = draw(
        st.none()
        | st.just(b"")
        | st.just("")
        | st.binary(max_size=40)
        | st.text(max_size=20)
        | st.dictionaries(text, text | st.lists(text, max_size=2), max_size=3)
        | st.tuples(st.just("file"), st.binary(max_size=40), st.integers(0, 3))
    )
    if isinstance(data, tuple):
        data = (data[0], data[1], min(data[2], len(data[1])))
    context: dict[str, Any] = {}
    signing = draw(st.sampled_from([None, True, False]))
    if signing is not None:
        context["payload_signing_enabled"] = signing
    s3_config = draw(
        st.sampled_from([None, {}, {"payload_signing_enabled": True}, {"payload_signing_enabled": False}])
    )
    if s3_config is not None:
        context["client_config"] = Config(s3=s3_config)
    algorithm = draw(
        st.sampled_from(
            [
                None,
                {"in": "header", "name": "x-amz-checksum-crc32"},
                {"in": "header", "name": "Content-MD5"},
                {"in": "trailer", "name": "x-amz-checksum-crc32"},
                "conditional-md5",
            ]
        )
    )
    if algorithm is not None:
        context["checksum"] = {"request_algorithm": algorithm}
    context["has_streaming_input"] = draw(st.booleans())
    token = draw(st.none() | st.just("") | st.text(max_size=30))
    secret = draw(st.text(max_size=20))
    key = Credentials(draw(st.sampled_from(["AKIDEXAMPLE", "ASIA0"])), secret, token).get_frozen_credentials()
    credentials = draw(st.sampled_from([key] * 9 + [None]))  # a tenth without: botocore's error
    when = st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 12, 31))
    return Case(
        method=method,
        url=url,
        params=params,
        headers=headers,
        data=data,
        context=context,
        credentials=credentials,
        s3=draw(st.booleans()),
        service=draw(st.sampled_from(["sts", "iam", "s3", "execute-api", "sagemaker", "lambda", "ec2"])),
        region=draw(st.sampled_from(["us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1"])),
        times=draw(st.lists(when, min_size=1, max_size=3)),
        odd=bool(odd),
    )


@lean
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_random_requests_are_signed_as_botocore_signs_them(case: Case) -> None:
    """Any method, URL (unicode, spaces, reserved characters, repeated slashes, dot segments,
    ports, IPv6), query and params (repeated keys, empty values), headers (mixed case, duplicates,
    runs of whitespace, line breaks, odd ones botocore handles alone), body (none, bytes, str,
    form, file), payload signing settings, token or none: the same request after signing, signed
    again later (a retry keeps the old signature's headers), and the same failures."""
    event("lean signer" if case.lean_expected() else "botocore's own path")
    ours, theirs = case.request(), case.request()
    botocore_signer, lean_signer = case.signers()
    with lean_paths() as taken:
        for when in case.times:
            with frozen(when):
                expected = outcome(lambda: botocore_signer.add_auth(theirs))
                got = outcome(lambda: lean_signer.add_auth(ours))
            assert got == expected
            assert state(ours) == state(theirs)
            if expected is not None:
                break
    assert taken
    assert all(took == case.lean_expected() for took in taken)


# ---------------------------------------------------------------------------- real clients


@dataclass
class Shadow:
    """Every request a lean signer signs is also signed, on a deep copy and at the same instant,
    by botocore's class for it; both results are kept."""

    pairs: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    taken: list[bool] = field(default_factory=list)

    def mismatches(self) -> list[str]:
        return [url for url, ours, theirs in self.pairs if ours != theirs]


@contextmanager
def shadowed() -> Iterator[Shadow]:
    shadow = Shadow()
    add_auth = sigv4._Lean.add_auth

    def both(self: Any, request: AWSRequest) -> None:
        twin = copy.copy(self)
        twin.__class__ = BOTOCORE[type(self)]
        theirs = copy.deepcopy(request)
        with frozen(botocore.auth.get_current_datetime()):
            twin.add_auth(theirs)
            add_auth(self, request)
        shadow.pairs.append((request.url, state(request), state(theirs)))

    with lean_paths() as taken, mock.patch.object(sigv4._Lean, "add_auth", both):
        shadow.taken = taken
        yield shadow


def collector_session(**credentials: str) -> boto3.Session:
    collector = AwsCollector(ScopeConfig(aws=AwsScope(regions=["us-east-1"])))
    session = collector.base_session()
    if credentials:
        session = collector.session_with(Credentials(**credentials), "us-east-1")
    return session


@lean
def test_collector_clients_sign_with_the_lean_signer_and_no_one_else(aws: None) -> None:
    ours = collector_session().client("sts", region_name="us-east-1")
    plain = boto3.Session(region_name="us-east-1").client("sts")
    assert type(ours._request_signer) is sigv4.LeanRequestSigner
    assert type(plain._request_signer) is botocore.signers.RequestSigner  # another user of botocore
    assert botocore.auth.AUTH_TYPE_MAPS["v4"] is SigV4Auth  # botocore's table is left alone
    assert botocore.auth.AUTH_TYPE_MAPS["s3v4"] is S3SigV4Auth
    auth = ours._request_signer.get_auth_instance("sts", "us-east-1", "v4")
    assert type(auth) is sigv4.LeanSigV4Auth
    query = ours._request_signer.get_auth_instance("sts", "us-east-1", "v4-query", expires=60)
    assert type(query) is botocore.auth.SigV4QueryAuth  # presigning: botocore's own


def attempt(call: Callable[..., object], **params: object) -> None:
    """A call whose answer may be an AWS error (still a signed request)."""
    with suppress(ClientError):
        call(**params)


def _calls(session: boto3.Session) -> int:
    """Read calls of every protocol the collector uses (its guard allows only those), with names
    that need encoding."""
    c = lambda service: session.client(service, region_name="us-east-1")  # noqa: E731
    s3 = c("s3")
    s3.list_buckets()
    s3.get_bucket_location(Bucket="sig-bucket")
    attempt(s3.get_bucket_tagging, Bucket="sig-bucket")
    attempt(s3.get_bucket_policy, Bucket="sig-bucket")
    c("iam").list_account_aliases()
    c("iam").get_account_summary()
    c("sts").get_caller_identity()
    c("ec2").describe_instances(Filters=[{"Name": "tag:Name", "Values": ["a b", "ü", ""]}])
    attempt(c("sagemaker").describe_model, ModelName="a-b")
    c("kms").list_keys()
    c("lambda").list_functions(MaxItems=5)
    attempt(c("lambda").get_policy, FunctionName="fn-ü")
    c("events").list_rules(NamePrefix="a b")
    c("glue").get_databases()
    c("apigateway").get_rest_apis(limit=5)
    return 15


KEY = "dir a/ü+%20/x~y*.txt"


def _unguarded(client: Any) -> int:
    """S3 writes with bodies and object keys to encode (the collector makes none; its signer must
    still sign them as botocore)."""
    client.create_bucket(Bucket="sig-bucket")
    client.put_object(Bucket="sig-bucket", Key=KEY, Body=b"payload")
    client.put_object(Bucket="sig-bucket", Key="file", Body=io.BytesIO(b"from a file"))
    client.put_object(Bucket="sig-bucket", Key="md5", Body=b"x", ContentMD5="nhB9nTcrtoJr2B01QqQZ1g==")
    client.list_objects_v2(Bucket="sig-bucket", Prefix="dir a/ü", Delimiter="/")
    client.head_object(Bucket="sig-bucket", Key=KEY)
    client.get_object(Bucket="sig-bucket", Key=KEY, Range="bytes=0-2")
    return 7


@lean
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE//////////token+/="])
def test_every_protocol_the_collector_uses_is_signed_as_botocore_signs_it(
    aws: None, token: str | None
) -> None:
    session = collector_session(access_key="ASIAEXAMPLE", secret_key="s3cr/t+", token=token or "")
    writer = boto3.Session(region_name="us-east-1").client("s3")
    sigv4.install(writer)  # the guarded collector's clients cannot write
    with shadowed() as writes:
        expected = _unguarded(writer)
    assert len(writes.pairs) == expected
    assert writes.mismatches() == []
    # the uploads stream their checksum in a trailer: botocore's own code signs them
    assert writes.taken == [True, False, False, False, True, True, True]
    with shadowed() as shadow:
        expected = _calls(session)
    assert len(shadow.pairs) == expected
    assert shadow.mismatches() == []
    assert all(shadow.taken)  # none of them needed botocore's own path
    headers = [{k: v for _, k, _, v in ours["headers"]} for _, ours, _ in shadow.pairs]
    assert all(("X-Amz-Security-Token" in h) == bool(token) for h in headers)
    assert any("X-Amz-Content-SHA256" in h for h in headers)  # the S3 calls


@lean
def test_a_presigned_url_is_botocore_s_own(aws: None) -> None:
    lean = boto3.Session(region_name="us-east-1").client("s3")
    sigv4.install(lean)  # (the collector's guarded clients presign no GetObject)
    plain = boto3.Session(region_name="us-east-1").client("s3")
    params = {"Bucket": "b", "Key": "a b/ü"}
    with frozen(NOW):
        assert lean.generate_presigned_url("get_object", Params=params) == plain.generate_presigned_url(
            "get_object", Params=params
        )


@lean
def test_debug_log_lines_are_botocore_s(caplog: pytest.LogCaptureFixture) -> None:
    credentials = Credentials("AKIDEXAMPLE", "secret", "token").get_frozen_credentials()
    lines = []
    for cls in (SigV4Auth, sigv4.LeanSigV4Auth):
        request = AWSRequest(
            method="POST", url="https://sts.amazonaws.com/", data={"Action": "GetCallerIdentity"}
        )
        caplog.clear()
        with frozen(NOW), caplog.at_level(logging.DEBUG, logger="botocore.auth"):
            cls(credentials, "sts", "us-east-1").add_auth(request)
        lines.append([(r.name, r.levelno, r.getMessage()) for r in caplog.records])
    assert lines[0]
    assert lines[0] == lines[1]


@lean
def test_the_signing_key_is_derived_once_per_day_region_and_service() -> None:
    cache = sigv4.ClientCache()
    reference = SigV4Auth(None, "s3", "us-east-1")._sign  # botocore's derivation, step by step
    k = reference(
        reference(reference(reference(b"AWS4secret", "20261206"), "us-east-1"), "s3"), "aws4_request"
    )
    with mock.patch.object(sigv4.hmac, "new", wraps=sigv4.hmac.new) as hmac_new:
        assert cache.signing_key("secret", "20261206", "us-east-1", "s3") == k
        assert cache.signing_key("secret", "20261206", "us-east-1", "s3") == k
        assert hmac_new.call_count == 4
        assert cache.signing_key("secret", "20261207", "us-east-1", "s3") != k  # the next day: a new key
        assert cache.signing_key("other", "20261206", "us-east-1", "s3") != k  # rotated credentials too
        assert hmac_new.call_count == 12


@lean
def test_end_to_end_every_request_of_a_scan_over_http_is_signed_as_botocore_signs_it(
    server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The collector against a moto server over real HTTP: every request it sends is the request
    botocore's signer would have sent."""
    expected = seed(server, scale=1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzE+token/=")
    collector = AwsCollector(ScopeConfig(aws=AwsScope(regions=["us-east-1"], max_workers=4)), max_attempts=1)
    sent: list[dict[str, bytes]] = []
    base = collector.base_session

    def session() -> Any:
        s = base()
        s.events.register("before-send", lambda request, **_: sent.append(dict(request.headers.items())))
        return s

    collector.base_session = session  # type: ignore[method-assign]
    sink = InventorySink()
    with shadowed() as shadow:
        collector.collect(frozenset(expected), sink, NullProgress())
    assert sink.resources
    assert len(shadow.pairs) == len(sent) > 50
    assert shadow.mismatches() == []
    assert all(shadow.taken)
    # and what went on the wire is what was compared (botocore encodes the values before sending)
    signed = sorted({k: v for _, k, _, v in ours["headers"]}["Authorization"] for _, ours, _ in shadow.pairs)
    assert sorted(h["Authorization"].decode() for h in sent) == signed
