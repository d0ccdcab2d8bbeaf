"""Turn AWS API shapes into inventory data: snake_case keys, JSON types, ISO-8601 UTC times."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from mlguard.collect.secrets import replace_secrets, variable_flags
from mlguard.model import ENVELOPE_KEYS, iso

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

# Maps whose keys are user data (kept verbatim, not snake_cased) and whose values may be secrets.
_VARIABLES = frozenset(
    {"Environment", "Variables", "ContainerEnvironmentVariables"}
)  # values dropped, names kept
_ARGUMENTS = frozenset(
    {"HyperParameters", "DefaultArguments", "NonOverridableArguments", "Arguments", "Parameters"}
)
_VERBATIM = frozenset({"Tags", "TagSet", "EventPattern", "MethodSettings"})


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).replace("-", "_").lower()


def to_json(value: Any, key: str | None = None) -> Any:
    """Recursively convert an API value to JSON types with snake_case keys.

    The maps that hold user data (environments, hyperparameters, job arguments) go through the
    redaction helper here, so no code path can put their secret values into the inventory.
    """
    if isinstance(value, dict):
        if key in _VARIABLES and all(isinstance(v, str) for v in value.values()):
            return variable_flags(value)
        if key in _ARGUMENTS:
            return replace_secrets(value)
        if key in _VERBATIM:
            return {str(k): to_json(v) for k, v in value.items()}
        return {snake(str(k)): to_json(v, str(k)) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [to_json(v, key) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return None  # binary blobs (e.g. KMS ciphertext) are not inventory data
    return value


def data_of(raw: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Default normalisation: everything read, snake_cased, envelope keys renamed away."""
    data: dict[str, Any] = to_json({k: v for k, v in raw.items() if k not in drop})
    for key in ENVELOPE_KEYS.intersection(data):
        value = data.pop(key)
        if key not in ("name", "id", "tags"):  # those live in the envelope already
            data[f"{key}_value"] = value
    return data


def tags_of(value: Any) -> dict[str, str]:
    """Tags from ``[{Key, Value}]`` lists or plain maps."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        out: dict[str, str] = {}
        for t in value:
            if isinstance(t, dict):
                k = t.get("Key", t.get("key"))
                if k is not None:
                    out[str(k)] = str(t.get("Value", t.get("value", "")) or "")
        return out
    return {}


def policy_document(value: Any) -> dict[str, Any] | None:
    """A policy document from a JSON string (possibly URL-encoded, as IAM returns it) or a dict."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return value
    text = str(value)
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("policy document is not a JSON object")
    return doc


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
