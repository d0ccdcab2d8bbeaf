"""Import every resource family module; each defines its specs on import."""

from mlguard.collect.aws import (  # noqa: F401
    account,
    apigateway,
    autoscaling,
    bedrock,
    cloudwatch,
    ec2,
    emr,
    events,
    glue,
    iam,
    kms,
    lambda_,
    s3,
    sagemaker,
)
