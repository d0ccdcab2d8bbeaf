"""Secrets never enter the inventory: redaction applied at collection time.

Spark conf, environment variables, job and pipeline parameters keep their *keys* (policies ask
"is there a plaintext secret?") but values that are, or may be, credentials are replaced by
``REDACTED``. A ``{{secrets/scope/key}}`` reference is not a secret and is kept. :func:`scrub`
is the last line of defence run over every resource's data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mlguard.collect.secrets import REDACTED, has_credential, mask_credentials

_SECRET_REF = re.compile(r"^\s*\{\{\s*secrets/[^/{}\s]+/[^/{}\s]+\s*\}\}\s*$")
# Keys whose values are credentials (Spark conf, env vars, parameters, config fields).
_SENSITIVE_KEY = re.compile(
    r"(?i)(pass(word|wd|phrase)?\b|pwd|secret|api[_.-]?key|access[_.-]?key|private[_.-]?key|"
    r"client[_.-]?secret|plaintext|credential|(^|[_.-])(auth[_.-]?)?token$|^token|sas$|connection[_.-]?string|"
    r"jdbc[_.-]?url)"
)
# Values kept verbatim on non-sensitive keys: flags, numbers, sizes, simple identifiers of a class.
_HARMLESS_VALUE = re.compile(r"^(true|false|[+-]?\d+(\.\d+)?[a-zA-Z]{0,3}|[a-zA-Z_.]+|/[\w./-]+)$")
# --flag=value / -flag value in argument lists.
_ARG_FLAG = re.compile(r"^(-{1,2}[\w.-]+)(=)(.*)$")


def is_secret_reference(value: object) -> bool:
    return isinstance(value, str) and bool(_SECRET_REF.match(value))


# Keys that name or count a credential rather than hold one (credential_name, token_id, ...).
_NAMING_KEY = re.compile(
    r"(?i)(_name|_names|_id|_ids|_type|_arn|_keys|_count|_enabled|_time|_at|_scope|_seconds)$"
)


def sensitive_key(key: str) -> bool:
    return bool(_SENSITIVE_KEY.search(key)) and not _NAMING_KEY.search(key)


def looks_like_secret(value: str) -> bool:
    return has_credential(value)


def redact_text(value: str) -> str:
    """Free text (comments, descriptions): mask anything shaped like a credential."""
    return mask_credentials(value)


def redact_mapping(values: Mapping[str, Any] | None) -> tuple[dict[str, str], list[str]]:
    """Spark conf / env vars / parameters: (redacted copy, keys holding plaintext secrets).

    A value is a *plaintext secret* when its key is sensitive or the value looks like a credential,
    and it is not a ``{{secrets/...}}`` reference.
    """
    out: dict[str, str] = {}
    plaintext: list[str] = []
    for key, raw in (values or {}).items():
        value = "" if raw is None else str(raw)
        if is_secret_reference(value):
            out[key] = value.strip()
            continue
        secret = bool(value) and (sensitive_key(key) or looks_like_secret(value))
        if secret:
            plaintext.append(key)
            out[key] = REDACTED
        elif _HARMLESS_VALUE.match(value) or value == "":
            out[key] = value
        else:
            out[key] = REDACTED
    return out, sorted(plaintext)


def redact_args(args: Iterable[Any] | None) -> tuple[list[str], bool]:
    """Command-line style parameters: (redacted copy, whether a plaintext credential was seen)."""
    out: list[str] = []
    found = False
    previous_sensitive = False
    for raw in args or []:
        arg = str(raw)
        match = _ARG_FLAG.match(arg)
        if previous_sensitive and not arg.startswith("-"):
            if not is_secret_reference(arg):
                found = True
                arg = REDACTED
            previous_sensitive = False
        elif match and sensitive_key(match.group(1).lstrip("-")) and not is_secret_reference(match.group(3)):
            found = True
            arg = f"{match.group(1)}={REDACTED}"
        elif looks_like_secret(arg):
            found = True
            arg = redact_text(arg)
        else:
            previous_sensitive = arg.startswith("-") and sensitive_key(arg.lstrip("-"))
        out.append(arg)
    return out, found


def scrub(value: Any, key: str = "") -> Any:
    """Last line of defence over a resource's data: sensitive keys and credential-shaped strings."""
    if isinstance(value, Mapping):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, key) for v in value]
    if isinstance(value, str):
        if value == REDACTED or is_secret_reference(value):
            return value
        if key and sensitive_key(key):
            return REDACTED
        return redact_text(value)
    return value
