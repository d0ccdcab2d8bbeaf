"""Declared fields per resource type: the one source for docs, policy validation and defaults.

Each catalogue type has one data file, ``mlguard/data/fields/<type>.yaml`` (the file name is the
type, as a policy's file name is its id), validated against :data:`FIELDS_FILE_SCHEMA`:

.. code-block:: yaml

    source: [sagemaker:ListNotebookInstances, sagemaker:DescribeNotebookInstance]
    fields:
      root_access: {type: string, default: Enabled, description: Whether users get root access.}
      kms_key_id: {type: string, source: sagemaker:DescribeNotebookInstance, description: ...}

- ``source`` (of the type, or of one field when it differs): the API calls that supply the value:
  ``service:Operation`` on AWS, ``METHOD /route`` on Databricks.
- ``type``: the JSON type (``string integer number boolean array object any``); ``null`` is always
  allowed and means "the platform returned no value".
- ``default``: the documented platform default when the API omits the value. The evaluator turns
  an absent (missing or null) declared field that no collection error blocked into its default and
  says so in the message (:func:`apply_defaults`).
- ``absent``: why the demo estate does not emit this field (a meta-test checks that every other
  declared field is emitted by the demo collection).
- ``fields``: sub-fields of an object, or of every element of an array of objects. Sub-fields are
  declared where policies read into them (quantifier elements); an object or array without
  ``fields`` is open: paths below it are not checked.

A policy path is checked against these declarations when the policy is loaded
(:func:`check_policy_paths`): its root field, and the keys below it as far as sub-fields are
declared (``variants[0].instance_type`` and ``variants[?is_gpu].model_name`` read the sub-fields of
``variants``' elements), must be declared for the policy's resource type (or the joined type, or
the element of the quantified list). Filter expressions inside ``[?...]`` are not checked. The
resource envelope (``uid name id account region workspace tags ...``) is declared once for every
type in :data:`ENVELOPE`.

Adding a field: one line under ``fields:`` of the type's file. Adding a type: a new file named
after it (the meta-tests in ``tests/test_fields.py`` list every emitted field or catalogue type
that has no declaration, with the line to add).
"""

from __future__ import annotations

import difflib
import importlib.resources
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mlguard.errors import InputError
from mlguard.model import Resource, Result
from mlguard.policy.conditions import AllOf, AnyOf, CompileError, Condition, Leaf, Not, Quantifier
from mlguard.yamlio import Located, load_validated, parse_yaml

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "any")

_FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_SOURCE: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 3},
        {"type": "array", "items": {"type": "string", "minLength": 3}, "minItems": 1},
    ]
}


def _field_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "description"],
        "properties": {
            "type": {"enum": list(JSON_TYPES)},
            "description": {"type": "string", "minLength": 10},
            "source": _SOURCE,
            "default": {},
            "absent": {"type": "string", "minLength": 10},
            "fields": {"$ref": "#/$defs/fields"},
        },
    }


FIELDS_FILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "mlguard declared fields of one resource type",
    "type": "object",
    "additionalProperties": False,
    "required": ["source", "fields"],
    "properties": {
        "source": _SOURCE,
        "absent": {"type": "string", "minLength": 10},
        "fields": {"$ref": "#/$defs/fields"},
    },
    "$defs": {
        "field": _field_schema(),
        "fields": {
            "type": "object",
            "propertyNames": {"pattern": _FIELD_NAME},
            "additionalProperties": {"$ref": "#/$defs/field"},
        },
    },
}


class FieldsFileError(InputError):
    """A declared-fields data file is invalid (a bug in mlguard's shipped data, or a user's file)."""


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    description: str
    source: tuple[str, ...]
    has_default: bool = False
    default: Any = None
    absent: str | None = None
    fields: Mapping[str, Field] | None = None  # sub-fields (object, or array elements); None: open

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has this field's JSON type (null always does)."""
        return value is None or _json_type_ok(self.type, value)


@dataclass(frozen=True)
class TypeFields:
    type: str
    source: tuple[str, ...]
    fields: Mapping[str, Field]
    absent: str | None = None
    file: Path | None = None

    def defaults(self) -> dict[str, Any]:
        return {n: f.default for n, f in self.fields.items() if f.has_default}


def _json_type_ok(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    return isinstance(value, dict)


def _sources(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    return (raw,) if isinstance(raw, str) else tuple(raw)


def _build(raw: Mapping[str, Any], inherited: tuple[str, ...]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for name, spec in raw.items():
        source = _sources(spec.get("source")) or inherited
        sub = spec.get("fields")
        out[name] = Field(
            name=name,
            type=spec["type"],
            description=" ".join(spec["description"].split()),
            source=source,
            has_default="default" in spec,
            default=spec.get("default"),
            absent=spec.get("absent"),
            fields=_build(sub, source) if sub is not None else None,
        )
    return out


def _check_defaults(rtype: str, fields: Mapping[str, Field], path: Path) -> None:
    for f in fields.values():
        if f.has_default and (f.default is None or not f.accepts(f.default)):
            raise FieldsFileError(f"fields.{f.name}.default: {f.default!r} is not a {f.type}", file=str(path))


def fields_dir() -> Path:
    return Path(str(importlib.resources.files("mlguard"))) / "data" / "fields"


def _parse(path: Path) -> tuple[Any, Located | None]:
    """The file's content; the line-tracking parse (slow in pure Python) only when it is invalid,
    to name the line of the problem."""
    try:
        raw = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError):
        raw = None
    if raw is not None and _validator().is_valid(raw):
        return raw, None
    doc, raw = load_validated(path, FIELDS_FILE_SCHEMA, FieldsFileError)
    return raw, doc


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(FIELDS_FILE_SCHEMA)


def load_fields_file(path: Path) -> TypeFields:
    raw, doc = _parse(path)
    rtype = path.name.removesuffix(".yaml")
    source = _sources(raw["source"])
    fields = _build(raw["fields"], source)
    clash = sorted(set(fields) & set(ENVELOPE))
    if clash:
        if doc is None:
            doc = parse_yaml(path, FieldsFileError)
        raise FieldsFileError(
            f"fields.{clash[0]}: {clash[0]!r} is an envelope field, declared for every type",
            file=str(path),
            line=doc.line_of(["fields", clash[0]]),
        )
    _check_defaults(rtype, fields, path)
    return TypeFields(rtype, source, fields, raw.get("absent"), path)


@cache
def declared(rtype: str) -> TypeFields | None:
    """The declared fields of one type, read from its data file on first use."""
    path = fields_dir() / f"{rtype}.yaml"
    return load_fields_file(path) if path.is_file() else None


def all_declared() -> dict[str, TypeFields]:
    """Every declared type (for docs and meta-tests)."""
    out: dict[str, TypeFields] = {}
    for path in sorted(fields_dir().glob("*.yaml")):
        tf = declared(path.name.removesuffix(".yaml"))
        if tf is not None:
            out[tf.type] = tf
    return out


# The envelope every resource document has, whatever its type (see ``Resource.document``), and
# the one data field every collected resource carries: the final secret scrub's record.
ENVELOPE: dict[str, Field] = {
    name: Field(name, kind, text, ("mlguard",))
    for name, kind, text in (
        ("uid", "string", "Globally unique id: the ARN on AWS, databricks://<workspace>/<type>/<id>."),
        ("type", "string", "The resource type (provider.service.kind)."),
        ("provider", "string", "aws, databricks or iac."),
        ("id", "string", "The provider's own id of the resource."),
        ("name", "string", "The resource's display name, when it has one."),
        ("account", "string", "AWS account id or Databricks account id."),
        ("region", "string", "AWS region (null for global and workspace resources)."),
        ("workspace", "string", "Databricks workspace host (null on AWS)."),
        ("tags", "object", "Tags or custom tags of the resource, as a string map."),
        (
            "plaintext_secret_paths",
            "array",
            "Where the collector's final secret scrub found (and masked) a plaintext secret in this "
            "resource: data paths such as environment.API_KEY, never the values.",
        ),
    )
}


# --------------------------------------------------------------------------- inventory data

MAX_KEY_CHARS = 80


def inventory_field_warnings(resources: Iterable[Resource]) -> list[str]:
    """What an inventory holds that its types do not declare, one line per (type, key), counted:
    an undeclared data key (no policy can read it), a declared key of another JSON type (a policy
    reading it reports ERROR), a type without a declaration. Root keys only; never raises."""
    undeclared: Counter[tuple[str, str]] = Counter()
    wrong: Counter[tuple[str, str, str]] = Counter()
    unknown_types: Counter[str] = Counter()
    known: dict[str, dict[str, Field] | None] = {}
    for r in resources:
        if r.type not in known:
            tf = declared(r.type) if _TYPE_NAME.match(r.type) else None
            known[r.type] = {**ENVELOPE, **tf.fields} if tf is not None else None
        fields = known[r.type]
        if fields is None:
            unknown_types[r.type] += 1
            continue
        for key, value in r.data.items():
            f = fields.get(key)
            if f is None:
                undeclared[(r.type, key)] += 1
            elif not f.accepts(value):
                wrong[(r.type, key, f.type)] += 1

    def name(text: str) -> str:
        return repr(text if len(text) <= MAX_KEY_CHARS else text[: MAX_KEY_CHARS - 3] + "...")

    out = [
        f"type {name(t)} has no declared fields ({n} resource(s))" for t, n in sorted(unknown_types.items())
    ]
    out += [
        f"{t}: data key {name(k)} is not declared for this type ({n} resource(s)); "
        f"no policy reads it (see `mlguard types {t}`)"
        for (t, k), n in sorted(undeclared.items())
    ]
    out += [
        f"{t}: {name(k)} is declared as {kind} but {n} resource(s) hold another type; "
        "a policy reading it reports ERROR there"
        for (t, k, kind), n in sorted(wrong.items())
    ]
    return out


_TYPE_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")  # a type name, never a path to another file


# --------------------------------------------------------------------------- policy paths


class PathProblem(CompileError):
    """A policy path names an undeclared field; ``where`` locates it in the policy document (the
    loader reports it like any other compile error: ``file:line: field: problem``, exit 2)."""


_DOTTED = re.compile(r'^\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*))')
_NEXT = re.compile(r'^\.(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*))')
_CALL = re.compile(r"^\s*[a-z_]+\(\s*(.*)$", re.DOTALL)


def _bracket_end(text: str) -> int:
    """Index just past the ``[...]`` that ``text`` starts with (-1 if it does not close)."""
    depth = 0
    quote: str | None = None
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'`\"":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _keys(path: str) -> tuple[list[str], str]:
    """The chain of plain keys a path walks (``a``, ``b``, ``c`` of ``a.b[0].c`` or ``a[?x].c``:
    brackets select elements, whose sub-fields are the list's) and what follows it; for a
    function call, its first argument's."""
    call = _CALL.match(path)
    if call:
        return _keys(call.group(1))
    m = _DOTTED.match(path)
    if not m:
        return [], path
    keys = [m.group(1) if m.group(1) is not None else m.group(2)]
    rest = path[m.end() :]
    while True:
        if rest.startswith("["):
            end = _bracket_end(rest)
            if end < 0:
                break
            rest = rest[end:]
            continue
        n = _NEXT.match(rest)
        if not n:
            break
        keys.append(n.group(1) if n.group(1) is not None else n.group(2))
        rest = rest[n.end() :]
    return keys, rest


Scope = Mapping[str, Field] | None  # None: open (nothing declared, nothing checked)


def _suggest(name: str, known: Mapping[str, Field]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def resolve(path: str, scope: Scope, owner: str) -> tuple[Field | None, str | None]:
    """The declared field a path ends at (None when it leaves the declarations) and a problem."""
    keys, _ = _keys(path)
    field_: Field | None = None
    for i, key in enumerate(keys):
        if scope is None:
            return None, None
        found = scope.get(key)
        if found is None:
            what = owner if i == 0 else f"{owner} field {'.'.join(keys[:i])}"
            return None, f"unknown field {key!r} of {what}{_suggest(key, scope)}"
        field_, scope = found, found.fields
    return field_, None


def _elements(path: str, scope: Scope, owner: str) -> tuple[Scope, str | None]:
    """The declared sub-fields of the elements a quantifier iterates (None: open)."""
    field_, problem = resolve(path, scope, owner)
    if problem or field_ is None:
        return None, problem
    _, rest = _keys(path)
    if rest.strip() or field_.type != "array":
        return None, None  # a projection or a function: the elements are not the declared ones
    return field_.fields, None


def _scope_of(rtype: str) -> Scope:
    tf = declared(rtype)
    if tf is None:
        return None
    return {**ENVELOPE, **tf.fields}


def check_policy_paths(resource: str, raw: Mapping[str, Any]) -> None:
    """Raise :class:`PathProblem` for the first path of a schema-valid policy that names a field
    not declared for the type it reads (the resource, a joined type or a quantified element)."""
    problems = policy_path_problems(resource, raw)
    if problems:
        raise problems[0]


def policy_path_problems(resource: str, raw: Mapping[str, Any]) -> list[PathProblem]:
    """Every path of a schema-valid policy that names an undeclared field, in document order."""
    top = _scope_of(resource)
    problems: list[PathProblem] = []
    for part in ("where", "assert"):
        if part in raw:
            _check(raw[part], [part], top, resource, top, resource, problems)
    if "cost" in raw:
        _check_cost(raw["cost"], top, resource, problems)
    return problems


def _check_cost(cost: Mapping[str, Any], top: Scope, resource: str, problems: list[PathProblem]) -> None:
    """The paths of a ``cost:`` block: ``each`` and ``basis`` in the resource; the others in the
    element of ``each`` when there is one."""
    scope, owner = top, resource
    if "each" in cost:
        scope, problem = _elements(cost["each"], top, resource)
        if problem:
            problems.append(PathProblem(problem, ["cost", "each"]))
        owner = f"{resource} element of {_keys(cost['each'])[0][0]}" if scope is not None else resource
    for key in ("instance_type", "instances", "keep", "accelerators"):
        node = cost.get(key)
        if isinstance(node, Mapping) and "path" in node:
            problem = resolve(node["path"], scope, owner)[1]
            if problem:
                problems.append(PathProblem(problem, ["cost", key, "path"]))
    if "only" in cost:
        _check(cost["only"], ["cost", "only"], scope, owner, top, resource, problems)
    for i, basis in enumerate(cost.get("basis", ())):
        problem = resolve(basis["path"], top, resource)[1]
        if problem:
            problems.append(PathProblem(problem, ["cost", "basis", i, "path"]))


def _check(
    node: Any,
    where: list[str | int],
    scope: Scope,
    owner: str,
    resource_scope: Scope,
    resource: str,
    problems: list[PathProblem],
) -> None:
    def fail(problem: str | None, at: list[str | int]) -> None:
        if problem:
            problems.append(PathProblem(problem, at))

    if not isinstance(node, Mapping):
        return
    if "path" in node:
        fail(resolve(node["path"], scope, owner)[1], [*where, "path"])
        return
    for key in ("all", "any"):
        for i, item in enumerate(node.get(key, ())):
            _check(item, [*where, key, i], scope, owner, resource_scope, resource, problems)
    if "not" in node:
        _check(node["not"], [*where, "not"], scope, owner, resource_scope, resource, problems)
    for kind in ("every", "some", "none"):
        if kind in node:
            elements, problem = _elements(node[kind], scope, owner)
            fail(problem, [*where, kind])
            inner_owner = f"{owner} element of {_keys(node[kind])[0][0]}" if elements is not None else owner
            inner = [*where, "satisfy"]
            _check(node["satisfy"], inner, elements, inner_owner, resource_scope, resource, problems)
    if "join" in node:
        join = node["join"]
        related = _scope_of(join["resource"])
        for i, on in enumerate(join.get("on", ())):
            fail(resolve(on["related"], related, join["resource"])[1], [*where, "join", "on", i, "related"])
            here, here_owner = (
                (resource_scope, resource) if on.get("subject_from") == "resource" else (scope, owner)
            )
            fail(resolve(on["subject"], here, here_owner)[1], [*where, "join", "on", i, "subject"])
        if "filter" in join:
            _check(
                join["filter"],
                [*where, "join", "filter"],
                related,
                join["resource"],
                related,
                join["resource"],
                problems,
            )


def fields_read(resource: str, conditions: list[Condition]) -> dict[str, list[str]]:
    """The root fields each type is read at by compiled conditions: {type: [field, ...]}, the
    policy's own type first (for ``mlguard policies docs``). Paths inside quantifier elements are
    listed under their list field."""
    out: dict[str, set[str]] = {resource: set()}

    def add(rtype: str, path: str) -> None:
        keys, _ = _keys(path)
        if keys:
            out.setdefault(rtype, set()).add(keys[0])

    def walk(cond: Condition, rtype: str, inside: bool) -> None:
        if isinstance(cond, Leaf):
            if not inside:
                add(rtype, cond.path)
        elif isinstance(cond, AllOf | AnyOf):
            for c in cond.items:
                walk(c, rtype, inside)
        elif isinstance(cond, Not):
            walk(cond.item, rtype, inside)
        elif isinstance(cond, Quantifier):
            if not inside:
                add(rtype, cond.path)
            walk(cond.satisfy, rtype, True)
        else:
            for on in cond.on:
                add(cond.resource, on.related)
                if on.subject_from == "resource" or not inside:
                    add(resource if on.subject_from == "resource" else rtype, on.subject)
            if cond.filter is not None:
                walk(cond.filter, cond.resource, False)

    for cond in conditions:
        walk(cond, resource, False)
    return {t: sorted(v) for t, v in out.items() if v}


# --------------------------------------------------------------------------- platform defaults


@dataclass
class Defaulted:
    """Fields of one resource that were absent and took their declared platform default."""

    values: dict[str, Any] = field(default_factory=dict)

    def note(self, name: str) -> str:
        return f"{name} is unset: the platform default ({json.dumps(self.values[name])}) applies"

    def annotate(self, result: Result) -> Result:
        """``result`` with a note for every defaulted field its evidence shows it read."""
        read = {keys[0] for keys in (_keys(path)[0] for path in result.evidence.values) if keys}
        notes = [self.note(name) for name in sorted(self.values) if name in read]
        if not notes:
            return result
        return result.model_copy(update={"message": f"{result.message} ({'; '.join(notes)})"})


def apply_defaults(rtype: str, doc: dict[str, Any], blocked: Mapping[str, str]) -> Defaulted:
    """Fill absent (missing or null) declared fields of ``doc`` with their platform default, in
    place, unless a collection error left them unread (``blocked``: data key -> why; ``*``: all)."""
    applied = Defaulted()
    tf = declared(rtype)
    if tf is None or "*" in blocked:
        return applied
    for name, default in tf.defaults().items():
        if doc.get(name) is None and name not in blocked:
            doc[name] = default
            applied.values[name] = default
    return applied


# --------------------------------------------------------------------------- rendering


def _rows(fields: Mapping[str, Field], prefix: str = "") -> list[Field]:
    out: list[Field] = []
    for f in fields.values():
        out.append(replace(f, name=prefix + f.name, fields=None))
        if f.fields:
            out += _rows(f.fields, f"{prefix}{f.name}[]." if f.type == "array" else f"{prefix}{f.name}.")
    return out


def render_fields(rtype: str) -> str:
    """``mlguard types TYPE``: every declared field with its type, source call, default, description."""
    tf = declared(rtype)
    if tf is None:
        return f"{rtype}: no declared fields\n"
    lines = [f"{rtype}", f"  source: {', '.join(tf.source)}"]
    if tf.absent:
        lines.append(f"  not in the demo estate: {tf.absent}")
    lines.append("")
    for f in _rows(tf.fields):
        lines.append(f"{f.name}  ({f.type})")
        if f.source != tf.source:
            lines.append(f"    source: {', '.join(f.source)}")
        if f.has_default:
            lines.append(f"    platform default when unset: {json.dumps(f.default)}")
        lines.append(f"    {f.description}")
    lines += ["", "envelope (every type): " + ", ".join(ENVELOPE)]
    return "\n".join(lines) + "\n"
