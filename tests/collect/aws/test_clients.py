"""Clients of different accounts share their service model and client class, nothing else: each
signs with its own account's credentials, for its own region, and the read-only guard sees it."""

from __future__ import annotations

import copy
import gc
import random
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.credentials import Credentials
from botocore.hooks import HierarchicalEmitter
from moto import mock_aws

from mlguard.collect.aws import AwsCollector
from mlguard.collect.aws.clients import LeanEmitter, SharedTrie
from mlguard.collect.base import InventorySink, NullProgress
from mlguard.collect.errors import ReadOnlyViolation
from mlguard.config import AwsScope, ScopeConfig
from mlguard.gc_pause import SCAN_GC_THRESHOLDS


class _Body:
    """The raw body of an answer made here: an empty list of models."""

    def stream(self, **_: Any) -> Any:
        yield b'{"Models": []}'


def _signed_by(client: Any) -> list[str]:
    """The Authorization headers of the requests ``client`` sends (answered here, not sent)."""
    seen: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        seen.append(str(request.headers["Authorization"]))
        return AWSResponse(request.url, 200, {}, _Body())

    client.meta.events.register("before-send", answer)
    return seen


def test_two_accounts_share_the_model_and_class_but_sign_with_their_own_keys() -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    one = collector.session_with(Credentials("AKIAACCOUNTONE", "secret-one"), "us-east-1")
    two = collector.session_with(Credentials("AKIAACCOUNTTWO", "secret-two"), "us-east-1")
    a = one.client("sagemaker", region_name="us-east-1")
    b = two.client("sagemaker", region_name="eu-west-1")

    assert a.meta.service_model is b.meta.service_model  # made once for the scan
    assert type(a) is type(b)
    assert a.meta.events is not b.meta.events  # each client keeps its own handlers

    sent_a, sent_b = _signed_by(a), _signed_by(b)
    a.list_models()
    b.list_models()
    assert len(sent_a) == len(sent_b) == 1
    assert "Credential=AKIAACCOUNTONE/" in sent_a[0]
    assert "/us-east-1/sagemaker/" in sent_a[0]
    assert "Credential=AKIAACCOUNTTWO/" in sent_b[0]
    assert "/eu-west-1/sagemaker/" in sent_b[0]

    with pytest.raises(ReadOnlyViolation, match="sagemaker:DeleteEndpoint"):
        b.delete_endpoint(EndpointName="x")  # the guard sees the second account's calls too
    assert len(sent_b) == 1


def test_sessions_outside_the_collector_keep_botocore_s_own_clients() -> None:
    AwsCollector(ScopeConfig()).base_session()
    first = boto3.client("sagemaker", region_name="us-east-1")
    second = boto3.client("sagemaker", region_name="us-east-1")
    assert first.meta.service_model is not second.meta.service_model


def test_the_scan_collects_garbage_less_often_and_restores_the_thresholds_after() -> None:
    collector = AwsCollector(ScopeConfig(aws=AwsScope(regions=["us-east-1"])))
    before = gc.get_threshold()
    during: list[tuple[int, int, int]] = []
    base = collector.base_session

    def session() -> boto3.Session:
        during.append(gc.get_threshold())
        return base()

    collector.base_session = session  # type: ignore[method-assign]
    with mock_aws():
        collector.collect(frozenset({"aws.kms.key"}), InventorySink(), NullProgress())
    assert during == [SCAN_GC_THRESHOLDS]
    assert gc.get_threshold() == before


def _handlers(emitter: Any, events: list[str]) -> list[list[Any]]:
    """The handlers ``emitter`` would call for each of ``events``, in order."""
    return [list(emitter._handlers.prefix_search(event)) for event in events]


def test_copies_of_the_handler_tree_find_what_botocore_s_copies_find() -> None:
    """The same registrations and removals, on sessions and on copies of copies, made with
    botocore's emitter and with the collector's (whose copies share nodes until they write)."""
    rng = random.Random(15)
    names = ["before-call", "before-call.s3", "before-call.s3.ListBuckets", "before-call.*.ListBuckets"]
    names += ["needs-retry.ec2", "needs-retry.ec2.DescribeVpcs", "after-call", "before-send.s3"]
    events = ["before-call.s3.ListBuckets", "before-call.s3.GetObject", "before-call.ec2.ListBuckets"]
    events += ["needs-retry.ec2.DescribeVpcs", "after-call.ec2.X", "before-send.s3.ListBuckets", "other"]
    funcs = [lambda n=n, **kw: n for n in range(6)]
    theirs: list[Any] = [HierarchicalEmitter()]
    mine: list[Any] = [LeanEmitter()]
    for _ in range(600):
        step = rng.random()
        at = rng.randrange(len(theirs))
        if step < 0.15:  # a new emitter copied from one of them (a client from its session)
            theirs.append(copy.copy(theirs[at]))
            mine.append(copy.copy(mine[at]))
            continue
        name, func = rng.choice(names), rng.choice(funcs)
        if step < 0.75:
            where = rng.choice(["register", "register_first", "register_last"])
            getattr(theirs[at], where)(name, func)
            getattr(mine[at], where)(name, func)
        else:  # (botocore raises AttributeError for a name with children but no handlers: so do we)
            outcomes: list[type[BaseException] | None] = []
            for emitter in (theirs[at], mine[at]):
                try:
                    emitter.unregister(name, func)
                    outcomes.append(None)
                except AttributeError as exc:
                    outcomes.append(type(exc))
            assert outcomes[0] == outcomes[1]
        for t, m in zip(theirs, mine, strict=True):
            assert _handlers(m, events) == _handlers(t, events)
    assert len(mine) > 50
    assert all(type(m._handlers) is SharedTrie for m in mine)


def test_a_client_s_handlers_are_its_own() -> None:
    collector = AwsCollector(ScopeConfig())
    session = collector.session_with(Credentials("AKIAACCOUNTONE", "secret-one"), "us-east-1")
    core: Any = session._session  # type: ignore[attr-defined]
    assert isinstance(core._original_handler, LeanEmitter)  # the collector's sessions use it

    # A handler registered on a client reaches neither its session nor another client, and one
    # registered on the session later reaches no client made before.
    seen: list[str] = []
    a = session.client("sagemaker", region_name="us-east-1")
    b = session.client("sagemaker", region_name="eu-west-1")
    a.meta.events.register("before-call.sagemaker", lambda **kw: seen.append("a"))
    session.events.register("before-call.sagemaker", lambda **kw: seen.append("session"))
    sent_a, sent_b = _signed_by(a), _signed_by(b)
    a.list_models()
    b.list_models()
    assert seen == ["a"]
    assert len(sent_a) == len(sent_b) == 1
    c = session.client("sagemaker", region_name="us-east-1")
    _signed_by(c)
    c.list_models()
    assert seen == ["a", "session"]  # a client made after it has it
    with pytest.raises(ReadOnlyViolation):
        b.delete_endpoint(EndpointName="x")  # every copy keeps the read-only guard


class _NoKwargs:
    def __call__(self, event_name: str) -> None: ...


def test_a_handler_without_keyword_arguments_is_still_refused() -> None:
    collector = AwsCollector(ScopeConfig())
    session = collector.session_with(Credentials("AKIAACCOUNTONE", "secret-one"), "us-east-1")
    client = session.client("sagemaker", region_name="us-east-1")

    def positional(event_name: str) -> None: ...

    def keywords(event_name: str, **kwargs: Any) -> None: ...

    for refused in (positional, _NoKwargs(), positional):  # twice: the remembered answer too
        with pytest.raises(ValueError, match="must accept keyword arguments"):
            client.meta.events.register("before-call.sagemaker", refused)
    client.meta.events.register("before-call.sagemaker", keywords)
    client.meta.events.register("before-call.sagemaker", keywords)  # remembered: accepted again


def _proxies(client: Any) -> dict[str, str]:
    """The proxies ``client``'s HTTP session sends through, by scheme."""
    return dict(client._endpoint.http_session._proxy_config._proxies)


def _proxy_for(client: Any) -> str | None:
    """The proxy ``client`` sends its requests to its own endpoint through."""
    url: str | None = client._endpoint.http_session._proxy_config.proxy_url_for(client.meta.endpoint_url)
    return url


_PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.mark.parametrize(
    ("env", "via"),
    [
        (
            {"HTTPS_PROXY": "http://proxy.corp:3128", "HTTP_PROXY": "http://plain.corp:3128"},
            "http://proxy.corp:3128",
        ),
        ({"https_proxy": "proxy.corp:3128"}, "http://proxy.corp:3128"),  # botocore adds the scheme
        ({"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "amazonaws.com"}, None),  # bypassed
        (
            {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "example.org,localhost"},
            "http://proxy.corp:3128",
        ),
        ({"NO_PROXY": "*"}, None),
        ({}, None),
    ],
)
def test_the_scan_s_clients_use_the_proxy_botocore_finds_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], via: str | None
) -> None:
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    own = boto3.Session(aws_access_key_id="a", aws_secret_access_key="b").client(
        "sagemaker", region_name="eu-west-1"
    )

    collector = AwsCollector(ScopeConfig())
    collector.read_proxies()  # as the scan does when it starts
    if not ("NO_PROXY" in env and len(env) > 1):  # (per host: see the test below)
        for var in _PROXY_VARS:  # read once: a change afterwards does not reach the scan's clients
            monkeypatch.setenv(var, "http://changed.example:1")
    session = collector.session_with(Credentials("AKIAACCOUNTONE", "secret-one"), "eu-west-1")
    account = collector._account_of(session, "111111111111", "aws", "eu-west-1")
    mine = account.client("sagemaker", "eu-west-1")

    assert mine.meta.endpoint_url == own.meta.endpoint_url == "https://api.sagemaker.eu-west-1.amazonaws.com"
    assert _proxy_for(mine) == _proxy_for(own) == via
    if "NO_PROXY" not in env:  # the very proxies botocore found (with NO_PROXY: per host, below)
        assert _proxies(mine) == _proxies(own)


def test_with_no_proxy_next_to_a_proxy_botocore_decides_per_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "sagemaker.eu-west-1.amazonaws.com")
    collector = AwsCollector(ScopeConfig())
    collector.read_proxies()
    session = collector.session_with(Credentials("AKIAACCOUNTONE", "secret-one"), "eu-west-1")
    account = collector._account_of(session, "111111111111", "aws", "eu-west-1")
    assert _proxy_for(account.client("sagemaker", "eu-west-1")) is None  # named in NO_PROXY
    assert _proxy_for(account.client("sagemaker", "us-east-1")) == "http://proxy.corp:3128"
    assert _proxy_for(account.client("kms", "eu-west-1")) == "http://proxy.corp:3128"
