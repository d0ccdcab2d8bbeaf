"""The Databricks engine: one bounded executor for the whole scan, specs run as the modules did."""

from __future__ import annotations

import threading

import pytest
from tests.support.databricks_harness import RecordingClock, counts_by_type, expected_counts

from mlguard.collect.base import CallMeter, InventorySink, NullProgress
from mlguard.collect.databricks import ALL_TYPES, DatabricksCollector
from mlguard.collect.databricks.engine import Scheduler
from mlguard.config import DatabricksScope, ScopeConfig
from mlguard.demo.databricks_fake import demo_state


class ThreadMeter(CallMeter):
    """Remembers every thread an API call was made from."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[threading.Thread] = set()

    def call(self) -> None:
        self.threads.add(threading.current_thread())
        super().call()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_whole_scan_runs_on_one_bounded_pool(start_fake, workers: int) -> None:
    """Families, their types and every per-item detail call share ``max_workers`` threads (plus
    the caller): no pool nested per family or per listing."""
    state = demo_state()
    start_fake(state, page_size=2)
    sink = InventorySink(meter=ThreadMeter())
    scope = ScopeConfig(databricks=DatabricksScope(max_workers=workers))
    types = frozenset(ALL_TYPES - {"databricks.account_workspace"})
    DatabricksCollector(scope, clock=RecordingClock()).collect(types, sink, NullProgress())

    assert sink.errors == []
    inventory = sink.to_inventory(started_at="2026-01-01T00:00:00Z")
    assert counts_by_type(inventory) == expected_counts(state)
    threads = sink.meter.threads  # type: ignore[attr-defined]
    assert len(threads) <= workers + 1
    assert {t for t in threads if t is not threading.main_thread()} <= {
        t for t in threads if t.name.startswith("dbx_")
    }


def test_nested_maps_on_a_small_pool_finish_in_order() -> None:
    """Three levels of fan-out on two workers: the waiting threads run what nobody started."""
    seen: set[threading.Thread] = set()
    lock = threading.Lock()
    with Scheduler(2, CallMeter()) as scheduler:

        def leaf(n: int) -> int:
            with lock:
                seen.add(threading.current_thread())
            return n * n

        def middle(n: int) -> list[int]:
            return scheduler.map(leaf, range(n, n + 5))

        def top(n: int) -> list[list[int]]:
            return scheduler.map(middle, range(n, n + 4))

        result = scheduler.map(top, range(6))
    assert result == [[[k * k for k in range(m, m + 5)] for m in range(n, n + 4)] for n in range(6)]
    assert len(seen) <= 3


def test_every_item_runs_then_the_first_error_is_raised() -> None:
    ran: list[int] = []
    lock = threading.Lock()

    def fn(n: int) -> int:
        with lock:
            ran.append(n)
        if n in (3, 5):
            raise RuntimeError(f"bug {n}")
        return n

    with Scheduler(2, CallMeter()) as scheduler, pytest.raises(RuntimeError, match="bug 3"):
        scheduler.map(fn, range(8))
    assert sorted(ran) == list(range(8))


def test_detail_calls_count_for_the_unit_that_handed_them_out() -> None:
    meter = CallMeter()
    with Scheduler(3, meter) as scheduler:
        meter.working_for("unit-a")

        def one(_: int) -> None:
            meter.call()

        scheduler.map(one, range(10))
        scheduler.map(lambda _: meter.call(), range(4), inherit_unit=False)
        meter.working_for(None)
    assert meter.counts("unit-a").calls == 10


def test_permission_rows_of_spec_types_come_from_the_specs() -> None:
    """`mlguard permissions databricks` and the read-only guard's routes are the specs' own
    declarations for every type described as a spec."""
    from mlguard.collect.databricks._common import declared_routes
    from mlguard.collect.databricks.permissions import PERMISSIONS, SPEC_FAMILIES

    rows = {p.resource_type: p for p in PERMISSIONS}
    guard = set(declared_routes().routes)
    specs = [s for family in SPEC_FAMILIES for s in family.specs]
    assert len(specs) == 25  # every type, the account objects (level "account") too
    for spec in specs:
        row = rows[spec.type]
        assert row.routes == spec.routes()
        assert row.sdk_calls == spec.sdk_calls()
        assert (row.level, row.requires, row.without_admin) == (spec.level, spec.requires, spec.without_admin)
        assert set(spec.routes()) <= guard
        names = [d.name for d in spec.all_details()]
        assert len(names) == len(set(names))  # pruning and results are keyed by detail name
