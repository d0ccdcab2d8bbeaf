"""YAML and JSON input with line numbers, validated by JSON Schema, with errors that name the place.

Every user-supplied file (policy, framework, config, waivers) goes through :func:`load_validated`:
YAML syntax errors, schema violations (unknown field, wrong type, unknown operator...) become one
:class:`~mlguard.errors.InputError` subclass naming the file, the line and the field.

Every input is bounded before it is trusted (:class:`Limits`): a file over its size cap is refused
unread, YAML aliases may expand the document by a small budget only ("billion laughs"), and YAML or
JSON nested deeper than a cap is refused with its line, never a crash. The caps can be raised by
environment variables for the rare legitimate case.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
from jsonschema.exceptions import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from mlguard.errors import InputError, combined

E = TypeVar("E", bound=InputError)

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps on every input file; each has an environment variable to raise it."""

    yaml_bytes: int = 4 * MiB  # MLGUARD_MAX_YAML_BYTES: policies, frameworks, config, waivers
    json_bytes: int = 512 * MiB  # MLGUARD_MAX_JSON_BYTES: inventories, results, baselines
    checkov_bytes: int = 256 * MiB  # MLGUARD_MAX_CHECKOV_BYTES: checkov's JSON report (mlguard iac)
    nesting: int = 100  # MLGUARD_MAX_NESTING: levels of lists/maps, YAML and JSON
    alias_nodes: int = 10_000  # MLGUARD_MAX_YAML_ALIAS_NODES: nodes YAML aliases may add

    @classmethod
    def from_env(cls) -> Limits:
        def get(name: str, default: int) -> int:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise InputError(f"${name} must be a whole number, not {raw!r}") from None
            if value < 1:
                raise InputError(f"${name} must be at least 1, not {value}")
            return value

        d = cls()
        return cls(
            yaml_bytes=get("MLGUARD_MAX_YAML_BYTES", d.yaml_bytes),
            json_bytes=get("MLGUARD_MAX_JSON_BYTES", d.json_bytes),
            checkov_bytes=get("MLGUARD_MAX_CHECKOV_BYTES", d.checkov_bytes),
            nesting=get("MLGUARD_MAX_NESTING", d.nesting),
            alias_nodes=get("MLGUARD_MAX_YAML_ALIAS_NODES", d.alias_nodes),
        )


def read_bounded(path: Path, cap: int, env: str, error: type[InputError]) -> bytes:
    """The file's bytes, refused unread (or after ``cap`` + 1 bytes, for pipes) when over ``cap``."""
    try:
        with path.open("rb") as fh:
            data = fh.read(cap + 1)
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror or exc}", file=str(path)) from None
    if len(data) > cap:
        raise error(
            f"file is larger than the {size_text(cap)} limit for this kind of input (raise it with ${env})",
            file=str(path),
        )
    return data


def size_text(n: int) -> str:
    """A byte count as a limit is named in messages: ``4 MiB``, ``1000 bytes``."""
    return f"{n / MiB:g} MiB" if n >= MiB else f"{n} bytes"


class LimitError(ComposerError):
    """A YAML document over one of the :class:`Limits` (not a syntax error)."""


class _BoundedComposer(Composer):
    """ruamel's composer with a nesting cap and an alias-expansion budget.

    Aliases are shared nodes when parsed, but :func:`to_plain` and JSON Schema walk them expanded:
    nine nested aliases of nine items each are 9**9 nodes. The expanded size is counted once per
    node (memoised), so the check is linear in the document."""

    limits: Limits

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.depth >= self.limits.nesting:
            mark = self.parser.peek_event().start_mark
            raise LimitError(
                None,
                None,
                f"nested deeper than {self.limits.nesting} levels (raise it with $MLGUARD_MAX_NESTING)",
                mark,
            )
        return super().compose_node(parent, index)

    def compose_document(self) -> Any:
        node = super().compose_document()
        unique: set[int] = set()
        sizes: dict[int, int] = {}
        expanded = self._expanded(node, sizes, unique, set())
        extra = expanded - len(unique)
        if extra > self.limits.alias_nodes:
            raise LimitError(
                None,
                None,
                f"YAML aliases expand the document by more than {self.limits.alias_nodes} nodes "
                "(raise the limit with $MLGUARD_MAX_YAML_ALIAS_NODES)",
                node.start_mark,
            )
        return node

    def _expanded(self, root: Node, sizes: dict[int, int], unique: set[int], open_: set[int]) -> int:
        """Node count of ``root`` with every alias expanded; iterative (no recursion limit)."""
        budget = self.limits.alias_nodes
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            key = id(node)
            if done:
                open_.discard(key)
                total = 1 + sum(sizes[id(c)] for c in _children(node))
                sizes[key] = total
                if total - len(unique) > budget:  # stop early: the counts only grow
                    return total
                continue
            if key in sizes:
                continue
            if key in open_:
                raise LimitError(None, None, "recursive YAML alias", node.start_mark)
            unique.add(key)
            open_.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
        return sizes[id(root)]


def _composer_with(limits: Limits) -> type[Composer]:
    class BoundedComposer(_BoundedComposer):
        pass

    BoundedComposer.limits = limits
    return BoundedComposer


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


class _Constructor(RoundTripConstructor):
    """Round-trip constructor whose impossible dates (2027-02-30) are YAML errors with a line."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError as exc:
            raise ConstructorError(
                None, None, f"invalid date {node.value!r}: {exc}", node.start_mark
            ) from None


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


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
    limits = Limits.from_env()
    if text is None:
        try:
            text = read_bounded(path, limits.yaml_bytes, "MLGUARD_MAX_YAML_BYTES", error).decode("utf-8")
        except UnicodeDecodeError:
            raise error("file is not UTF-8 text", file=str(path)) from None
    elif len(text) > limits.yaml_bytes:
        cap = size_text(limits.yaml_bytes)
        raise error(
            f"file is larger than the {cap} limit (raise it with $MLGUARD_MAX_YAML_BYTES)", file=str(path)
        )
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    yaml.Composer = _composer_with(limits)
    yaml.Constructor = _Constructor
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.context_mark is not None and exc.problem:
            problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
        kind = "YAML input refused" if isinstance(exc, LimitError) else "YAML syntax error"
        raise error(f"{kind}: {problem}", file=str(path), line=line) from None
    except RecursionError:
        raise error(
            "YAML nested too deeply to read (lower it below $MLGUARD_MAX_NESTING levels)", file=str(path)
        ) from None
    except Exception as exc:  # ruamel raises a few unmarked errors (e.g. duplicate keys, bad tags)
        raise error(f"YAML error: {exc}", file=str(path)) from None
    return Located(path, root)


def parse_json(path: Path, error: type[InputError] = InputError) -> Any:
    """A JSON file, bounded in size (``$MLGUARD_MAX_JSON_BYTES``) and nesting (``$MLGUARD_MAX_NESTING``)."""
    limits = Limits.from_env()
    data = read_bounded(path, limits.json_bytes, "MLGUARD_MAX_JSON_BYTES", error)
    too_deep = f"nested deeper than {limits.nesting} levels (raise it with $MLGUARD_MAX_NESTING)"
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        raise error(
            f"invalid JSON: {exc.msg} (column {exc.colno})", file=str(path), line=exc.lineno
        ) from None
    except UnicodeDecodeError:
        raise error("file is not UTF-8 text", file=str(path)) from None
    except RecursionError:
        raise error(f"JSON {too_deep}", file=str(path)) from None
    if nested_deeper_than(value, limits.nesting):
        raise error(f"JSON {too_deep}", file=str(path))
    return value


def nested_deeper_than(value: Any, cap: int) -> bool:
    """Whether lists/objects nest deeper than ``cap``; iterative, one level at a time (stops at the
    first level past ``cap``)."""
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > cap:
            return True
        below: list[Any] = []
        add = below.append
        for node in level:
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, dict | list):
                    add(child)
        level = below
    return False


_WS = re.compile(r"[ \t\n\r]*")


def json_line(path: Path, where: Sequence[str | int]) -> int | None:
    """1-based line of the JSON node at ``where`` (or its nearest parent), found by walking the text
    along that path only: sibling values are skipped by the C decoder, nothing is parsed twice in
    Python. None when the file cannot be read again."""
    try:
        text = read_bounded(path, Limits.from_env().json_bytes, "MLGUARD_MAX_JSON_BYTES", InputError).decode(
            "utf-8"
        )
        pos = _json_offset(text, where)
    except (InputError, ValueError, IndexError, RecursionError):
        return None
    return text.count("\n", 0, pos) + 1


def _json_offset(text: str, where: Sequence[str | int]) -> int:
    decoder = json.JSONDecoder()

    def ws(i: int) -> int:
        match = _WS.match(text, i)
        return match.end() if match else i

    pos = ws(0)
    for step in where:
        opener = text[pos]
        if opener == "{" and isinstance(step, str):
            i = ws(pos + 1)
            found = None
            while text[i] == '"':
                key, i = decoder.raw_decode(text, i)
                i = ws(ws(i) + 1)  # past the colon
                if key == step:
                    found = i
                    break
                i = ws(decoder.raw_decode(text, i)[1])
                if text[i] == ",":
                    i = ws(i + 1)
        elif opener == "[" and isinstance(step, int):
            i = ws(pos + 1)
            found = None
            index = 0
            while text[i] != "]":
                if index == step:
                    found = i
                    break
                i = ws(decoder.raw_decode(text, i)[1])
                if text[i] == ",":
                    i = ws(i + 1)
                index += 1
        else:
            return pos
        if found is None:
            return pos
        pos = found
    return pos


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
            return [*where, extra[0]], _unknown_field(err.schema, extra[0])
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


def _unknown_field(schema: Any, key: str) -> str:
    """The message for an unknown ``key`` of an object: a renamed field (the schema's
    ``x-renamed: {old: explanation}``) says what it is called now, any other lists the allowed ones."""
    schema = schema if isinstance(schema, dict) else {}
    renamed = schema.get("x-renamed", {})
    if key in renamed:
        return f"field '{key}' was renamed: {renamed[key]}"
    allowed = sorted(schema.get("properties", {}))
    hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
    return f"unknown field '{key}'{hint}"


MAX_PROBLEMS_PER_FILE = 200  # problems listed for one file; the rest are counted on one last line


def schema_problems(doc: Located, instance: Any, schema: dict[str, Any], error: type[E]) -> list[E]:
    """Every schema violation, in document order, each naming file, line and field."""
    errors = sorted(
        validator_for(schema).iter_errors(instance),
        key=lambda e: (doc.line_of(list(e.absolute_path)) or 0, -len(e.absolute_path)),
    )
    out: list[E] = []
    seen: set[tuple[int | None, str]] = set()
    for err in errors:
        for where, message in _describe_each(err):
            line = doc.line_of(where)
            text = f"{field_name(where)}: {message}"
            if (line, text) not in seen:
                seen.add((line, text))
                out.append(error(text, file=str(doc.path), line=line))
    out.sort(key=lambda e: e.line or 0)
    return bounded_problems(out, str(doc.path), error)


def bounded_problems(problems: list[E], file: str, error: type[E]) -> list[E]:
    """At most :data:`MAX_PROBLEMS_PER_FILE`, the rest counted on one last line."""
    if len(problems) <= MAX_PROBLEMS_PER_FILE:
        return problems
    rest = len(problems) - MAX_PROBLEMS_PER_FILE
    return [*problems[:MAX_PROBLEMS_PER_FILE], error(f"... and {rest} more problem(s) not shown", file=file)]


def _describe_each(err: ValidationError) -> list[tuple[list[str | int], str]]:
    """:func:`_describe`, but one entry for each unknown field of an object (one schema error)."""
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        props = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
        extra = sorted(k for k in err.instance if k not in props)
        if len(extra) > 1:
            return [([*err.absolute_path, key], _unknown_field(err.schema, key)) for key in extra]
    return [_describe(err)]


def validate(doc: Located, instance: Any, schema: dict[str, Any], error: type[InputError]) -> None:
    """Raise ``error`` for the schema violations (in document order): one line each, naming file,
    line and field."""
    problems = schema_problems(doc, instance, schema, error)
    if problems:
        raise combined(problems)


def load_validated(path: Path, schema: dict[str, Any], error: type[InputError]) -> tuple[Located, Any]:
    doc = parse_yaml(path, error)
    instance = doc.plain()
    if instance is None:
        raise error("file is empty", file=str(path), line=1)
    validate(doc, instance, schema, error)
    return doc, instance
