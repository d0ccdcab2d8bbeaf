"""The generic query engine: sessions, read-only guard, call counting, pagination, errors as data.

Every resource type is read the same way: list (SDK paginator), per-item details (concurrent,
bounded), normalisation, batched enrichments. Any failure becomes a :class:`CollectionError` naming
account, region, resource type and operation; a :class:`Coverage` record marks every attempt, and
names the attributes a scan narrowed to its policies left out (``InventorySink.reads``). A
:class:`Breaker` per endpoint stops sending to one that no longer answers.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import boto3
import jmespath
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError
from jmespath.exceptions import JMESPathError

from mlguard import __version__
from mlguard.collect.aws.normalize import as_list, data_of, tags_of
from mlguard.collect.aws.spec import Detail, Item, Options, Pruned, ResourceSpec, api_name
from mlguard.collect.base import CallMeter, InventorySink
from mlguard.collect.errors import ReadOnlyViolation, collection_error
from mlguard.collect.errortext import one_line_reason
from mlguard.collect.ratelimit import RateLimits
from mlguard.collect.secrets import SECRET_PATHS
from mlguard.model import Coverage, Resource, iso, utcnow

PROVIDER = "aws"


# Failures that are data (recorded, scan goes on). Anything else is a bug and propagates.
CAUGHT: tuple[type[BaseException], ...] = (
    ClientError,
    BotoCoreError,
    ResponseParserError,  # an answer botocore cannot parse (an HTML 500 page): not a BotoCoreError
    NotImplementedError,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    JMESPathError,
)


class MalformedPage(BotoCoreError):
    """A 2xx answer whose body is not the API's (an HTML page from a proxy or login portal)."""

    fmt = "the answer is not the API's: {reason}"


def error_code(exc: BaseException) -> tuple[str, str]:
    """AWS's :class:`~mlguard.collect.errors.ErrorClassifier`: (code, one-line message) of a
    failure, e.g. ("AccessDenied", "..."); an HTML page in the message (a proxy's 502, a WAF block
    page) is reduced to its title and HTTP status."""
    code, message = _error_code(exc)
    status = (
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(exc, ClientError)
        else None
    )
    return code, one_line_reason(message, status if isinstance(status, int) else None)


def _error_code(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = str(err.get("Code") or (f"HTTP{status}" if status else "Unknown"))
        return code, str(err.get("Message") or exc)
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return "Timeout", str(exc)
    if isinstance(exc, EndpointConnectionError):
        return "ConnectionError", str(exc)
    if isinstance(exc, MalformedPage):
        return "MalformedResponse", str(exc)
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__, str(exc)
    if isinstance(exc, NotImplementedError):
        return "NotImplemented", str(exc) or "operation not implemented by the endpoint"
    return "MalformedResponse", f"{type(exc).__name__}: {exc}"


def failed_call(exc: BaseException, candidates: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """Which of several declared (service, operation) calls raised ``exc`` (default: the first)."""
    api = getattr(exc, "operation_name", None)
    for service, operation in candidates:
        if api is not None and api_name(service, operation) == api:
            return service, operation
    return candidates[0]


@dataclass
class ApiStats:
    """Counts every API call sent, per operation and per resource type being read."""

    by_operation: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    http_requests: Counter[str] = field(default_factory=Counter)  # includes botocore's retries
    meter: CallMeter | None = None  # the run's calls per progress unit (the sink's meter)
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    def current(self, type_name: str | None, unit: str | None = None) -> None:
        """The type (and progress unit, see :func:`unit_key`) this thread reads for now."""
        self._local.type = type_name
        self._local.unit = unit

    def sent(self) -> None:
        with self._lock:
            self.http_requests[getattr(self._local, "type", None) or "(session)"] += 1
        if self.meter is not None:
            self.meter.add(getattr(self._local, "unit", None), attempts=1)

    def record(self, service: str, operation: str) -> None:
        with self._lock:
            self.by_operation[f"{service}:{operation}"] += 1
            self.by_type[getattr(self._local, "type", None) or "(session)"] += 1
        if self.meter is not None:
            self.meter.add(getattr(self._local, "unit", None), calls=1)


def unit_key(account: str, region: str | None, family: str) -> str:
    """The progress unit of one family in one account and region (``global``: account-wide)."""
    return f"aws/{account}/{region or 'global'}/{family}"


class Guard:
    """botocore event hooks: refuse non-allowlisted operations, count what is sent."""

    def __init__(self, allowed: frozenset[tuple[str, str]], stats: ApiStats) -> None:
        self.allowed = allowed
        self.stats = stats
        self.before: Callable[[], None] | None = None  # the sink's deadline check (``--timeout``)
        self.remaining: Callable[[], float | None] | None = None  # seconds left of the run's budget

    def check(self, model: Any, **_: Any) -> None:
        if self.before is not None:
            self.before()
        key = (model.service_model.service_name, model.name)
        if key not in self.allowed:
            raise ReadOnlyViolation.operation(*key)

    def count(self, model: Any, **_: Any) -> None:
        self.stats.record(model.service_model.service_name, model.name)

    def send(self, **_: Any) -> None:
        """Every HTTP attempt (botocore's retries included): none starts after the deadline."""
        if self.before is not None:
            self.before()
        self.stats.sent()

    def budgeted(self, config: Config) -> Config:
        """``config`` with its connect and read timeouts cut to what is left of the run's budget,
        for a client created now: no single attempt outlives the ``--timeout``."""
        left = self.remaining() if self.remaining is not None else None
        if left is None:
            return config
        left = max(left, 0.5)
        connect = min(float(config.connect_timeout or 60), left)  # type: ignore[attr-defined]
        read = min(float(config.read_timeout or 60), left)  # type: ignore[attr-defined]
        retries = dict(config.retries or {})  # type: ignore[attr-defined]
        # As many attempts as could each wait their full read timeout within the budget (the
        # before-send check also stops any attempt once the deadline has passed).
        attempts = int(retries.get("total_max_attempts") or 3)
        retries["total_max_attempts"] = max(1, min(attempts, 1 + int(left // read)))
        return config.merge(Config(connect_timeout=connect, read_timeout=read, retries=retries))  # type: ignore[arg-type]

    @staticmethod
    def page(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        """Refuse a successful answer that is not the API's: botocore reads a non-JSON body as ``{}``
        and a well-formed HTML page as an empty XML answer, so a login portal or proxy page
        answering 200 would look like an account with nothing in it."""
        body = response_dict.get("body")
        status = response_dict.get("status_code")
        if not isinstance(body, bytes) or not isinstance(status, int) or not 200 <= status < 300 or not body:
            return
        head = body[:512].lstrip().lower()
        protocol = operation_model.metadata.get("protocol", "")
        not_json = protocol in ("json", "rest-json", "smithy-rpc-v2-cbor") and head[:1] not in (b"{", b"[")
        if not_json and protocol == "smithy-rpc-v2-cbor":
            not_json = head.startswith(b"<")
        if not_json or head.startswith((b"<!doctype html", b"<html")):
            text = body[:65536].decode("utf-8", "replace")
            raise MalformedPage(
                reason=one_line_reason(text, status) if "<" in text else f"HTTP {status}, not {protocol}"
            )

    def install(self, session: boto3.Session) -> boto3.Session:
        session.events.register("before-parameter-build", self.check, unique_id="mlguard-readonly")
        session.events.register("before-call", self.count, unique_id="mlguard-count")
        session.events.register("before-send", self.send, unique_id="mlguard-send")
        session.events.register("before-parse", self.page, unique_id="mlguard-page")
        return session


class Gate:
    """A concurrency budget: at most ``limit`` API calls in flight (a call holds its slot through
    botocore's retries). The scan has one, over all accounts, regions and types; each account has
    one more (AWS rate limits are per account), so no account gets the whole budget.

    Threads are cheap and only wait here; no thread holds a slot while it waits for another
    thread's work, so the budget is always usable."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = threading.Condition(threading.Lock())  # one lock for the count and the wait
        self.in_flight = 0
        self.peak = 0

    def __enter__(self) -> None:
        with self._free:
            while self.in_flight >= self.limit:
                self._free.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def __exit__(self, *_: object) -> None:
        with self._free:
            self.in_flight -= 1
            self._free.notify()


class CircuitOpen(BotoCoreError):
    """A call not sent: its endpoint (account, region, service) stopped answering."""

    fmt = "{endpoint} is not answering ({failures} calls in a row failed, the last: {last}); not sent"


# Failures that say the endpoint did not answer at all (refused, reset, timed out), after botocore's
# own retries; an error answer, however bad, shows the endpoint is alive.
NO_ANSWER: tuple[type[BaseException], ...] = (BotoConnectionError, HTTPClientError)
BREAKER_FAILURES = 3  # consecutive unanswered calls that open an endpoint's circuit


class Breaker:
    """A circuit breaker per endpoint (account, region, service): after ``threshold`` calls in a row
    that got no answer, the endpoint's remaining calls fail at once with :class:`CircuitOpen` (each
    is its type's or resource's collection error, as the failed calls were) instead of each
    waiting out its timeouts and retries. Any answer closes it again."""

    def __init__(self, threshold: int = BREAKER_FAILURES) -> None:
        self.threshold = threshold
        self._failures: dict[tuple[str, str, str], int] = {}
        self._last: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def check(self, key: tuple[str, str, str]) -> None:
        if key not in self._failures:  # the common case, read without the lock (a dict read is atomic)
            return
        with self._lock:
            failures = self._failures.get(key, 0)
            last = self._last.get(key, "")
        if failures >= self.threshold:
            account, region, service = key
            raise CircuitOpen(endpoint=f"{service} in {account}/{region}", failures=failures, last=last)

    def answered(self, key: tuple[str, str, str]) -> None:
        if key not in self._failures:  # nothing to close (see check)
            return
        with self._lock:
            self._failures.pop(key, None)

    def failed(self, key: tuple[str, str, str], exc: BaseException) -> None:
        if isinstance(exc, ClientError | ResponseParserError | MalformedPage):
            self.answered(key)  # an error answer: the endpoint is alive
            return
        if isinstance(exc, CircuitOpen) or not isinstance(exc, NO_ANSWER):
            return  # not sent, cancelled by the run's deadline, or a bug: says nothing of the host
        code, message = error_code(exc)
        with self._lock:
            self._failures[key] = self._failures.get(key, 0) + 1
            self._last[key] = f"{code}: {message[:200]}"


# Answers kept per (account, region) for identical calls (``Detail.shared``, ``Caller.call_shared``
# and ``Caller.pages_shared``); past that, a call is made as without the memo.
SHARED_ANSWERS = 1024
# Pages kept of one shared listing; a longer listing is not kept (each reader pages it itself).
SHARED_PAGES = 10


@dataclass(frozen=True, slots=True)
class _Listing:
    """The pages a shared listing got, and the error that ended it (None: it ended normally)."""

    pages: list[dict[str, Any]]
    error: BaseException | None


class SharedCalls:
    """Identical calls (same client, operation and parameters) of one account and region, made
    once for every item and type there that needs them (an endpoint config that both its own type
    and the endpoints using it describe; the instances both the EC2 type and the region's GPU fleet
    list). The first caller makes the call; every later one waits for that call and gets a copy of
    its answer, or the same error, as if it had made the call itself (its own collection error,
    with its own resource and attributes); a shared listing gives each reader the same pages, then
    the same error if one ended it. Bounded: at most ``limit`` answers are kept, and listings of
    at most ``page_limit`` pages; past either, a call is made as usual. Dropped with the region's
    clients (:meth:`Account.release`).

    A waiter holds no budget slot (a call takes one only while it is sent), and the call it waits
    for is being made by the thread that first asked, which reads every page before it gives any
    to its caller: it waits on nothing of another reader, so waiting cannot deadlock."""

    def __init__(self, limit: int | None = None, page_limit: int | None = None) -> None:
        self.limit = SHARED_ANSWERS if limit is None else limit
        self.page_limit = SHARED_PAGES if page_limit is None else page_limit
        self._answers: dict[tuple[Any, ...], Future[Any]] = {}
        self._lock = threading.Lock()

    def _claim(self, key: tuple[Any, ...]) -> tuple[Future[Any] | None, bool]:
        """The answer of ``key`` (None: the memo is full) and whether this caller makes the call."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None:
                return answer, False
            if len(self._answers) >= self.limit:
                return None, False
            answer = self._answers[key] = Future()
            return answer, True

    def call(self, key: tuple[Any, ...], make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        answer, first = self._claim(key)
        if answer is None:
            return make()
        if not first:
            # A copy: callers store answers in their items, whose normalisers may change them.
            made: dict[str, Any] = copy.deepcopy(answer.result())
            return made
        try:
            made = make()
        except BaseException as exc:
            answer.set_exception(exc)  # every waiter, now and later, raises it too
            raise
        answer.set_result(copy.deepcopy(made))
        return made

    def pages(
        self, key: tuple[Any, ...], make: Callable[[], Iterator[dict[str, Any]]]
    ) -> Iterator[dict[str, Any]]:
        answer, first = self._claim(key)
        if answer is None:
            yield from make()
            return
        if not first:
            listing: _Listing | None = answer.result()
            if listing is None:  # too long to keep: paged again
                yield from make()
                return
            for page in listing.pages:
                yield copy.deepcopy(page)
            if listing.error is not None:
                raise listing.error
            return
        live = make()
        kept: list[dict[str, Any]] = []
        error: BaseException | None = None
        try:
            for page in live:  # every page before the first is given (see the class)
                kept.append(page)
                if len(kept) > self.page_limit:
                    answer.set_result(None)
                    break
        except BaseException as exc:
            error = exc
        if not answer.done():
            answer.set_result(_Listing([copy.deepcopy(p) for p in kept], error))
        yield from kept
        if error is not None:
            raise error
        if len(kept) > self.page_limit:
            yield from live


# Clients of every account are built from sessions sharing one botocore loader (the parsed service
# models); building one is CPU work on shared caches, so one at a time.
_CLIENT_LOCK = threading.Lock()


@dataclass
class Account:
    """One AWS account being scanned: its session, partition, home and scanned regions.

    Clients are made on first use per (service, region) and dropped by :meth:`release` once the
    work of that region is done: memory follows the work in progress, not the accounts scanned."""

    id: str
    partition: str
    session: boto3.Session
    home_region: str
    config: Config
    regions: list[str] = field(default_factory=list)
    budget: Callable[[Config], Config] | None = None  # cuts client timeouts to the run's budget
    gates: tuple[Gate, ...] = ()  # in-flight budgets: the account's, then the scan's (none: unbounded)
    breaker: Breaker | None = None  # the scan's circuit breaker (none: every call is sent)
    limits: RateLimits | None = None  # the scan's adaptive rate limits (none: unlimited)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _shared: dict[str, SharedCalls] = field(default_factory=dict)  # per region (see SharedCalls)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, service: str, region: str | None) -> Any:
        """A client (cached); ``Any`` because the service is chosen by data, not by code."""
        key = (service, region or self.home_region)
        client = self._clients.get(key)  # every call asks: read without the lock (a dict read is atomic)
        if client is not None:
            return client
        session: Any = self.session
        with _CLIENT_LOCK:  # boto3 sessions are not thread-safe (clients are); the loader is shared
            with self._lock:
                client = self._clients.get(key)
            if client is None:
                config = self.budget(self.config) if self.budget is not None else self.config
                client = session.client(service, region_name=key[1], config=config)
                if self.limits is not None:
                    self.limits.watch(client, (self.id, key[1], service))
                with self._lock:
                    self._clients[key] = client
        return client

    def shared(self, region: str | None) -> SharedCalls:
        """The memo of identical detail calls in ``region`` (None: the home region)."""
        name = region or self.home_region
        with self._lock:
            memo = self._shared.get(name)
            if memo is None:
                memo = self._shared[name] = SharedCalls()
        return memo

    def release(self, region: str | None = None) -> None:
        """Drop the clients of ``region`` (None: all of them), and its memo of shared calls;
        later calls make new ones."""
        with self._lock:
            for key in [k for k in self._clients if region is None or k[1] == region]:
                del self._clients[key]
            for name in [n for n in self._shared if region is None or n == region]:
                del self._shared[name]
        if self.limits is not None:
            for name in [region] if region is not None else [self.home_region, *self.regions]:
                self.limits.forget(self.id, name)

    def slot(self) -> _Slots:
        """A slot of every budget, taken in one order (account, then scan): no deadlock."""
        return _Slots(self.gates)


class _Slots:
    """A slot of each of ``gates``, taken in their order and given back in the reverse order (a
    plain context manager: this runs around every request)."""

    __slots__ = ("gates",)

    def __init__(self, gates: tuple[Gate, ...]) -> None:
        self.gates = gates

    def __enter__(self) -> None:
        taken = 0
        try:
            for gate in self.gates:
                gate.__enter__()
                taken += 1
        except BaseException:
            for gate in reversed(self.gates[:taken]):
                gate.__exit__()
            raise

    def __exit__(self, *_: object) -> None:
        for gate in reversed(self.gates):
            gate.__exit__()


class _Sent:
    """One request to an endpoint: its circuit breaker checked, its turn at the rate limit waited
    for, a slot of every budget held (unless ``slots`` is None), and the breaker told how it went."""

    __slots__ = ("account", "key", "slots")

    def __init__(self, account: Account, key: tuple[str, str, str], slots: _Slots | None) -> None:
        self.account = account
        self.key = key
        self.slots = slots

    def __enter__(self) -> None:
        account = self.account
        if account.breaker is not None:
            account.breaker.check(self.key)
        if account.limits is not None:  # its turn, before it takes a slot of the budget
            account.limits.acquire(self.key)
        if self.slots is not None:
            self.slots.__enter__()

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        if self.slots is not None:
            self.slots.__exit__()
        breaker = self.account.breaker
        if breaker is not None:
            if exc is None:
                breaker.answered(self.key)
            else:
                breaker.failed(self.key, exc)


class Caller:
    """Calls AWS for one account and region; used by the engine and by spec callables. Every call
    (every page) takes a slot of the scan's in-flight budget."""

    def __init__(self, account: Account, region: str | None) -> None:
        self.account = account
        self.region = region

    def _sent(self, service: str, slot: bool = True) -> _Sent:
        """One request to ``service``: through the endpoint's circuit breaker, in a budget slot."""
        account = self.account
        key = (account.id, self.region or account.home_region, service)
        return _Sent(account, key, _Slots(account.gates) if slot else None)

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        client = self.account.client(service, self.region)
        with self._sent(service):
            response: dict[str, Any] = getattr(client, operation)(**params)
        return response

    def call_shared(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """:meth:`call`, made once for every identical call in this account and region
        (:class:`SharedCalls`)."""
        key = ("call", service, operation, _params_key(params))
        return self.account.shared(self.region).call(key, lambda: self.call(service, operation, **params))

    def pages_shared(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """:meth:`pages`, read once for every identical listing in this account and region
        (:class:`SharedCalls`)."""
        key = ("pages", service, operation, _params_key(params))
        return self.account.shared(self.region).pages(key, lambda: self.pages(service, operation, **params))

    def call_unslotted(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        """:meth:`call` without a budget slot, for a call made by a thread that may hold slots
        already (a credential refresh inside another call): its breaker and rate limit still apply."""
        client = self.account.client(service, self.region)
        with self._sent(service, slot=False):
            response: dict[str, Any] = getattr(client, operation)(**params)
        return response

    def pages(self, service: str, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        client = self.account.client(service, self.region)
        if not client.can_paginate(operation):
            yield self.call(service, operation, **params)
            return
        pages = iter(client.get_paginator(operation).paginate(**params))
        while True:
            with self._sent(service):  # the slot is held for the request, not while the page is read
                page: dict[str, Any] | None = next(pages, None)
            if page is None:
                return
            yield page


def _params_key(params: dict[str, Any]) -> str:
    """Parameters as a memo key: equal parameters (lists, nested shapes) give equal keys."""
    return json.dumps(params, sort_keys=True, default=repr)


RETRY_MODES = ("standard", "adaptive")


def client_config(max_attempts: int, retry_mode: str, max_workers: int) -> Config:
    """Client settings. ``standard`` retries (with the SDK's retry quota) are the default;
    ``adaptive`` adds botocore's client-side rate limiter, which lives in each client, i.e. per
    (account, region, service): a throttle slows that service in that account only."""
    return Config(
        retries={"mode": retry_mode, "total_max_attempts": max_attempts},  # type: ignore[arg-type]
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=max(10, max_workers * 2),
        user_agent_extra=f"mlguard/{__version__}",
    )


class Engine:
    """Reads resource specs into an inventory sink."""

    def __init__(
        self,
        sink: InventorySink,
        stats: ApiStats,
        detail_pool: ThreadPoolExecutor,
        job_lookback_days: int,
        metrics_days: int,
        *,
        helpers: int = 4,
    ) -> None:
        self.sink = sink
        self.stats = stats
        self.pool = detail_pool
        self.helpers = helpers  # at most this many detail-pool threads help with one type's items
        self.job_lookback_days = job_lookback_days
        self.metrics_days = metrics_days

    def _error(
        self,
        where: tuple[Account, str | None, ResourceSpec],
        call: tuple[str, str],
        exc: BaseException,
        resource_uid: str | None = None,
        attributes: tuple[str, ...] = (),
    ) -> None:
        account, region, spec = where
        service, operation = call
        self.sink.error(
            collection_error(
                PROVIDER,
                f"{service}:{api_name(service, operation)}",
                exc,
                error_code,
                account=account.id,
                region=region,
                resource_type=spec.type,
                resource_uid=resource_uid,
                attributes=sorted(attributes),
            )
        )

    def collect(self, account: Account, region: str | None, spec: ResourceSpec) -> tuple[int, int]:
        """Read one type in one scope. Returns (resources, errors)."""
        self.stats.current(spec.type, unit_key(account.id, region, spec.family))
        scope_region = region if spec.scope == "region" else None
        errors_before = len(self.sink.errors)
        reads = self.sink.reads
        pruned = spec.pruned(None if reads is None else reads.get(spec.type))
        self.sink.covered(
            Coverage(
                provider=PROVIDER,
                account=account.id,
                region=scope_region,
                resource_type=spec.type,
                unread=pruned.unread or None,
            )
        )
        opts = Options(
            account=account.id,
            region=region,
            partition=account.partition,
            job_lookback_days=self.job_lookback_days,
            metrics_days=self.metrics_days,
            now=utcnow(),
        )
        caller = Caller(account, region)
        try:
            raws = self._list(caller, spec, opts)
        except CAUGHT as exc:
            code, _ = error_code(exc)
            if not (spec.single and code in spec.absent_codes):
                self._error((account, scope_region, spec), (spec.service, spec.operation), exc)
                return 0, self._errors_since(errors_before, account, spec)
            raws = [{"AccountId": account.id, "Region": region}]
        items = [Item(raw=r, region=scope_region) for r in raws]
        if spec.details:
            self._each(lambda item: self._details(account, spec, item, scope_region, pruned), items)
        resources: list[tuple[Item, str, str, str | None]] = []
        for item in items:
            try:
                rid = str(jmespath.search(spec.id, item.raw))
                name = jmespath.search(spec.name, item.raw) if spec.name else None
                uid = self._uid(spec, item, opts, rid, name)
                item.data = (spec.normalize or _default_normalize)(item, opts)
                for key in item.missing:
                    item.data.pop(key, None)
            except CAUGHT as exc:
                self._error((account, scope_region, spec), (spec.service, spec.operation), exc)
                continue
            resources.append((item, uid, rid, None if name is None else str(name)))
        for n, enrichment in enumerate(spec.enrich):
            done = [i for i, *_ in resources]
            if n in pruned.enrich:  # nobody reads what it adds: left out, recorded as unread
                for i in done:
                    for key in (*enrichment.attributes, *enrichment.extends):
                        i.data.pop(key, None)
                continue
            try:
                self.stats.current(spec.type, unit_key(account.id, region, spec.family))
                enrichment.run(done, caller, opts)
            except CAUGHT as exc:
                call = failed_call(exc, enrichment.operations)
                self._error((account, scope_region, spec), call, exc, attributes=enrichment.attributes)
                for i in done:
                    for key in enrichment.attributes:
                        i.data.pop(key, None)
        collected_at = iso(utcnow())
        count = 0
        for item, uid, rid, name in resources:
            for unknown in item.unknown:
                for key in unknown.attributes:
                    item.data.pop(key, None)
                self.sink.error(
                    collection_error(
                        PROVIDER,
                        f"{unknown.operation[0]}:{api_name(*unknown.operation)}",
                        (unknown.code, unknown.message),
                        account=account.id,
                        region=item.region or scope_region,
                        resource_type=spec.type,
                        resource_uid=uid,
                        attributes=sorted(unknown.attributes),
                    )
                )
            try:
                tags = tags_of(jmespath.search(spec.tags, item.raw)) if spec.tags else {}
                self.sink.add(
                    Resource(
                        uid=uid,
                        type=spec.type,
                        provider=PROVIDER,
                        id=rid,
                        name=name,
                        account=account.id,
                        region=item.region,
                        tags=tags,
                        data=item.data,
                        collected_at=collected_at,
                    )
                )
                count += 1
            except CAUGHT as exc:
                self._error(
                    (account, scope_region, spec), (spec.service, spec.operation), exc, resource_uid=uid
                )
        return count, self._errors_since(errors_before, account, spec)

    def _each(self, work: Callable[[Item], None], items: list[Item]) -> None:
        """``work`` on every item: this thread works through the items itself, helped by idle
        threads of the detail pool; it never sits waiting for a helper that has not started."""
        queue = iter(items)
        lock = threading.Lock()

        def drain() -> None:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                work(item)

        helpers: list[Future[None]] = [
            self.pool.submit(drain) for _ in range(min(len(items) - 1, self.helpers))
        ]
        try:
            drain()
        finally:
            running = [h for h in helpers if not h.cancel()]
            wait(running)
        for h in running:
            h.result()

    def _errors_since(self, start: int, account: Account, spec: ResourceSpec) -> int:
        return sum(
            1 for e in self.sink.errors[start:] if e.account == account.id and e.resource_type == spec.type
        )

    def _list(self, caller: Caller, spec: ResourceSpec, opts: Options) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        pages = caller.pages_shared if spec.shared_list else caller.pages
        for params in spec.params(opts) if spec.params else [{}]:
            for page in pages(spec.service, spec.operation, **params):
                found = jmespath.search(spec.items, page)
                if spec.single:
                    found = (
                        [{"AccountId": opts.account, "Region": opts.region, **found}]
                        if found is not None
                        else []
                    )
                if found is None:
                    found = []
                if not isinstance(found, list):
                    raise ValueError(f"{spec.items} is not a list in the {spec.operation} response")
                for raw in found:
                    if not isinstance(raw, dict):
                        raise ValueError(f"unexpected item in {spec.operation}: {type(raw).__name__}")
                    if spec.include and not spec.include(raw, opts):
                        continue
                    seen.setdefault(str(jmespath.search(spec.id, raw)), raw)
        return list(seen.values())

    def _uid(self, spec: ResourceSpec, item: Item, opts: Options, rid: str, name: Any) -> str:
        arn = jmespath.search(spec.arn, item.raw) if spec.arn else None
        if arn:
            return str(arn)
        if spec.arn_template is None:
            raise ValueError(f"no ARN for {spec.type} {rid}")
        return spec.arn_template.format(
            partition=opts.partition,
            region=item.region or opts.region or "",
            account=opts.account,
            id=rid,
            name=name,
        )

    def _details(
        self, account: Account, spec: ResourceSpec, item: Item, scope_region: str | None, pruned: Pruned
    ) -> None:
        self.stats.current(spec.type, unit_key(account.id, scope_region, spec.family))
        for n, detail in enumerate(spec.details):
            if n in pruned.details:  # nobody reads what it fills: not called, its attributes unread
                item.missing.update(detail.attributes)
                continue
            if detail.when and not detail.when(item.raw):
                continue
            service = detail.service or spec.service
            caller = Caller(account, item.region or scope_region)
            try:
                self._run_detail(caller, service, detail, item)
            except CAUGHT as exc:
                code, _ = error_code(exc)
                if code in detail.absent_codes:
                    self._absent(detail, item)
                    continue
                # Text the failed call would have returned was never scrubbed, so "no plaintext
                # secret found" is unknown too: every secret policy is ERROR for this resource.
                attributes = tuple(dict.fromkeys((*detail.attributes, SECRET_PATHS)))
                item.missing.update(attributes)
                uid = _safe_uid(self, spec, item, account)
                self._error(
                    (account, item.region or scope_region, spec),
                    failed_call(exc, [(service, op) for op in (detail.operation, *detail.also)]),
                    exc,
                    uid,
                    attributes,
                )

    @staticmethod
    def _run_detail(caller: Caller, service: str, detail: Detail, item: Item) -> None:
        if detail.fetch is not None:
            result: Any = detail.fetch(caller, item.raw)
        elif detail.items is not None:  # every page's items, through the operation's paginator
            params = detail.params(item.raw) if detail.params else {}
            result = [
                found
                for page in caller.pages(service, detail.operation, **params)
                for found in as_list(jmespath.search(detail.items, page))
            ]
        else:
            params = detail.params(item.raw) if detail.params else {}
            call = caller.call_shared if detail.shared else caller.call
            result = call(service, detail.operation, **params)
            result.pop("ResponseMetadata", None)
            if detail.select:
                result = jmespath.search(detail.select, result)
        if detail.apply is not None:
            detail.apply(result, item)
        elif detail.into is not None:
            item.raw[detail.into] = result
        elif isinstance(result, dict):
            item.raw.update(result)

    @staticmethod
    def _absent(detail: Detail, item: Item) -> None:
        if detail.apply is not None:
            detail.apply({}, item)
        elif detail.into is not None:
            item.raw[detail.into] = None


def _default_normalize(item: Item, opts: Options) -> dict[str, Any]:
    return data_of(item.raw)


def _safe_uid(engine: Engine, spec: ResourceSpec, item: Item, account: Account) -> str | None:
    try:
        rid = str(jmespath.search(spec.id, item.raw))
        opts = Options(
            account=account.id,
            region=item.region,
            partition=account.partition,
            job_lookback_days=engine.job_lookback_days,
            metrics_days=engine.metrics_days,
            now=utcnow(),
        )
        name = jmespath.search(spec.name, item.raw) if spec.name else None
        return engine._uid(spec, item, opts, rid, name)
    except CAUGHT:
        return None
