"""Import every resource family module; each defines its specs on import."""

from mlguard.collect.aws import ec2, iam, kms, s3  # noqa: F401
