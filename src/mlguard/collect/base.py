"""The collector interface: one extension axis, one registry.

A *provider* (AWS, Databricks) turns a scope configuration into resources, collection errors and
coverage records, written into a thread-safe :class:`InventorySink`. The CLI asks each enabled
provider for exactly the resource types that the selected policies need.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from mlguard import __version__
from mlguard.collect.secrets import mask_text, scrub_resource
from mlguard.collect.shard import Shard
from mlguard.config import ScopeConfig
from mlguard.model import (
    CollectionError,
    Coverage,
    Identity,
    Inventory,
    Provenance,
    Resource,
    iso,
    utcnow,
)


@dataclass(frozen=True)
class Calls:
    """The API calls one unit of collection work made: ``attempts`` counts every HTTP request sent,
    so the retries (of throttled or failed requests) are the difference."""

    calls: int = 0
    attempts: int = 0

    @property
    def retries(self) -> int:
        return max(0, self.attempts - self.calls)


class CallMeter:
    """Counts API calls and HTTP attempts per unit of progress (a family in one scope: the key the
    collector gives :meth:`Progress.start`). A collector says which unit the current thread works
    for (:meth:`working_for`, in every worker thread), its request hooks call :meth:`call` and
    :meth:`attempt`; a call made outside any unit (identity, region discovery) is not counted."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()

    def working_for(self, key: str | None) -> None:
        self._local.key = key

    @property
    def current(self) -> str | None:
        key: str | None = getattr(self._local, "key", None)
        return key

    def add(self, key: str | None, calls: int = 0, attempts: int = 0) -> None:
        if key is None:
            return
        with self._lock:
            self._calls[key] += calls
            self._attempts[key] += attempts

    def call(self) -> None:
        self.add(self.current, calls=1)

    def attempt(self) -> None:
        self.add(self.current, attempts=1)

    def counts(self, key: str) -> Calls:
        with self._lock:
            return Calls(self._calls[key], self._attempts[key])


class Progress(Protocol):
    """Progress display hook (rich or one line per unit in the CLI, a no-op in tests and when
    quiet). ``finish`` gets the unit's API calls when the collector counted them."""

    def start(self, key: str, description: str) -> None: ...

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None: ...


class NullProgress:
    def start(self, key: str, description: str) -> None:
        return None

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        return None


def _kept_key(resource: Resource) -> tuple[bool, str, str, str]:
    parts = resource.uid.split(":", 5)
    named = parts[3] if resource.uid.startswith("arn:") and len(parts) > 3 else None
    elsewhere = named is not None and named != (resource.region or "")
    return elsewhere, resource.region or "", resource.workspace or "", resource.account or ""


def kept_of(first: Resource, second: Resource) -> Resource:
    """Which copy of a resource read twice (two lists, two regions, two units) is kept, whatever
    order they came in (threads, processes, shards): the one read where its ARN says it lives,
    then the one of the first region, workspace, account; ``first`` when they tie."""
    return second if _kept_key(second) < _kept_key(first) else first


@dataclass
class InventorySink:
    """Collects what the providers read. Safe to use from many threads."""

    resources: list[Resource] = field(default_factory=list)
    errors: list[CollectionError] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)
    regions: set[str] = field(default_factory=set)
    workspaces: set[str] = field(default_factory=set)
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    meter: CallMeter = field(default_factory=CallMeter, repr=False)  # API calls per progress unit
    # time.monotonic() at which a ``--timeout`` ends the run: every network call's own timeout is
    # cut to what is left (see :meth:`remaining`), so the run ends near it, not minutes later.
    deadline: float | None = None
    # ``--shard K/N``: the providers read only this shard's units (see mlguard.collect.shard)
    shard: Shard | None = None
    # The root data keys the run's policies read, per type (None: every field is read). A provider
    # may leave out a call that supplies none of them and records what that left unread.
    reads: Mapping[str, frozenset[str]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _uids: dict[str, int] = field(default_factory=dict, repr=False)  # uid: index in resources

    def check_cancelled(self) -> None:
        """Called by the providers' request hooks before each API call: after a ``--timeout`` the
        remaining calls fail fast instead of running on."""
        left = self.remaining()
        if self.cancelled.is_set() or (left is not None and left <= 0):
            raise CollectionCancelled("the scan's time limit was reached")

    def remaining(self) -> float | None:
        """Seconds left before the run's deadline (None: no ``--timeout``)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def add(self, resource: Resource) -> None:
        """Every resource leaves the collector through here: the final secret scrub runs over all of
        its strings (name, tags, data) and records where plaintext secrets were found."""
        resource = scrub_resource(resource)
        with self._lock:
            at = self._uids.get(resource.uid)
            if at is None:
                self._uids[resource.uid] = len(self.resources)
                self.resources.append(resource)
            else:  # the same resource seen twice (e.g. global + regional list): one is kept
                self.resources[at] = kept_of(self.resources[at], resource)

    def error(self, error: CollectionError) -> None:
        masked = mask_text(error.message)
        if masked != error.message:  # an API may echo a parameter back in its error message
            error = error.model_copy(update={"message": masked})
        with self._lock:
            self.errors.append(error)

    def covered(self, coverage: Coverage) -> None:
        with self._lock:
            self.coverage.append(coverage)

    def identity(self, identity: Identity) -> None:
        with self._lock:
            if identity not in self.identities:
                self.identities.append(identity)

    def scope(
        self, account: str | None = None, region: str | None = None, workspace: str | None = None
    ) -> None:
        with self._lock:
            if account:
                self.accounts.add(account)
            if region:
                self.regions.add(region)
            if workspace:
                self.workspaces.add(workspace)

    def to_inventory(self, started_at: str, command: str | None = None) -> Inventory:
        with self._lock:
            return Inventory(
                provenance=Provenance(
                    version=__version__,
                    started_at=started_at,
                    finished_at=iso(utcnow()),
                    command=command,
                    identities=list(self.identities),
                    accounts=sorted(self.accounts),
                    regions=sorted(self.regions),
                    workspaces=sorted(self.workspaces),
                    shard=self.shard.info() if self.shard is not None else None,
                ),
                resources=sorted(self.resources, key=lambda r: (r.type, r.uid)),
                errors=list(self.errors),
                coverage=sorted(
                    set(self.coverage),
                    key=lambda c: (
                        c.provider,
                        c.account or "",
                        c.region or "",
                        c.workspace or "",
                        c.resource_type,
                    ),
                ),
            )


class CollectionCancelled(Exception):
    """Raised inside a provider once the scan's time limit is reached."""


class Collector(ABC):
    """A provider's collector. Implementations live in ``mlguard.collect.<provider>``."""

    provider: ClassVar[str]

    @classmethod
    @abstractmethod
    def resource_types(cls) -> frozenset[str]:
        """Catalogue types this provider can collect."""

    @classmethod
    def detect(cls, scope: ScopeConfig) -> bool:
        """Whether this provider should run when none was chosen explicitly."""
        return False

    @classmethod  # noqa: B027 (an optional hook: a no-op unless a provider has work to share)
    def prepare(cls, types: frozenset[str]) -> None:
        """Before ``--jobs`` forks its collector processes: the read-only work each would repeat
        to collect ``types`` (parsing SDK models), done once here so that they share it."""

    @abstractmethod
    def collect(self, types: frozenset[str], sink: InventorySink, progress: Progress) -> None:
        """Read ``types`` (a subset of :meth:`resource_types`) into ``sink``. Never raises for a
        denied or failing API: record a :class:`CollectionError` and go on. Raise
        :class:`mlguard.errors.CollectionSetupError` only when nothing at all can be read
        (no credentials, unreachable host)."""


CollectorFactory = Callable[[ScopeConfig], Collector]


@dataclass(frozen=True)
class ProviderEntry:
    name: str
    factory: CollectorFactory
    types: Callable[[], frozenset[str]]
    detect: Callable[[ScopeConfig], bool]
    prepare: Callable[[frozenset[str]], None] = Collector.prepare  # nothing to share by default


_REGISTRY: dict[str, ProviderEntry] = {}


def register(cls: type[Collector]) -> type[Collector]:
    """Class decorator: make a collector available under its provider name."""
    _REGISTRY[cls.provider] = ProviderEntry(
        name=cls.provider,
        factory=cls,
        types=cls.resource_types,
        detect=cls.detect,
        prepare=cls.prepare,
    )
    return cls


def providers() -> dict[str, ProviderEntry]:
    _load_builtin()
    return dict(_REGISTRY)


def _load_builtin() -> None:
    """Import the built-in provider packages; each registers itself. A provider whose optional
    dependencies are missing is simply absent."""
    import importlib

    for module in ("mlguard.collect.aws", "mlguard.collect.databricks"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.startswith("mlguard.collect"):
                continue
            raise


@contextmanager
def timed(
    progress: Progress, key: str, description: str, meter: CallMeter | None = None
) -> Iterator[list[int]]:
    """Report one unit of collection work to the progress display; yields [resources, errors].
    With a ``meter``, the calls this thread makes meanwhile are counted for the unit."""
    counts = [0, 0]
    progress.start(key, description)
    if meter is not None:
        meter.working_for(key)
    try:
        yield counts
    finally:
        if meter is not None:
            meter.working_for(None)
        progress.finish(key, counts[0], counts[1], meter.counts(key) if meter is not None else None)
