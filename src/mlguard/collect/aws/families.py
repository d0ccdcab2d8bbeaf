"""Import every resource family module; each defines its specs on import."""

from mlguard.collect.aws import s3  # noqa: F401
