"""The collector's clients cost less to make (one parsed endpoint rule set per service:
rulesets.py; a client's configuration read once per variable: configreads.py; one event-alias
cache: clients.SharedAliaser) and do what botocore's own clients do: the same request to the same
URL, signed for the same region and service, with the same config and their own retry state."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import botocore.configprovider
import botocore.endpoint_provider
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError
from botocore.hooks import EVENT_ALIASES, EventAliaser
from botocore.httpsession import URLLib3Session
from botocore.retries.standard import RetryContext

from mlguard.collect.aws import AwsCollector, clients, configreads, connections, families, rulesets  # noqa: F401
from mlguard.collect.aws.spec import SPECS
from mlguard.config import ScopeConfig

SERVICES = sorted({service for spec in SPECS.values() for service, _ in spec.operations()})
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "fips": {"use_fips_endpoint": True},
    "dualstack": {"use_dualstack_endpoint": True},
    "fips+dualstack": {"use_fips_endpoint": True, "use_dualstack_endpoint": True},
}


class _Sent(Exception):
    """Raised by the ``before-send`` handler: the request was seen, and is not sent."""

    def __init__(self, request: Any) -> None:
        super().__init__("not sent")
        auth = str(request.headers.get("Authorization", ""))
        self.seen = (
            request.method,
            request.url,
            request.body,
            auth.split("Credential=")[1].split(",", maxsplit=1)[0].split("/", 2)[2]
            if "Credential=" in auth
            else auth,
            sorted(
                k for k in request.headers if k.lower() not in ("x-amz-date", "authorization", "user-agent")
            ),
        )


def _stop(request: Any, **_: Any) -> None:
    raise _Sent(request)


def _filler(shape: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {m: _filler(shape.members[m]) for m in shape.required_members}
    if kind == "list":
        return [_filler(shape.member)]
    if kind == "string":
        return "mlguard-test".ljust(int(shape.metadata.get("min", 0)), "0")
    return {"integer": 1, "long": 1, "boolean": True, "timestamp": 0}[kind]


def _operation(service: str) -> tuple[str, dict[str, Any]]:
    """A read the scan makes of ``service``, with made-up values for its required parameters."""
    model = boto3.Session(region_name="us-east-1").client(
        service, aws_access_key_id="A", aws_secret_access_key="s"
    )
    _, name = min(o for spec in SPECS.values() for o in spec.operations() if o[0] == service)
    shape = model.meta.service_model.operation_model(model.meta.method_to_api_mapping[name]).input_shape
    return name, {} if shape is None else _filler(shape)


OPERATIONS = {service: _operation(service) for service in SERVICES}
LIST_MODELS: tuple[str, dict[str, Any]] = ("list_models", {})


def _request(client: Any, operation: tuple[str, dict[str, Any]]) -> Any:
    """What ``client`` sends for ``operation`` (name, parameters), or the error it raises before
    sending."""
    client.meta.events.register_first("before-send", _stop)
    try:
        getattr(client, operation[0])(**operation[1])
    except _Sent as sent:
        return sent.seen
    except (BotoCoreError, ClientError, ValueError) as exc:
        return (type(exc).__name__, str(exc))
    raise AssertionError("sent nothing")


def _observable(client: Any) -> dict[str, Any]:
    """What a client was made with, as botocore's clients show it."""
    meta = client.meta
    signer = client._request_signer
    resolver = client._ruleset_resolver
    config = {k: v for k, v in vars(meta.config).items() if k not in ("_user_provided_options",)}
    return {
        "endpoint_url": meta.endpoint_url,
        "region": meta.region_name,
        "partition": meta.partition,
        "signing": (signer.region_name, signer.signing_name, signer.signature_version),
        "config": config,
        "builtins": {k: v() if callable(v) else v for k, v in resolver._builtins.items()},
        "client_context": dict(resolver._client_context),
        "use_ssl": resolver._use_ssl,
        "parameters": sorted(resolver._param_definitions),
        "retries": meta.config.retries,
    }


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    import os

    for var in list(os.environ):
        if var.startswith(("AWS_ENDPOINT_URL", "AWS_USE_FIPS", "AWS_USE_DUALSTACK", "AWS_DEFAULTS_MODE")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/mlguard-test-config")
    return monkeypatch


def _pair(variant: dict[str, Any], collector: AwsCollector, account: str = "111111111111") -> tuple[Any, Any]:
    """A session of the collector's and botocore's own, for the same keys."""
    mine = collector.session_with(Credentials(f"AKIA{account}", "secret"), "us-east-1")
    theirs = boto3.Session(
        aws_access_key_id=f"AKIA{account}", aws_secret_access_key="secret", region_name="us-east-1"
    )
    return mine, theirs


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_clients_send_what_botocore_s_send_for_every_service_region_and_endpoint_variant(
    variant: str, clean_env: pytest.MonkeyPatch
) -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    config = collector.config.merge(Config(**VARIANTS[variant]))
    mine, theirs = _pair(VARIANTS[variant], collector)
    compared = sent = 0
    for region in REGIONS:
        for service in SERVICES:
            made: list[Any] = []
            for session in (theirs, mine):
                try:
                    client = session.client(service, region_name=region, config=config)
                except (BotoCoreError, ValueError) as exc:
                    made.append((type(exc).__name__, str(exc)))
                    continue
                made.append((_observable(client), _request(client, OPERATIONS[service])))
            assert made[1] == made[0], (service, region, variant)
            compared += 1
            sent += len(made[0]) == 2 and len(made[0][1]) == 5  # made, and a request seen
    assert compared == len(REGIONS) * len(SERVICES)
    assert sent > compared // 2  # (most clients exist and send: the comparison is not of errors)


@pytest.mark.parametrize(
    ("env", "endpoint_url"),
    [
        ({"AWS_ENDPOINT_URL_SAGEMAKER": "https://sagemaker.example:8443"}, None),
        ({"AWS_ENDPOINT_URL": "http://localhost:5000"}, None),
        ({"AWS_ENDPOINT_URL_S3": "https://s3.example"}, None),
        ({}, "https://given.example"),
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, None),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, None),
    ],
)
def test_configured_endpoints_are_botocore_s(
    env: dict[str, str], endpoint_url: str | None, clean_env: pytest.MonkeyPatch
) -> None:
    for var, value in env.items():
        clean_env.setenv(var, value)
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    mine, theirs = _pair({}, collector)
    for service in ("sagemaker", "s3", "iam", "logs", "bedrock-agent"):
        for region in ("us-east-1", "eu-west-1"):
            made = [
                session.client(
                    service, region_name=region, endpoint_url=endpoint_url, config=collector.config
                )
                for session in (theirs, mine)
            ]
            seen = [(_observable(c), _request(c, OPERATIONS[service])) for c in made]
            assert seen[1] == seen[0], (service, region, env)


def test_a_change_of_the_environment_reaches_the_next_client(clean_env: pytest.MonkeyPatch) -> None:
    """Nothing read for one client is kept for the next, even of the same session."""
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    before = session.client("sagemaker", region_name="us-east-1", config=collector.config)
    clean_env.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    clean_env.setenv("AWS_ENDPOINT_URL_IAM", "https://iam.example")
    after = session.client("sagemaker", region_name="us-east-1", config=collector.config)
    iam = session.client("iam", region_name="us-east-1", config=collector.config)
    assert _request(before, LIST_MODELS)[1] == "https://api.sagemaker.us-east-1.amazonaws.com/"
    assert _request(after, LIST_MODELS)[1] == "https://api-fips.sagemaker.us-east-1.amazonaws.com/"
    assert _request(iam, OPERATIONS["iam"])[1].startswith("https://iam.example/")


def test_each_client_keeps_its_own_resolver_and_retry_state_sharing_only_the_parsed_rule_set() -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    one = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    two = collector.session_with(Credentials("AKIATWO", "secret"), "us-east-1")
    a = one.client("sagemaker", region_name="us-east-1", config=collector.config)
    b = two.client("sagemaker", region_name="eu-west-1", config=collector.config)
    if rulesets.reviewed():
        assert a._ruleset_resolver._provider is b._ruleset_resolver._provider  # parsed once
    assert a._ruleset_resolver is not b._ruleset_resolver
    assert a._ruleset_resolver._builtins["AWS::Region"] == "us-east-1"
    assert b._ruleset_resolver._builtins["AWS::Region"] == "eu-west-1"
    assert _request(a, LIST_MODELS)[1] == "https://api.sagemaker.us-east-1.amazonaws.com/"
    assert _request(b, LIST_MODELS)[1] == "https://api.sagemaker.eu-west-1.amazonaws.com/"

    def quota(client: Any) -> Any:
        handler = client.meta.events._emitter._unique_id_handlers["retry-config-sagemaker"]["handler"]
        return handler.__self__._retry_quota

    assert quota(a) is not quota(b)  # each client's own retry quota, as botocore's
    taken = quota(a)._quota.available_capacity
    timeout = RetryContext(attempt_number=1, caught_exception=ConnectTimeoutError(endpoint_url="x"))
    assert quota(a).acquire_retry_quota(timeout)
    assert quota(a)._quota.available_capacity < taken
    assert quota(b)._quota.available_capacity == taken  # the other client's is untouched


def test_s3_s_excluded_parameters_get_their_own_shared_provider() -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    s3 = session.client("s3", region_name="us-east-1", config=collector.config)
    plain = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
        "s3", region_name="us-east-1"
    )
    assert (
        s3._ruleset_resolver._provider._excluded_params == plain._ruleset_resolver._provider._excluded_params
    )
    assert s3._ruleset_resolver._provider._excluded_params  # (S3's are not empty)


def test_a_store_change_while_a_client_is_made_forgets_what_was_read() -> None:
    collector = AwsCollector(ScopeConfig())
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    store = session._session.get_component("config_store")  # type: ignore[attr-defined]
    if not configreads.reviewed():
        pytest.skip("botocore's config code is not the code reviewed")
    assert type(store) is configreads.MemoStore
    with configreads.reading_once():
        first = store.get_config_variable("retry_mode")
        store.set_config_variable("retry_mode", "adaptive")
        assert store.get_config_variable("retry_mode") == "adaptive" != first
        store.clear_config_variable("retry_mode")
        assert store.get_config_variable("retry_mode") == first
        store.set_config_provider("retry_mode", botocore.configprovider.ConstantProvider("legacy"))
        assert store.get_config_variable("retry_mode") == "legacy"
        copied = copy.copy(store)
        assert type(copied) is configreads.MemoStore
        assert copied.get_config_variable("retry_mode") == "legacy"


def test_dictionaries_and_other_providers_are_read_every_time() -> None:
    collector = AwsCollector(ScopeConfig())
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    store = session._session.get_component("config_store")  # type: ignore[attr-defined]
    if not configreads.reviewed():
        pytest.skip("botocore's config code is not the code reviewed")

    class Counting(botocore.configprovider.BaseProvider):
        reads = 0

        def provide(self) -> Any:
            Counting.reads += 1
            return "x"

    class Section(botocore.configprovider.BaseProvider):
        def provide(self) -> Any:
            return {"addressing_style": "path"}

    store.set_config_provider("s3", Section())
    with configreads.reading_once():
        s3 = store.get_config_variable("s3")
        s3["changed"] = True  # as botocore may change a section in place
        assert store.get_config_variable("s3") == {"addressing_style": "path"}
    store.set_config_provider("retry_mode", Counting())
    with configreads.reading_once():
        store.get_config_variable("retry_mode")
        store.get_config_variable("sts_regional_endpoints")
        store.get_config_variable("retry_mode")
    assert Counting.reads == 2  # a store with a provider of someone else's remembers nothing


def test_the_collector_s_sessions_and_clients_alias_names_through_one_cache() -> None:
    collector = AwsCollector(ScopeConfig())
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    events: Any = session._session._events  # type: ignore[attr-defined]
    client = session.client("sagemaker", region_name="us-east-1")
    assert type(events) is clients.SharedAliaser
    assert events._alias_name_cache is clients.ALIASES
    assert client.meta.events._alias_name_cache is clients.ALIASES
    assert len(clients.ALIASES) > 50
    fresh = EventAliaser(None)
    for name, aliased in list(clients.ALIASES.items()):
        assert fresh._alias_event_name(name) == aliased  # what botocore's own finds for each
    other = EventAliaser(None, {**EVENT_ALIASES, "sagemaker": "x"})
    clients.share_aliases(other)
    assert type(other) is EventAliaser  # other aliases: its own cache
    plain = boto3.Session().events
    assert type(getattr(plain, "_events", plain)) is not clients.SharedAliaser


def _changed(module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if botocore's code had changed under ``module``'s shortcut: one digest no longer matches."""
    table = module.reproduced()
    name = sorted(table)[0]
    monkeypatch.setattr(module, "reproduced", lambda: {**table, name: (table[name][0], {"0" * 16})})
    module.reviewed.cache_clear()


@pytest.mark.parametrize("module", [rulesets, configreads], ids=["rulesets", "configreads"])
def test_where_botocore_s_code_changed_its_own_path_runs_and_clients_are_the_same(
    module: Any, monkeypatch: pytest.MonkeyPatch, clean_env: pytest.MonkeyPatch
) -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    _changed(module, monkeypatch)
    try:
        assert not module.reviewed()
        one = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
        two = collector.session_with(Credentials("AKIATWO", "secret"), "us-east-1")
        a = one.client("sagemaker", region_name="us-east-1", config=collector.config)
        b = two.client("sagemaker", region_name="us-east-1", config=collector.config)
        store = one._session.get_component("config_store")  # type: ignore[attr-defined]
        if module is rulesets:
            assert a._ruleset_resolver._provider is not b._ruleset_resolver._provider  # each its own
            assert type(a._ruleset_resolver._provider) is botocore.endpoint_provider.EndpointProvider
        else:
            assert type(store) is botocore.configprovider.ConfigValueStore  # botocore's reads
        theirs = boto3.Session(aws_access_key_id="AKIAONE", aws_secret_access_key="secret").client(
            "sagemaker", region_name="us-east-1", config=collector.config
        )
        assert _observable(a) == _observable(theirs)
        assert _request(a, LIST_MODELS) == _request(theirs, LIST_MODELS)
    finally:
        monkeypatch.undo()
        module.reviewed.cache_clear()


def test_botocore_s_http_session_of_a_client_being_made_gets_the_shared_context_not_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    made: list[Any] = []
    original = URLLib3Session.__init__

    def seen(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(URLLib3Session, "__init__", seen)
    client = session.client("sagemaker", region_name="us-east-1", config=collector.config)
    ours = client._endpoint.http_session
    assert type(ours) is connections._ClientHttp  # botocore's was replaced before any use
    botocores = [m for m in made if type(m) is URLLib3Session]
    assert len(botocores) == 1
    context = botocores[0]._manager.connection_pool_kw["ssl_context"]
    if connections.reviewed():
        assert context is ours._shared.context.ssl  # no context made for an HTTP session never used
    # outside the collector's making of a client: botocore's own, a new context each
    plain = [URLLib3Session(), URLLib3Session()]
    contexts = [p._manager.connection_pool_kw["ssl_context"] for p in plain]
    assert contexts[0] is not contexts[1]
    assert all(c is not ours._shared.context.ssl for c in contexts)
    other = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
        "sagemaker", region_name="us-east-1"
    )
    assert other._endpoint.http_session._manager.connection_pool_kw["ssl_context"] is not context


def test_where_botocore_s_http_session_changed_each_client_s_makes_its_context(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    _changed(connections, monkeypatch)
    try:
        assert not connections.reviewed()
        with connections.making_client():
            contexts = [URLLib3Session()._manager.connection_pool_kw["ssl_context"] for _ in range(2)]
        assert contexts[0] is not contexts[1]
        client = session.client("sagemaker", region_name="us-east-1", config=collector.config)
        assert _request(client, LIST_MODELS)[1] == "https://api.sagemaker.us-east-1.amazonaws.com/"
    finally:
        monkeypatch.undo()
        connections.reviewed.cache_clear()
