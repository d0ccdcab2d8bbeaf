"""One parsed endpoint rule set per service for the collector's clients, instead of one per client.

botocore gives every client a new ``EndpointRulesetResolver`` holding a new ``EndpointProvider``,
which parses the service's endpoint rule set (the JSON of ``endpoint-rule-set-1``, already loaded
once by the shared loader) into rule, condition and parameter objects: a fifth of the cost of
making a client (~0.3 ms for SageMaker's, more for S3's). The parsed rule set is read-only (its
objects are set in their constructors and only read after: ``RuleSet.evaluate`` works on copies
of the parameters), and a provider's answers are a function of the parameters it is given
(region, FIPS, dual-stack, endpoint URL, account id...: everything that differs between clients),
remembered in botocore's LRU keyed by the provider and those parameters.

:func:`client_args` has botocore make a client's arguments as ever, but with an empty placeholder
rule set, then gives the client's resolver the provider shared by every client of that (rule
set, partitions, excluded parameters) of the loader: the resolver (its builtins, client context,
emitter, TLS choice, auth preferences) stays the client's own, and a resolution made for one
client's parameters serves another's only where the parameters are the same (botocore's LRU key).
It runs only on the botocore code it was reviewed against (:func:`reviewed`); elsewhere, and for
clients whose resolver is not botocore's, botocore's own path runs.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import botocore.args
import botocore.client
import botocore.endpoint_provider
import botocore.regions
import botocore.utils

from mlguard.collect.aws.reviewed import Reproduced, unchanged

#: a rule set with no parameters and no rules: parsed for nothing, then replaced
PLACEHOLDER: dict[str, Any] = {"version": "1.0", "parameters": {}, "rules": []}

_BOTOCORE_RESOLVER: Any = botocore.regions.EndpointRulesetResolver
_BOTOCORE_PROVIDER: Any = botocore.endpoint_provider.EndpointProvider


def _botocore_creator() -> Any:
    """botocore's own ``ClientCreator`` (``botocore.client.ClientCreator`` is the collector's
    subclass once :func:`mlguard.collect.aws.clients.share` ran)."""
    return next(c for c in botocore.client.ClientCreator.__mro__ if c.__module__ == "botocore.client")


class Providers:
    """The endpoint providers of one loader's rule sets: one per (rule set, partitions, excluded
    parameters), each kept with the data it was made from (so their ids stay theirs)."""

    def __init__(self) -> None:
        self._providers: dict[tuple[int, int, frozenset[str]], tuple[Any, Any, Any]] = {}
        self._lock = threading.Lock()

    def provider(self, ruleset: Any, partitions: Any, excluded: frozenset[str]) -> Any:
        key = (id(ruleset), id(partitions), excluded)
        with self._lock:
            entry = self._providers.get(key)
        if entry is None:
            made = _BOTOCORE_PROVIDER(
                ruleset_data=ruleset, partition_data=partitions, excluded_params=excluded or None
            )
            with self._lock:
                entry = self._providers.setdefault(key, (ruleset, partitions, made))
        return entry[2]

    def __len__(self) -> int:
        return len(self._providers)


def client_args(creator: Any, providers: Providers, args: tuple[Any, ...]) -> dict[str, Any]:
    """botocore's ``ClientCreator._get_client_args(*args)`` for ``creator``, whose endpoint resolver
    holds the provider of ``providers`` for its rule set (see the module's text)."""
    ruleset, partitions = args[-2], args[-1]
    run: Any = _botocore_creator()._get_client_args
    if ruleset is None or not reviewed():
        return run(creator, *args)  # type: ignore[no-any-return]
    built: dict[str, Any] = run(creator, *args[:-2], PLACEHOLDER, partitions)
    resolver: Any = built.get("endpoint_ruleset_resolver")
    placeholder: Any = getattr(resolver, "_provider", None)
    if type(resolver) is not _BOTOCORE_RESOLVER or type(placeholder) is not _BOTOCORE_PROVIDER:
        return run(creator, *args)  # type: ignore[no-any-return]  # not botocore's: botocore's path
    provider = providers.provider(ruleset, partitions, frozenset(placeholder._excluded_params))
    resolver._provider = provider
    resolver._param_definitions = provider.ruleset.parameters
    return built


def reproduced() -> Reproduced:
    """The botocore code :func:`client_args` relies on (the rule set's data goes only to the
    provider, the provider's state is set in constructors, its answers depend on the parameters),
    with the digests of the versions reviewed (botocore 1.44.18)."""
    provider, creator = botocore.endpoint_provider, _botocore_creator()
    args: Any = botocore.args.ClientArgsCreator  # its stubs lack _build_endpoint_resolver
    table: list[tuple[str, Any, set[str]]] = [
        ("ClientCreator.create_client", creator.create_client, {"cd626d7f603800b5"}),
        ("ClientCreator._get_client_args", creator._get_client_args, {"5079400f2299d224"}),
        ("ClientArgsCreator.get_client_args", args.get_client_args, {"5143d4fee85f86ae"}),
        ("ClientArgsCreator._build_endpoint_resolver", args._build_endpoint_resolver, {"ada328e46ec5c500"}),
        ("EndpointRulesetResolver.__init__", _BOTOCORE_RESOLVER.__init__, {"f949b3fbc81d66b2"}),
        ("EndpointProvider.__init__", _BOTOCORE_PROVIDER.__init__, {"f0f1d8c350222316"}),
        ("EndpointProvider.resolve_endpoint", _BOTOCORE_PROVIDER.resolve_endpoint, {"53da8e6693ef5fb5"}),
        ("EndpointProvider._resolve_endpoint", _BOTOCORE_PROVIDER._resolve_endpoint, {"403e43414c7f0d0e"}),
        ("RuleSet.__init__", provider.RuleSet.__init__, {"84db24ca38fd78db"}),
        ("RuleSet.evaluate", provider.RuleSet.evaluate, {"9e0e208aa9ced0f4"}),
        ("RuleSet.process_input_parameters", provider.RuleSet.process_input_parameters, {"5f765acdc5904a13"}),
        ("lru_cache_weakref", botocore.utils.lru_cache_weakref, {"904dbc7af9949880"}),
    ]
    return {name: (code, digests) for name, code, digests in table}


@functools.cache
def reviewed() -> bool:
    """Whether botocore's code is, here, the code :func:`client_args` was reviewed against
    (:mod:`mlguard.collect.aws.reviewed`): if not, every client parses its own rule set."""
    return unchanged(reproduced())
