"""A client's configuration read once per variable while it is made, instead of up to fifty times.

Making a client, botocore reads its session's configuration variables through the session's
config store (a chain per variable: the session's instance variables, the environment, the
profile of the config file, a default) some 75 times: the same ``s3`` section three times, the
``profile`` variable once more for every read of the config file (each ``get_scoped_config``
reads it again, ~50 times a client), each read copying the session's instance variables and
looking the environment up again: close to half of the cost of a client.

:class:`MemoStore` is botocore's config store whose reads, while :func:`reading_once` is in
effect (around the making of one client, in one thread), are remembered for the rest of that
client's making: a variable read twice gives the value of the first read, which is what botocore
reads the second time unless the environment or the session changed in between (within the few
milliseconds of one client's making, on another thread: botocore's own reads are not one
snapshot either). A change to the store itself (a variable or provider set, as botocore does to
the client's copy of the store) forgets what was read. Only immutable values (None, strings,
numbers, booleans) are remembered, and only from chains made of botocore's own providers (whose
reads have no side effect); a dictionary (the ``s3`` section, which botocore may change in place)
or a provider of anyone else's is read every time, as before. Nothing is remembered from one
client to the next: each client reads the environment and config file as botocore does.

It runs only on the botocore code it was reviewed against (:func:`reviewed`); elsewhere every read
is botocore's.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from typing import Any

import botocore.configprovider as cp
import botocore.session

from mlguard.collect.aws.reviewed import Reproduced, unchanged

_PLAIN = (type(None), str, int, float, bool)

#: the providers whose reads only read (the session, the environment, the config file, a constant)
_PURE = frozenset(
    {
        cp.ChainProvider,
        cp.InstanceVarProvider,
        cp.ScopedConfigProvider,
        cp.EnvironmentProvider,
        cp.SectionConfigProvider,
        cp.ConstantProvider,
        cp.ConfiguredEndpointProvider,
    }
)

#: (store, variable) -> value, for the client being made in this context; None when not making one
_READS: contextvars.ContextVar[dict[tuple[Any, str], Any] | None] = contextvars.ContextVar(
    "mlguard_config_reads", default=None
)


def _pure(provider: Any) -> bool:
    kind = type(provider)
    if kind not in _PURE:
        return False
    if kind is cp.ChainProvider:
        return all(_pure(p) for p in provider._providers)
    if kind is cp.SectionConfigProvider:
        return all(_pure(p) for p in provider._override_providers.values())
    return True


_BOTOCORE_STORE: Any = cp.ConfigValueStore  # its stubs lack the private parts used here


class MemoStore(_BOTOCORE_STORE):  # type: ignore[misc]
    """botocore's config store; while a client is made (:func:`reading_once`), each variable is
    read once (see the module's text). Its copies (one per client) are :class:`MemoStore` too.
    ``_pure_providers``: whether every provider it was given is one of botocore's own (checked as
    they are given; botocore changes a provider in place only to add a constant to a copy of it)."""

    _pure_providers: bool

    def get_config_variable(self, logical_name: str) -> Any:
        reads = _READS.get()
        if reads is None:
            return super().get_config_variable(logical_name)
        key = (self, logical_name)  # the store itself: alive as long as the reads
        if key in reads:
            return reads[key]
        value = super().get_config_variable(logical_name)
        if type(value) in _PLAIN and self._pure_providers:
            reads[key] = value
        return value

    def _forget(self) -> None:
        reads = _READS.get()
        if reads is not None:
            reads.clear()

    def set_config_variable(self, logical_name: str, value: Any) -> None:
        self._forget()
        super().set_config_variable(logical_name, value)

    def clear_config_variable(self, logical_name: str) -> None:
        self._forget()
        super().clear_config_variable(logical_name)

    def set_config_provider(self, logical_name: str, provider: Any) -> None:
        self._forget()
        super().set_config_provider(logical_name, provider)
        self._pure_providers = self._pure_providers and _pure(provider)

    def _same_kind(self, copied: Any) -> Any:
        """``copied`` (botocore's copy of this store: the same providers, or copies of them) a
        :class:`MemoStore` too."""
        copied.__class__ = MemoStore
        copied._pure_providers = self._pure_providers
        return copied

    def __copy__(self) -> Any:
        return self._same_kind(super().__copy__())

    def __deepcopy__(self, memo: Any) -> Any:
        return self._same_kind(super().__deepcopy__(memo))


def adopt(session: Any) -> None:
    """Make ``session``'s config store a :class:`MemoStore` if it is botocore's own and botocore's
    code is the code reviewed."""
    store = session.get_component("config_store")
    if type(store) is _BOTOCORE_STORE and reviewed():
        store.__class__ = MemoStore
        store._pure_providers = all(_pure(provider) for provider in store._mapping.values())


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """Within: a :class:`MemoStore` read in this context reads each variable once (one client's
    making; a nested one shares it). Forgotten on leaving."""
    if _READS.get() is not None:
        yield
        return
    token = _READS.set({})
    try:
        yield
    finally:
        _READS.reset(token)


def reproduced() -> Reproduced:
    """The botocore code :class:`MemoStore` relies on (a store read is its provider's read; the
    providers only read; the scoped config is the session's cached profile map), with the digests
    of the versions reviewed (botocore 1.44.18)."""
    session: Any = botocore.session.Session
    store: Any = _BOTOCORE_STORE
    defaults: Any = cp.SmartDefaultsConfigStoreFactory
    chain: Any = cp.ChainProvider
    table: list[tuple[str, Any, set[str]]] = [
        ("ConfigValueStore.get_config_variable", store.get_config_variable, {"9552cf756d3f82e4"}),
        ("ConfigValueStore.set_config_variable", store.set_config_variable, {"bd96b95032355d66"}),
        ("ConfigValueStore.clear_config_variable", store.clear_config_variable, {"34512b176810d656"}),
        ("ConfigValueStore.set_config_provider", store.set_config_provider, {"c0cb936683926b87"}),
        ("ConfigValueStore.__copy__", store.__copy__, {"36077a1fef41d590"}),
        ("ConfigValueStore.__deepcopy__", store.__deepcopy__, {"d663303bf42d5f8e"}),
        ("ChainProvider.provide", cp.ChainProvider.provide, {"f1b8ef9c9ecfbfd2"}),
        ("ChainProvider._convert_type", chain._convert_type, {"e1d3a36dd7f7e302"}),
        ("InstanceVarProvider.provide", cp.InstanceVarProvider.provide, {"cfa7d6deec6424e2"}),
        ("ScopedConfigProvider.provide", cp.ScopedConfigProvider.provide, {"f12dbcefc727c814"}),
        ("EnvironmentProvider.provide", cp.EnvironmentProvider.provide, {"35e8e6dcd487a803"}),
        ("SectionConfigProvider.provide", cp.SectionConfigProvider.provide, {"e157e7e23d0c55cd"}),
        ("ConstantProvider.provide", cp.ConstantProvider.provide, {"b66a336d3cf9ee90"}),
        ("ConfiguredEndpointProvider.provide", cp.ConfiguredEndpointProvider.provide, {"fc0fca2b8050ede8"}),
        *(
            (f"ConfiguredEndpointProvider.{name}", getattr(cp.ConfiguredEndpointProvider, name), {digest})
            for name, digest in (
                ("_get_services_config", "b26c8d6234649bb8"),
                ("_get_endpoint_url_environment_service", "9246c7ed5b87e76b"),
                ("_get_endpoint_url_environment_global", "44339a6ccefc9680"),
                ("_get_endpoint_url_config_service", "24112738186d41d9"),
                ("_get_endpoint_url_config_global", "d485595de8a89e83"),
            )
        ),
        ("SmartDefaultsConfigStoreFactory._update_provider", defaults._update_provider, {"e49fbeed61b4ecb7"}),
        (
            "SmartDefaultsConfigStoreFactory._update_section_provider",
            defaults._update_section_provider,
            {"c41b9a3e0279b0c6"},
        ),
        ("Session.get_config_variable", session.get_config_variable, {"ecefd57c07eb1195"}),
        ("Session.get_scoped_config", session.get_scoped_config, {"b7d54840943d22cb"}),
        ("Session._build_profile_map", session._build_profile_map, {"af05c6bba60416bd"}),
        ("Session.instance_variables", session.instance_variables, {"5454b2007785416b"}),
        ("Session._register_config_store", session._register_config_store, {"af256f74f9393a15"}),
    ]
    return {name: (code, digests) for name, code, digests in table}


@functools.cache
def reviewed() -> bool:
    """Whether botocore's config code is, here, the code :class:`MemoStore` was reviewed against
    (:mod:`mlguard.collect.aws.reviewed`): if not, the collector's sessions keep botocore's store."""
    return unchanged(reproduced())
