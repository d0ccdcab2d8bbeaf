"""The one redaction helper: secrets never enter the inventory.

Values of environment variables, container environments, hyperparameters and Glue job arguments
pass through here at collection time. :func:`looks_like_secret` is a heuristic on the name and the
value; a value it flags is replaced by :data:`REDACTED`. Environment variable values are never kept
at all: only their names and the flag.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from mlguard.collect.secrets import REDACTED, has_credential

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|credential|private[_-]?key|"
    r"access[_-]?key|auth|conn(ection)?[_-]?str|dsn|session[_-]?key|signing[_-]?key|bearer|"
    r"client[_-]?secret|pwd",
    re.IGNORECASE,
)
_HIGH_ENTROPY_MIN_LEN = 32
_HIGH_ENTROPY_BITS = 4.0


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_like_secret(name: str, value: Any) -> bool:
    """True when a (name, value) pair probably holds a credential.

    Flags a credential-like name with a non-empty value, a value matching a known token format
    (AWS key id, private key, URL with password, GitHub/Slack/Databricks tokens, JWT), or a long
    high-entropy string without spaces.
    """
    text = "" if value is None else str(value)
    if _SECRET_NAME.search(name) and text.strip():
        return True
    if has_credential(text):
        return True
    return (
        len(text) >= _HIGH_ENTROPY_MIN_LEN
        and " " not in text
        and not text.startswith(("/", "s3://", "arn:", "http://", "https://"))  # paths, URIs, ARNs
        and _entropy(text) >= _HIGH_ENTROPY_BITS
    )


def redact_value(name: str, value: Any) -> Any:
    """The value, or :data:`REDACTED` when it looks like a secret."""
    return REDACTED if looks_like_secret(name, value) else value


def redact_mapping(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Keep values that do not look like secrets (hyperparameters, job arguments)."""
    return {str(k): redact_value(str(k), v) for k, v in (values or {}).items()}


def variable_names(values: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Environment variables as names plus a ``looks_like_secret`` flag; values are dropped."""
    return [
        {"name": str(k), "looks_like_secret": looks_like_secret(str(k), v)}
        for k, v in sorted((values or {}).items())
    ]
