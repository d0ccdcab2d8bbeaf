"""A small ML estate scanned twice, a week apart, with known changes in between."""

from __future__ import annotations

from mlguard.model import Category, Severity, Status
from tests.history.factory import Check, Estate, Res

BUCKET_RAW = Res("ml-raw-data", "aws.s3.bucket")
BUCKET_FEATURES = Res("ml-features", "aws.s3.bucket")
NOTEBOOK = Res("research-nb", "aws.sagemaker.notebook_instance")
ENDPOINT_OLD = Res("churn-v1", "aws.sagemaker.endpoint")
ENDPOINT_NEW = Res("churn-v2", "aws.sagemaker.endpoint")
CLUSTER = Res("etl-cluster", "databricks.cluster", "databricks")

S3_ENC = "aws-s3-001"
NB_ROOT = "aws-sagemaker-010"
EP_ALARM = "aws-sagemaker-020"
DBX_AUTOTERM = "databricks-cluster-001"

CIS = ("cis-aws:2.1.1",)
NIST = ("nist-ai-rmf:MEASURE-2.7",)


def week1() -> Estate:
    return Estate(
        started="2026-11-01T02:00:00Z",
        resources=[BUCKET_RAW, BUCKET_FEATURES, NOTEBOOK, ENDPOINT_OLD, CLUSTER],
        checks=[
            Check(S3_ENC, BUCKET_RAW, Status.FAIL, compliance=CIS),
            Check(S3_ENC, BUCKET_FEATURES, Status.PASS, compliance=CIS),
            Check(NB_ROOT, NOTEBOOK, Status.PASS, compliance=NIST),
            Check(EP_ALARM, ENDPOINT_OLD, Status.FAIL, Severity.MEDIUM, Category.MONITORING, NIST),
            Check(DBX_AUTOTERM, CLUSTER, Status.PASS, Severity.LOW, Category.COST),
        ],
    )


def week2() -> Estate:
    """Raw bucket encrypted (fixed), notebook got root access (broken), endpoint v2 added, failing."""
    return Estate(
        started="2026-11-08T02:00:00Z",
        resources=[BUCKET_RAW, BUCKET_FEATURES, NOTEBOOK, ENDPOINT_OLD, ENDPOINT_NEW, CLUSTER],
        checks=[
            Check(S3_ENC, BUCKET_RAW, Status.PASS, compliance=CIS),
            Check(S3_ENC, BUCKET_FEATURES, Status.PASS, compliance=CIS),
            Check(NB_ROOT, NOTEBOOK, Status.FAIL, compliance=NIST),
            Check(EP_ALARM, ENDPOINT_OLD, Status.FAIL, Severity.MEDIUM, Category.MONITORING, NIST),
            Check(EP_ALARM, ENDPOINT_NEW, Status.FAIL, Severity.MEDIUM, Category.MONITORING, NIST),
            Check(DBX_AUTOTERM, CLUSTER, Status.PASS, Severity.LOW, Category.COST),
        ],
    )
