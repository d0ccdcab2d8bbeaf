"""YAML and JSON input with line numbers, validated by JSON Schema, with errors that name the place.

Every user-supplied file (policy, framework, config, waivers) goes through :func:`load_validated`:
YAML syntax errors, schema violations (unknown field, wrong type, unknown operator...) become one
:class:`~mlguard.errors.InputError` subclass naming the file, the line and the field.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from mlguard.errors import InputError


class Located:
    """A parsed document that still knows where each node came from."""

    def __init__(self, path: Path, root: Any) -> None:
        self.path = path
        self.root = root  # ruamel nodes (CommentedMap / CommentedSeq / scalars)

    def line_of(self, where: Sequence[str | int]) -> int | None:
        """1-based line of the node at ``where`` (keys and indices), or of its nearest parent."""
        node = self.root
        line: int | None = _node_line(node)
        for step in where:
            if isinstance(node, CommentedMap) and step in node:
                with contextlib.suppress(KeyError, TypeError, AttributeError):
                    line = node.lc.key(step)[0] + 1
                node = node[step]
            elif isinstance(node, CommentedSeq) and isinstance(step, int) and 0 <= step < len(node):
                with contextlib.suppress(KeyError, TypeError, AttributeError):
                    line = node.lc.item(step)[0] + 1
                node = node[step]
            else:
                break
        return line

    def plain(self) -> Any:
        return to_plain(self.root)


def _node_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    if lc is not None and getattr(lc, "line", None) is not None:
        return int(lc.line) + 1
    return None


def to_plain(node: Any) -> Any:
    """ruamel nodes -> JSON types (dates become ISO strings, so JSON Schema sees what JSON would)."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, datetime):
        return node.isoformat()
    if isinstance(node, date):
        return node.isoformat()
    return node


def parse_yaml(path: Path, error: type[InputError] = InputError, text: str | None = None) -> Located:
    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None
    except UnicodeDecodeError:
        raise error("file is not UTF-8 text", file=str(path)) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark is not None and exc.problem:
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        raise error(f"YAML syntax error: {problem}", file=str(path), line=line) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. duplicate keys, bad tags)
        raise error(f"YAML error: {exc}", file=str(path)) from None
    return Located(path, root)


def parse_json(path: Path, error: type[InputError] = InputError) -> Any:
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise error(
            f"invalid JSON: {exc.msg} (column {exc.colno})", file=str(path), line=exc.lineno
        ) from None
    except UnicodeDecodeError:
        raise error("file is not UTF-8 text", file=str(path)) from None


@lru_cache(maxsize=16)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validator_for(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    return _validator(json.dumps(schema, sort_keys=True))


def field_name(path: Iterable[str | int]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(top level)"


def _describe(err: ValidationError) -> tuple[list[str | int], str]:
    """The location and message for one schema error, pointing at the offending key itself."""
    where: list[str | int] = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        props = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
        allowed = set(props)
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            hint = f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
            return [*where, extra[0]], f"unknown field '{extra[0]}'{hint}"
    if err.validator == "enum":
        choices = err.validator_value if isinstance(err.validator_value, list) else []
        shown = ", ".join(map(str, choices[:12])) + (", ..." if len(choices) > 12 else "")
        return where, f"{err.instance!r} is not one of: {shown}"
    if err.validator in ("oneOf", "anyOf") and err.context:
        deepest = max(err.context, key=lambda e: len(e.absolute_path))
        if len(deepest.absolute_path) > len(err.absolute_path) or deepest.validator in (
            "additionalProperties",
            "enum",
            "type",
        ):
            return _describe(deepest)
    return where, err.message


def validate(doc: Located, instance: Any, schema: dict[str, Any], error: type[InputError]) -> None:
    """Raise ``error`` for the first schema violation (in document order), naming file, line, field."""
    errors = sorted(
        validator_for(schema).iter_errors(instance),
        key=lambda e: (doc.line_of(list(e.absolute_path)) or 0, -len(e.absolute_path)),
    )
    if not errors:
        return
    where, message = _describe(errors[0])
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    raise error(f"{field_name(where)}: {message}{more}", file=str(doc.path), line=doc.line_of(where))


def load_validated(path: Path, schema: dict[str, Any], error: type[InputError]) -> tuple[Located, Any]:
    doc = parse_yaml(path, error)
    instance = doc.plain()
    if instance is None:
        raise error("file is empty", file=str(path), line=1)
    validate(doc, instance, schema, error)
    return doc, instance
