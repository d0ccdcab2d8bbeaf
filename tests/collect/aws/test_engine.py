"""Engine behaviour: read-only guard, only the asked types, errors as data, sessions, progress."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from mlguard.collect.aws import AwsCollector, permissions
from mlguard.collect.aws.s3 import EFFECTIVE_FACTS
from mlguard.collect.aws.spec import SPECS, allowlist
from mlguard.collect.base import InventorySink
from mlguard.collect.errors import ReadOnlyViolation
from mlguard.collect.secrets import SECRET_PATHS
from mlguard.config import AwsScope, ScopeConfig
from mlguard.errors import CollectionSetupError, ConfigError
from tests.collect.aws.conftest import ACCOUNT, NullProgress, collect

pytestmark = pytest.mark.usefixtures("aws")

Hook = Callable[..., Any]


def failing(code: str, status: int = 400) -> Hook:
    """A before-call hook that answers with an AWS error instead of sending the request."""

    def hook(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {
            "Error": {"Code": code, "Message": f"{code} injected by test"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://example.invalid", status, {}, None), parsed  # type: ignore[arg-type]

    return hook


def run_with_hooks(
    types: set[str], hooks: dict[str, Hook], max_attempts: int = 1, **scope: Any
) -> tuple[InventorySink, AwsCollector]:
    collector = AwsCollector(
        ScopeConfig(aws=AwsScope(regions=["us-east-1"], max_workers=4, **scope)),
        max_attempts=max_attempts,
        retry_mode="standard",
    )
    base = collector.base_session

    def session() -> boto3.Session:
        s = base()
        for event, hook in hooks.items():
            s.events.register(event, hook)
        return s

    collector.base_session = session  # type: ignore[method-assign]
    sink = InventorySink()
    collector.collect(frozenset(types), sink, NullProgress())
    return sink, collector


def test_mutating_call_through_scanner_session_raises() -> None:
    collector = AwsCollector(ScopeConfig())
    s3 = collector.base_session().client("s3", region_name="us-east-1")
    with pytest.raises(ReadOnlyViolation, match="s3:CreateBucket"):
        s3.create_bucket(Bucket="must-not-exist")
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []
    sm = collector.base_session().client("sagemaker", region_name="us-east-1")
    with pytest.raises(ReadOnlyViolation):
        sm.delete_endpoint(EndpointName="x")


def test_allowlist_holds_only_read_operations() -> None:
    read_prefixes = ("List", "Describe", "Get", "BatchGet")
    for service, op in allowlist():
        assert op.startswith(read_prefixes) or (service, op) == ("sts", "AssumeRole"), (service, op)


def test_full_collection_stays_inside_allowlist() -> None:
    boto3.client("s3").create_bucket(Bucket="bkt-1")
    boto3.client("iam").create_user(UserName="u1")
    boto3.client("kms").create_key()
    run = collect(set(SPECS))
    sent = set(run.collector.stats.by_operation)
    allowed = {f"{svc}:{op}" for svc, op in allowlist()}
    assert sent
    assert sent <= allowed
    # every type was attempted: a coverage record for each
    assert {c.resource_type for c in run.inventory.coverage} == set(SPECS)


def test_only_requested_types_are_called() -> None:
    boto3.client("s3").create_bucket(Bucket="bkt-1")
    run = collect({"aws.s3.bucket"})
    services = {key.split(":")[0] for key in run.collector.stats.by_operation}
    assert services == {"s3", "s3control", "sts"}  # s3control: the account's Block Public Access
    assert not any(k.startswith("sagemaker") for k in run.collector.stats.by_operation)
    assert run.collector.stats.by_type["aws.s3.bucket"] == 1 + 11 + 1  # List, 11 details, 1 per account


def test_access_denied_on_one_service_is_recorded_and_scan_goes_on() -> None:
    boto3.client("kms").create_key()
    sink, _ = run_with_hooks(
        {"aws.kms.key", "aws.sagemaker.endpoint"},
        {"before-call.sagemaker.ListEndpoints": failing("AccessDeniedException", 403)},
    )
    (error,) = sink.errors
    assert error.model_dump(include={"account", "region", "resource_type", "operation", "code"}) == {
        "account": ACCOUNT,
        "region": "us-east-1",
        "resource_type": "aws.sagemaker.endpoint",
        "operation": "sagemaker:ListEndpoints",
        "code": "AccessDeniedException",
    }
    assert len([r for r in sink.resources if r.type == "aws.kms.key"]) == 1
    assert {c.resource_type for c in sink.coverage} == {"aws.kms.key", "aws.sagemaker.endpoint"}


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def test_throttling_beyond_retries_is_recorded() -> None:
    """Throttling is answered on the wire (before-send), so botocore's retry handler sees it."""
    calls: list[str] = []

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        if request.headers.get("X-Amz-Target", b"").endswith(b"ListKeys"):
            calls.append(request.url)
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, _Body(body))  # type: ignore[arg-type]
        return None

    sink, _ = run_with_hooks({"aws.kms.key"}, {"before-send.kms": throttle}, max_attempts=2)
    assert len(calls) == 2  # botocore retried once, then gave up
    (error,) = sink.errors
    assert (error.code, error.operation) == ("ThrottlingException", "kms:ListKeys")


def test_denied_detail_call_marks_resource_attributes() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="bkt-1")
    s3.put_bucket_policy(
        Bucket="bkt-1",
        Policy=json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::bkt-1/*",
                    }
                ]
            }
        ),
    )
    sink, _ = run_with_hooks(
        {"aws.s3.bucket"}, {"before-call.s3.GetBucketPolicy": failing("AccessDenied", 403)}
    )
    (error,) = sink.errors
    assert error.resource_uid == "arn:aws:s3:::bkt-1"
    # The unread response could have held a secret: the secret scrub's verdict is unknown too.
    assert error.attributes == sorted(["policy", "policy_public", "tls_only", SECRET_PATHS, *EFFECTIVE_FACTS])
    (bucket,) = sink.resources
    assert "tls_only" not in bucket.data  # unknown, never a default
    assert "policy_public" not in bucket.data
    assert bucket.data["versioning"] == "Disabled"


def test_malformed_response_is_recorded() -> None:
    def malformed(**_: Any) -> Any:
        return AWSResponse("https://example.invalid", 200, {}, None), {"Keys": "not-a-list"}  # type: ignore[arg-type]

    sink, _ = run_with_hooks({"aws.kms.key"}, {"before-call.kms.ListKeys": malformed})
    (error,) = sink.errors
    assert (error.code, error.operation) == ("MalformedResponse", "kms:ListKeys")


def test_connection_error_through_service_endpoint_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9"
    )  # botocore's own variable; nothing listens
    run = collect({"aws.kms.key", "aws.s3.bucket"})
    (error,) = run.inventory.errors
    assert (error.code, error.operation, error.resource_type) == (
        "ConnectionError",
        "kms:ListKeys",
        "aws.kms.key",
    )


def test_progress_per_account_region_family() -> None:
    progress = NullProgress()
    collect(
        {"aws.kms.key", "aws.s3.bucket", "aws.iam.role"},
        regions=("us-east-1", "eu-west-1"),
        progress=progress,
    )
    assert sorted(progress.started) == sorted(progress.finished)
    assert sorted(progress.started) == [
        f"aws/{ACCOUNT}/eu-west-1/kms",
        f"aws/{ACCOUNT}/global/iam",
        f"aws/{ACCOUNT}/global/s3",
        f"aws/{ACCOUNT}/us-east-1/kms",
    ]


def test_enabled_regions_are_the_default() -> None:
    run = collect({"aws.kms.key"}, regions=())
    regions = {c.region for c in run.inventory.coverage}
    assert "us-east-1" in regions
    assert len(regions) > 5
    assert set(run.inventory.provenance.regions) == regions


def test_org_role_assumes_into_each_account() -> None:
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="ml", Email="ml@example.com")["CreateAccountStatus"]["AccountId"]
    run = collect({"aws.kms.key"}, org_role="MlguardAudit")
    accounts = {c.account for c in run.inventory.coverage}
    assert accounts == {ACCOUNT, member}
    principals = {i.principal for i in run.inventory.provenance.identities}
    assert any(f":{member}:assumed-role/MlguardAudit/" in p for p in principals)


def test_role_arn_is_assumed_first() -> None:
    role = boto3.client("iam").create_role(
        RoleName="Scanner", AssumeRolePolicyDocument=json.dumps({"Statement": []})
    )
    run = collect({"aws.kms.key"}, role_arn=role["Role"]["Arn"], external_id="ext-123")
    (identity,) = run.inventory.provenance.identities
    assert identity.principal.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/Scanner/mlguard-scan")


def test_no_credentials_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(CollectionSetupError):
        collect({"aws.kms.key"})


def test_unreachable_endpoint_is_a_setup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with pytest.raises(CollectionSetupError, match="cannot start the AWS scan"):
        collect({"aws.kms.key"})


def test_unknown_profile_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nope"):
        collect({"aws.kms.key"}, profile="nope")


def test_permissions_derive_from_declared_operations() -> None:
    doc = permissions()
    actions = doc["Statement"][0]["Action"]
    assert "s3:GetEncryptionConfiguration" in actions
    assert "iam:GetAccountAuthorizationDetails" in actions
    assert "sagemaker:DescribeEndpoint" in actions
    assert "cloudwatch:GetMetricData" in actions
    assert not [a for a in actions if a.split(":")[1].startswith(("Create", "Put", "Delete", "Update"))]
    s3_only = permissions(frozenset({"aws.s3.bucket"}))["Statement"][0]["Action"]
    assert not [a for a in s3_only if a.startswith("sagemaker:")]


def test_failed_enrichment_names_the_operation_that_failed() -> None:
    # A type mlguard's offline table does not know either, so the fleet cannot be counted.
    boto3.client("ec2").run_instances(
        ImageId="ami-12c6146b", InstanceType="zz9.large", MinCount=1, MaxCount=1
    )
    sink, _ = run_with_hooks(
        {"aws.region"}, {"before-call.ec2.DescribeInstanceTypes": failing("UnauthorizedOperation", 403)}
    )
    (error,) = sink.errors
    assert (error.operation, error.code) == ("ec2:DescribeInstanceTypes", "UnauthorizedOperation")
    assert error.attributes == ["gpu_fleet", "instances"]
    (region,) = sink.resources
    assert "gpu_fleet" not in region.data


def test_a_detail_with_items_is_paged_by_the_engine() -> None:
    """``Detail(items=...)``: the engine pages the operation through the caller (every page a
    counted, guarded call) and keeps every page's items; no hand-written fetch."""
    from concurrent.futures import ThreadPoolExecutor

    from mlguard.collect.aws.engine import Account, ApiStats, Engine, Guard, client_config
    from mlguard.collect.aws.spec import Detail, ResourceSpec

    logs = boto3.client("logs", region_name="us-east-1")
    logs.create_log_group(logGroupName="/app/paged")
    for n in range(5):
        logs.create_log_stream(logGroupName="/app/paged", logStreamName=f"s{n}")
    spec = ResourceSpec(
        type="aws.test.paged",
        family="test",
        service="logs",
        operation="describe_log_groups",
        items="logGroups",
        id="logGroupName",
        arn="arn",
        details=(
            Detail(
                operation="describe_log_streams",
                params=lambda r: {"logGroupName": r["logGroupName"], "PaginationConfig": {"PageSize": 2}},
                items="logStreams[].logStreamName",
                into="Streams",
                attributes=("streams",),
            ),
        ),
        normalize=lambda item, opts: {"streams": item.raw["Streams"]},
    )
    stats = ApiStats()
    allowed = frozenset({("logs", "DescribeLogGroups"), ("logs", "DescribeLogStreams")})
    account = Account(
        id=ACCOUNT,
        partition="aws",
        session=Guard(allowed, stats).install(boto3.Session()),
        home_region="us-east-1",
        config=client_config(1, "standard", 2),
    )
    sink = InventorySink()
    with ThreadPoolExecutor(2) as pool:
        Engine(sink, stats, pool, job_lookback_days=30, metrics_days=14).collect(account, "us-east-1", spec)
    assert not sink.errors
    assert sink.resources[0].data["streams"] == ["s0", "s1", "s2", "s3", "s4"]
    assert stats.by_operation["logs:DescribeLogStreams"] == 3  # three pages of two
