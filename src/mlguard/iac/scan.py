"""The public entry point: scan Terraform / CloudFormation under a path and return mlguard results."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from mlguard import __version__
from mlguard.errors import InputError
from mlguard.iac.findings import convert, load_mapping
from mlguard.iac.runner import DEFAULT_TIMEOUT, FRAMEWORKS, run_checkov
from mlguard.model import (
    CollectionError,
    PolicyInfo,
    Provenance,
    Result,
    ScanResult,
    Summary,
    iso,
    utcnow,
)
from mlguard.policy.loader import PolicySet


class IacScan(BaseModel):
    """What one checkov run over a path produced, already in mlguard's terms."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="The path scanned, relative to repo_root when inside it.")
    repo_root: str = Field(description="Absolute directory that result file paths are relative to.")
    checkov_version: str | None
    frameworks: list[str]
    started_at: str
    finished_at: str
    duration_seconds: float = Field(description="Wall time of the checkov process.")
    results: list[Result] = Field(default_factory=list)
    policies: list[PolicyInfo] = Field(default_factory=list)
    errors: list[CollectionError] = Field(default_factory=list)

    @property
    def resources(self) -> int:
        return len({r.resource_uid for r in self.results})


def find_repo_root(path: Path) -> Path:
    """The enclosing git work tree (so SARIF paths are repo-relative), else the scanned directory."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def scan_iac(
    path: str | Path,
    checkov_bin: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    repo_root: str | Path | None = None,
    frameworks: tuple[str, ...] = FRAMEWORKS,
    skip_paths: tuple[str, ...] = (),
) -> IacScan:
    """Run checkov (offline, with mlguard's own checks) over ``path`` and convert what it reports.

    ``skip_paths`` are checkov ``--skip-path`` regular expressions (e.g. test fixtures).
    Raises ToolMissingError (exit 2) when checkov cannot be found, InputError when ``path`` does
    not exist, CheckovFailedError / CheckovTimeoutError when checkov crashes or overruns.
    """
    target = Path(path).expanduser()
    if not target.exists():
        raise InputError(f"IaC path does not exist: {target}")
    target = target.resolve()
    root = Path(repo_root).expanduser().resolve() if repo_root else find_repo_root(target)
    started = utcnow()
    run = run_checkov(
        target, checkov_bin=checkov_bin, timeout=timeout, frameworks=frameworks, skip_paths=skip_paths
    )
    finished = utcnow()
    scan_root = target if target.is_dir() else target.parent
    results, policies, errors = convert(
        run.reports, scan_root=scan_root, repo_root=root, collected_at=iso(finished)
    )
    try:
        shown = target.relative_to(root).as_posix() or "."
    except ValueError:
        shown = str(target)
    return IacScan(
        path=shown,
        repo_root=str(root),
        checkov_version=run.version,
        frameworks=list(frameworks),
        started_at=iso(started),
        finished_at=iso(finished),
        duration_seconds=round(run.duration_seconds, 3),
        results=results,
        policies=policies,
        errors=errors,
    )


def build_scan_result(scan: IacScan, command: str | None = None) -> ScanResult:
    """A complete ScanResult for ``mlguard iac`` run on its own."""
    provenance = Provenance(
        version=__version__,
        started_at=scan.started_at,
        finished_at=scan.finished_at,
        command=command,
        sources=[scan.path],
    )
    return ScanResult(
        provenance=provenance,
        results=list(scan.results),
        errors=list(scan.errors),
        summary=Summary.of(
            list(scan.results),
            resources=scan.resources,
            policies_run=len(scan.policies),
            errors=len(scan.errors),
        ),
        policies=list(scan.policies),
    )


def with_compliance(scan: IacScan, policy_set: PolicySet) -> IacScan:
    """Give each IaC finding the framework requirements it evidences: those that list its check id
    and those of the live policies it mirrors (``mapping.yaml``). The framework files stay the one
    place where compliance is mapped."""
    mapping = load_mapping()

    def requirements(check_id: str) -> list[str]:
        return policy_set.requirements_of([check_id, *mapping.get(check_id).mirrors])

    return scan.model_copy(
        update={
            "results": [r.model_copy(update={"compliance": requirements(r.policy_id)}) for r in scan.results],
            "policies": [p.model_copy(update={"compliance": requirements(p.id)}) for p in scan.policies],
        }
    )
