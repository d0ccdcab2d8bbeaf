"""Where Databricks APIs put secrets, redacted with the one classifier (:mod:`mlguard.collect.secrets`).

Spark conf, environment variables, job and pipeline parameters keep their *keys* (policies ask
"is there a plaintext secret?"); a value :func:`~mlguard.collect.secrets.classify` calls a secret is
replaced by ``REDACTED`` (or, in free text, only its credential part). A ``{{secrets/scope/key}}``
reference and a placeholder are not secrets and are kept. :func:`scrub` is the same final scrub
that ``InventorySink`` runs over every resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mlguard.collect.secrets import (
    REDACTED,
    credential_key,
    has_credential,
    is_reference,
    mask_text,
    redact,
    scrub,
)

__all__ = [
    "REDACTED",
    "is_secret_reference",
    "looks_like_secret",
    "redact_args",
    "redact_mapping",
    "redact_text",
    "scrub",
    "sensitive_key",
]

# --flag=value in argument lists.
_ARG_FLAG = re.compile(r"^(-{1,2}[\w.-]+)=(.*)$", re.DOTALL)


def is_secret_reference(value: object) -> bool:
    return isinstance(value, str) and is_reference(value)


def sensitive_key(key: str) -> bool:
    return credential_key(key)


def looks_like_secret(value: str) -> bool:
    return has_credential(value)


def redact_text(value: str) -> str:
    """Free text (comments, descriptions): mask anything shaped like a credential."""
    return mask_text(value)


def redact_mapping(values: Mapping[str, Any] | None) -> tuple[dict[str, str], list[str]]:
    """Spark conf / env vars / parameters: (redacted copy, keys holding plaintext secrets)."""
    out: dict[str, str] = {}
    plaintext: list[str] = []
    for key, raw in (values or {}).items():
        value, secret = redact(str(key), "" if raw is None else str(raw))
        out[key] = value.strip() if is_reference(value) else value
        if secret:
            plaintext.append(key)
    return out, sorted(plaintext)


def redact_args(args: Iterable[Any] | None) -> tuple[list[str], bool]:
    """Command-line style parameters: (redacted copy, whether a plaintext credential was seen)."""
    out: list[str] = []
    found = False
    flag = ""
    for raw in args or []:
        arg = str(raw)
        match = _ARG_FLAG.match(arg)
        if flag and not arg.startswith("-"):
            kept, secret = redact(flag, arg)
        elif match:
            value, secret = redact(match.group(1).lstrip("-"), match.group(2))
            kept = f"{match.group(1)}={value}"
        else:
            kept, secret = redact("", arg)
        found = found or secret
        out.append(kept)
        flag = arg.lstrip("-") if arg.startswith("-") and "=" not in arg and credential_key(arg) else ""
    return out, found
