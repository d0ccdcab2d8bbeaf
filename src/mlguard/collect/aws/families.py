"""Import every resource family module; each defines its specs on import."""

from mlguard.collect.aws import (  # noqa: F401
    account,
    agentcore,
    apigateway,
    autoscaling,
    bedrock,
    cloudwatch,
    ec2,
    ecr,
    emr,
    events,
    glue,
    iam,
    kms,
    lambda_,
    s3,
    sagemaker,
    sagemaker_inference,
    sagemaker_monitoring,
    sagemaker_registry,
    sagemaker_studio,
)
