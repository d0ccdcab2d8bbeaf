"""The keys that relate Databricks resources to AWS resources (cross-provider joins)."""

from __future__ import annotations

import pytest

from mlguard.collect.databricks.unity_catalog import s3_bucket


@pytest.mark.parametrize(
    ("url", "bucket"),
    [
        ("s3://acme-raw/landing/2026", "acme-raw"),
        ("s3://acme-raw", "acme-raw"),
        ("s3a://acme.raw/x", "acme.raw"),
        ("S3://acme-raw/x", "acme-raw"),
        ("abfss://container@account.dfs.core.windows.net/x", None),
        ("gs://bucket/x", None),
        ("s3://", None),
        ("https://acme-raw.s3.amazonaws.com/x", None),
        (None, None),
        (42, None),
    ],
)
def test_the_bucket_of_an_external_location_url(url: object, bucket: str | None) -> None:
    assert s3_bucket(url) == bucket
