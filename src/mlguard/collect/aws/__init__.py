"""The AWS provider: resource types as data (one module per family), one query engine."""

from mlguard.collect.aws import families  # noqa: F401  (defines the resource specs)
from mlguard.collect.aws.collector import AwsCollector
from mlguard.collect.aws.permissions import permissions

__all__ = ["AwsCollector", "permissions"]
