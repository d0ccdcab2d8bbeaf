"""A large evaluation's objects are frozen (``gc.freeze``) when it ends, so no later collection
walks them again; a small one's are not (tests run thousands of evaluations)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest

import mlguard.pipeline
from mlguard.gc_pause import gc_paused
from mlguard.pipeline import evaluate
from mlguard.policy.loader import Policy, PolicySet

from .conftest import inventory, res

NB = "aws.sagemaker.notebook_instance"


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()  # back to the collector, as before the test


def _scan(make_policy: Callable[..., Policy]) -> int:
    p = make_policy("assert: {path: a, op: exists}\n", resource=NB)
    inv = inventory(res("n/1", NB, data={"a": 1}), res("n/2", NB, data={}))
    return len(evaluate(inv, [p], PolicySet({p.id: p}, {})).results)


def test_a_large_evaluation_is_frozen_when_it_ends(
    make_policy: Callable[..., Policy], monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    monkeypatch.setattr(mlguard.pipeline, "KEEP_MIN_RESULTS", 2)
    assert gc.get_freeze_count() == 0
    assert _scan(make_policy) == 2
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()


def test_a_small_evaluation_is_left_to_the_collector(
    make_policy: Callable[..., Policy], monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    monkeypatch.setattr(mlguard.pipeline, "KEEP_MIN_RESULTS", 3)
    assert _scan(make_policy) == 2
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_pause_freezes_only_when_kept_and_restores_the_collector(unfrozen: None) -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    with gc_paused() as pause:
        built = [[i] for i in range(100)]
        pause.keep()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)
    gc.disable()
    try:
        with gc_paused() as pause:
            pause.keep()
        assert not gc.isenabled()  # a pause inside a pause leaves the collector off
    finally:
        gc.enable()
