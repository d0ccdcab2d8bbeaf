"""The collector's clients gather endpoint rule-set parameters from a plan per operation: the same
parameters, endpoints, signing context and errors as botocore's resolver, for many services,
regions, settings and call arguments."""

from __future__ import annotations

import random
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import UnknownEndpointResolutionBuiltInName
from botocore.regions import EndpointRulesetResolver

from mlguard.collect.aws import AwsCollector, endpoints
from mlguard.config import ScopeConfig

#: The shortcut is compared with botocore where it is used: where botocore's code is the code it
#: was reviewed against (mlguard.collect.aws.reviewed; elsewhere botocore's own code runs).
pytestmark = pytest.mark.skipif(
    not endpoints.reviewed(), reason="botocore's code is not the code endpoints.py was reviewed against"
)

# The collector's services first, then others with context parameters (S3 control's account id,
# DynamoDB's account id endpoints, Lambda's, Kinesis' stream ARNs...).
SERVICES = ["s3", "sagemaker", "iam", "ec2", "sts", "bedrock", "bedrock-agent", "lambda", "kms", "ecr"]
SERVICES += ["glue", "emr", "cloudtrail", "logs", "events", "apigateway", "autoscaling", "cloudwatch"]
SERVICES += ["bedrock-agentcore-control", "s3control", "dynamodb", "kinesis", "organizations", "route53"]
REGIONS = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "cn-north-1",
    "us-gov-west-1",
    "aws-global",
    "us-iso-east-1",
]
VALUES = [
    "b1",
    "my.dotted.bucket",
    "Bad_Bucket",
    "arn:aws:s3:us-west-2:123456789012:accesspoint/ap",
    "123456789012",
]
VALUES += [
    "arn:aws:kinesis:us-east-1:123456789012:stream/s",
    "",
    "x" * 70,
    "bucket--x-s3",
    "mybucket--use1-az4--x-s3",
]
VALUES += ["arn:aws:s3-outposts:us-west-2:123456789012:outpost/op-01234567890123456/accesspoint/ap"]


def _config(rng: random.Random) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if rng.random() < 0.2:
        kwargs["use_fips_endpoint"] = True
    if rng.random() < 0.2:
        kwargs["use_dualstack_endpoint"] = True
    if rng.random() < 0.3:
        kwargs["s3"] = {
            "addressing_style": rng.choice(["path", "virtual", "auto"]),
            "us_east_1_regional_endpoint": rng.choice(["regional", "legacy"]),
            "use_arn_region": rng.choice([True, False]),
        }
    if rng.random() < 0.2:
        kwargs["account_id_endpoint_mode"] = rng.choice(["preferred", "disabled", "required"])
    return kwargs


def _args(rng: random.Random, operation: Any) -> dict[str, Any]:
    """Call arguments: every member a context parameter reads, set or not, at random."""
    members = {p.member_name for p in operation.context_parameters}
    if operation.input_shape is not None:
        members |= {m for m in operation.input_shape.members if rng.random() < 0.1}
    paths = operation.operation_context_parameters  # a dict, or botocore's [] when there is none
    for spec in dict(paths).values():
        members.add(str(spec["path"]).split(".")[0].split("[")[0])
    args: dict[str, Any] = {}
    for member in members:
        if rng.random() < 0.75:
            args[member] = rng.choice([*VALUES, None, True, ["a", "b"], {"Key": "k"}])
    return args


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def _pair(service: str, region: str, config: dict[str, Any], endpoint_url: str | None) -> tuple[Any, Any]:
    session = botocore.session.Session()
    session.set_credentials("AKIAEXAMPLE", "secret")
    made = []
    for _ in range(2):
        made.append(
            session.create_client(
                service, region_name=region, endpoint_url=endpoint_url, config=Config(**config)
            )
        )
    theirs, mine = made
    assert endpoints.install(mine)
    assert type(theirs._ruleset_resolver) is EndpointRulesetResolver
    return theirs, mine


def test_planned_parameters_and_endpoints_are_botocore_s() -> None:
    rng = random.Random(15)
    compared = resolved = 0
    for _ in range(60):
        service = rng.choice(SERVICES)
        region = rng.choice(REGIONS)
        url = rng.choice([None, None, None, "http://127.0.0.1:5000", "https://vpce-1.example.com"])
        config = _config(rng)
        made = _outcome(_pair, service, region, config, url)
        if made[0] != "ok":  # a client botocore will not make: nothing to compare
            assert made[1].__name__ in {"InvalidConfigError", "UnknownRegionError", "EndpointVariantError"}, (
                made
            )
            continue
        theirs, mine = made[1]
        model = theirs.meta.service_model
        names = rng.sample(model.operation_names, min(12, len(model.operation_names)))
        for name in names:
            operation = model.operation_model(name)
            for _ in range(3):
                args = _args(rng, operation)
                context_a: dict[str, Any] = {"client_region": region, "client_config": theirs.meta.config}
                context_b: dict[str, Any] = {"client_region": region, "client_config": mine.meta.config}
                a = _outcome(theirs._resolve_endpoint_ruleset, operation, dict(args), context_a)
                b = _outcome(mine._resolve_endpoint_ruleset, operation, dict(args), context_b)
                assert a == b, (service, region, config, url, name, args)
                assert {k: v for k, v in context_a.items() if k != "client_config"} == {
                    k: v for k, v in context_b.items() if k != "client_config"
                }
                pa = _outcome(theirs._ruleset_resolver._get_provider_params, operation, dict(args), {})
                pb = _outcome(mine._ruleset_resolver._get_provider_params, operation, dict(args), {})
                assert pa == pb
                compared += 1
                resolved += a[0] == "ok"
    assert compared > 900
    assert compared > resolved > compared // 2  # endpoints and errors both compared


def test_s3_handlers_still_see_each_call() -> None:
    """``before-endpoint-resolution`` runs on every call, as botocore's: a region the S3 redirector
    learnt for a bucket between two calls moves that bucket's endpoint for both resolvers."""
    theirs, mine = _pair("s3", "us-east-1", {}, None)
    operation = theirs.meta.service_model.operation_model("GetBucketTagging")
    before = [
        c._resolve_endpoint_ruleset(operation, {"Bucket": "b1"}, {"client_region": "us-east-1"})[0]
        for c in (theirs, mine)
    ]
    for client in (theirs, mine):
        client.meta.events.register(
            "before-endpoint-resolution.s3",
            lambda builtins, **_: builtins.update({"AWS::Region": "eu-west-1"}),
        )
    after = [
        c._resolve_endpoint_ruleset(operation, {"Bucket": "b1"}, {"client_region": "us-east-1"})[0]
        for c in (theirs, mine)
    ]
    assert before[0] == before[1]
    assert after[0] == after[1] != before[0]
    assert "eu-west-1" in after[0]


def test_callable_builtins_are_called_per_call_and_unknown_ones_refused() -> None:
    theirs, mine = _pair("dynamodb", "us-east-1", {}, None)
    operation = theirs.meta.service_model.operation_model("ListTables")
    account = ["111111111111"]
    calls = {"theirs": 0, "mine": 0}

    def builtin(who: str) -> Any:
        def value() -> str:
            calls[who] += 1
            return account[0]

        return value

    theirs._ruleset_resolver._builtins["AWS::Auth::AccountId"] = builtin("theirs")
    mine._ruleset_resolver._builtins["AWS::Auth::AccountId"] = builtin("mine")
    urls = []
    for number in ("111111111111", "222222222222"):
        account[0] = number
        urls += [
            c._resolve_endpoint_ruleset(operation, {}, {"client_region": "us-east-1"})[0]
            for c in (theirs, mine)
        ]
    assert urls[0] == urls[1] != urls[2] == urls[3]
    assert "222222222222" in urls[3]
    assert calls["theirs"] == calls["mine"] > 0
    theirs, mine = _pair("dynamodb", "us-east-1", {}, None)  # a rule set naming a builtin botocore lacks
    for client in (theirs, mine):
        client._ruleset_resolver._param_definitions["Region"].builtin = "AWS::Nonsense"
        with pytest.raises(UnknownEndpointResolutionBuiltInName):
            client._resolve_endpoint_ruleset(operation, {}, {"client_region": "us-east-1"})


def test_collector_clients_only() -> None:
    collector = AwsCollector(ScopeConfig())
    collector.base_session()
    session = collector.session_with(Credentials("AKIAONE", "secret"), "us-east-1")
    assert (
        type(session.client("sagemaker", region_name="us-east-1")._ruleset_resolver)
        is endpoints.PlannedResolver
    )
    plain = boto3.Session(aws_access_key_id="A", aws_secret_access_key="s").client(
        "sagemaker", region_name="us-east-1"
    )
    assert type(plain._ruleset_resolver) is EndpointRulesetResolver
    assert endpoints.install(object()) is False
