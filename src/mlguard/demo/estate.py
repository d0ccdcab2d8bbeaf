"""A declarative AWS estate: a YAML description of boto3 calls, and the small seeder that applies it.

An index (``src/mlguard/data/demo/aws_estate.yaml``) lists the families, account-wide ones and
regional ones, in the order they are applied, and the values they share. Each family
(``src/mlguard/data/demo/aws/<family>.yaml``, one file per service family) is a list of steps. A
step is one boto3 call (``call: service.operation`` with ``args``), a group of steps (``steps``),
a named action, or any of these repeated over ``each`` item; ``when`` limits it to the first
region, the other regions, or one region. What a call returns can be kept under a name (``save``:
name -> JMESPath into the response) and used later as ``${name}``. A step that creates a resource
says so (``record``: catalogue type, name, and ``flaw``, the planted misconfiguration, if any;
``flaws`` adds more, to it or to another resource): the manifest of the seeded estate (counts,
names, flaws) is built from these records only.

Strings are templates: ``${name}`` is a saved value, an ``each`` item's field (``${item.field}``)
or a variable: ``account``, ``region``, ``primary`` (the first region), ``suffix`` (empty in the
first region, ``-<region>`` elsewhere), the index's and the family's ``vars`` and ``region_vars``
(one value for the first region, one for the others), and the caller's (the canaries). A
string that is exactly one ``${name}`` keeps the value's type (a list stays a list). A few
one-key mappings compute a value: ``$json`` (a JSON document, keys in the order written),
``$base64``, ``$basename`` (what follows the last ``/``), ``$zip`` (a zip archive of
``{file: text}``), ``$series`` (CloudWatch datapoints back in time), ``$concat`` (lists joined),
``$merge`` (mappings joined) and ``$flow`` (:func:`flow_definition`).

What no description can say is done by a named ``action`` the caller gives the seeder
(:mod:`mlguard.demo.aws_estate` has three: look up an AMI, back-date an access key, record the
security groups the server created by itself).
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jmespath
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mlguard.catalogue import CATALOGUE
from mlguard.errors import InputError
from mlguard.yamlio import Located, load_validated

#: Where the description files live (one per service family).
ESTATE_DIR = Path(__file__).resolve().parents[1] / "data" / "demo" / "aws"

ClientFactory = Callable[[str, str], Any]
"""``(service, region) -> boto3 client``."""

BackdateKey = Callable[[str, str, datetime], None]
"""``(user_name, access_key_id, create_date)``: make an access key look old (test fakes only)."""

_REF = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")
_WHEN = re.compile(r"^(not )?(primary|backdated|region:[a-z0-9-]+)$")


class EstateError(InputError):
    """The estate description is invalid (exit 2)."""


class _TemplateError(Exception):
    """A value a step needs cannot be made (raised as an EstateError naming the step)."""


class Flaw(BaseModel):
    """A deliberately bad resource in the estate and what is wrong with it."""

    model_config = ConfigDict(frozen=True)

    type: str
    name: str
    region: str | None
    reason: str


class Record(BaseModel):
    """A resource the step created, for the manifest; ``flaw`` is its planted misconfiguration."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="Catalogue type, e.g. aws.iam.role.")
    name: str = Field(description="Name or id as the collector reports it (a template).")
    flaw: str | None = Field(default=None, description="What is deliberately wrong with it.")
    global_: bool = Field(
        default=False, alias="global", description="Recorded without a region (account-wide)."
    )


class ExtraFlaw(BaseModel):
    """One more planted misconfiguration, of the step's record or of another resource."""

    model_config = ConfigDict(extra="forbid")

    reason: str
    type: str | None = Field(default=None, description="Default: the step's record type.")
    name: str | None = Field(default=None, description="Default: the step's record name.")
    global_: bool = Field(default=False, alias="global")


class Step(BaseModel):
    """One call, group of steps or action; optionally repeated, conditional and recorded."""

    model_config = ConfigDict(extra="forbid")

    call: str | None = Field(
        default=None, pattern=r"^[a-z0-9-]+\.[a-z0-9_]+$", description="service.operation"
    )
    args: dict[str, Any] = Field(default_factory=dict)
    action: str | None = Field(default=None, description="A named imperative action of the seeder.")
    save: dict[str, str] = Field(default_factory=dict, description="name -> JMESPath into the response.")
    when: str | None = Field(default=None, description="primary, backdated, region:<name>, or 'not ...'.")
    each: list[Any] | str | None = Field(
        default=None,
        description="Repeat for each item (${item}, ${item.x}): a list, or one ${name} of a list.",
    )
    as_: str = Field(default="item", alias="as", pattern=r"^[a-z_]+$", description="Name of the each item.")
    steps: list[Step] | None = None
    record: Record | None = None
    flaws: list[ExtraFlaw] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shape(self) -> Step:
        doing = [k for k in ("call", "action", "steps") if getattr(self, k) is not None]
        if len(doing) > 1:
            raise ValueError(f"a step has one of call, action, steps; this one has {', '.join(doing)}")
        if not doing and self.record is None and not self.flaws:
            raise ValueError("a step needs call, action, steps, record or flaws")
        if self.args and self.call is None and self.action is None:
            raise ValueError("args without call or action")
        if self.when is not None and not _WHEN.match(self.when):
            raise ValueError(
                f"when must be primary, backdated or region:<name> (optionally 'not ...'), not {self.when!r}"
            )
        return self


class Family(BaseModel):
    """One service family's description: where it runs, shared definitions, and its steps."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    scope: Literal["account", "region"] = Field(
        description="account: once, in the primary region; region: in every region."
    )
    defs: dict[str, Any] = Field(default_factory=dict, description="YAML anchors, not read by the seeder.")
    vars: dict[str, Any] = Field(default_factory=dict, description="Values (templates) usable as ${name}.")
    region_vars: dict[str, RegionValue] = Field(
        default_factory=dict, description="Values that differ between the first region and the others."
    )
    steps: list[Step]


class RegionValue(BaseModel):
    """A value for the first (primary) region and one for every other region."""

    model_config = ConfigDict(extra="forbid")

    primary: Any
    other: Any


Family.model_rebuild()


class EstateIndex(BaseModel):
    """The estate: which families are applied, in which order, and the values they share."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    account: list[str] = Field(description="Account-wide families, applied once in the first region.")
    regional: list[str] = Field(description="Regional families, applied in each region in turn.")
    vars: dict[str, Any] = Field(default_factory=dict, description="Values every family may use as ${name}.")
    region_vars: dict[str, RegionValue] = Field(
        default_factory=dict, description="Values every family may use that differ in the first region."
    )


@cache
def _schema() -> dict[str, Any]:
    return Family.model_json_schema(by_alias=True)


def load_family(path: Path) -> Family:
    """Parse and validate one description file; errors name the file, line and entry."""
    return _load(path).family


@dataclass(frozen=True)
class _Loaded:
    path: Path
    doc: Located
    family: Family


@cache
def _load(path: Path) -> _Loaded:
    doc, instance = load_validated(path, _schema(), EstateError)
    try:
        family = Family.model_validate(instance)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = [p for p in err["loc"] if isinstance(p, str | int)]
        raise EstateError(f"{_entry(where)}: {err['msg']}", file=str(path), line=doc.line_of(where)) from None
    for where, step in _walk(family.steps, ["steps"]):
        kinds = [("record", step.record.type if step.record else None)]
        kinds += [("flaws", f.type) for f in step.flaws]
        for kind, rtype in kinds:
            if rtype is not None and rtype not in CATALOGUE:
                raise EstateError(
                    f"{_entry([*where, kind])}: not a catalogue type: {rtype}",
                    file=str(path),
                    line=doc.line_of([*where, kind]),
                )
    return _Loaded(path, doc, family)


def _entry(where: list[str | int]) -> str:
    out = ""
    for part in where:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "document"


def _walk(steps: list[Step], where: list[str | int]) -> Iterator[tuple[list[str | int], Step]]:
    for i, step in enumerate(steps):
        yield [*where, i], step
        if step.steps:
            yield from _walk(step.steps, [*where, i, "steps"])


def load_index(path: Path, families: Path = ESTATE_DIR) -> EstateIndex:
    """Parse and validate the estate index and every family it names (each file validated, each
    in the list its scope says); errors name the file, line and entry."""
    doc, instance = load_validated(path, EstateIndex.model_json_schema(), EstateError)
    index = EstateIndex.model_validate(instance)
    for key, scope in (("account", "account"), ("regional", "region")):
        for i, name in enumerate(getattr(index, key)):
            file = families / f"{name}.yaml"
            line = doc.line_of([key, i])
            if not file.is_file():
                raise EstateError(f"{key}[{i}]: no description file {file.name}", file=str(path), line=line)
            found = load_family(file).scope
            if found != scope:
                raise EstateError(
                    f"{key}[{i}]: {name} has scope {found}, not {scope}", file=str(path), line=line
                )
    return index


@dataclass
class Recorder:
    names: dict[str, list[str]] = field(default_factory=dict)
    regions: dict[str, dict[str, str | None]] = field(default_factory=dict)
    flaws: list[Flaw] = field(default_factory=list)

    def add(self, rtype: str, name: str, region: str | None = None, *, bad: str | None = None) -> str:
        if rtype not in CATALOGUE:
            raise ValueError(f"not a catalogue type: {rtype}")
        self.names.setdefault(rtype, []).append(name)
        self.regions.setdefault(rtype, {})[name] = region
        if bad:
            self.flaw(rtype, name, region, bad)
        return name

    def flaw(self, rtype: str, name: str, region: str | None, reason: str) -> None:
        self.flaws.append(Flaw(type=rtype, name=name, region=region, reason=reason))


Action = Callable[["EstateSeeder", str, dict[str, Any]], dict[str, Any]]


class EstateSeeder:
    """Applies description files with boto3 clients; keeps saved values and the records."""

    def __init__(
        self,
        client: ClientFactory,
        account_id: str,
        regions: list[str],
        variables: dict[str, Any],
        actions: dict[str, Action],
        now: datetime,
        backdate_key: BackdateKey | None = None,
    ) -> None:
        self._make_client = client
        self._clients: dict[tuple[str, str], Any] = {}
        self.account = account_id
        self.regions = regions
        self.primary = regions[0]
        self.now = now
        self.backdate_key = backdate_key
        self.backdated = backdate_key is not None
        self.variables = variables
        self.actions = actions
        self.rec = Recorder()
        self.saved: dict[str, Any] = {}
        self.saved_in: dict[str, dict[str, Any]] = {r: {} for r in regions}
        self.region_vars: dict[str, RegionValue] = {}
        self._account_wide = False
        self._loaded: _Loaded | None = None

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._make_client(service, region)
        return self._clients[key]

    def seed(self, index: EstateIndex, families: Path = ESTATE_DIR) -> None:
        """Apply the whole estate: the account-wide families, then every regional one per region."""
        self.variables = {**index.vars, **self.variables}
        self.region_vars = {**index.region_vars, **self.region_vars}
        for name in index.account:
            self.apply(families / f"{name}.yaml")
        for region in self.regions:
            for name in index.regional:
                self.apply(families / f"{name}.yaml", region)

    def apply(self, path: Path, region: str | None = None) -> None:
        """Apply one family file: an account-wide one once (in the first region), a regional one
        in ``region``. A value the description cannot supply (an undefined ``${name}``, an unknown
        action, ``each`` over something not a list) is an :class:`EstateError` naming the step."""
        self._loaded = loaded = _load(path)
        self._account_wide = loaded.family.scope == "account"
        if not self._account_wide and region is None:
            raise ValueError(f"{path.name} is regional: give a region")
        self._steps(loaded.family.steps, region or self.primary, {}, ["steps"])

    # ---------------------------------------------------------------- evaluation

    def _fail(self, where: list[str | int], message: str) -> EstateError:
        loaded = self._loaded
        assert loaded is not None
        return EstateError(
            f"{_entry(where)}: {message}", file=str(loaded.path), line=loaded.doc.line_of(where)
        )

    def _steps(self, steps: list[Step], region: str, bound: dict[str, Any], where: list[str | int]) -> None:
        for i, step in enumerate(steps):
            at = [*where, i]
            if step.when is not None and not self._holds(step.when, region):
                continue
            try:
                if step.each is None:
                    self._one(step, region, bound, at)
                    continue
                scope = self._scope(region, bound)
                items = self._value(step.each, scope)
                if not isinstance(items, list):
                    raise _TemplateError(f"each must be a list, not {items!r}")
                for it in items:
                    self._one(step, region, {**bound, step.as_: self._value(it, scope)}, at)
            except _TemplateError as exc:
                raise self._fail(at, str(exc)) from None

    def _holds(self, when: str, region: str) -> bool:
        negate = when.startswith("not ")
        cond = when.removeprefix("not ")
        if cond == "primary":
            value = region == self.primary
        elif cond == "backdated":
            value = self.backdated
        else:
            value = region == cond.removeprefix("region:")
        return value != negate

    def _one(self, step: Step, region: str, bound: dict[str, Any], where: list[str | int]) -> None:
        scope = self._scope(region, bound)
        out: Any = None
        if step.call is not None:
            service, operation = step.call.split(".", 1)
            out = getattr(self.client(service, region), operation)(**self._value(step.args, scope))
        elif step.action is not None:
            if step.action not in self.actions:
                raise _TemplateError(
                    f"unknown action {step.action!r} (known: {', '.join(sorted(self.actions))})"
                )
            out = self.actions[step.action](self, region, self._value(step.args, scope))
        elif step.steps is not None:
            self._steps(step.steps, region, bound, [*where, "steps"])
        target = self.saved if self._account_wide else self.saved_in[region]
        for key, path in step.save.items():
            target[str(self._value(key, scope))] = jmespath.search(path, out)
        scope = self._scope(region, bound)
        if step.record is not None:
            rec = step.record
            self.rec.add(
                rec.type,
                str(self._value(rec.name, scope)),
                None if rec.global_ or self._account_wide else region,
                bad=_text(self._value(rec.flaw, scope)),
            )
        for extra in step.flaws:
            rtype = extra.type or (step.record.type if step.record else None)
            name = extra.name or (step.record.name if step.record else None)
            if rtype is None or name is None:
                raise _TemplateError("a flaw without a record names its type and name")
            self.rec.flaw(
                rtype,
                str(self._value(name, scope)),
                None if extra.global_ or self._account_wide else region,
                str(self._value(extra.reason, scope)),
            )

    def _scope(self, region: str, bound: dict[str, Any]) -> dict[str, Any]:
        primary = region == self.primary
        scope: dict[str, Any] = {
            **self.variables,
            "account": self.account,
            "region": region,
            "primary": self.primary,
            "suffix": "" if primary else f"-{region}",
        }
        for key, choice in self.region_vars.items():
            scope[key] = choice.primary if primary else choice.other
        scope.update(self.saved)
        scope.update(self.saved_in[region])
        if self._loaded is not None:
            fam = self._loaded.family
            for key, value in fam.vars.items():
                scope[key] = self._value(value, scope)
            for key, choice in fam.region_vars.items():
                scope[key] = self._value(choice.primary if primary else choice.other, scope)
        scope.update(bound)
        return scope

    def _value(self, value: Any, scope: dict[str, Any]) -> Any:
        if isinstance(value, str):
            whole = _REF.fullmatch(value)
            if whole:
                return _lookup(whole.group(1), scope)
            return _REF.sub(lambda m: str(_lookup(m.group(1), scope)), value)
        if isinstance(value, list):
            return [self._value(v, scope) for v in value]
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, inner),) = value.items()
                if key in _FUNCTIONS:
                    return _FUNCTIONS[key](self, self._value(inner, scope))
            return {self._value(k, scope): self._value(v, scope) for k, v in value.items()}
        return value


def _text(value: Any) -> str | None:
    """A flaw's text, or None when the template left nothing (an item without a flaw)."""
    return str(value) if value else None


def _lookup(name: str, scope: dict[str, Any]) -> Any:
    if name in scope:
        return scope[name]
    head, _, rest = name.partition(".")
    if head not in scope:
        raise _TemplateError(f"${{{name}}} is not defined")
    value: Any = scope[head]
    for part in rest.split(".") if rest else []:
        if not isinstance(value, dict) or part not in value:
            raise _TemplateError(f"${{{name}}}: {head} has no {part!r}")
        value = value[part]
    return value


def _zip(_seeder: EstateSeeder, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def _series(seeder: EstateSeeder, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """``{every_hours, count, datum}``: ``count`` copies of ``datum``, ``every_hours`` apart back from now."""
    step = int(spec["every_hours"])
    datum = spec["datum"]
    return [
        {**datum, "Timestamp": seeder.now - timedelta(hours=step * i)}
        for i in range(1, int(spec["count"]) + 1)
    ]


def _concat(_seeder: EstateSeeder, lists: list[list[Any]]) -> list[Any]:
    return [x for part in lists for x in part]


def _flow(_seeder: EstateSeeder, spec: dict[str, Any]) -> dict[str, Any]:
    return flow_definition(spec["model"], spec.get("guardrail"), spec.get("knowledge_base"))


_FUNCTIONS: dict[str, Callable[[EstateSeeder, Any], Any]] = {
    "$json": lambda _s, v: json.dumps(v),
    "$base64": lambda _s, v: base64.b64encode(str(v).encode()).decode(),
    "$zip": _zip,
    "$basename": lambda _s, v: str(v).rsplit("/", 1)[-1],
    "$series": _series,
    "$concat": _concat,
    "$merge": lambda _s, v: {k: x for part in v for k, x in part.items()},
    "$flow": _flow,
}


def flow_definition(model: str, guardrail: str | None, knowledge_base: str | None = None) -> dict[str, Any]:
    """A Bedrock Flow definition: input -> Prompt node (inline template on ``model``, with the
    guardrail if given) -> output, plus a generating KnowledgeBase node when one is named."""
    guard = (
        {"guardrailConfiguration": {"guardrailIdentifier": guardrail, "guardrailVersion": "1"}}
        if guardrail
        else {}
    )
    document = [{"name": "document", "type": "String"}]
    nodes: list[dict[str, Any]] = [
        {"name": "FlowInput", "type": "Input", "configuration": {"input": {}}, "outputs": document},
        {
            "name": "Answer",
            "type": "Prompt",
            "configuration": {
                "prompt": {
                    "sourceConfiguration": {
                        "inline": {
                            "templateType": "TEXT",
                            "templateConfiguration": {"text": {"text": "Answer briefly: {{question}}"}},
                            "modelId": model,
                        }
                    },
                    **guard,
                }
            },
            "inputs": [{"name": "question", "type": "String", "expression": "$.data"}],
            "outputs": [{"name": "modelCompletion", "type": "String"}],
        },
        {
            "name": "FlowOutput",
            "type": "Output",
            "configuration": {"output": {}},
            "inputs": [{"name": "document", "type": "String", "expression": "$.data"}],
        },
    ]
    if knowledge_base:
        nodes.append(
            {
                "name": "Policies",
                "type": "KnowledgeBase",
                "configuration": {
                    "knowledgeBase": {"knowledgeBaseId": knowledge_base, "modelId": model, **guard}
                },
                "inputs": [{"name": "retrievalQuery", "type": "String", "expression": "$.data"}],
                "outputs": [{"name": "outputText", "type": "String"}],
            }
        )
    return {"nodes": nodes, "connections": []}


__all__ = [
    "ESTATE_DIR",
    "Action",
    "BackdateKey",
    "ClientFactory",
    "EstateError",
    "EstateIndex",
    "EstateSeeder",
    "Family",
    "Flaw",
    "Recorder",
    "Step",
    "flow_definition",
    "load_family",
    "load_index",
]
