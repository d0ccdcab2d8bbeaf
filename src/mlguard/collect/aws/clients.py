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
class made by the first client of that (service, API version), and the alias cache of the first.
Nothing else is shared: each client keeps its own credentials, region, endpoint, config, HTTP
pool, retry state and event handlers (the read-only guard's included), as before. Sessions with
any other loader are not affected (botocore's own behaviour).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import Any

import boto3
import botocore.client
import botocore.session
from botocore.hooks import EVENT_ALIASES, EventAliaser


class SharedModels:
    """Service models and client classes, one per (service, API version), for one loader."""

    def __init__(self) -> None:
        self.models: dict[tuple[str, str | None], Any] = {}
        self.classes: dict[int, type] = {}  # id of a shared model (kept in ``models``) -> its class
        self.aliases: dict[str, str] = {}  # event name -> aliased name (botocore's default aliases)
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

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        client = super().create_client(*args, **kwargs)
        shared = self._shared()
        events: Any = client.meta.events
        aliaser = type(events) is EventAliaser  # botocore's own, whose private cache is set here
        if shared is not None and aliaser and events._event_aliases == EVENT_ALIASES:
            events._alias_name_cache = shared.aliases  # a pure function of the name: share its cache
        return client


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
    fork: see :func:`process_loader`)."""
    core = botocore.session.Session()
    boto3.Session(botocore_session=core)  # as the collector's sessions are made (boto3's data path)
    loader = process_loader(core)
    for service in sorted(set(services)):
        for kind in ("service-2", "endpoint-rule-set-1"):
            loader.load_service_model(service, kind)


def share(loader: Any) -> SharedModels:
    """Share service models, client classes and event aliases among the clients of every session
    using ``loader`` (for as long as the loader lives)."""
    botocore.client.ClientCreator = _SharingClientCreator  # type: ignore[misc]
    shared = _SHARED.get(loader)
    if shared is None:
        shared = _SHARED[loader] = SharedModels()
    return shared
