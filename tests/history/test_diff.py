"""`history diff` names exactly what changed between two scans, on SQLite and PostgreSQL."""

from __future__ import annotations

from mlguard.history.diff import diff_runs
from mlguard.history.store import Store
from mlguard.model import CollectionError, Status
from tests.history import estates as e
from tests.history.factory import ACCOUNT, REGION, Check, Estate


def _names(changes: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return sorted((c.policy_id, c.resource_uid) for c in changes)


def test_diff_names_exactly_the_changes(store: Store) -> None:
    a = e.week1()
    b = e.week2()
    run_a = store.record(a.scan(), a.inventory())
    run_b = store.record(b.scan(), b.inventory())

    d = diff_runs(store, run_a, run_b)

    assert (d.base.id, d.head.id) == (run_a, run_b)
    assert _names(d.fixed) == [(e.S3_ENC, e.BUCKET_RAW.uid)]
    assert d.fixed[0].before == "FAIL"
    assert d.fixed[0].after == "PASS"
    assert _names(d.regressed) == [(e.NB_ROOT, e.NOTEBOOK.uid)]
    assert _names(d.new) == [(e.EP_ALARM, e.ENDPOINT_NEW.uid)]
    assert _names(d.still_failing) == [(e.EP_ALARM, e.ENDPOINT_OLD.uid)]
    assert [i.uid for i in d.appeared] == [e.ENDPOINT_NEW.uid]
    assert d.disappeared == []
    assert d.unseen == []
    assert d.waived == []
    assert d.unknown == []


def test_diff_defaults_to_the_two_latest_runs(store: Store) -> None:
    store.record(e.week1().scan(), e.week1().inventory())
    store.record(e.week2().scan(), e.week2().inventory())
    d = diff_runs(store, "latest~1", "latest")
    assert _names(d.fixed) == [(e.S3_ENC, e.BUCKET_RAW.uid)]


def test_removed_resource_is_fixed_but_an_unreadable_one_is_not(store: Store) -> None:
    """A FAIL whose resource is gone counts as fixed only if the newer scan could see it was gone."""
    a = e.week1()
    store.record(a.scan(), a.inventory())

    # Week 3: the old endpoint was deleted; the raw bucket's listing was denied.
    denied = CollectionError(
        provider="aws",
        account=ACCOUNT,
        region=REGION,
        resource_type="aws.s3.bucket",
        operation="s3:ListBuckets",
        code="AccessDenied",
        message="denied",
    )
    c = Estate(
        started="2026-11-15T02:00:00Z",
        resources=[e.NOTEBOOK, e.CLUSTER],
        checks=[
            Check(e.NB_ROOT, e.NOTEBOOK, Status.PASS),
            Check(e.DBX_AUTOTERM, e.CLUSTER, Status.PASS),
        ],
        errors=[denied],
    )
    store.record(c.scan(), c.inventory())

    d = diff_runs(store, "latest~1", "latest")
    assert _names(d.fixed) == [(e.EP_ALARM, e.ENDPOINT_OLD.uid)]
    assert d.fixed[0].reason == "resource removed"
    # The raw bucket's FAIL is not fixed: the newer run could not list buckets.
    assert _names(d.unknown) == [(e.S3_ENC, e.BUCKET_RAW.uid)]
    assert [i.uid for i in d.disappeared] == [e.ENDPOINT_OLD.uid]
    assert sorted(i.uid for i in d.unseen) == sorted([e.BUCKET_RAW.uid, e.BUCKET_FEATURES.uid])
    assert not d.head.complete


def test_out_of_scope_resources_are_unseen_not_gone(store: Store) -> None:
    """A newer scan of another account says nothing about the first account's findings."""
    a = e.week1()
    store.record(a.scan(), a.inventory())
    other = Estate(
        started="2026-11-09T02:00:00Z", resources=[e.CLUSTER], checks=[], accounts=["999988887777"]
    )
    store.record(other.scan(), other.inventory())
    d = diff_runs(store, "latest~1", "latest")
    assert d.fixed == []
    assert _names(d.unknown) == sorted([(e.EP_ALARM, e.ENDPOINT_OLD.uid), (e.S3_ENC, e.BUCKET_RAW.uid)])
    assert d.disappeared == []
    assert len(d.unseen) == 4


def test_waiver_and_error_transitions(store: Store) -> None:
    a = e.week1()
    store.record(a.scan(), a.inventory())
    b = e.week1()
    b.started = "2026-11-02T02:00:00Z"
    b.checks = [
        Check(e.S3_ENC, e.BUCKET_RAW, Status.WAIVED),  # FAIL -> WAIVED
        Check(e.S3_ENC, e.BUCKET_FEATURES, Status.PASS),
        Check(e.NB_ROOT, e.NOTEBOOK, Status.PASS),
        Check(e.EP_ALARM, e.ENDPOINT_OLD, Status.ERROR),  # FAIL -> ERROR: unknown, never fixed
        Check(e.DBX_AUTOTERM, e.CLUSTER, Status.FAIL),  # PASS -> FAIL: regressed
    ]
    store.record(b.scan(), b.inventory())
    d = diff_runs(store, "latest~1", "latest")
    assert _names(d.waived) == [(e.S3_ENC, e.BUCKET_RAW.uid)]
    assert _names(d.unknown) == [(e.EP_ALARM, e.ENDPOINT_OLD.uid)]
    assert d.unknown[0].after == "ERROR"
    assert _names(d.regressed) == [(e.DBX_AUTOTERM, e.CLUSTER.uid)]
    assert d.fixed == []
    assert d.new == []
