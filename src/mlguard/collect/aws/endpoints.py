"""Endpoint rule-set parameters gathered from a plan made once per operation, for the collector's
clients.

Before each call botocore gathers the parameters of the service's endpoint rule set
(``EndpointRulesetResolver._get_provider_params``): for every parameter, in the rule set's order,
the operation's static context value, else the call's member named by the operation's context
parameters, else the operation context path (JMESPath over the call's arguments), else the
client's context value, else the builtin (region, FIPS, dual-stack, endpoint URL...). Each step
asks a per-instance cache with a freshly built key, and every builtin name is checked against
the enum of known builtins by a linear scan; about 7 us a call for a 4-parameter rule set, 20 us
for S3's 17. The endpoint provider itself is already cached by botocore (an LRU over the
parameters).

:class:`PlannedResolver` makes, once per (operation, rule set), the list of where each parameter
comes from, then per call reads the values from those places in the same order with the same
precedence: the same parameters, the same endpoint-feature registrations (user agent), the same
``before-endpoint-resolution`` event on a fresh copy of the client's builtins (S3's handlers run as
ever), a callable builtin called as before, an unknown builtin refused at the same point. Nothing
is remembered from one call to the next but the plan, which depends on the models alone.
:func:`install` gives it to a client whose resolver is botocore's own.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import jmespath
from botocore.exceptions import UnknownEndpointResolutionBuiltInName
from botocore.regions import EndpointResolverBuiltins, EndpointRulesetResolver

from mlguard.collect.aws.reviewed import Reproduced, unchanged

# (name, static value, call member, operation context path, client context variable, builtin)
Step = tuple[str, Any, str | None, str | None, str | None, Any]  # builtin: a name, None or _UNKNOWN

_KNOWN_BUILTINS = frozenset(member.value for member in EndpointResolverBuiltins)
_UNKNOWN = object()  # a builtin name botocore does not know: refused when the parameter needs it
_PLANS: dict[tuple[Any, tuple[tuple[str, str | None], ...], tuple[tuple[str, str], ...]], list[Step]] = {}
_PLANS_LOCK = threading.Lock()

_BOTOCORE_RESOLVER: Any = EndpointRulesetResolver  # its stubs lack the private parts used here


class PlannedResolver(_BOTOCORE_RESOLVER):  # type: ignore[misc]
    """botocore's rule-set resolver whose parameters come from a plan per operation."""

    def _plan(self, operation_model: Any) -> list[Step]:
        cache: dict[Any, Any] = self._instance_cache
        plan: list[Step] | None = cache.get(("mlguard-plan", operation_model))
        if plan is not None:
            return plan
        definitions = tuple((name, d.builtin) for name, d in self._param_definitions.items())
        client_params = tuple(self._get_client_context_params().items())
        key = (operation_model, definitions, client_params)
        with _PLANS_LOCK:
            plan = _PLANS.get(key)
        if plan is None:
            static = self._get_static_context_params(operation_model)
            dynamic = self._get_dynamic_context_params(operation_model)
            paths = operation_model.operation_context_parameters
            clients = dict(client_params)
            plan = []
            for name, builtin in definitions:
                path = paths[name]["path"] if name in paths else None
                known = builtin if builtin is None or builtin in _KNOWN_BUILTINS else _UNKNOWN
                plan.append((name, static.get(name), dynamic.get(name), path, clients.get(name), known))
            with _PLANS_LOCK:
                plan = _PLANS.setdefault(key, plan)
        cache[("mlguard-plan", operation_model)] = plan
        return plan

    def _get_provider_params(
        self, operation_model: Any, call_args: dict[str, Any], request_context: dict[str, Any]
    ) -> dict[str, Any]:
        """botocore's ``_get_provider_params`` (see the module's text), read from the plan."""
        provider_params: dict[str, Any] = {}
        builtins = self._get_customized_builtins(operation_model, call_args, request_context)
        client_context = self._client_context
        for name, static, member, path, client_var, builtin in self._plan(operation_model):
            value = static
            if value is None and member is not None:
                value = call_args.get(member)
            if value is None and path is not None:
                value = jmespath.search(path, call_args)
            if value is None and client_var is not None:
                value = client_context.get(client_var)
            if value is None and builtin is not None:
                if builtin is _UNKNOWN:
                    raise UnknownEndpointResolutionBuiltInName(name=self._param_definitions[name].builtin)
                value = builtins.get(builtin)
                if callable(value):
                    value = value()
            if value is not None:
                provider_params[name] = value
                self._register_endpoint_feature_ids(name, value)
        return provider_params


def reproduced() -> Reproduced:
    """The code of botocore's resolver that :meth:`PlannedResolver._get_provider_params` and its
    plan reproduce, with the digests of the versions reviewed (botocore 1.44.18)."""
    table: list[tuple[str, set[str]]] = [
        ("_get_provider_params", {"f8f9ec378ca17d78"}),
        ("_resolve_param_from_context", {"d64985d861c930ba"}),
        ("_resolve_param_as_static_context_param", {"11bcb7b61c118a66"}),
        ("_resolve_param_as_dynamic_context_param", {"fe779c692a1931c1"}),
        ("_resolve_param_as_client_context_param", {"6883b732ca1a0085"}),
        ("_resolve_param_as_operation_context_param", {"39a131921ddfad16"}),
        ("_resolve_param_as_builtin", {"a6b6db7e9bf08bfb"}),
        ("_get_static_context_params", {"4620d276872906c1"}),
        ("_get_dynamic_context_params", {"fbb6cca76270212c"}),
        ("_get_client_context_params", {"a0cb59223a094428"}),
    ]
    return {f"EndpointRulesetResolver.{n}": (getattr(_BOTOCORE_RESOLVER, n), d) for n, d in table}


@functools.cache
def reviewed() -> bool:
    """Whether botocore's resolver is, here, the code the plan was reviewed against
    (:mod:`mlguard.collect.aws.reviewed`): if not, the collector's clients keep botocore's."""
    return unchanged(reproduced())


def install(client: Any) -> bool:
    """Give ``client`` a :class:`PlannedResolver` if its resolver is botocore's own and botocore's
    code is the code reviewed (:func:`reviewed`). Whether it did."""
    resolver = getattr(client, "_ruleset_resolver", None)
    if type(resolver) is not EndpointRulesetResolver or not reviewed():
        return False
    resolver.__class__ = PlannedResolver
    return True
