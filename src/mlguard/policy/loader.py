"""Loading policies and frameworks: validated, compiled, and cross-checked before anything runs.

An invalid file is a hard error (:class:`~mlguard.errors.PolicyError`, exit 2) naming the file,
line and field: a YAML syntax error, an unknown field, a wrong type, an unknown operator or
resource type, a bad path or regex (RE2 syntax), an undeclared parameter or a parameter value that
does not suit the operator comparing it, a duplicate id. Never a skipped policy.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema

from mlguard.cost.spec import CostSpec, compile_cost
from mlguard.errors import ConfigError, PolicyError
from mlguard.fields import check_policy_paths
from mlguard.model import Category, FrameworkInfo, PolicyInfo, RequirementInfo, Severity
from mlguard.policy.conditions import (
    CompileError,
    Condition,
    Leaf,
    check_value,
    compile_condition,
    joined_types,
    walk,
)
from mlguard.policy.schema import framework_schema, policy_schema
from mlguard.yamlio import Located, field_name, load_validated

_PY_TYPES: dict[str, Any] = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any
    description: str
    items: str | None = None

    def json_schema(self) -> dict[str, Any]:
        if self.type == "array":
            return {"type": "array", "items": _PY_TYPES.get(self.items or "", {})}
        return dict(_PY_TYPES[self.type])

    def check(self, value: Any) -> str | None:
        errors = list(jsonschema.Draft202012Validator(self.json_schema()).iter_errors(value))
        return errors[0].message if errors else None


@dataclass(frozen=True)
class Policy:
    id: str
    title: str
    description: str
    severity: Severity
    category: Category
    resource: str
    assert_: Condition
    where: Condition | None
    parameters: dict[str, Parameter]
    remediation: str
    remediation_cli: str | None
    remediation_terraform: str | None
    references: tuple[str, ...]
    tags: tuple[str, ...]
    enabled: bool
    file: Path
    source: str  # "builtin" or the policy directory it came from
    compliance: tuple[str, ...] = ()  # framework:requirement, filled from the framework files
    values: dict[str, Any] = field(default_factory=dict)  # effective parameter values
    cost: CostSpec | None = None  # how a FAIL's waste is measured (cost policies)

    @property
    def provider(self) -> str:
        return self.resource.split(".", 1)[0]

    def required_types(self) -> set[str]:
        types = {self.resource} | joined_types(self.assert_)
        if self.where is not None:
            types |= joined_types(self.where)
        return types

    def parameter_uses(self, name: str) -> list[Leaf]:
        """The comparisons that read parameter ``name`` (its value must suit their operators)."""
        roots = [self.assert_] if self.where is None else [self.where, self.assert_]
        return [c for root in roots for c in walk(root) if isinstance(c, Leaf) and c.param == name]

    def info(self) -> PolicyInfo:
        return PolicyInfo(
            id=self.id,
            title=self.title,
            description=self.description,
            severity=self.severity,
            category=self.category,
            resource=self.resource,
            provider=self.provider,
            remediation=self.remediation,
            remediation_cli=self.remediation_cli,
            remediation_terraform=self.remediation_terraform,
            references=list(self.references),
            compliance=list(self.compliance),
            source=self.source,
        )


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str | None
    url: str | None
    description: str | None
    requirements: tuple[RequirementInfo, ...]
    file: Path

    def info(self) -> FrameworkInfo:
        return FrameworkInfo(
            id=self.id,
            name=self.name,
            version=self.version,
            url=self.url,
            requirements=list(self.requirements),
        )


@dataclass
class PolicySet:
    policies: dict[str, Policy]
    frameworks: dict[str, Framework]

    def requirements_of(self, ids: Iterable[str]) -> list[str]:
        """``framework:requirement`` ids whose requirement lists any of ``ids`` (policy or IaC check
        ids): the one reverse index of the framework files."""
        wanted = set(ids)
        return sorted(
            f"{fw.id}:{req.id}"
            for fw in self.frameworks.values()
            for req in fw.requirements
            if wanted.intersection(req.policies)
        )

    def select(
        self,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        severities: Sequence[str] = (),
        categories: Sequence[str] = (),
        frameworks: Sequence[str] = (),
        resource_types: Sequence[str] = (),
    ) -> list[Policy]:
        unknown = [f for f in frameworks if f not in self.frameworks]
        if unknown:
            raise ConfigError(
                f"unknown framework(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.frameworks)) or 'none'}"
            )
        in_frameworks: set[str] = set()
        for fid in frameworks:
            for req in self.frameworks[fid].requirements:
                in_frameworks.update(req.policies)
        chosen = []
        for p in sorted(self.policies.values(), key=lambda p: p.id):
            if include and not _matches(p.id, include):
                continue
            if not p.enabled and not (include and any(p.id == i for i in include)):
                continue
            if exclude and _matches(p.id, exclude):
                continue
            if severities and p.severity.value not in severities:
                continue
            if categories and p.category.value not in categories:
                continue
            if frameworks and p.id not in in_frameworks:
                continue
            if resource_types and not _matches(p.resource, resource_types):
                continue
            chosen.append(p)
        return chosen


def _matches(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, pat) for pat in patterns)


def builtin_policy_dir() -> Path:
    """The built-in pack: ``mlguard/_policies`` in a wheel, ``policies/`` in a source checkout."""
    packaged = Path(str(importlib.resources.files("mlguard"))) / "_policies"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "policies"


def load_policy(path: Path, source: str) -> Policy:
    doc, raw = load_validated(path, policy_schema(), PolicyError)
    expected_id = path.stem
    if "id" in raw and raw["id"] != expected_id:
        raise PolicyError(
            f"id: {raw['id']!r} does not match the file name {expected_id!r}",
            file=str(path),
            line=doc.line_of(["id"]),
        )
    import re

    from mlguard.policy.schema import POLICY_ID_PATTERN

    if not re.match(POLICY_ID_PATTERN, expected_id):
        raise PolicyError(
            f"file name {path.name!r} is not a valid policy id (lowercase letters, digits and _)",
            file=str(path),
        )
    params = {
        name: Parameter(name, spec["type"], spec["default"], spec["description"], spec.get("items"))
        for name, spec in raw.get("parameters", {}).items()
    }
    for name, param in params.items():
        problem = param.check(param.default)
        if problem:
            raise PolicyError(
                f"parameters.{name}.default: {problem}",
                file=str(path),
                line=doc.line_of(["parameters", name, "default"]),
            )
    names = {n: p.default for n, p in params.items()}
    try:
        assert_ = compile_condition(raw["assert"], ["assert"], names)
        where = compile_condition(raw["where"], ["where"], names) if "where" in raw else None
        check_policy_paths(raw["resource"], raw)  # every path names a declared field
        cost = compile_cost(raw["cost"], names) if "cost" in raw else None
    except CompileError as exc:
        raise PolicyError(
            f"{field_name(exc.where)}: {exc.message}", file=str(path), line=doc.line_of(exc.where)
        ) from None
    if cost is not None and raw["category"] != "cost":
        raise PolicyError(
            f"cost: only a policy of category cost carries a cost block (this one is {raw['category']})",
            file=str(path),
            line=doc.line_of(["cost"]),
        )
    rem = raw["remediation"]
    return Policy(
        id=expected_id,
        title=raw["title"],
        description=raw["description"].strip(),
        severity=Severity(raw["severity"]),
        category=Category(raw["category"]),
        resource=raw["resource"],
        assert_=assert_,
        where=where,
        parameters=params,
        remediation=rem["text"].strip(),
        remediation_cli=rem.get("cli"),
        remediation_terraform=rem.get("terraform"),
        references=tuple(raw.get("references", ())),
        tags=tuple(raw.get("tags", ())),
        enabled=raw.get("enabled", True),
        file=path,
        source=source,
        values={n: p.default for n, p in params.items()},
        cost=cost,
    )


def load_framework(path: Path) -> Framework:
    doc, raw = load_validated(path, framework_schema(), PolicyError)
    seen: dict[str, int] = {}
    for i, req in enumerate(raw["requirements"]):
        if req["id"] in seen:
            raise PolicyError(
                f"requirements[{i}].id: duplicate requirement id {req['id']!r}",
                file=str(path),
                line=doc.line_of(["requirements", i, "id"]),
            )
        seen[req["id"]] = i
    return Framework(
        id=raw["id"],
        name=raw["name"],
        version=raw.get("version"),
        url=raw.get("url"),
        description=raw.get("description"),
        requirements=tuple(
            RequirementInfo(
                id=r["id"], title=r["title"], description=r.get("description"), policies=list(r["policies"])
            )
            for r in raw["requirements"]
        ),
        file=path,
    )


def _framework_doc_line(fw: Framework, req_index: int, pol_index: int) -> int | None:
    from mlguard.yamlio import parse_yaml

    doc: Located = parse_yaml(fw.file, PolicyError)
    return doc.line_of(["requirements", req_index, "policies", pol_index])


# IaC check ids (checkov's and mlguard's own checkov checks) may be listed in framework files; they
# are resolved against the IaC mapping, not against the policy files.
IAC_ID_PREFIXES = ("CKV_", "CKV2_", "MLG_")


def load_policy_set(directories: Sequence[tuple[Path, str]], strict_frameworks: bool = True) -> PolicySet:
    """Load every ``*.yaml`` under the given (directory, source label) pairs.

    Framework files live in a ``frameworks/`` folder of a policy directory.
    """
    policies: dict[str, Policy] = {}
    frameworks: dict[str, Framework] = {}
    for directory, source in directories:
        if not directory.is_dir():
            raise ConfigError(f"policy directory not found: {directory}")
        for path in sorted(directory.rglob("*.yaml")) + sorted(directory.rglob("*.yml")):
            rel = path.relative_to(directory)
            if rel.parts[0] == "frameworks":
                fw = load_framework(path)
                if fw.id in frameworks:
                    raise PolicyError(
                        f"duplicate framework id {fw.id!r} (also in {frameworks[fw.id].file})", file=str(path)
                    )
                frameworks[fw.id] = fw
                continue
            if rel.parts[0] in ("tests", "fixtures") or path.name.startswith("_"):
                continue
            policy = load_policy(path, source)
            if policy.id in policies:
                raise PolicyError(
                    f"duplicate policy id {policy.id!r} (also defined in {policies[policy.id].file})",
                    file=str(path),
                    line=1,
                )
            policies[policy.id] = policy
    # Reverse index: policy -> framework requirements. Every referenced id must exist.
    mapping: dict[str, list[str]] = {pid: [] for pid in policies}
    for fw in frameworks.values():
        for ri, req in enumerate(fw.requirements):
            for pi, pid in enumerate(req.policies):
                if pid in mapping:
                    mapping[pid].append(f"{fw.id}:{req.id}")
                elif pid.startswith(IAC_ID_PREFIXES):
                    continue
                elif strict_frameworks:
                    raise PolicyError(
                        f"requirements[{ri}].policies[{pi}]: unknown policy id {pid!r}",
                        file=str(fw.file),
                        line=_framework_doc_line(fw, ri, pi),
                    )
    policies = {pid: replace(p, compliance=tuple(mapping[pid])) for pid, p in policies.items()}
    return PolicySet(policies=policies, frameworks=frameworks)


Locate = Callable[[list[str | int]], int | None]


def _no_line(_: list[str | int]) -> int | None:
    return None


def apply_parameters(
    policies: list[Policy],
    overrides: dict[str, dict[str, Any]],
    source: str | None,
    locate: Locate = _no_line,
) -> list[Policy]:
    """Apply config-file parameter overrides; an unknown policy or parameter, or a value of the
    wrong type, is a config error."""
    by_id = {p.id: p for p in policies}
    out = {p.id: p for p in policies}
    for pid, values in overrides.items():
        policy = by_id.get(pid)
        if policy is None:
            continue  # parameters for a policy that is not selected this run
        merged = dict(policy.values)
        for name, value in values.items():
            param = policy.parameters.get(name)
            if param is None:
                known = ", ".join(sorted(policy.parameters)) or "none"
                raise ConfigError(
                    f"parameters.{pid}.{name}: policy {pid} has no parameter {name!r} (known: {known})",
                    file=source,
                    line=locate(["parameters", pid, name]),
                )
            problem = param.check(value)
            for leaf in policy.parameter_uses(name):
                if problem:
                    break
                try:
                    check_value(leaf.op, value, [])
                except CompileError as exc:
                    problem = f"{exc.message} (compared by {leaf.path} {leaf.op.name})"
            if problem:
                raise ConfigError(
                    f"parameters.{pid}.{name}: {problem}", file=source, line=locate(["parameters", pid, name])
                )
            merged[name] = value
        out[pid] = replace(policy, values=merged)
    return [out[p.id] for p in policies]


def check_override_targets(
    policy_set: PolicySet, overrides: dict[str, dict[str, Any]], source: str | None, locate: Locate = _no_line
) -> None:
    for pid in overrides:
        if pid not in policy_set.policies:
            raise ConfigError(
                f"parameters.{pid}: no policy with id {pid!r}", file=source, line=locate(["parameters", pid])
            )
