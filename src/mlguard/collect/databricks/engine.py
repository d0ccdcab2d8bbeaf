"""Runs Databricks resource specs (``spec.py``), and the one executor a whole scan shares.

:class:`Scheduler` is the scan's only thread pool: workspaces (an account scan), families and the
per-item detail calls of every type all run on it, so ``max_workers`` bounds the whole scan's
concurrency (plus the thread that started it) instead of multiplying at each level. A thread that
waits for the items it handed out runs every one no worker has started yet itself, so nested work
never waits for a free worker and cannot deadlock the bounded pool.
"""

from __future__ import annotations

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
    path = spec.list_route.split(" ", 1)[1]
    if spec.paging == "token":
        return ctx.pages(path, spec.items, spec.query or None)
    if spec.paging == "single":
        items: list[dict[str, Any]] = ctx.get(path, spec.query or None).get(spec.items) or []
        return items
    assert spec.sdk_list is not None, f"{spec.type}: paging 'sdk' needs sdk_list"
    return [as_dict(x) for x in spec.sdk_list(ctx.client)]


def run_spec(ctx: WorkspaceContext, spec: ResourceSpec, shared: dict[str, Any]) -> None:
    pruned = spec.pruned(ctx.reads(spec.type))  # details no selected policy reads: left out
    with ctx.section(spec.type, unread=pruned.unread) as counts:
        preludes = dict(shared)
        for prelude in spec.preludes:
            if prelude.in_section:
                preludes[prelude.name] = prelude.read(ctx)
        raws = listing(ctx, spec)
        one = partial(_one, ctx, spec, preludes, pruned)
        if spec.all_details():
            counts[0] += ctx.fan_out(one, raws)
        else:  # nothing more to call: no need to hand the items out
            counts[0] += sum(one(raw) for raw in raws)


def _one(
    ctx: WorkspaceContext, spec: ResourceSpec, preludes: dict[str, Any], pruned: Pruned, raw: dict[str, Any]
) -> int:
    ident = spec.id(raw)
    item = Item(raw=raw, ident=ident, uid=ctx.uid(spec.type, ident))
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
    ctx.add(spec.type, ident, name, item.data, tags=item.tags, region=item.region)
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
    )
    if ok:
        item.got[detail.name] = value
    else:
        item.failed.add(detail.name)
