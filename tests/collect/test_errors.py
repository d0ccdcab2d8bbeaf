"""One collection core for failures: one read-only violation, one classifier protocol (each
provider reads its own exception types), one builder of collection errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from databricks.sdk.errors.platform import PermissionDenied

from mlguard.collect.aws import engine
from mlguard.collect.databricks import _common
from mlguard.collect.errors import MAX_MESSAGE, ErrorClassifier, ReadOnlyViolation, collection_error
from mlguard.cost import aws_pricing


def test_every_guard_raises_the_one_read_only_violation() -> None:
    assert engine.ReadOnlyViolation is ReadOnlyViolation
    assert _common.ReadOnlyViolation is ReadOnlyViolation
    assert aws_pricing.ReadOnlyViolation is ReadOnlyViolation
    assert str(ReadOnlyViolation.operation("s3", "DeleteBucket")) == (
        "mlguard is read-only: s3:DeleteBucket is not an allowlisted read operation"
    )


def _denied() -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "AccessDenied", "Message": "not authorized\nsecond line"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        },
        "ListBuckets",
    )


@pytest.mark.parametrize(
    ("provider", "classify", "exc", "code", "message"),
    [
        ("aws", engine.error_code, _denied(), "AccessDenied", "not authorized"),
        (
            "databricks",
            _common.classify_error,
            PermissionDenied("no <b>access</b>", error_code="PERMISSION_DENIED"),
            "PERMISSION_DENIED",
            "no <b>access</b>",
        ),
    ],
)
def test_each_provider_classifies_its_failures_into_one_record(
    provider: str, classify: ErrorClassifier, exc: BaseException, code: str, message: str
) -> None:
    err = collection_error(
        provider, "op", exc, classify, account="a", resource_type="t", resource_uid="u", attributes=["b", "a"]
    )
    assert (err.provider, err.operation, err.code, err.message) == (provider, "op", code, message)
    assert (err.account, err.resource_type, err.resource_uid, err.attributes) == ("a", "t", "u", ["b", "a"])


def test_an_explicit_code_needs_no_classifier_and_the_message_is_capped() -> None:
    err = collection_error("aws", "ec2:DescribeInstanceTypes", ("UnknownInstanceType", "x" * 900), note="!")
    assert err.code == "UnknownInstanceType"
    assert err.message == "x" * MAX_MESSAGE
    with pytest.raises(TypeError):
        collection_error("aws", "op", ValueError("boom"))
