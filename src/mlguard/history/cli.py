"""``mlguard history``: list, diff, trend, prune, export and import recorded runs.

The store comes from ``--store`` (a SQLite path or a database URL), else the ``MLGUARD_STORE``
environment variable, else ``ctx.meta["mlguard.store"]`` (the main CLI puts the config file's
``store:`` there).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast, get_args

import click
from pydantic import ValidationError

from mlguard.errors import EXIT_BAD_INPUT, InventoryError, MlguardError
from mlguard.history.defaults import DEFAULT_LOCK_TIMEOUT, ENV_STORE
from mlguard.history.errors import StoreError
from mlguard.history.models import DIMENSIONS, Dimension, InventoryItem, InventorySummary
from mlguard.history.render import cost_trend_view, diff_view, make_console, runs_table, trend_view
from mlguard.model import Inventory, ScanResult
from mlguard.yamlio import parse_json

if TYPE_CHECKING:  # SQLAlchemy and alembic load when a command opens the store
    from mlguard.history.store import Store

META_STORE = "mlguard.store"
F = TypeVar("F", bound=Callable[..., Any])


def _clean_errors(fn: F) -> F:
    """Report mlguard errors as one line on stderr with their documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import sqlalchemy.exc

        try:
            return fn(*args, **kwargs)
        except MlguardError as exc:
            click.echo(f"mlguard: error: {exc.render()}", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None
        except sqlalchemy.exc.DBAPIError as exc:  # the database failed us mid-command
            click.echo(f"mlguard: error: results store: {exc.orig}", err=True)
            raise click.exceptions.Exit(EXIT_BAD_INPUT) from None

    return cast(F, wrapper)


def _store_option(fn: F) -> F:
    return click.option(
        "--store",
        "store_target",
        envvar=ENV_STORE,
        metavar="PATH|URL",
        help=f"Results store: a SQLite file or a postgresql+psycopg:// URL [env {ENV_STORE}].",
    )(fn)


#: ``--store`` for commands outside this group (``collect --record-part``, ``history finalize``).
store_option = _store_option


def _lock_option(fn: F) -> F:
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=DEFAULT_LOCK_TIMEOUT,
        show_default=True,
        help="Seconds to wait for another run holding the store's lock.",
    )(fn)


def _json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(fn)


def record_options(fn: F) -> F:
    """Options for ``mlguard scan``: ``--record/--no-record``, ``--store``, ``--lock-timeout``."""
    fn = _lock_option(fn)
    fn = _store_option(fn)
    return click.option(
        "--record/--no-record",
        default=None,
        help="Record the run in the results store [default: record when a store is configured].",
    )(fn)


@contextmanager
def recording(
    record: bool | None,
    store_target: str | None,
    config_store: str | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Iterator[Store | None]:
    """The store a scan records into, locked for the whole run; ``None`` when not recording.

    ``--store`` (or MLGUARD_STORE) wins over the config's ``store:``; ``--record`` without any store
    is a usage error; ``--no-record`` never records.
    """
    target = store_target or config_store
    if record is False or (record is None and not target):
        yield None
        return
    if not target:
        raise StoreError(f"--record needs a results store: give --store PATH|URL, set {ENV_STORE} or store:")
    from mlguard.history.store import open_for_run

    with open_for_run(target, lock_timeout) as store:
        yield store


def open_from_cli(store_target: str | None) -> Store:
    target = store_target or click.get_current_context().meta.get(META_STORE)
    if not target:
        raise StoreError(
            f"no results store: give --store PATH|URL, set {ENV_STORE} or store: in mlguard.yaml"
        )
    from mlguard.history.store import Store

    return Store.open(str(target))


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@click.group("history")
def history() -> None:
    """Recorded scans: list them, compare two, follow trends, prune, export and import."""


@history.command("list")
@_store_option
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N runs.")
@_json_option
@_clean_errors
def list_cmd(store_target: str | None, limit: int | None, as_json: bool) -> None:
    """Recorded runs, oldest first, with their scope and counts."""
    with open_from_cli(store_target) as store:
        runs = store.runs(limit=limit)
    if as_json:
        _echo_json([r.json_dict() for r in runs])
    elif runs:
        make_console().print(runs_table(runs))
    else:
        click.echo("No runs recorded yet.")


@history.command("diff")
@_store_option
@click.argument("run_a", default="latest~1")
@click.argument("run_b", default="latest")
@click.option("--all", "show_all", is_flag=True, help="Also list the findings that are still failing.")
@_json_option
@_clean_errors
def diff_cmd(store_target: str | None, run_a: str, run_b: str, show_all: bool, as_json: bool) -> None:
    """What changed from RUN_A (older, default latest~1) to RUN_B (newer, default latest).

    A run is named by its id, a unique prefix of it, latest, or latest~N.
    """
    from mlguard.history.diff import diff_runs

    with open_from_cli(store_target) as store:
        d = diff_runs(store, run_a, run_b)
    if as_json:
        _echo_json(d.model_dump(mode="json"))
    else:
        make_console().print(diff_view(d, show_still_failing=show_all))


@history.command("trend")
@_store_option
@click.option(
    "--by",
    "dimensions",
    type=click.Choice(DIMENSIONS),
    multiple=True,
    help="Dimension(s) to show [default: all].",
)
@click.option("--last", type=click.IntRange(min=1), default=20, show_default=True, help="Newest N runs.")
@click.option(
    "--metric",
    type=click.Choice(["failures", "cost"]),
    default="failures",
    show_default=True,
    help="failures: unwaived failures and compliance by dimension; cost: GPU-hours, instance-hours and "
    "dollars at risk per month.",
)
@_json_option
@_clean_errors
def trend_cmd(
    store_target: str | None, dimensions: tuple[str, ...], last: int, metric: str, as_json: bool
) -> None:
    """Unwaived failures per severity, category and provider, and compliance per framework, over time
    (or, with --metric cost, the cost at risk per month)."""
    from mlguard.history.trend import cost_trend, trend

    if metric == "cost":
        if dimensions:
            raise click.BadParameter("--by applies to --metric failures only", param_hint="--by")
        with open_from_cli(store_target) as store:
            points = cost_trend(store, last)
        if as_json:
            _echo_json([p.model_dump(mode="json") for p in points])
        else:
            make_console().print(cost_trend_view(points))
        return
    chosen = [cast(Dimension, d) for d in dimensions] or list(get_args(Dimension))
    with open_from_cli(store_target) as store:
        trends = [trend(store, d, last) for d in chosen]
    if as_json:
        _echo_json([tr.model_dump(mode="json") for tr in trends])
        return
    console = make_console()
    for tr in trends:
        if tr.keys or tr.dimension != "framework":
            console.print(trend_view(tr))


@history.command("prune")
@_store_option
@click.option("--keep", type=click.IntRange(min=0), help="Keep the newest N runs.")
@click.option("--keep-days", type=click.FloatRange(min=0), help="Keep the runs of the last D days.")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted, delete nothing.")
@_lock_option
@_clean_errors
def prune_cmd(
    store_target: str | None, keep: int | None, keep_days: float | None, dry_run: bool, lock_timeout: float
) -> None:
    """Delete old runs. With --keep and --keep-days, a run is kept if either keeps it."""
    with open_from_cli(store_target) as store, store.lock(lock_timeout):
        doomed = store.prune(keep, keep_days, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {len(doomed)} run(s)" + (": " + ", ".join(doomed) if doomed else ""))


def inventory_sidecar(results_path: Path) -> Path:
    """``results.json`` -> ``results.inventory.json``; ``X.results.json`` -> ``X.inventory.json``."""
    name = results_path.name
    base = name.removesuffix(".results.json") if name.endswith(".results.json") else results_path.stem
    return results_path.with_name(f"{base}.inventory.json")


def _export_one(store: Store, run_id: str, out: Path) -> list[Path]:
    """The run's results document (and its inventory beside it), written together, all or nothing."""
    from mlguard.report.render import write_files

    run = store.resolve(run_id)
    files: list[tuple[Path, bytes]] = [(out, store.document(run.id))]
    if run.inventory_source == "inventory":
        summary = InventorySummary(resources=store.inventory(run.id))
        files.append((inventory_sidecar(out), summary.model_dump_json(indent=2).encode()))
    return write_files(files)


@history.command("export")
@_store_option
@click.argument("run", required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="results.json to write (its inventory goes to results.inventory.json beside it).",
)
@click.option("--all", "export_all", is_flag=True, help="Export every run into --output-dir.")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --all: the folder for RUN.results.json and RUN.inventory.json files.",
)
@_clean_errors
def export_cmd(
    store_target: str | None, run: str | None, output: Path | None, export_all: bool, output_dir: Path | None
) -> None:
    """Write a run's results.json exactly as recorded (or all runs), so a store can be rebuilt."""
    if export_all == (run is not None):
        raise StoreError("give one RUN with -o FILE, or --all with --output-dir DIR")
    if run is not None and output is None:
        raise StoreError("give -o FILE for the exported results.json")
    if export_all and output_dir is None:
        raise StoreError("--all needs --output-dir DIR")
    written: list[Path] = []
    with open_from_cli(store_target) as store:
        if run is not None and output is not None:
            written += _export_one(store, run, output)
        elif output_dir is not None:
            for info in store.runs():
                written += _export_one(store, info.id, output_dir / f"{info.id}.results.json")
    for path in written:
        click.echo(f"wrote {path}")


def _load_scan(path: Path) -> ScanResult:
    from mlguard.pipeline import checked_results

    raw = parse_json(path, InventoryError)  # bounded in size and nesting, like every JSON input
    try:
        return checked_results(path, ScanResult.model_validate(raw))
    except ValidationError as exc:
        raise InventoryError(
            f"not an mlguard results file: {exc.errors()[0]['msg']}", file=str(path)
        ) from None


def _load_inventory(path: Path) -> list[InventoryItem]:
    """An inventory summary (from export) or a full inventory (from mlguard collect)."""
    raw = parse_json(path, InventoryError)
    try:
        if isinstance(raw, dict) and raw.get("kind") == InventorySummary.model_fields["kind"].default:
            return InventorySummary.model_validate(raw).resources
        return InventorySummary.of(Inventory.model_validate(raw)).resources
    except ValidationError as exc:
        raise InventoryError(f"not an mlguard inventory: {exc.errors()[0]['msg']}", file=str(path)) from None


def _import_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files += sorted(f for f in p.glob("*.json") if not f.name.endswith(".inventory.json"))
        else:
            files.append(p)
    return files


@history.command("import")
@_store_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--inventory",
    "inventory_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Inventory for a single results file (default: X.inventory.json beside it, if any).",
)
@_lock_option
@_clean_errors
def import_cmd(
    store_target: str | None, paths: tuple[Path, ...], inventory_path: Path | None, lock_timeout: float
) -> None:
    """Record results.json files (or folders of them), e.g. to rebuild a store from exports."""
    files = _import_files(paths)
    if inventory_path is not None and len(files) != 1:
        raise StoreError("--inventory goes with exactly one results file")
    loaded = []
    for f in files:  # validate everything before writing anything
        side = inventory_path or inventory_sidecar(f)
        items = _load_inventory(side) if side.exists() else None
        loaded.append((f, _load_scan(f), items))
    with open_from_cli(store_target) as store, store.lock(lock_timeout):
        for f, scan, items in loaded:
            run_id, created = store.add(scan, items)
            click.echo(f"{f}: {'recorded as' if created else 'already recorded as'} {run_id}")
