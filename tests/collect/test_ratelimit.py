"""The adaptive rate limits, on a fake clock: a bucket starts unlimited (or at its configured rate),
halves on throttling answers that are a pattern (not on a single one), recovers without them, and
never slows another endpoint."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mlguard.collect.aws import AwsCollector
from mlguard.collect.base import CollectionCancelled
from mlguard.collect.ratelimit import DOUBLING, FLOOR, HOLD, WAIT_STEP, Bucket, RateLimits
from mlguard.config import AwsScope, ScopeConfig


class FakeClock:
    """Time moves only when a call sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def throttled(bucket: Bucket, times: int = 1) -> None:
    """``times`` throttling answers from the bucket's endpoint, at once."""
    for _ in range(times):
        bucket.answered(throttled=True)


def test_an_unlimited_bucket_never_waits() -> None:
    clock = FakeClock()
    bucket = Bucket(None, clock)
    assert [bucket.acquire() for _ in range(100)] == [0.0] * 100
    assert clock.slept == []
    assert bucket.rate() is None


def test_a_configured_rate_spaces_the_calls() -> None:
    clock = FakeClock()
    bucket = Bucket(4.0, clock)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.25, 0.25, 0.25, 0.25])
    assert sum(clock.slept) == pytest.approx(1.0)
    assert bucket.waited == pytest.approx(1.0)


def test_throttles_halve_the_measured_rate_of_an_unlimited_bucket() -> None:
    clock = FakeClock()
    bucket = Bucket(None, clock)
    for _ in range(20):  # 20 calls over one second: 20 per second
        bucket.acquire()
        clock.advance(0.05)
    throttled(bucket, 2)
    assert bucket.rate() == pytest.approx(10.0)
    assert bucket.acquire() == 0.0
    assert bucket.acquire() == pytest.approx(0.1)  # 10 per second from now on


def test_throttles_halve_a_configured_rate_and_floor_it() -> None:
    clock = FakeClock()
    bucket = Bucket(8.0, clock)
    throttled(bucket, 2)
    assert bucket.rate() == pytest.approx(4.0)
    for _ in range(10):  # one more every HOLD seconds: still a pattern (WINDOW holds two)
        clock.advance(HOLD)
        throttled(bucket)
    assert bucket.rate() == pytest.approx(FLOOR, rel=0.2)  # never below the floor (bar recovery)
    assert bucket.cuts == 11


def test_throttles_right_after_a_cut_answer_calls_sent_before_it() -> None:
    clock = FakeClock()
    bucket = Bucket(8.0, clock)
    throttled(bucket, 5)  # five in-flight calls throttled together: one cut
    assert bucket.rate() == pytest.approx(4.0)
    assert (bucket.throttles, bucket.cuts) == (5, 1)
    clock.advance(HOLD)
    throttled(bucket)
    assert bucket.cuts == 2
    assert bucket.rate() == pytest.approx(4.0 * 2 ** (HOLD / DOUBLING) / 2)


def test_the_rate_recovers_gradually_to_its_start() -> None:
    clock = FakeClock()
    bucket = Bucket(8.0, clock)
    throttled(bucket, 2)  # 8 -> 4
    throttled(bucket)  # within HOLD: ignored
    clock.advance(HOLD)
    throttled(bucket)  # 4 -> about 2
    start = bucket.rate()
    assert start is not None
    clock.advance(DOUBLING)
    middle = bucket.rate()
    assert middle == pytest.approx(2 * start)
    clock.advance(10 * DOUBLING)
    assert bucket.rate() == 8.0  # back at its start, not above


def test_an_unlimited_bucket_is_unlimited_again_at_twice_the_throttled_rate() -> None:
    clock = FakeClock()
    bucket = Bucket(None, clock)
    for _ in range(10):
        bucket.acquire()
        clock.advance(0.1)  # 10 per second
    throttled(bucket, 2)  # cut to 5
    clock.advance(DOUBLING)
    assert bucket.rate() == pytest.approx(10.0, rel=0.01)  # recovering ...
    clock.advance(DOUBLING)
    assert bucket.rate() is None  # ... and unlimited again


def test_throttles_in_one_endpoint_slow_no_other() -> None:
    clock = FakeClock()
    limits = RateLimits(None, clock)
    hit = ("111111111111", "us-east-1", "sagemaker")
    for _ in range(10):
        limits.acquire(hit)
        clock.advance(0.1)
    throttled(limits.bucket(hit), 2)
    others = [
        ("111111111111", "us-east-1", "s3"),  # another service, same account and region
        ("111111111111", "eu-west-1", "sagemaker"),  # the same service in another region
        ("222222222222", "us-east-1", "sagemaker"),  # the same service in another account
    ]
    for endpoint in others:
        assert [limits.acquire(endpoint) for _ in range(20)] == [0.0] * 20
        assert limits.bucket(endpoint).rate() is None
    assert limits.acquire(hit) == 0.0
    assert limits.acquire(hit) > 0  # held back
    assert limits.totals()["cuts"] == 1


def test_a_waiting_call_checks_the_run_deadline() -> None:
    clock = FakeClock()
    limits = RateLimits(1.0, clock)
    endpoint = ("111111111111", "us-east-1", "iam")
    deadline = clock.now + 1.4

    def check() -> None:
        if clock.now >= deadline:
            raise CollectionCancelled("the scan's time limit was reached")

    limits.check = check
    limits.acquire(endpoint)
    limits.acquire(endpoint)  # waits 1 s ...
    with pytest.raises(CollectionCancelled):
        limits.acquire(endpoint)  # ... this one would wait 2 s: the deadline ends it
    assert max(clock.slept) <= WAIT_STEP


def test_forgotten_buckets_keep_their_counts_in_the_totals() -> None:
    clock = FakeClock()
    limits = RateLimits(2.0, clock)
    endpoint = ("111111111111", "us-east-1", "ec2")
    limits.acquire(endpoint)
    limits.acquire(endpoint)
    throttled(limits.bucket(endpoint), 2)
    limits.forget("111111111111", "us-east-1")
    assert limits.buckets() == {}
    assert limits.totals() == {"throttles": 2, "cuts": 1, "waited": pytest.approx(0.5)}


def test_the_configured_rate_is_where_each_bucket_starts() -> None:
    collector = AwsCollector(ScopeConfig(aws=AwsScope(rate_limit=20)))
    assert collector.limits.bucket(("111111111111", "us-east-1", "glue")).rate() == 20
    assert AwsCollector(ScopeConfig()).limits.rate is None  # default: unlimited until throttled
    with pytest.raises(ValidationError, match="rate_limit"):
        AwsScope(rate_limit=0)


def _sending(bucket: Bucket, clock: FakeClock, answers: list[bool], per_second: float = 20) -> None:
    """``answers`` (True: throttled), one every ``1 / per_second`` seconds, each sent in its turn."""
    for throttled in answers:
        bucket.acquire()
        bucket.answered(throttled=throttled)
        clock.now += 1 / per_second


def test_an_isolated_throttle_leaves_the_endpoint_unlimited() -> None:
    clock = FakeClock()
    bucket = Bucket(None, clock)
    _sending(bucket, clock, [False] * 30 + [True] + [False] * 30)
    assert bucket.throttles == 1
    assert bucket.cuts == 0  # botocore's retry backed that one call off; nothing else waits
    assert bucket.rate() is None
    assert bucket.waited == 0.0


def test_throttles_scattered_below_the_share_do_not_cut() -> None:
    clock = FakeClock()
    bucket = Bucket(None, clock)
    _sending(bucket, clock, ([False] * 24 + [True]) * 8)  # 4 % of the answers, two per window
    assert (bucket.throttles, bucket.cuts) == (8, 0)


def test_an_endpoint_over_its_rate_is_cut_at_the_second_throttle() -> None:
    clock = FakeClock()
    bucket = Bucket(None, clock)
    _sending(bucket, clock, [False] * 9 + [True, False, True])  # 2 of 12 answers throttled
    assert bucket.cuts == 1
    rate = bucket.rate()
    assert rate is not None
    assert rate < 20  # half the measured rate, recovering


def test_a_configured_rate_is_halved_by_a_pattern_of_throttles_only() -> None:
    clock = FakeClock()
    bucket = Bucket(10.0, clock)
    _sending(bucket, clock, [True], per_second=10)
    assert bucket.rate() == 10.0
    _sending(bucket, clock, [True], per_second=10)
    rate = bucket.rate()
    assert rate is not None
    assert 5.0 <= rate < 6.0  # halved, and recovering since
