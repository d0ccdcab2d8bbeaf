"""The stages glued together: config -> policies -> collect -> evaluate -> ScanResult.

The CLI is a thin layer over these functions, and tests call them directly.
"""

from __future__ import annotations

import difflib
import fnmatch
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mlguard import __version__
from mlguard.catalogue import CATALOGUE
from mlguard.collect import arenas
from mlguard.collect.base import CollectionCancelled, CollectorFactory, InventorySink, Progress, providers
from mlguard.collect.secrets import mask_text, scrub_resource
from mlguard.collect.shard import Shard
from mlguard.config import CONFIG_FILE_NAMES, Config, WaiversFile, WaiverSpec
from mlguard.cost.figures import CostOptions, attach_costs, cost_summary, fleet_of
from mlguard.errors import CollectionSetupError, ConfigError, InputError, InventoryError
from mlguard.gc_pause import gc_paused
from mlguard.graph.build import estate_of
from mlguard.iac.scan import IacScan, with_compliance
from mlguard.model import (
    Category,
    CollectionError,
    FrameworkInfo,
    Inventory,
    Provenance,
    ScanResult,
    Severity,
    Status,
    Summary,
    error_scopes,
    iso,
    utcnow,
)
from mlguard.policy.baseline import apply_baseline
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import (
    Policy,
    PolicySet,
    apply_parameters,
    builtin_policy_dir,
    check_override_targets,
    load_policy_set,
)
from mlguard.policy.waivers import apply_waivers
from mlguard.yamlio import Located, field_name, json_line, parse_json, parse_yaml, validate


def config_schema() -> dict[str, Any]:
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlguard configuration (mlguard.yaml)"
    return schema


def waivers_schema() -> dict[str, Any]:
    schema = WaiversFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mlguard waivers file"
    return schema


@dataclass
class LoadedConfig:
    config: Config
    path: Path | None
    doc: Located | None

    def locate(self, where: list[str | int]) -> int | None:
        return self.doc.line_of(where) if self.doc else None


def _model_from_doc(model: type[BaseModel], doc: Located, raw: Any, error: type[InputError]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:  # the schema catches nearly all; this is the safety net
        first = exc.errors()[0]
        where = [p for p in first["loc"] if isinstance(p, str | int)]
        raise error(
            f"{field_name(where)}: {first['msg']}", file=str(doc.path), line=doc.line_of(where)
        ) from None


def load_config(path: Path | None, cwd: Path | None = None) -> LoadedConfig:
    """Read the config file given, or ``mlguard.yaml`` in the working directory, or defaults."""
    if path is None:
        base = cwd or Path.cwd()
        path = next((base / n for n in CONFIG_FILE_NAMES if (base / n).is_file()), None)
        if path is None:
            return LoadedConfig(Config(), None, None)
    elif not path.is_file():
        raise ConfigError("config file not found", file=str(path))
    doc = parse_yaml(path, ConfigError)
    raw = doc.plain()
    if raw is None:
        raw = {}
    validate(doc, raw, config_schema(), ConfigError)
    config: Config = _model_from_doc(Config, doc, raw, ConfigError)
    config.with_base_dir(path.parent)
    return LoadedConfig(config, path, doc)


def load_waivers(loaded: LoadedConfig, extra_file: Path | None) -> list[WaiverSpec]:
    waivers = list(loaded.config.waivers)
    files = [loaded.config.resolve(loaded.config.waivers_file)] if loaded.config.waivers_file else []
    if extra_file is not None:
        files.append(extra_file)
    for f in files:
        if not f.is_file():
            raise ConfigError("waivers file not found", file=str(f))
        doc = parse_yaml(f, ConfigError)
        raw = doc.plain() or {}
        validate(doc, raw, waivers_schema(), ConfigError)
        waivers += _model_from_doc(WaiversFile, doc, raw, ConfigError).waivers
    return waivers


def load_policies(
    loaded: LoadedConfig, extra_dirs: Sequence[Path] = (), builtin: bool | None = None
) -> PolicySet:
    dirs: list[tuple[Path, str]] = []
    use_builtin = loaded.config.policies.builtin if builtin is None else builtin
    if use_builtin:
        dirs.append((builtin_policy_dir(), "builtin"))
    for p in [loaded.config.resolve(x) for x in loaded.config.policies.paths] + list(extra_dirs):
        if not p.is_dir():
            raise ConfigError(f"policy directory not found: {p}")
        dirs.append((p, str(p)))
    policy_set = load_policy_set(dirs)
    check_override_targets(
        policy_set, loaded.config.parameters, str(loaded.path) if loaded.path else None, loaded.locate
    )
    return policy_set


@dataclass
class Selection:
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    severities: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)
    resource_types: list[str] = field(default_factory=list)


def _nearest(value: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, sorted(set(names)), n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""


def select_policies(policy_set: PolicySet, loaded: LoadedConfig, cli: Selection) -> list[Policy]:
    """The policies the selectors choose. Bad input (exit 2), never a silent empty run: an unknown
    category, severity or resource type, an id or glob that matches no policy (even when other
    selectors match), and a selection that matches nothing at all."""
    sel = loaded.config.policies
    cfg = str(loaded.path) if loaded.path else None

    def origin(flag: str, key: str, from_cli: bool, i: int) -> tuple[str, str | None, int | None]:
        if from_cli:
            return flag, None, None
        return f"policies.{key}[{i}]", cfg, loaded.locate(["policies", key, i])

    def check(
        key: str, flag: str, values: list[str], from_cli: bool, names: list[str], what: str, glob: bool
    ) -> None:
        for i, value in enumerate(values):
            hit = any(fnmatch.fnmatchcase(n, value) for n in names) if glob else value in names
            if hit:
                continue
            label, file, line = origin(flag, key, from_cli, i)
            error = ConfigError if file else InputError
            if glob:
                problem = f"{value!r} matches no {what}{_nearest(value, names)}"
            else:  # a closed set: name it all
                problem = f"unknown {what} {value!r}{_nearest(value, names)} (known: {', '.join(names)})"
            raise error(f"{label}: {problem}", file=file, line=line)

    if not policy_set.policies:
        raise InputError(
            "no policies loaded: --no-builtin (or policies.builtin: false) without a --policies directory "
            "that holds any"
        )
    ids = sorted(policy_set.policies)
    types = sorted(set(CATALOGUE) | {p.resource for p in policy_set.policies.values()})
    include, exclude_cfg = cli.include or sel.include, sel.exclude
    severities = cli.severities or [s.value for s in sel.severities]
    categories = cli.categories or sel.categories
    resource_types = cli.resource_types or sel.resource_types
    check("include", "--policy", include, bool(cli.include), ids, "policy id", True)
    check("exclude", "--exclude-policy", cli.exclude, True, ids, "policy id", True)
    check("exclude", "--exclude-policy", exclude_cfg, False, ids, "policy id", True)
    check(
        "severities",
        "--severity",
        severities,
        bool(cli.severities),
        [s.value for s in Severity],
        "severity",
        False,
    )
    check(
        "categories",
        "--category",
        categories,
        bool(cli.categories),
        [c.value for c in Category],
        "category",
        False,
    )
    check(
        "resource_types",
        "--resource-type",
        resource_types,
        bool(cli.resource_types),
        types,
        "resource type",
        True,
    )
    chosen = policy_set.select(
        include=include,
        exclude=[*exclude_cfg, *cli.exclude],
        severities=severities,
        categories=categories,
        frameworks=cli.frameworks or sel.frameworks,
        resource_types=resource_types,
    )
    if not chosen:
        used = [
            f"{flag} {','.join(values)}"
            for flag, values in (
                ("--policy", include),
                ("--exclude-policy", [*exclude_cfg, *cli.exclude]),
                ("--severity", severities),
                ("--category", categories),
                ("--framework", cli.frameworks or sel.frameworks),
                ("--resource-type", resource_types),
            )
            if values
        ]
        raise InputError(
            "the policy selection matches no policy"
            + (f": {' '.join(used)} (together they match none)" if used else " (every policy is disabled)")
            + "; see `mlguard policies list`",
            file=cfg
            if used
            and not any(
                [cli.include, cli.exclude, cli.severities, cli.categories, cli.frameworks, cli.resource_types]
            )
            else None,
        )
    return apply_parameters(chosen, loaded.config.parameters, cfg, loaded.locate)


def load_inventory(path: Path) -> Inventory:
    """An inventory file, scrubbed as a collector's output is: the file may be hand-written or
    edited, so its names, tags, data and error messages pass the same secret scrub (and record
    ``plaintext_secret_paths``) before any report sees them."""
    return scrubbed_inventory(_load_model(path, Inventory, "see `mlguard schema inventory`"))


def scrubbed_inventory(inv: Inventory) -> Inventory:
    """Every resource through the sink's final scrub, every error message masked (idempotent)."""
    errors = [
        e if (masked := mask_text(e.message)) == e.message else e.model_copy(update={"message": masked})
        for e in inv.errors
    ]
    return inv.model_copy(update={"resources": [scrub_resource(r) for r in inv.resources], "errors": errors})


def load_results(path: Path) -> ScanResult:
    return _load_model(path, ScanResult, "not an mlguard results file? see `mlguard schema result`")


M = TypeVar("M", Inventory, ScanResult)


def _load_model(path: Path, model: type[M], hint: str) -> M:
    """A JSON file validated as ``model``; the first problem named with its file, line and field."""
    raw = parse_json(path, InventoryError)
    try:
        loaded = model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = [p for p in first["loc"] if isinstance(p, str | int)]
        raise InventoryError(
            f"{field_name(where)}: {first['msg']} ({exc.error_count()} problem(s) in all; {hint})",
            file=str(path),
            line=_json_line(path, where),
        ) from None
    if isinstance(loaded, Inventory):
        _unique(path, "resources", [r.uid for r in loaded.resources], "uid")
        return loaded
    return checked_results(path, loaded)


def checked_results(path: Path, scan: ScanResult) -> ScanResult:
    """A results file as read, made trustworthy: a repeated result is bad input, and the derived
    figures are recomputed from the results (every loader of a results file calls this)."""
    _unique(path, "results", [r.fingerprint for r in scan.results], "fingerprint (policy and resource)")
    return scan.with_derived_figures()


def _unique(path: Path, key: str, values: list[str], what: str) -> None:
    """One resource judged on another's data is a false PASS: a repeated key is bad input."""
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        j = first.setdefault(value, i)
        if j != i:
            raise InventoryError(
                f"{key}[{j}] and {key}[{i}] share {what} {value!r}",
                file=str(path),
                line=_json_line(path, [key, i]),
            )


def _json_line(path: Path, where: list[str | int]) -> int | None:
    """Line of a JSON node, found along its path in the text (never by re-parsing it as YAML)."""
    return json_line(path, where)


def evaluate(
    inventory: Inventory,
    policies: list[Policy],
    policy_set: PolicySet,
    waivers: Sequence[WaiverSpec] = (),
    baseline: Path | None = None,
    command: str | None = None,
    now: datetime | None = None,
    iac: IacScan | None = None,
    cost: CostOptions | None = None,
) -> ScanResult:
    """Evaluate, then merge IaC findings (``scan --iac``), then apply waivers and the baseline to
    all of them, so a waiver or a baseline treats live and IaC findings alike. Failing cost
    findings carry their waste (GPU-hours, node-hours, and dollars when ``cost`` has prices)."""
    # The results, the summary, the estate and the fleet are millions of acyclic objects: the
    # cycle collector waits until they are built, and a large scan's are then frozen: they live
    # until the reports are written (see mlguard.gc_pause).
    with gc_paused() as pause:
        scan = _evaluate(inventory, policies, policy_set, waivers, baseline, command, now, iac, cost)
        if len(scan.results) >= KEEP_MIN_RESULTS:
            pause.keep()
        return scan


# From this many results on, what an evaluation built is frozen (gc.freeze) for the rest of the
# process; below it the collector's walks cost little (and tests run thousands of evaluations).
KEEP_MIN_RESULTS = 20_000


def _evaluate(
    inventory: Inventory,
    policies: list[Policy],
    policy_set: PolicySet,
    waivers: Sequence[WaiverSpec],
    baseline: Path | None,
    command: str | None,
    now: datetime | None,
    iac: IacScan | None,
    cost: CostOptions | None,
) -> ScanResult:
    started = utcnow()
    if iac is None:
        iac = inventory.iac  # a merged run's IaC findings travel in its inventory
    if iac is not None:
        iac = with_compliance(iac, policy_set)
    scanned = scanned_providers(inventory)
    if scanned:  # a scan of one provider does not list the other's policies as not run
        policies = [p for p in policies if p.provider in scanned]
    evaluated = evaluate_inventory(policies, inventory, now=now)
    results = attach_costs(evaluated.results, policies, inventory, cost, evaluated.index) + (
        list(iac.results) if iac else []
    )
    errors = inventory.errors + (list(iac.errors) if iac else [])
    policy_infos = [p.info() for p in policies]
    if iac is not None:
        known = {p.id for p in policy_infos}
        policy_infos += [p for p in iac.policies if p.id not in known]
    today: date = (now or started).date()
    results, stale = apply_waivers(results, list(waivers), today)
    baseline_info = None
    if baseline is not None:
        if not baseline.is_file():
            raise InventoryError("baseline file not found", file=str(baseline))
        results, baseline_info = apply_baseline(
            results, load_results(baseline), baseline, {p.id for p in policy_infos}
        )
    inv = inventory.provenance
    provenance = Provenance(
        version=__version__,
        policy_pack_version=__version__,
        started_at=inv.started_at or iso(started),
        finished_at=iso(utcnow()),
        command=command,
        identities=inv.identities,
        accounts=inv.accounts,
        regions=inv.regions,
        workspaces=inv.workspaces,
        sources=[*inv.sources, *([iac.path] if iac else [])],
        shard=inv.shard,
        shards=inv.shards,
    )
    used_frameworks = sorted({c.split(":", 1)[0] for p in policy_infos for c in p.compliance})
    return ScanResult(
        provenance=provenance,
        results=results,
        errors=errors,
        summary=Summary.of(
            results,
            resources=len(inventory.resources) + (iac.resources if iac else 0),
            policies_run=evaluated.policies_run + (len(iac.policies) if iac else 0),
            errors=len(errors),
            incomplete_scopes=error_scopes(errors),
        ),
        policies=policy_infos,
        frameworks=[
            # IaC findings may evidence any provider's requirements: keep them all then
            _in_scope(policy_set.frameworks[f].info(), policy_set, set() if iac else scanned)
            for f in used_frameworks
            if f in policy_set.frameworks
        ],
        not_run=evaluated.not_run,
        stale_waivers=stale,
        baseline=baseline_info,
        cost=cost_summary(results, policies, cost),
        gpu_fleet=fleet_of(inventory, policies, cost, evaluated.index),
        # every loaded policy's joins, not only the selected ones': the map is of the estate
        estate=estate_of(inventory.resources, policy_set.policies.values()),
    )


def nothing_collected(inventory: Inventory) -> list[str]:
    """Providers whose scope yielded collection errors and not one resource: nothing could be read
    there (every call denied, the server gone), so its results are all ERROR and prove nothing."""
    return sorted({e.provider for e in inventory.errors} - {r.provider for r in inventory.resources})


def scanned_providers(inventory: Inventory) -> set[str]:
    """The providers this inventory holds anything of (coverage, resources, errors, identities)."""
    return (
        {c.provider for c in inventory.coverage}
        | {r.provider for r in inventory.resources}
        | {e.provider for e in inventory.errors}
        | {i.provider for i in inventory.provenance.identities}
    )


def _in_scope(fw: FrameworkInfo, policy_set: PolicySet, scanned: set[str]) -> FrameworkInfo:
    """The framework with only the policies of the providers scanned, without the requirements
    that only other providers' policies evidence: a scan of AWS says nothing about Databricks
    requirements, so they are out of its scope, not 0% evaluated."""
    if not scanned:
        return fw
    here = {p.id for p in policy_set.policies.values() if p.provider in scanned}
    kept = []
    for req in fw.requirements:  # checkov ids (IaC) are out of scope too when IaC was not scanned
        ids = [pid for pid in req.policies if pid in here]
        if req.policies and not ids:
            continue
        kept.append(req.model_copy(update={"policies": ids}))
    return fw.model_copy(update={"requirements": kept})


def exit_code(
    scan: ScanResult,
    fail_on: Severity | None,
    fail_on_error: bool,
    incomplete: bool = False,
    uncollected: Sequence[str] = (),
) -> int:
    """3 when a time limit cut the scan short (whatever it had read by then); 4 when a provider's
    scope yielded only errors (``uncollected``, see :func:`nothing_collected`); 3 when collection
    was incomplete and fail_on_error is set (an incomplete scan cannot be trusted, so this wins over
    findings); else 1 for an unwaived FAIL at or above fail_on; else 0."""
    from mlguard.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, EXIT_SETUP

    if incomplete:
        return EXIT_INCOMPLETE
    if uncollected:
        return EXIT_SETUP
    if fail_on_error and (scan.errors or any(r.status is Status.ERROR for r in scan.results)):
        return EXIT_INCOMPLETE
    if fail_on is not None:
        for r in scan.results:
            if r.status is Status.FAIL and r.severity.rank >= fail_on.rank:
                return EXIT_FINDINGS
    return EXIT_OK


@dataclass
class Collected:
    inventory: Inventory
    timed_out: bool = False


def collect(
    loaded: LoadedConfig,
    provider_names: Sequence[str],
    types: set[str],
    progress: Progress,
    command: str | None = None,
    timeout: float | None = None,
    factories: Mapping[str, CollectorFactory] | None = None,
    shard: Shard | None = None,
    reads: Mapping[str, frozenset[str]] | None = None,
) -> Collected:
    """Run the enabled providers for the resource types the selected policies need.

    A provider that cannot start at all (no credentials, unreachable) is recorded as a collection
    error when another provider ran; when none could run, the setup error is raised (exit 4).
    With a ``timeout`` (seconds), collection stops there: what was read is kept, a ``Timeout``
    collection error per provider makes everything else ERROR, and the run counts as incomplete.
    ``factories`` replaces how a provider's collector is built (the demo hands the Databricks
    collector the fake workspace's token and a stable name). ``shard``: read only that shard's
    units (``--shard K/N``); the inventory records them (see :mod:`mlguard.collect.shard`).
    ``reads``: the data keys per type the run's policies read (see :mod:`mlguard.collect.prune`);
    None (the default) reads every field.
    """
    registry = providers()
    scope = loaded.config.scope
    names = list(provider_names) or list(scope.providers)
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise ConfigError(
            f"unknown or unavailable provider(s): {', '.join(unknown)} "
            f"(available: {', '.join(sorted(registry)) or 'none'})"
        )
    if not names:
        names = [n for n, entry in sorted(registry.items()) if entry.detect(scope)]
    if not names:
        raise CollectionSetupError(
            "no provider to scan: no AWS credentials or Databricks host were found. Configure credentials, "
            "pass --provider, or try `mlguard scan --demo`."
        )
    arenas.limit()  # before the collectors' threads start (see mlguard.collect.arenas)
    started = iso(utcnow())
    sink = InventorySink(
        deadline=None if timeout is None else time.monotonic() + timeout, shard=shard, reads=reads
    )
    failures: list[CollectionSetupError] = []
    active = [n for n in names if types & registry[n].types()]
    cut: list[bool] = []  # set when the deadline stopped the worker (it may end before join returns)

    def run_all() -> None:
        for name in active:
            entry = registry[name]
            try:
                factory = (factories or {}).get(name, entry.factory)
                factory(scope).collect(frozenset(types & entry.types()), sink, progress)
            except CollectionSetupError as exc:
                failures.append(exc)
                sink.error(
                    CollectionError(provider=name, operation="setup", code="SetupFailed", message=exc.message)
                )
            except CollectionCancelled:
                cut.append(True)
                return

    timed_out = False
    if timeout is None:
        run_all()
    else:
        box: list[BaseException] = []

        def guarded() -> None:
            try:
                run_all()
            except BaseException as exc:  # re-raised in the calling thread below
                box.append(exc)

        worker = threading.Thread(target=guarded, name="mlguard-collect", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive() or cut:
            timed_out = True
            sink.cancelled.set()
            for name in active:
                sink.error(
                    CollectionError(
                        provider=name,
                        operation="scan",
                        code="Timeout",
                        message=f"the scan stopped at its {timeout:g} s time limit; "
                        "anything not read by then could not be judged",
                    )
                )
        elif box:
            raise box[0]
    if not timed_out and failures and len(failures) == len(active):
        raise failures[0]
    return Collected(sink.to_inventory(started, command), timed_out)


def collect_live(
    loaded: LoadedConfig,
    provider_names: Sequence[str],
    types: set[str],
    display: Callable[[], AbstractContextManager[Progress]],
    command: str | None = None,
    timeout: float | None = None,
    reads: Mapping[str, frozenset[str]] | None = None,
    jobs: int = 1,
) -> Collected:
    """:func:`collect` with the progress ``display`` shown while it runs; ``jobs`` > 1: in that
    many local processes, each reading the units it claims first, merged as `mlguard merge` merges
    a sharded run (see :mod:`mlguard.collect.jobs`)."""
    if jobs <= 1:
        with display() as progress:
            return collect(loaded, provider_names, types, progress, command, timeout, reads=reads)
    from mlguard.collect.jobs import Part, merged_jobs, run_jobs

    def part(shard: Shard, progress: Progress) -> Part:
        got = collect(loaded, provider_names, types, progress, command, timeout, shard=shard, reads=reads)
        return Part(got.inventory, got.timed_out)

    registry = providers()
    for name in list(provider_names) or list(loaded.config.scope.providers) or list(registry):
        entry = registry.get(name)
        if entry is not None and types & entry.types():  # once here, not in every process
            entry.prepare(frozenset(types & entry.types()))
    inventory, incomplete = merged_jobs(run_jobs(jobs, part, display, timeout), command)
    return Collected(inventory, timed_out=incomplete)
