"""Turn checkov's records into mlguard results, with severities from our mapping.

The mapping (``mapping.yaml`` beside this module) is data: check id -> severity, category, title
override, mirrored live policies, remediation. Open-source checkov reports no severity, so every
severity in a result comes from there (or from its ``default``). Compliance is added later from the
framework files (:func:`mlguard.iac.scan.with_compliance`).
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from mlguard.errors import PolicyError
from mlguard.iac.runner import CheckovRecord, CheckovReport
from mlguard.model import (
    Category,
    CollectionError,
    Evidence,
    PolicyInfo,
    Provider,
    Result,
    Severity,
    SourceLocation,
    Status,
    fingerprint,
)

RESOURCE_TYPE = "iac.resource"
MAPPING_FILE = "mapping.yaml"
_STATUS = {"PASSED": Status.PASS, "FAILED": Status.FAIL, "SKIPPED": Status.SKIP}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckDefault(_Strict):
    severity: Severity
    category: Category


class CheckMapping(_Strict):
    severity: Severity
    category: Category
    title: str | None = None
    mirrors: list[str] = Field(default_factory=list, description="Live policy ids this check mirrors.")
    remediation: str | None = None
    references: list[str] = Field(default_factory=list)


class Mapping(_Strict):
    default: CheckDefault
    checks: dict[str, CheckMapping] = Field(default_factory=dict)

    def get(self, check_id: str) -> CheckMapping:
        found = self.checks.get(check_id)
        if found is not None:
            return found
        return CheckMapping(severity=self.default.severity, category=self.default.category)


def parse_mapping(text: str, source: str) -> Mapping:
    try:
        doc = YAML(typ="safe").load(io.StringIO(text))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(
            f"invalid YAML: {getattr(exc, 'problem', None) or exc}", file=source, line=line
        ) from None
    try:
        return Mapping.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{where}: {first['msg']}", file=source) from None


@cache
def load_mapping() -> Mapping:
    """The mapping shipped in the package."""
    text = resources.files("mlguard.iac").joinpath(MAPPING_FILE).read_text(encoding="utf-8")
    return parse_mapping(text, f"mlguard/iac/{MAPPING_FILE}")


def relative_file(record: CheckovRecord, scan_root: Path, repo_root: Path) -> str:
    """The record's file, relative to the repository root, with forward slashes."""
    if record.file_abs_path:
        absolute = Path(record.file_abs_path)
    else:
        absolute = scan_root / record.file_path.lstrip("/\\")
    try:
        return absolute.resolve().relative_to(repo_root).as_posix()
    except ValueError:
        return PurePosixPath(record.file_path.replace("\\", "/").lstrip("/")).as_posix()


def resource_uid(rel_file: str, address: str) -> str:
    return f"iac://{rel_file}#{address}"


def _location(rel_file: str, lines: list[int]) -> SourceLocation:
    start = max(lines[0], 1) if lines else 1
    end = max(lines[1], start) if len(lines) > 1 else None
    return SourceLocation(file=rel_file, start_line=start, end_line=end)


def to_result(
    record: CheckovRecord, framework: str, rel_file: str, mapping: Mapping, collected_at: str
) -> Result:
    entry = mapping.get(record.check_id)
    title = entry.title or record.check_name or record.check_id
    address = record.address
    uid = resource_uid(rel_file, address)
    status = _STATUS[record.check_result.result]
    source = _location(rel_file, record.file_line_range)
    where = f"{rel_file}:{source.start_line}"
    if status is Status.FAIL:
        message = f"{address} ({where}) fails: {title}"
        if record.details:
            message += " (" + "; ".join(record.details) + ")"
    elif status is Status.PASS:
        message = f"{address} ({where}) passes: {title}"
    else:
        comment = record.check_result.suppress_comment or "no reason given"
        message = f"{address} ({where}) suppressed in code: {comment}"
    values: dict[str, object] = {
        "check": record.check_name,
        "framework": framework,
        "resource_address": address,
        # checkov lists them from a set: sorted, so that two runs over the same code agree
        "evaluated_keys": sorted(set(record.check_result.evaluated_keys)),
    }
    if record.details:
        values["details"] = list(record.details)
    if status is Status.SKIP:
        values["suppress_comment"] = record.check_result.suppress_comment
    return Result(
        policy_id=record.check_id,
        resource_uid=uid,
        resource_type=RESOURCE_TYPE,
        resource_name=address,
        provider=Provider.IAC.value,
        status=status,
        severity=entry.severity,
        category=entry.category,
        title=title,
        message=message,
        evidence=Evidence(values=values, collected_at=collected_at),
        fingerprint=fingerprint(record.check_id, uid),
        source=source,
    )


def to_policy_info(record: CheckovRecord, mapping: Mapping) -> PolicyInfo:
    entry = mapping.get(record.check_id)
    references = [*([record.guideline] if record.guideline else []), *entry.references]
    origin = "mlguard" if record.check_id.startswith("MLG_") else "checkov"
    return PolicyInfo(
        id=record.check_id,
        title=entry.title or record.check_name or record.check_id,
        description=record.check_name or entry.title or record.check_id,
        severity=entry.severity,
        category=entry.category,
        resource=RESOURCE_TYPE,
        provider=Provider.IAC.value,
        remediation=entry.remediation,
        references=references,
        source=origin,
    )


#: Which of two outcomes of one (check, resource) is reported: failing wins, then suppressed.
STATUS_RANK = {Status.FAIL: 3, Status.SKIP: 2, Status.PASS: 1}


def convert(
    reports: list[CheckovReport],
    *,
    scan_root: Path,
    repo_root: Path,
    collected_at: str,
    mapping: Mapping | None = None,
) -> tuple[list[Result], list[PolicyInfo], list[CollectionError]]:
    """Results (one per check and resource), the checks seen, and files checkov could not parse.

    A module called twice yields the same (check, resource) twice: it is reported once, failing if
    any instance failed, so fingerprints stay unique.
    """
    mapping = mapping or load_mapping()
    by_key: dict[tuple[str, str], Result] = {}
    policies: dict[str, PolicyInfo] = {}
    errors: list[CollectionError] = []
    for report in reports:
        for record in report.records:
            rel_file = relative_file(record, scan_root, repo_root)
            result = to_result(record, report.check_type, rel_file, mapping, collected_at)
            key = (result.policy_id, result.resource_uid)
            previous = by_key.get(key)
            if previous is None or STATUS_RANK[result.status] > STATUS_RANK[previous.status]:
                by_key[key] = result
            policies.setdefault(record.check_id, to_policy_info(record, mapping))
        for path in report.parsing_errors:
            absolute = Path(path) if Path(path).is_absolute() else scan_root / path.lstrip("/\\")
            try:
                rel = absolute.resolve().relative_to(repo_root).as_posix()
            except ValueError:
                rel = path
            errors.append(
                CollectionError(
                    provider=Provider.IAC.value,
                    resource_type=RESOURCE_TYPE,
                    operation=f"checkov.{report.check_type}.parse",
                    code="ParseError",
                    message=f"checkov could not parse {rel}; its resources were not checked",
                    resource_uid=f"iac://{rel}",
                )
            )
    results = sorted(
        by_key.values(), key=lambda r: (r.source.file if r.source else "", r.resource_uid, r.policy_id)
    )
    return results, sorted(policies.values(), key=lambda p: p.id), errors
