"""Runs Databricks resource specs (``spec.py``), and the one executor a whole scan shares.

:class:`Scheduler` is the scan's only thread pool: workspaces (an account scan), families and the
per-item detail calls of every type all run on it, so ``max_workers`` bounds the whole scan's
concurrency (plus the thread that started it) instead of multiplying at each level. A thread that
waits for the items it handed out runs every one no worker has started yet itself, so nested work
never waits for a free worker and cannot deadlock the bounded pool.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Generic, TypeVar

from databricks.sdk.errors.base import DatabricksError

from mlguard.collect.base import CallMeter
from mlguard.collect.databricks._common import WorkspaceContext, as_dict, is_not_found
from mlguard.collect.databricks.spec import Detail, FamilySpec, Item, Pruned, ResourceSpec

T = TypeVar("T")
R = TypeVar("R")


class _Task(Generic[R]):
    """One item of a :meth:`Scheduler.map`: run once, by whichever thread claims it first."""

    __slots__ = ("_claim", "done", "error", "fn", "meter", "unit", "value")

    def __init__(self, fn: Callable[[], R], meter: CallMeter, unit: str | None) -> None:
        self.fn = fn
        self.meter = meter
        self.unit = unit
        self._claim = threading.Lock()
        self.done = threading.Event()
        self.value: R | None = None
        self.error: BaseException | None = None

    def claim(self) -> bool:
        return self._claim.acquire(blocking=False)

    def run(self) -> None:
        """Run the claimed task; its calls count for the unit of the thread that handed it out."""
        before = self.meter.current
        self.meter.working_for(self.unit)
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed to the waiting thread, which re-raises it
            self.error = exc
        finally:
            self.meter.working_for(before)
            self.done.set()

    def from_pool(self) -> None:
        if self.claim():
            self.run()


class Scheduler:
    """The bounded executor of one Databricks scan (see the module docstring)."""

    def __init__(self, workers: int, meter: CallMeter, *, name: str = "dbx") -> None:
        self.workers = max(1, workers)
        self.meter = meter
        self._pool: ThreadPoolExecutor | None = None
        if self.workers > 1:
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=name)

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, inherit_unit: bool = True) -> list[R]:
        """``fn`` over ``items``, results in order. Every item runs, then the first exception (in
        item order) is re-raised: never swallowed. ``inherit_unit``: the items' API calls count for
        the caller's progress unit (per-item details); otherwise for none (families, workspaces:
        they open their own units)."""
        todo = list(items)
        unit = self.meter.current if inherit_unit else None
        if len(todo) <= 1 or self._pool is None:
            return [self._inline(partial(fn, item), unit) for item in todo]
        tasks = [_Task(partial(fn, item), self.meter, unit) for item in todo]
        for task in tasks[1:]:  # the caller starts on the first itself
            self._pool.submit(task.from_pool)
        for task in tasks:
            if task.claim():
                task.run()
            else:
                task.done.wait()
        for task in tasks:
            if task.error is not None:
                raise task.error
        return [task.value for task in tasks]  # type: ignore[misc]

    def _inline(self, fn: Callable[[], R], unit: str | None) -> R:
        before = self.meter.current
        self.meter.working_for(unit)
        try:
            return fn()
        finally:
            self.meter.working_for(before)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------- specs


def run_family(ctx: WorkspaceContext, family: FamilySpec) -> None:
    """Collect the wanted types of ``family`` in one workspace, one type after the other (their
    items fan out on the scheduler). Preludes not read inside a type's unit are read first, once."""
    specs = [s for s in family.specs if ctx.wants(s.type)]
    shared: dict[str, Any] = {}
    for spec in specs:
        for prelude in spec.preludes:
            if not prelude.in_section and prelude.name not in shared:
                shared[prelude.name] = prelude.read(ctx)
    for spec in specs:
        run_spec(ctx, spec, shared)


def listing(ctx: WorkspaceContext, spec: ResourceSpec) -> list[dict[str, Any]]:
    """Every raw item of ``spec``'s list route, following its paging style (none when the route
    answers 404 and the spec says that means nothing to list)."""
    try:
        return _listing(ctx, spec)
    except DatabricksError as exc:
        if spec.missing_ok and is_not_found(exc):
            return []
        raise


def _listing(ctx: WorkspaceContext, spec: ResourceSpec) -> list[dict[str, Any]]:
    assert spec.paging != "get", f"{spec.type}: paging 'get' is per parent item (run_tree)"
    assert spec.level == ctx.level, f"{spec.type}: a {spec.level}-level type in a {ctx.level} context"
    if spec.paging == "self":
        return [{"host": ctx.host}]
    path = ctx.path(spec.list_route)
    if spec.paging == "token":
        return ctx.pages(path, spec.items, spec.query or None)
    if spec.paging == "single":
        items: list[dict[str, Any]] = ctx.get(path, spec.query or None).get(spec.items) or []
        return items
    assert spec.sdk_list is not None, f"{spec.type}: paging 'sdk' needs sdk_list"
    return [as_dict(x) for x in spec.sdk_list(ctx.client)]


def run_spec(
    ctx: WorkspaceContext,
    spec: ResourceSpec,
    shared: dict[str, Any],
    *,
    listed: list[dict[str, Any]] | None = None,
) -> None:
    """Collect one type in its own progress unit. ``listed``: its items, when the caller listed
    them (:func:`listing`) because the listing also finds the scopes to scan next (an account's
    workspaces) and its failure is the caller's to judge; they are not listed again."""
    assert spec.level == ctx.level, f"{spec.type}: a {spec.level}-level type in a {ctx.level} context"
    pruned = spec.pruned(ctx.reads(spec.type))  # details no selected policy reads: left out
    with ctx.section(spec.type, unread=pruned.unread) as counts:
        preludes = dict(shared)
        for prelude in spec.preludes:
            if prelude.in_section:
                preludes[prelude.name] = prelude.read(ctx)
        raws = listing(ctx, spec) if listed is None else listed
        one = partial(_one, ctx, spec, preludes, pruned)
        if spec.all_details():
            counts[0] += ctx.fan_out(one, raws)
        else:  # nothing more to call: no need to hand the items out
            counts[0] += sum(one(raw) for raw in raws)


def run_tree(ctx: WorkspaceContext, family: FamilySpec) -> None:
    """Collect a family whose types are listed under their parent's items (catalogs -> schemas ->
    tables -> monitors), parents first, in one progress unit. A parent is listed when one of the
    types below it is wanted; a child listing that fails makes every wanted type below it
    incomplete (for that parent) and the walk goes on; a failed root listing fails them all."""
    specs = family.specs
    by_type = {s.type: s for s in specs}
    wanted = [s.type for s in specs if ctx.wants(s.type)]
    if not wanted:
        return

    def below(spec: ResourceSpec) -> list[str]:  # wanted types listed through spec's listing
        out = []
        for s in specs:
            t: ResourceSpec | None = s
            while t is not None and t.type != spec.type:
                t = by_type[t.parent] if t.parent else None
            if t is not None and ctx.wants(s.type):
                out.append(s.type)
        return out

    pruned = {s.type: s.pruned(ctx.reads(s.type)) for s in specs}
    with ctx.section(*wanted, unread_of={t: pruned[t].unread for t in wanted}) as counts:
        items: dict[str, list[tuple[dict[str, Any], str | None]]] = {}
        for spec in specs:
            types_below = below(spec)
            if not types_below:
                continue
            if spec.parent is None:
                items[spec.type] = [(raw, None) for raw in listing(ctx, spec)]
            else:
                parent = by_type[spec.parent]
                parents = [
                    raw for raw, _ in items.get(spec.parent, []) if spec.under is None or spec.under(raw)
                ]
                got = ctx.map(partial(_children_of, ctx, spec, parent, types_below), parents)
                items[spec.type] = [x for listed in got for x in listed or []]
            if ctx.wants(spec.type):
                one = partial(_one_of, ctx, spec, {}, pruned[spec.type])
                counts[0] += ctx.fan_out(one, items[spec.type])


def _children_of(
    ctx: WorkspaceContext, spec: ResourceSpec, parent: ResourceSpec, types_below: list[str], p: dict[str, Any]
) -> list[tuple[dict[str, Any], str | None]] | None:
    """:func:`_children`; on failure every wanted type below is incomplete (None)."""
    return ctx.try_list(types_below, partial(_children, ctx, spec, parent, p))


def _children(
    ctx: WorkspaceContext, spec: ResourceSpec, parent: ResourceSpec, p: dict[str, Any]
) -> list[tuple[dict[str, Any], str | None]]:
    """The items of ``spec`` under one parent item (with the parent's id for a per-parent get)."""
    path = ctx.path(spec.list_route)
    if spec.paging == "get":
        pid = parent.id(p)
        try:
            return [(ctx.get(re.sub(r"\{[^}]+\}", lambda _: pid, path)), pid)]
        except DatabricksError as exc:
            if spec.missing_ok and is_not_found(exc):
                return []
            raise
    query = {**spec.query, **(spec.parent_query(p) if spec.parent_query else {})}
    return [(raw, None) for raw in ctx.pages(path, spec.items, query)]


def _one_of(
    ctx: WorkspaceContext,
    spec: ResourceSpec,
    preludes: dict[str, Any],
    pruned: Pruned,
    pair: tuple[dict[str, Any], str | None],
) -> int:
    return _one(ctx, spec, preludes, pruned, pair[0], ident=pair[1])


def _one(
    ctx: WorkspaceContext,
    spec: ResourceSpec,
    preludes: dict[str, Any],
    pruned: Pruned,
    raw: dict[str, Any],
    *,
    ident: str | None = None,
) -> int:
    """One item: its details, its normaliser, the resource. ``ident``: a per-parent child's id."""
    ident = spec.id(raw) if ident is None else ident
    workspace = spec.workspace(ctx, raw) if spec.workspace is not None else None
    item = Item(raw=raw, ident=ident, uid=ctx.uid(spec.type, ident, workspace), workspace=workspace)
    for detail in spec.details:
        _detail(ctx, spec, item, detail, pruned)
    spec.normalize(ctx, item, preludes)
    for detail in spec.details:
        if detail.apply is not None and detail.name in item.got:
            detail.apply(item.data, item.got[detail.name])
    for detail in spec.after:
        _detail(ctx, spec, item, detail, pruned)
        if detail.apply is not None and detail.name in item.got:
            detail.apply(item.data, item.got[detail.name])
    name = item.name if item.name is not None else spec.name(raw)
    ctx.add(spec.type, ident, name, item.data, tags=item.tags, region=item.region, workspace=item.workspace)
    return 1


def _detail(ctx: WorkspaceContext, spec: ResourceSpec, item: Item, detail: Detail, pruned: Pruned) -> None:
    if detail.when is not None and not detail.when(item):
        return
    if detail.name in pruned.details:
        item.skipped.add(detail.name)
        return
    if detail.required:  # no item without it: a failure fails the whole type (its section)
        item.got[detail.name] = detail.fetch(ctx, item)
        return
    value, ok = ctx.detail(
        spec.type,
        item.uid,
        list(detail.attributes),
        partial(detail.fetch, ctx, item),
        missing_ok=detail.missing_ok,
        workspace=item.workspace,
    )
    if ok:
        item.got[detail.name] = value
    else:
        item.failed.add(detail.name)
