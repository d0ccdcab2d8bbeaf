"""CloudTrail trails: logging status and which buckets' S3 data events they record in full."""

from __future__ import annotations

import boto3
import pytest

from mlguard.collect.aws.cloudtrail import _advanced, _basic
from tests.collect.aws.conftest import collect

pytestmark = pytest.mark.usefixtures("aws")


def test_classic_selectors_count_whole_buckets_read_and_write() -> None:
    selectors = [
        {
            "ReadWriteType": "All",
            "DataResources": [
                {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::raw/", "arn:aws:s3:::raw2/prefix/"]},
                {"Type": "AWS::Lambda::Function", "Values": ["arn:aws:lambda"]},
            ],
        },
        {
            "ReadWriteType": "WriteOnly",
            "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::w/"]}],
        },
    ]
    assert _basic(selectors) == (False, {"raw"})
    assert _basic([{"DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]) == (
        True,
        set(),
    )


def test_advanced_selectors_count_only_unfiltered_object_events() -> None:
    def sel(*fields: dict[str, object]) -> dict[str, object]:
        return {
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                *fields,
            ]
        }

    assert _advanced([sel()]) == (True, set())
    assert _advanced([sel({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::feat/"]})]) == (
        False,
        {"feat"},
    )
    # read-only, or a prefix inside the bucket: only part of the events
    assert _advanced([sel({"Field": "readOnly", "Equals": ["true"]})]) == (False, set())
    assert _advanced([sel({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::feat/2024/"]})]) == (
        False,
        set(),
    )
    mgmt = {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
    assert _advanced([mgmt]) == (False, set())


def test_trails_are_collected_with_status_and_data_event_buckets() -> None:
    boto3.client("s3").create_bucket(Bucket="trail-logs")
    ct = boto3.client("cloudtrail")
    ct.create_trail(Name="data", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    ct.put_event_selectors(
        TrailName="data",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::raw/"]}],
            }
        ],
    )
    ct.start_logging(Name="data")
    ct.create_trail(Name="mgmt-only", S3BucketName="trail-logs")
    inv = collect({"aws.cloudtrail.trail"})
    data = inv.one("aws.cloudtrail.trail", "data").data
    assert data["is_logging"] is True
    assert data["is_multi_region_trail"] is True
    assert data["s3_data_event_buckets"] == ["raw"]
    assert data["s3_data_events_all_buckets"] is False
    idle = inv.one("aws.cloudtrail.trail", "mgmt-only").data
    assert idle["is_logging"] is False
    assert idle["s3_data_event_buckets"] == []
