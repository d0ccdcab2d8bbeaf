"""What the clients of every account can share: service models, client classes, event-name aliases.

botocore builds, for every client, a fresh :class:`~botocore.model.ServiceModel` (whose operation
models, shapes and error-code table are resolved lazily and cached per instance), a fresh client
class (one method and one operation model per operation of the service) and a fresh event-name
alias cache. None of these depend on the account, region or credentials: a service model is the
parsed JSON of the service, a client class holds only methods that call ``_make_api_call``, an
alias is a function of the event name. An organisation scan makes one client per (account, region,
service), so it rebuilt and re-resolved the same models hundreds of times.

:func:`share` ties a cache to one botocore loader (the collector's, shared by the sessions of every
account): clients created from a session using that loader get the service model and the client
class made by the first client of that (service, API version). The collector's sessions and their
clients alias event names through one cache (:class:`SharedAliaser`), and clients of one service
share its parsed endpoint rule set (``rulesets``: each keeps its own resolver).
Nothing else is shared: each client keeps its own credentials, region, endpoint, config, HTTP
pool, retry state and event handlers (the read-only guard's included), as before. Sessions with
any other loader are not affected (botocore's own behaviour).

:class:`LeanEmitter` is the event emitter of the collector's sessions: botocore's own, with the
two costs of every client it makes cut. A client starts with a copy of its session's handlers
(some 200 nodes of a prefix tree, all copied, then all freed with the client), then registers its
own, each registration checking the handler's signature (``inspect.getfullargspec``) for
``**kwargs``. Here the tree is copied on write (:class:`SharedTrie`: a copy shares the nodes, and a
tree copies a node and the path to it before it first changes it), and the signature check is
remembered per code object. Each emitter finds the same handlers, in the same order, as with
botocore's copies; a handler without ``**kwargs`` is refused as before.

:class:`_SharingClientCreator` also gives each of the collector's clients three cheaper readings
of botocore's per-call work, each the same result as botocore's own (see each module and its
tests): answers' headers read without the email package (``headers``), endpoint rule-set
parameters gathered from a plan per operation (``endpoints``), AWS's ``...Z`` timestamps read
without dateutil's tokenizer (``timestamps``). Clients of any other session are botocore's own.

:func:`environment_proxies` reads the proxies of the environment (``HTTP_PROXY``, ``HTTPS_PROXY``,
``NO_PROXY``...) once, for a scan, where botocore reads the whole environment twice per client. The
scan gives them to every client, which then uses exactly the proxy botocore would have found for
its endpoint; where that depends on the endpoint's host (``NO_PROXY`` next to a proxy), or where
the platform's proxies come from elsewhere than the environment, botocore reads them per client as
before.
"""

from __future__ import annotations

import inspect
import threading
import types
import urllib.request
import weakref
from collections.abc import Iterable
from typing import Any

import boto3
import botocore.client
import botocore.hooks
import botocore.parsers
import botocore.session
from botocore.hooks import EVENT_ALIASES, EventAliaser, HierarchicalEmitter, NodeList

from mlguard.collect.aws import endpoints, headers, rulesets, sigv4, timestamps
from mlguard.gc_pause import gc_paused


class SharedModels:
    """Service models and client classes, one per (service, API version), for one loader."""

    def __init__(self) -> None:
        self.models: dict[tuple[str, str | None], Any] = {}
        self.classes: dict[int, type] = {}  # id of a shared model (kept in ``models``) -> its class
        self.providers = rulesets.Providers()  # parsed endpoint rule sets (see rulesets.py)
        self.lock = threading.RLock()


_SHARED: weakref.WeakKeyDictionary[Any, SharedModels] = weakref.WeakKeyDictionary()
_BOTOCORE_CREATOR: Any = botocore.client.ClientCreator  # its stubs lack the methods overridden here


class _SharingClientCreator(_BOTOCORE_CREATOR):  # type: ignore[misc]
    """botocore's client creator; with a shared loader, the service model and client class come
    from that loader's :class:`SharedModels`."""

    def _shared(self) -> SharedModels | None:
        return _SHARED.get(self._loader)

    def _load_service_model(self, service_name: str, api_version: str | None = None) -> Any:
        shared = self._shared()
        if shared is None:
            return super()._load_service_model(service_name, api_version)
        key = (service_name, api_version)
        with shared.lock:
            model = shared.models.get(key)
            if model is None:
                model = shared.models[key] = super()._load_service_model(service_name, api_version)
        return model

    def _create_client_class(self, service_name: str, service_model: Any) -> type:
        shared = self._shared()
        if shared is None:
            return super()._create_client_class(service_name, service_model)  # type: ignore[no-any-return]
        with shared.lock:
            if not any(m is service_model for m in shared.models.values()):  # not one of ours
                return super()._create_client_class(service_name, service_model)  # type: ignore[no-any-return]
            cls = shared.classes.get(id(service_model))
            if cls is None:
                cls = super()._create_client_class(service_name, service_model)
                shared.classes[id(service_model)] = cls
        return cls

    def _get_client_args(self, *args: Any) -> Any:
        shared = self._shared()
        if shared is None:
            return super()._get_client_args(*args)
        return rulesets.client_args(self, shared.providers, args)  # one parsed rule set per service

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        client = super().create_client(*args, **kwargs)
        shared = self._shared()
        if shared is not None:
            sigv4.install(client)  # the collector's clients sign as botocore does, at less cost
            headers.install(client)  # answers' headers read without the email package
            endpoints.install(client)  # endpoint parameters gathered from a plan per operation
            _read_timestamps(client)
        return client


#: event name -> its name with botocore's default aliases (:data:`EVENT_ALIASES`) applied: the cache
#: of every :class:`SharedAliaser` of the process (a function of the name alone).
ALIASES: dict[str, str] = {}

_BOTOCORE_ALIASER: Any = EventAliaser  # its stubs lack the private parts used here


class SharedAliaser(_BOTOCORE_ALIASER):  # type: ignore[misc]
    """botocore's event aliaser, whose cache of aliased names is :data:`ALIASES`, and whose copies
    (a client's emitter is a copy of its session's) keep it. botocore starts an empty cache for
    every session and every copy, then aliases each of the session's ~130 and a client's ~15
    registrations again (a loop over the ~40 aliases for each new name)."""

    def __copy__(self) -> Any:
        new = super().__copy__()
        if self._alias_name_cache is ALIASES and new._event_aliases == EVENT_ALIASES:
            new._alias_name_cache = ALIASES
        return new


def share_aliases(events: Any) -> None:
    """Make ``events`` (a session's) a :class:`SharedAliaser` if it is botocore's own aliaser with
    botocore's default aliases (otherwise its names may alias differently: it is left as it is)."""
    if type(events) is _BOTOCORE_ALIASER and events._event_aliases == EVENT_ALIASES:
        events.__class__ = SharedAliaser
        events._alias_name_cache = ALIASES


def _read_timestamps(client: Any) -> None:
    """The parsers of ``client``'s session read ``...Z`` timestamps with ``timestamps.parse_timestamp``
    (unless the session chose its own timestamp parser, or botocore's is not the code reviewed)."""
    factory: Any = getattr(getattr(client, "_endpoint", None), "_response_parser_factory", None)
    defaults: dict[str, Any] = getattr(factory, "_defaults", None) or {}
    if (
        type(factory) is botocore.parsers.ResponseParserFactory
        and "timestamp_parser" not in defaults
        and timestamps.reviewed()
    ):
        factory.set_parser_defaults(timestamp_parser=timestamps.parse_timestamp)


_LOADERS: dict[str | None, Any] = {}
_LOADERS_LOCK = threading.Lock()


def process_loader(session: Any) -> Any:
    """The botocore loader of this process for ``session``'s data path (``AWS_DATA_PATH`` or the
    profile's ``data_path``): one per process, shared by every collector in it, so that ``--jobs``
    children inherit the models the scanning process parsed before it forked (:func:`preload`)
    instead of each parsing its own."""
    key = session.get_config_variable("data_path")
    with _LOADERS_LOCK:
        loader = _LOADERS.get(key)
        if loader is None:
            loader = _LOADERS[key] = session.get_component("data_loader")
    share(loader)
    return loader


def preload(services: Iterable[str]) -> None:
    """Parse ``services``' models and endpoint rule sets into the process loader now (before a
    fork: see :func:`process_loader`), and check the per-call shortcuts' code
    (:mod:`~mlguard.collect.aws.reviewed`). The cycle collector is paused meanwhile: the models are a
    quarter of a million long-lived containers, which its full passes would walk again and again
    for nothing (0.32 -> 0.20 s of CPU for a scan's 19 services)."""
    core = botocore.session.Session()
    boto3.Session(botocore_session=core)  # as the collector's sessions are made (boto3's data path)
    loader = process_loader(core)
    with gc_paused():
        for service in sorted(set(services)):
            for kind in ("service-2", "endpoint-rule-set-1"):
                loader.load_service_model(service, kind)
    from mlguard.collect.aws import configreads, connections  # (they import this module)

    for shortcut in (sigv4, endpoints, timestamps, rulesets, configreads, connections):
        shortcut.reviewed()  # botocore's source read here, not in every child


def _node_copy(node: dict[str, Any]) -> dict[str, Any]:
    """One node of botocore's handler tree (``{'chunk', 'values', 'children'}``) copied: its own
    handler lists and child table, the same handlers and the same (still shared) children."""
    values = node["values"]
    return {
        "chunk": node["chunk"],
        "values": None if values is None else NodeList(values[0][:], values[1][:], values[2][:]),
        "children": dict(node["children"]),
    }


_BOTOCORE_TRIE: Any = botocore.hooks._PrefixTrie  # type: ignore[attr-defined]  # not in its stubs
_MIDDLE: int = botocore.hooks._MIDDLE  # type: ignore[attr-defined]


class SharedTrie(_BOTOCORE_TRIE):  # type: ignore[misc]
    """botocore's handler tree, copied on write: a copy shares every node with the tree it was made
    from, and either tree copies a node (and the path to it) before its first change to it. A
    client's emitter starts as a copy of its session's tree (some 200 nodes) and changes a few paths
    (its own handlers); botocore copied the whole tree for every client. Lookups are botocore's."""

    _root: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self._own: dict[int, dict[str, Any]] = {}  # id -> node this tree may change in place (kept alive)

    def _mine(self, node: dict[str, Any]) -> dict[str, Any]:
        self._own[id(node)] = node
        return node

    def _owns(self, node: dict[str, Any]) -> bool:
        return self._own.get(id(node)) is node

    def _path(self, parts: list[str], create: bool) -> None:
        """Make the nodes of ``parts`` (as far as they exist, or all with ``create``) this tree's own."""
        if not self._owns(self._root):
            self._root = self._mine(_node_copy(self._root))
        node = self._root
        for part in parts:
            child = node["children"].get(part)
            if child is None:
                if not create:
                    return
                child = self._mine({"chunk": part, "values": None, "children": {}})
            elif not self._owns(child):
                child = self._mine(_node_copy(child))
            node["children"][part] = child
            node = child

    def append_item(self, key: str, value: Any, section: int = _MIDDLE) -> None:
        self._path(key.split("."), create=True)
        super().append_item(key, value, section)

    def remove_item(self, key: str, value: Any) -> None:
        self._path(key.split("."), create=False)
        super().remove_item(key, value)

    def __copy__(self) -> SharedTrie:
        copied = self.__class__()
        copied._root = self._root
        self._own = {}  # every node is shared from now on: each tree copies before it writes
        return copied


# Whether a handler's code takes **kwargs, by code object: a plain function's signature is its code's.
_ACCEPTS_KWARGS: dict[types.CodeType, bool] = {}


_BOTOCORE_EMITTER: Any = HierarchicalEmitter  # its stubs lack the private parts used here


class LeanEmitter(_BOTOCORE_EMITTER):  # type: ignore[misc]
    """botocore's emitter, whose copy (every client's start) and registrations cost less."""

    def __init__(self) -> None:
        super().__init__()
        self._handlers = SharedTrie()

    def __copy__(self) -> LeanEmitter:
        new = self.__class__()
        state = self.__dict__.copy()  # as botocore's: the lookup cache is the same dict until a register
        state["_handlers"] = self._handlers.__copy__()
        state["_unique_id_handlers"] = self._unique_id_handlers.copy()
        new.__dict__ = state
        return new

    def _verify_accept_kwargs(self, func: Any) -> Any:
        target = func.__func__ if isinstance(func, types.MethodType) else func
        if type(target) is not types.FunctionType or "__signature__" in target.__dict__:
            return super()._verify_accept_kwargs(func)  # a callable object, a partial...: botocore's check
        code = target.__code__
        accepts = _ACCEPTS_KWARGS.get(code)
        if accepts is None:
            accepts = _ACCEPTS_KWARGS[code] = bool(code.co_flags & inspect.CO_VARKEYWORDS)
        if not accepts:
            raise ValueError(f"Event handler {func} must accept keyword arguments (**kwargs)")
        return None


def environment_proxies() -> dict[str, str] | None:
    """The proxies botocore would find in the environment for any endpoint (``get_environ_proxies``:
    none if ``NO_PROXY`` bypasses the host, else every ``*_proxy`` variable), or None if they depend
    on the endpoint or do not come from the environment alone."""
    request: Any = urllib.request
    if request.getproxies is not request.getproxies_environment:
        return None  # macOS, Windows: the system's settings too
    if request.proxy_bypass is not request.proxy_bypass_environment:
        return None
    proxies: dict[str, str] = request.getproxies_environment()
    if "no" not in proxies:
        return proxies  # nothing is bypassed: every endpoint gets all of them
    if all(scheme == "no" for scheme in proxies):
        return {}  # bypassed or not, no endpoint has a proxy to use
    return None  # NO_PROXY decides per host


def share(loader: Any) -> SharedModels:
    """Share service models, client classes and event aliases among the clients of every session
    using ``loader`` (for as long as the loader lives)."""
    botocore.client.ClientCreator = _SharingClientCreator  # type: ignore[misc]
    shared = _SHARED.get(loader)
    if shared is None:
        shared = _SHARED[loader] = SharedModels()
    return shared
