"""The public entry point: scan Terraform / CloudFormation under a path and return mlguard results."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from mlguard import __version__
from mlguard.collect.shard import Shard
from mlguard.errors import InputError
from mlguard.iac.findings import STATUS_RANK, convert, load_mapping
from mlguard.iac.runner import (
    DEFAULT_TIMEOUT,
    FRAMEWORKS,
    MAX_BATCH,
    CheckovReport,
    CheckovRun,
    CheckovTimeoutError,
    batch_supported,
    run_checkov,
    run_checkov_batch,
)
from mlguard.model import (
    CollectionError,
    IacScan,
    Inventory,
    PolicyInfo,
    Provenance,
    Result,
    ScanResult,
    Summary,
    iso,
    utcnow,
)
from mlguard.policy.loader import PolicySet

__all__ = [  # IacScan lives in mlguard.model now (a shard's part carries one), re-exported here
    "UNIT_PREFIX",
    "IacScan",
    "build_scan_result",
    "combine",
    "find_repo_root",
    "iac_units",
    "scan_iac",
    "scan_iac_shard",
    "unit_reads",
    "unit_weights",
    "with_compliance",
    "with_iac_shard",
]


def find_repo_root(path: Path) -> Path:
    """The enclosing git work tree (so SARIF paths are repo-relative), else the scanned directory."""
    start = path if path.is_dir() else path.parent
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return start


def _target(path: str | Path, repo_root: str | Path | None) -> tuple[Path, Path]:
    """The IaC path (resolved; InputError when it does not exist) and the repository root that
    reported file paths are relative to."""
    target = Path(path).expanduser()
    if not target.exists():
        raise InputError(f"IaC path does not exist: {target}")
    target = target.resolve()
    return target, Path(repo_root).expanduser().resolve() if repo_root else find_repo_root(target)


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
    target, root = _target(path, repo_root)
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


# --------------------------------------------------------------------------- sharding (--shard K/N)

#: The prefix of an IaC unit's key (see :mod:`mlguard.collect.shard`).
UNIT_PREFIX = "iac/"
#: Directories checkov never scans (its defaults, and hidden directories).
_IGNORED_DIRS = frozenset({"node_modules", ".terraform", ".serverless", ".external_modules"})
_TERRAFORM = (".tf", ".tf.json")
#: Files checkov's CloudFormation and Terraform-plan runners read.
_TEMPLATE = (".yaml", ".yml", ".json", ".template")
#: A bound on the directories walked for units (every input is bounded).
MAX_WALKED = 100_000


#: A bound on the bytes of one Terraform file read for its local module calls.
MAX_TF_BYTES = 8 * 1024 * 1024
_MODULE_BLOCK = re.compile(r'(?m)^[ \t]*module[ \t]+"[^"\n]*"[ \t]*\{')
_SOURCE = re.compile(r'(?m)^[ \t]*source[ \t]*=[ \t]*"(\.\.?/[^"\n]*)"')


def _block(text: str, start: int) -> str:
    """The body of the block whose ``{`` is at ``start``: up to its matching brace, skipping
    strings and comments (a bounded scan; an unclosed block runs to the end of the file)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "#" or text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            i = text.find("*/", i + 2)
            i = n if i < 0 else i + 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return text[start + 1 :]


def local_module_calls(directory: Path) -> set[Path]:
    """The local modules (``source = "./..."`` or ``"../..."``) the Terraform files of
    ``directory`` call, resolved."""
    called: set[Path] = set()
    for f in sorted(directory.iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        try:
            if f.name.endswith(".tf"):
                text = f.read_bytes()[:MAX_TF_BYTES].decode("utf-8", "replace")
                sources = [
                    m.group(1)
                    for block in _MODULE_BLOCK.finditer(text)
                    for m in _SOURCE.finditer(_block(text, block.end() - 1))
                ]
            elif f.name.endswith(".tf.json") and f.stat().st_size <= MAX_TF_BYTES:
                doc = json.loads(f.read_text(encoding="utf-8"))
                modules = doc.get("module", {}) if isinstance(doc, dict) else {}
                calls = modules.values() if isinstance(modules, dict) else []
                sources = [
                    c["source"] for c in calls if isinstance(c, dict) and isinstance(c.get("source"), str)
                ]
                sources = [x for x in sources if x.startswith(("./", "../"))]
            else:
                continue
        except (OSError, ValueError):
            continue  # checkov reports what it cannot read as a parse error
        called |= {(directory / source).resolve() for source in sources}
    return called


def iac_units(target: Path) -> dict[str, Path]:
    """The IaC units under ``target`` (key -> path), each judged whole, as its own checkov root.

    A Terraform root module, a directory with ``.tf`` files that no other module under ``target``
    calls as a local module, is a unit with everything under it and every local module it calls
    (checkov loads those with it, and reports their resources as called from it); the topmost such
    directory counts, never one nested in it. Outside those, every template file (CloudFormation,
    a Terraform plan) is a unit. A file ``target`` is one unit. Keys are ``iac/<path relative to
    target>``: the same on every machine that checks out the same tree."""
    target = target.resolve()
    if target.is_file():
        return {UNIT_PREFIX + target.name: target}
    modules: list[Path] = []
    templates: list[Path] = []
    pending = [target]
    walked = 0
    while pending:
        here = pending.pop()
        walked += 1
        if walked > MAX_WALKED:
            raise InputError(f"{target}: more than {MAX_WALKED} directories to split into IaC units")
        try:
            entries = sorted(here.iterdir())
        except OSError as exc:
            raise InputError(f"cannot list {here}: {exc.strerror}") from None
        files = [e for e in entries if e.is_file() and not e.name.startswith(".")]
        if any(f.name.endswith(_TERRAFORM) for f in files):
            modules.append(here)
        else:
            templates += [f for f in files if f.name.endswith(_TEMPLATE)]
        pending += [
            e
            for e in entries
            if e.is_dir()
            and not e.is_symlink()
            and not e.name.startswith(".")
            and e.name not in _IGNORED_DIRS
        ]
    called = {c for m in modules for c in local_module_calls(m)}
    roots = [m for m in modules if m not in called]
    # topmost: a module or template under a root module is read with it
    roots = [m for m in roots if not any(r in m.parents for r in roots)]
    templates = [t for t in templates if not any(r in t.parents for r in roots)]
    units = {UNIT_PREFIX + (p.relative_to(target).as_posix() or "."): p for p in (*roots, *templates)}
    return dict(sorted(units.items()))


def unit_reads(units: Mapping[str, Path]) -> dict[str, tuple[Path, ...]]:
    """What each IaC unit's checkov run reads: a template, its file; a root module, its directory
    (everything under it) and every local module it calls, directly or through another, wherever
    it lies (``../modules/x``). A module two roots call is read with each."""
    reads: dict[str, tuple[Path, ...]] = {}
    for key, path in units.items():
        if not path.is_dir():
            reads[key] = (path,)
            continue
        found: list[Path] = [path]
        pending, visited = [path], {path}
        while pending and len(visited) <= MAX_WALKED:
            for called in sorted(local_module_calls(pending.pop())):
                if called in visited or not called.is_dir():
                    continue
                visited.add(called)
                pending.append(called)
                if not any(called == f or f in called.parents for f in found):
                    found.append(called)
        reads[key] = tuple(found)
    return reads


def _reads(reads: tuple[Path, ...], file: Path) -> bool:
    return any(file == r or r in file.parents for r in reads)


def _by_unit(
    run: CheckovRun, keys: Sequence[str], reads: Mapping[str, tuple[Path, ...]]
) -> dict[str, list[CheckovReport]]:
    """A batch's reports split by unit: each record (and parse error) goes to the first of
    ``keys`` whose reads hold its file (a local module two units call: to the first; both runs
    report it alike), else to the first unit."""

    def owner(path: str) -> str:
        file = Path(path).resolve()
        return next((k for k in keys if _reads(reads[k], file)), keys[0])

    split: dict[str, list[CheckovReport]] = {k: [] for k in keys}
    for report in run.reports:
        records: dict[str, dict[str, list[object]]] = {k: {} for k in keys}
        for status in ("failed", "passed", "skipped"):
            for record in getattr(report, status):
                unit = owner(record.file_abs_path or record.file_path)
                records[unit].setdefault(status, []).append(record)
        errors: dict[str, list[str]] = {k: [] for k in keys}
        for path in report.parsing_errors:
            errors[owner(path)].append(path)
        for k in keys:
            if records[k] or errors[k]:
                split[k].append(report.model_copy(update={**records[k], "parsing_errors": errors[k]}))
    return split


def unit_weights(
    path: str | Path, results: Mapping[str, int], repo_root: str | Path | None = None
) -> dict[str, int]:
    """The weight of each IaC unit under ``path`` by a previous run's IaC results (``results``:
    resource uid -> results, as the store keeps them): 1 + the results in the files the unit
    reads (:func:`unit_reads`; a module two units call counts for each, as each run judges it).
    Units without results are left out: they keep the hash."""
    target, root = _target(path, repo_root)
    readers: dict[str, list[str]] = {}
    for key, reads in unit_reads(iac_units(target)).items():
        for read in reads:
            try:
                rel = read.relative_to(root).as_posix()
            except ValueError:
                continue  # outside the repository: its results are named otherwise
            readers.setdefault("" if rel == "." else rel, []).append(key)
    counts: dict[str, int] = {}
    for uid, n in results.items():
        if not uid.startswith("iac://"):
            continue
        file = PurePosixPath(uid[len("iac://") :].split("#", 1)[0])
        places = [p.as_posix() for p in (file, *file.parents)]
        owners = {k for p in places for k in readers.get("" if p == "." else p, ())}
        for key in owners:
            counts[key] = counts.get(key, 0) + n
    return {key: 1 + n for key, n in sorted(counts.items())}


def scan_iac_shard(
    path: str | Path,
    shard: Shard,
    checkov_bin: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    repo_root: str | Path | None = None,
    frameworks: tuple[str, ...] = FRAMEWORKS,
    skip_paths: tuple[str, ...] = (),
) -> IacScan:
    """:func:`scan_iac` of this shard's IaC units only (every unit is offered to ``shard``, which
    records it). One checkov process reads all of them (up to ``MAX_BATCH`` a process), each unit
    as its own root, as one run per unit would (one run per unit where checkov cannot do that:
    :func:`~mlguard.iac.runner.batch_supported`); each finding goes to its unit by its file, and
    each unit's findings are converted as that unit's own run's. With ``skip_paths``, templates
    keep a run each (checkov matches the patterns against the path it reads, and reads a template
    alone with ``-f`` without matching them). Paths, uids and fingerprints are
    those of an unsharded scan of ``path``, so the merged parts report like one scan. ``timeout``
    bounds all the runs together."""
    target, root = _target(path, repo_root)
    started = utcnow()
    deadline = time.monotonic() + timeout
    owned = {key: unit for key, unit in iac_units(target).items() if shard.owns(key)}
    keys = list(owned)
    # checkov reads a linked template under --skip-path as it would not read it alone (-f): with
    # skip paths, templates keep a run each, as before
    together = [k for k in keys if owned[k].is_dir() or not skip_paths] if batch_supported(frameworks) else []
    groups = [together[i : i + MAX_BATCH] for i in range(0, len(together), MAX_BATCH)]
    groups += [[k] for k in keys if k not in together]
    by_key: dict[str, IacScan] = {}
    for batch in groups:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CheckovTimeoutError(f"checkov did not finish this shard's IaC units within {timeout:g} s")
        if len(batch) == 1:
            run = run_checkov(
                owned[batch[0]],
                checkov_bin=checkov_bin,
                timeout=left,
                frameworks=frameworks,
                skip_paths=skip_paths,
            )
            split = {batch[0]: run.reports}
        else:
            run = run_checkov_batch(
                [owned[k] for k in batch],
                cwd=target if target.is_dir() else target.parent,
                checkov_bin=checkov_bin,
                timeout=left,
                frameworks=frameworks,
                skip_paths=skip_paths,
            )
            split = _by_unit(run, batch, unit_reads({k: owned[k] for k in batch}))
        finished = iso(utcnow())
        for key in batch:
            unit = owned[key]
            results, policies, errors = convert(
                split[key],
                scan_root=unit if unit.is_dir() else unit.parent,
                repo_root=root,
                collected_at=finished,
            )
            by_key[key] = IacScan(
                path=_shown(target, root),
                repo_root=str(root),
                checkov_version=run.version,
                frameworks=list(frameworks),
                started_at=iso(started),
                finished_at=finished,
                # the process's wall time, once (on its last unit)
                duration_seconds=run.duration_seconds if key == batch[-1] else 0.0,
                results=results,
                policies=policies,
                errors=errors,
            )
    scans = [by_key[k] for k in keys]  # in unit order, as one run per unit gave them
    empty = IacScan(
        path=_shown(target, root),
        repo_root=str(root),
        checkov_version=None,
        frameworks=list(frameworks),
        started_at=iso(started),
        finished_at=iso(utcnow()),
        duration_seconds=0.0,
    )
    return combine([empty, *scans])


def _shown(target: Path, root: Path) -> str:
    try:
        return target.relative_to(root).as_posix() or "."
    except ValueError:
        return str(target)


def combine(scans: Sequence[IacScan]) -> IacScan:
    """One scan of several over the same path (a shard's units, or the shards' parts): a (check,
    resource) two of them report (a local module two root modules call) is reported once, failing
    if any failed, as checkov's own report of a module called twice is (:func:`convert`)."""
    paths = sorted({s.path for s in scans})
    if len(paths) > 1:
        raise InputError(
            f"the parts scanned different IaC paths ({', '.join(paths)}): give every shard the same --iac"
        )
    by_key: dict[tuple[str, str], Result] = {}
    policies: dict[str, PolicyInfo] = {}
    errors: list[CollectionError] = []
    for scan in scans:
        for result in scan.results:
            key = (result.policy_id, result.resource_uid)
            previous = by_key.get(key)
            if previous is None or STATUS_RANK[result.status] > STATUS_RANK[previous.status]:
                by_key[key] = result
        for p in scan.policies:
            policies.setdefault(p.id, p)
        errors += [e for e in scan.errors if e not in errors]
    first = scans[0]
    return first.model_copy(
        update={
            "checkov_version": next((s.checkov_version for s in scans if s.checkov_version), None),
            "started_at": min(s.started_at for s in scans),
            "finished_at": max(s.finished_at for s in scans),
            "duration_seconds": round(sum(s.duration_seconds for s in scans), 3),
            "results": sorted(
                by_key.values(),
                key=lambda r: (r.source.file if r.source else "", r.resource_uid, r.policy_id),
            ),
            "policies": sorted(policies.values(), key=lambda p: p.id),
            "errors": errors,
        }
    )


def with_iac_shard(
    inventory: Inventory | None,
    shard: Shard,
    path: str | Path,
    checkov_bin: str | Path | None = None,
    timeout: float | None = None,
    skip_paths: tuple[str, ...] = (),
    command: str | None = None,
) -> Inventory:
    """A shard's part (``scan --shard K/N --iac PATH``): its collected inventory (None: an IaC-only
    scan) with the findings of the IaC units it owns, and its shard record re-taken so that it
    names those units (read, and seen) for ``mlguard merge``."""
    scan = scan_iac_shard(path, shard, checkov_bin, timeout or DEFAULT_TIMEOUT, skip_paths=skip_paths)
    if inventory is None:
        inventory = Inventory(
            provenance=Provenance(version=__version__, started_at=scan.started_at, command=command)
        )
    provenance = inventory.provenance.model_copy(update={"shard": shard.info()})
    return inventory.model_copy(update={"provenance": provenance, "iac": scan})
