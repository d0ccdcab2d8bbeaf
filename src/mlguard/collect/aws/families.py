"""Import every resource family module; each defines its specs on import."""

from mlguard.collect.aws import autoscaling, cloudwatch, ec2, iam, kms, s3, sagemaker  # noqa: F401
