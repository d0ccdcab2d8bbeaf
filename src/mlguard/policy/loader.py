"""Loading policies and frameworks: validated, compiled, and cross-checked before anything runs.

An invalid file is a hard error (:class:`~mlguard.errors.PolicyError`, exit 2) naming the file,
line and field: a YAML syntax error, an unknown field, a wrong type, an unknown operator or
resource type, a bad path or regex (RE2 syntax), an undeclared parameter or a parameter value that
does not suit the operator comparing it, a duplicate id. Never a skipped policy.
"""

from __future__ import annotations

import fnmatch
import importlib.resources
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema

from mlguard.cost.spec import CostSpec, compile_cost
from mlguard.errors import ConfigError, PolicyError, combined
from mlguard.fields import policy_path_problems
from mlguard.model import Category, FrameworkInfo, PolicyInfo, RequirementInfo, Severity
from mlguard.policy.conditions import (
    CompileError,
    Condition,
    Leaf,
    check_value,
    compile_condition,
    condition_problems,
    cross_provider_problems,
    joined_types,
    walk,
)
from mlguard.policy.schema import POLICY_ID_PATTERN, framework_schema, policy_schema
from mlguard.yamlio import Located, bounded_problems, field_name, load_validated

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
    """One policy file; :class:`PolicyError` listing every problem in it when it is invalid."""
    policy, problems = check_policy(path, source)
    if policy is None:
        raise combined(problems)
    return policy


def check_policy(path: Path, source: str) -> tuple[Policy | None, list[PolicyError]]:
    """One policy file and every problem in it (the policy only when there is none): the YAML,
    the schema, the id, the parameters' defaults, the conditions and the fields they read."""
    try:
        doc, raw = load_validated(path, policy_schema(), PolicyError)
    except PolicyError as exc:
        return None, [p for p in exc.problems() if isinstance(p, PolicyError)]
    problems: list[PolicyError] = []
    expected_id = path.stem
    if "id" in raw and raw["id"] != expected_id:
        problems.append(
            PolicyError(
                f"id: {raw['id']!r} does not match the file name {expected_id!r}",
                file=str(path),
                line=doc.line_of(["id"]),
            )
        )
    if not re.match(POLICY_ID_PATTERN, expected_id):
        problems.append(
            PolicyError(
                f"file name {path.name!r} is not a valid policy id (lowercase letters, digits and _)",
                file=str(path),
            )
        )
    params = {
        name: Parameter(name, spec["type"], spec["default"], spec["description"], spec.get("items"))
        for name, spec in raw.get("parameters", {}).items()
    }
    for name, param in params.items():
        problem = param.check(param.default)
        if problem:
            problems.append(
                PolicyError(
                    f"parameters.{name}.default: {problem}",
                    file=str(path),
                    line=doc.line_of(["parameters", name, "default"]),
                )
            )
    names = {n: p.default for n, p in params.items()}
    compile_problems = [
        p for part in ("where", "assert") if part in raw for p in condition_problems(raw[part], [part], names)
    ]
    compile_problems += [
        p
        for part in ("where", "assert")
        if isinstance(raw.get(part), dict)
        for p in cross_provider_problems(raw[part], [part], raw["resource"])
    ]
    placed = {tuple(p.where) for p in compile_problems}
    compile_problems += [
        p for p in policy_path_problems(raw["resource"], raw) if tuple(p.where) not in placed
    ]  # every path names a declared field
    cost: CostSpec | None = None
    if "cost" in raw:
        try:
            cost = compile_cost(raw["cost"], names)
        except CompileError as exc:
            compile_problems.append(exc)
        if raw["category"] != "cost":
            compile_problems.append(
                CompileError(
                    f"only a policy of category cost carries a cost block (this one is {raw['category']})",
                    ["cost"],
                )
            )
    compile_problems.sort(key=lambda p: doc.line_of(p.where) or 0)
    problems += [
        PolicyError(f"{field_name(p.where)}: {p.message}", file=str(path), line=doc.line_of(p.where))
        for p in compile_problems
    ]
    if problems:
        return None, bounded_problems(problems, str(path), PolicyError)
    rem = raw["remediation"]
    where = compile_condition(raw["where"], ["where"], names) if "where" in raw else None
    return (
        Policy(
            id=expected_id,
            title=raw["title"],
            description=raw["description"].strip(),
            severity=Severity(raw["severity"]),
            category=Category(raw["category"]),
            resource=raw["resource"],
            assert_=compile_condition(raw["assert"], ["assert"], names),
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
        ),
        [],
    )


def load_framework(path: Path) -> Framework:
    """One framework file; :class:`PolicyError` listing every problem in it when it is invalid."""
    framework, problems = check_framework(path)
    if framework is None:
        raise combined(problems)
    return framework


def check_framework(path: Path) -> tuple[Framework | None, list[PolicyError]]:
    """One framework file and every problem in it (the framework only when there is none)."""
    try:
        doc, raw = load_validated(path, framework_schema(), PolicyError)
    except PolicyError as exc:
        return None, [p for p in exc.problems() if isinstance(p, PolicyError)]
    problems: list[PolicyError] = []
    seen: dict[str, int] = {}
    for i, req in enumerate(raw["requirements"]):
        if req["id"] in seen:
            problems.append(
                PolicyError(
                    f"requirements[{i}].id: duplicate requirement id {req['id']!r}",
                    file=str(path),
                    line=doc.line_of(["requirements", i, "id"]),
                )
            )
        seen.setdefault(req["id"], i)
    if problems:
        return None, bounded_problems(problems, str(path), PolicyError)
    framework = Framework(
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
    return framework, []


def _framework_doc_line(fw: Framework, req_index: int, pol_index: int) -> int | None:
    from mlguard.yamlio import parse_yaml

    doc: Located = parse_yaml(fw.file, PolicyError)
    return doc.line_of(["requirements", req_index, "policies", pol_index])


# IaC check ids (checkov's and mlguard's own checkov checks) may be listed in framework files; they
# are resolved against the IaC mapping, not against the policy files.
IAC_ID_PREFIXES = ("CKV_", "CKV2_", "MLG_")


def _is_policy_file(rel: Path) -> bool:
    """Whether a YAML file below a policy directory is a policy (not a framework, test or helper)."""
    return rel.parts[0] not in ("frameworks", "tests", "fixtures") and not rel.name.startswith("_")


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.yaml")) + sorted(directory.rglob("*.yml"))


def is_framework_file(path: Path) -> bool:
    """A framework file lives in a ``frameworks/`` folder of a policy directory."""
    return path.parent.name == "frameworks"


@dataclass
class PolicyCheck:
    """What :func:`check_policy_sources` read: the valid part, and every problem found."""

    policy_set: PolicySet
    problems: list[PolicyError]
    files: int


def load_policy_set(directories: Sequence[tuple[Path, str]], strict_frameworks: bool = True) -> PolicySet:
    """Load every ``*.yaml`` under the given (directory, source label) pairs.

    Framework files live in a ``frameworks/`` folder of a policy directory. Any problem is a
    :class:`PolicyError` listing every problem found in every file.
    """
    for directory, _ in directories:
        if not directory.is_dir():
            raise ConfigError(f"policy directory not found: {directory}")
    check = check_policy_sources(directories, (), strict_frameworks)
    if check.problems:
        raise combined(check.problems)
    return check.policy_set


def check_policy_sources(
    directories: Sequence[tuple[Path, str]], files: Sequence[Path] = (), strict_frameworks: bool = True
) -> PolicyCheck:
    """Read policy directories and single policy or framework files, collecting every problem:
    each file's own, duplicate ids, and framework requirements naming unknown policies.

    A single framework file's policy ids are resolved against the policies read here and the
    policy files of its own policy directory (the parent of its ``frameworks/`` folder), so a
    changed framework file can be checked alone.
    """
    policies: dict[str, Policy] = {}
    frameworks: dict[str, Framework] = {}
    problems: list[PolicyError] = []
    known_ids: set[str] = set()  # every policy file's id, valid or not: no cascade of unknown ids
    sources: list[tuple[Path, str, bool]] = []  # (path, source label, is a framework)
    for directory, source in directories:
        for path in _yaml_files(directory):
            rel = path.relative_to(directory)
            if rel.parts[0] == "frameworks":
                sources.append((path, source, True))
            elif _is_policy_file(rel):
                sources.append((path, source, False))
    for path in files:
        framework = is_framework_file(path)
        sources.append((path, str(path.parent), framework))
        if framework:
            root = path.parent.parent
            known_ids.update(p.stem for p in _yaml_files(root) if _is_policy_file(p.relative_to(root)))
    for path, source, framework in sources:
        if framework:
            fw, found = check_framework(path)
            problems += found
            if fw is None:
                continue
            if fw.id in frameworks:
                problems.append(
                    PolicyError(
                        f"duplicate framework id {fw.id!r} (also in {frameworks[fw.id].file})", file=str(path)
                    )
                )
                continue
            frameworks[fw.id] = fw
            continue
        known_ids.add(path.stem)
        policy, found = check_policy(path, source)
        problems += found
        if policy is None:
            continue
        if policy.id in policies:
            problems.append(
                PolicyError(
                    f"duplicate policy id {policy.id!r} (also defined in {policies[policy.id].file})",
                    file=str(path),
                    line=1,
                )
            )
            continue
        policies[policy.id] = policy
    # Reverse index: policy -> framework requirements. Every referenced id must exist.
    mapping: dict[str, list[str]] = {pid: [] for pid in policies}
    for fw in frameworks.values():
        for ri, req in enumerate(fw.requirements):
            for pi, pid in enumerate(req.policies):
                if pid in mapping:
                    mapping[pid].append(f"{fw.id}:{req.id}")
                elif pid.startswith(IAC_ID_PREFIXES) or pid in known_ids:
                    continue
                elif strict_frameworks:
                    problems.append(
                        PolicyError(
                            f"requirements[{ri}].policies[{pi}]: unknown policy id {pid!r}",
                            file=str(fw.file),
                            line=_framework_doc_line(fw, ri, pi),
                        )
                    )
    policies = {pid: replace(p, compliance=tuple(mapping[pid])) for pid, p in policies.items()}
    return PolicyCheck(PolicySet(policies=policies, frameworks=frameworks), problems, len(sources))


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
