"""Adaptive client-side rate limits: one token bucket per endpoint (account, region, service).

A bucket starts unlimited (or at ``scope.aws.rate_limit`` calls per second). Throttling answers
(``Throttling``, ``ThrottlingException``, ``TooManyRequestsException``, ``RequestLimitExceeded``,
``SlowDown``, HTTP 429 ...: botocore's own throttling classifier) halve that endpoint's rate: the
rate it had, or, if it had none, the rate it was measured sending at; but only once they are a
pattern, not a single answer: at least :data:`MIN_THROTTLES` of the endpoint's recent answers (the
last :data:`WINDOW` seconds, at most ``_RECENT`` answers), and at least :data:`SHARE` of them. An
API that limits by rate throttles most calls sent above its rate, which cuts at once; an isolated
throttle (a shared limit touched, a blip) is left to botocore's retry, which already backs that
one call off; holding the whole service to half its rate for seconds would cost far more than the
throttle did. Throttles that arrive within :data:`HOLD` seconds of a cut answer calls sent before
it and do not cut again. Without a throttle
the rate doubles every :data:`DOUBLING` seconds until it is back at its start (an unlimited bucket
is unlimited again once it runs at twice the rate that was throttled). Nothing is shared between
buckets, so a throttled service in one account never slows another service or account.

A call waits for its turn *before* it takes a slot of the scan's in-flight budget (see
``engine.Caller``), so calls held back by a throttled endpoint do not take slots from the others;
botocore's own retries of a throttled call keep their back-off and are counted as sends. A wait is
cut in steps of :data:`WAIT_STEP` seconds with the run's deadline checked between them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from botocore.retries.standard import RetryEventAdapter, ThrottlingErrorDetector

FLOOR = 0.5  # calls per second: no cut goes below this
DOUBLING = 2.0  # seconds without a throttle for a cut rate to double
HOLD = 1.0  # seconds after a cut during which further throttles do not cut again
WINDOW = 2.0  # seconds of recent sends that measure an unlimited bucket's rate
WAIT_STEP = 0.25  # longest single sleep of a waiting call (the deadline is checked between)
MIN_THROTTLES = 2  # throttling answers among the recent ones before a cut
SHARE = 0.1  # ... that are at least this share of the recent answers
_RECENT = 64  # recent send and answer times kept per bucket (bounds its memory)

Endpoint = tuple[str, str, str]  # (account, region, service)


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock (tests pass a fake one: no test waits or measures time)."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Bucket:
    """The rate limit of one endpoint: calls are spaced ``1 / rate`` seconds apart (no burst)."""

    def __init__(self, rate: float | None, clock: Clock) -> None:
        self.start = rate  # None: unlimited until the first throttle
        self.clock = clock
        self.throttles = 0  # throttling answers seen
        self.cuts = 0  # of which cut the rate
        self.waited = 0.0  # seconds calls were held back, summed
        self._cut: float | None = None  # the rate set by the last cut (None: at its start)
        self._cut_at = 0.0
        self._restore = 0.0  # an unlimited bucket is unlimited again from this rate on
        self._next = 0.0  # when the next call may be sent
        self._first: float | None = None  # when the first call was sent
        self._sent: deque[float] = deque(maxlen=_RECENT)
        self._answers: deque[tuple[float, bool]] = deque(maxlen=_RECENT)  # (when, throttled)
        self._lock = threading.Lock()

    def rate(self) -> float | None:
        """Calls per second allowed now (None: unlimited)."""
        with self._lock:
            return self._rate(self.clock.monotonic())

    def _rate(self, now: float) -> float | None:
        if self._cut is None:
            return self.start
        grown = self._cut * 2 ** ((now - self._cut_at) / DOUBLING)
        limit = self.start if self.start is not None else self._restore
        if grown >= limit:
            self._cut = None  # recovered
            return self.start
        return grown

    def _measured(self, now: float) -> float:
        """Calls per second sent over the last :data:`WINDOW` seconds (or since the first call)."""
        recent = [t for t in self._sent if t > now - WINDOW]
        span = min(WINDOW, now - (self._first if self._first is not None else now))
        if len(recent) == self._sent.maxlen:
            span = min(span, now - recent[0])
        return len(recent) / max(span, 0.1)

    def acquire(self, check: Callable[[], None] | None = None) -> float:
        """Wait for this call's turn; returns the seconds waited. ``check`` (the run's deadline
        check) is called while waiting and may raise to end the wait."""
        with self._lock:
            now = self.clock.monotonic()
            if self._first is None:
                self._first = now
            rate = self._rate(now)
            at = now if rate is None else max(now, self._next)
            if rate is not None:
                self._next = at + 1 / rate
            self._sent.append(at)
        if at <= now:
            return 0.0
        while (left := at - self.clock.monotonic()) > 0:
            if check is not None:
                check()
            self.clock.sleep(min(left, WAIT_STEP))
        waited = at - now
        with self._lock:
            self.waited += waited
        return waited

    def answered(self, *, throttled: bool) -> None:
        """An answer from the endpoint (every attempt's). Throttling answers that are a pattern
        (see the module) halve the rate, once per :data:`HOLD` seconds."""
        with self._lock:
            now = self.clock.monotonic()
            self._answers.append((now, throttled))
            if not throttled:
                return
            self.throttles += 1
            recent = [t for at, t in self._answers if at > now - WINDOW]
            if sum(recent) < max(MIN_THROTTLES, SHARE * len(recent)):
                return  # an isolated throttle: botocore's retry backs that call off
            if self._cut is not None and now - self._cut_at < HOLD:
                return
            current = self._rate(now)
            if current is None:
                current = self._measured(now)
                self._restore = 2 * current
            self._cut = max(FLOOR, current / 2)
            self._cut_at = now
            self.cuts += 1


class RateLimits:
    """The scan's buckets, one per endpoint, made on first use."""

    def __init__(self, rate: float | None = None, clock: Clock | None = None) -> None:
        self.rate = rate
        self.clock: Clock = clock or SystemClock()
        self.check: Callable[[], None] | None = None  # the run's deadline check (the sink's)
        self._buckets: dict[Endpoint, Bucket] = {}
        self._done: dict[str, float] = {"throttles": 0, "cuts": 0, "waited": 0.0}  # forgotten buckets
        self._lock = threading.Lock()
        self._detector = ThrottlingErrorDetector(retry_event_adapter=RetryEventAdapter())

    def bucket(self, endpoint: Endpoint) -> Bucket:
        with self._lock:
            bucket = self._buckets.get(endpoint)
            if bucket is None:
                bucket = self._buckets[endpoint] = Bucket(self.rate, self.clock)
            return bucket

    def buckets(self) -> dict[Endpoint, Bucket]:
        with self._lock:
            return dict(self._buckets)

    def totals(self) -> dict[str, float]:
        """Throttling answers seen, rate cuts made and seconds calls waited, over the scan."""
        with self._lock:
            totals = dict(self._done)
            for b in self._buckets.values():
                totals["throttles"] += b.throttles
                totals["cuts"] += b.cuts
                totals["waited"] += b.waited
        return totals

    def acquire(self, endpoint: Endpoint) -> float:
        """Wait for a call to ``endpoint`` to be sent; returns the seconds waited."""
        return self.bucket(endpoint).acquire(self.check)

    def watch(self, client: Any, endpoint: Endpoint) -> None:
        """Feed every answer ``client`` gets (each attempt, botocore's retries included) to the
        endpoint's bucket: a throttling answer cuts its rate."""
        bucket = self.bucket(endpoint)
        detector = self._detector

        def answered(**kwargs: Any) -> None:
            if kwargs.get("response") is not None:
                bucket.answered(throttled=detector.is_throttling_error(**kwargs))

        client.meta.events.register("needs-retry", answered, unique_id="mlguard-rate-limit")

    def forget(self, account: str, region: str) -> None:
        """Drop the buckets of a region whose work is done (memory follows the work in progress)."""
        with self._lock:
            for key in [k for k in self._buckets if k[0] == account and k[1] == region]:
                b = self._buckets.pop(key)
                self._done["throttles"] += b.throttles
                self._done["cuts"] += b.cuts
                self._done["waited"] += b.waited
