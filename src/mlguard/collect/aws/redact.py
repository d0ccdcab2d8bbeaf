"""Where AWS APIs put secrets, redacted with the one classifier (:mod:`mlguard.collect.secrets`).

Container environments and Lambda variables keep only their names and a ``looks_like_secret``
flag (values are never kept at all); hyperparameters, Glue job arguments and other argument maps
keep their values unless :func:`~mlguard.collect.secrets.classify` calls them a secret, in which
case the value is replaced by :data:`REDACTED`. Everything else passes the final scrub in ``InventorySink``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlguard.collect.secrets import REDACTED, classify, variable_flags

__all__ = ["REDACTED", "looks_like_secret", "redact_mapping", "redact_value", "variable_names"]


def looks_like_secret(name: str, value: Any) -> bool:
    """True when the (name, value) pair holds a plaintext credential (not a reference or placeholder)."""
    return classify(str(name), None if value is None else str(value)) == "secret"


def redact_value(name: str, value: Any) -> Any:
    """The value, or :data:`REDACTED` in its place when the pair is a secret (an argument map's
    value is replaced whole, so policies can test its elements against the marker)."""
    return REDACTED if looks_like_secret(name, value) else value


def redact_mapping(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Argument maps (hyperparameters, job arguments): values kept unless they are secrets."""
    return {str(k): redact_value(str(k), v) for k, v in (values or {}).items()}


def variable_names(values: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Environment variables as names plus a ``looks_like_secret`` flag; values are dropped."""
    return variable_flags(values)
