"""The least-privilege IAM policy the scanner needs, derived from the declared operations."""

from __future__ import annotations

from typing import Any

from mlguard.collect.aws import families  # noqa: F401  (defines the resource specs)
from mlguard.collect.aws.spec import declared_operations, iam_action


def permissions(types: frozenset[str] | None = None) -> dict[str, Any]:
    """An IAM policy document allowing exactly the read operations of ``types`` (default: all)."""
    actions = sorted({iam_action(svc, op) for svc, op in declared_operations(types)})
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "MlguardReadOnly", "Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
