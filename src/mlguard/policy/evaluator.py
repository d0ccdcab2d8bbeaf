"""The one evaluator: (policies, inventory) -> results.

Counting rule: every selected, enabled policy yields exactly one result per resource of its type
(SKIP when ``where`` is false), plus one ERROR per scope where that type could not be collected.
A policy whose type was not collected anywhere is listed in ``not_run`` with the reason, and so
is a policy joining types of several providers when one of them was not scanned at all (nothing
of that provider was covered, failed or found): a Databricks-only scan cannot judge a bucket
under a workspace. A provider that was scanned but whose type failed stays ERROR.

A collection error that names ``attributes`` does not hide resources: it leaves those attributes
unread, for one resource (with ``resource_uid``) or for every resource of its type in its scope
(without: a detail or enrichment call that failed for a whole scope or batch), so each result that
reads them is ERROR. One resource whose data breaks evaluation (a malformed value, an internal
error) yields one ERROR result naming the policy and the reason; the rest of the scan goes on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlguard.fields import Defaulted, apply_defaults
from mlguard.gc_pause import gc_paused
from mlguard.model import (
    CollectionError,
    Coverage,
    Evidence,
    Inventory,
    NotRun,
    Resource,
    Result,
    Scope,
    Status,
    fingerprint,
)
from mlguard.policy import operators
from mlguard.policy.conditions import Evaluation, Join, JoinOn, evaluate, join_key, provider_of
from mlguard.policy.loader import Policy

SCOPE_FIELDS = ("account", "region", "workspace")


def _field_match(a: str | None, b: str | None, strict: bool) -> bool:
    if strict:
        return a == b
    return a is None or b is None or a == b


class InventoryIndex:
    """Lookups the evaluator and joins need, built once per inventory."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.by_type: dict[str, list[Resource]] = defaultdict(list)
        for r in inventory.resources:
            self.by_type[r.type].append(r)
        # Both by object identity: input uids may collide.
        self._docs: dict[int, dict[str, Any]] = {}
        self._blocked: dict[int, dict[str, str]] = {}
        self.defaulted: dict[int, Defaulted] = {}
        self.type_errors: dict[str, list[CollectionError]] = defaultdict(list)  # keyed by type, "*" for all
        self.resource_errors: dict[str, list[CollectionError]] = defaultdict(list)
        # Scope- or batch-wide detail failures: the listing worked, some attributes were not read.
        self.attribute_errors: dict[str, list[CollectionError]] = defaultdict(list)
        for e in inventory.errors:
            if e.resource_uid:
                self.resource_errors[e.resource_uid].append(e)
            elif e.attributes:
                self.attribute_errors[e.resource_type or "*"].append(e)
            else:
                self.type_errors[e.resource_type or "*"].append(e)
        self.coverage: dict[str, list[Coverage]] = defaultdict(list)
        self.unread: dict[str, list[Coverage]] = defaultdict(list)  # attributes a scan left out
        for c in inventory.coverage:
            self.coverage[c.resource_type].append(c)
            if c.unread:
                self.unread[c.resource_type].append(c)
        # Providers the scan reached at all: something of theirs was covered, failed or found.
        self.providers = (
            {c.provider for c in inventory.coverage}
            | {e.provider for e in inventory.errors}
            | {r.provider for r in inventory.resources}
            | {i.provider for i in inventory.provenance.identities}
        )
        self._join_index: dict[tuple[str, str, str], dict[Any, list[Resource]]] = {}
        self._uids: dict[str, set[str]] = {}
        self._errors_of_type: dict[str, list[CollectionError]] = {}
        # Join outcomes per parameter set (by identity; the params are kept so the id stays theirs).
        self._memos: dict[int, tuple[dict[str, Any], dict[Any, Any]]] = {}

    def document(self, resource: Resource) -> dict[str, Any]:
        doc = self._docs.get(id(resource))
        if doc is None:
            doc = self._docs[id(resource)] = resource.document()
            # Declared platform defaults turn an absent value that no error blocked into a value.
            applied = apply_defaults(resource.type, doc, self.blocked(resource))
            if applied.values:
                self.defaulted[id(resource)] = applied
        return doc

    def forget_documents(self, resource_type: str) -> None:
        """Drop the documents (and what was derived with them) of every resource of a type no
        policy still to run reads: 100k documents alive beside all the results were the scan's
        peak of memory. Dropped ones would be built again, the same, if asked for."""
        for r in self.by_type.get(resource_type, ()):
            self._docs.pop(id(r), None)
            self._blocked.pop(id(r), None)
            self.defaulted.pop(id(r), None)

    def errors_for_type(self, resource_type: str, provider: str) -> list[CollectionError]:
        return self.type_errors.get(resource_type, []) + [
            e for e in self.type_errors.get("*", []) if e.provider == provider
        ]

    def blocked(self, resource: Resource) -> dict[str, str]:
        """Data keys of ``resource`` that a collection error left unread ("*": all): its own errors,
        attribute errors for its type that cover its scope, and what a scan pruned to its
        policies left out there (``Coverage.unread``); built once per resource, read-only."""
        blocked = self._blocked.get(id(resource))
        if blocked is None:
            blocked = self._blocked[id(resource)] = self._blocked_keys(resource)
        return blocked

    def _blocked_keys(self, resource: Resource) -> dict[str, str]:
        blocked: dict[str, str] = {}
        for e in self.resource_errors.get(resource.uid, []):
            why = f"{e.operation}: {e.code}"
            if not e.attributes:
                blocked["*"] = why
            for a in e.attributes:
                blocked.setdefault(a, why)
        wide = self.attribute_errors.get(resource.type, []) + [
            e for e in self.attribute_errors.get("*", []) if e.provider == resource.provider
        ]
        for e in wide:
            if self._scope_holds(e.scope, resource, None):
                for a in e.attributes:
                    blocked.setdefault(a, f"{e.operation}: {e.code} in {e.scope.label()}")
        for c in self.unread.get(resource.type, ()):
            if self._scope_holds(c.scope, resource, None):
                for a in c.unread or ():
                    blocked.setdefault(a, "not collected: no policy selected for the scan reads it")
        return blocked

    # -- JoinSource protocol
    def same_scope(self, a: Resource, b: Resource, same: tuple[str, ...] | None) -> bool:
        for f in SCOPE_FIELDS:
            strict = same is not None and f in same
            if same is not None and f not in same:
                continue
            if not _field_match(getattr(a, f), getattr(b, f), strict):
                return False
        return True

    def _scope_holds(self, scope: Scope, subject: Resource, same: tuple[str, ...] | None) -> bool:
        for f in SCOPE_FIELDS:
            if same is not None and f not in same:
                continue
            if not _field_match(getattr(scope, f), getattr(subject, f), strict=False):
                return False
        return True

    def covered(self, resource_type: str, subject: Resource, same: tuple[str, ...] | None) -> bool:
        return any(self._scope_holds(c.scope, subject, same) for c in self.coverage.get(resource_type, []))

    def scope_errors(
        self,
        resource_type: str,
        subject: Resource,
        same: tuple[str, ...] | None,
        attributes: frozenset[str] = frozenset(),
    ) -> list[CollectionError]:
        """Errors that may hide related resources of ``resource_type`` from ``subject``: failed
        listings, and errors that left one of ``attributes`` (the join keys) unread."""
        provider = resource_type.split(".", 1)[0]
        errors = self.errors_for_type(resource_type, provider)
        if attributes:
            wide = self.attribute_errors.get(resource_type, []) + [
                e for e in self.attribute_errors.get("*", []) if e.provider == provider
            ]
            errors = errors + [e for e in wide if attributes.intersection(e.attributes)]
            for e in self._resource_errors_of_type(resource_type):
                if not e.attributes or attributes.intersection(e.attributes):
                    errors.append(e)
        return [e for e in errors if self._scope_holds(e.scope, subject, same)]

    def _resource_errors_of_type(self, resource_type: str) -> list[CollectionError]:
        """The errors of each resource of ``resource_type``, in inventory order (built once)."""
        errors = self._errors_of_type.get(resource_type)
        if errors is None:
            errors = self._errors_of_type[resource_type] = [
                e for r in self.by_type.get(resource_type, []) for e in self.resource_errors.get(r.uid, [])
            ]
        return errors

    def has_uid(self, resource_type: str, uid: str) -> bool:
        uids = self._uids.get(resource_type)
        if uids is None:
            uids = self._uids[resource_type] = {r.uid for r in self.by_type.get(resource_type, [])}
        return uid in uids

    def join_memo(self, params: dict[str, Any]) -> dict[Any, Any]:
        held = self._memos.get(id(params))
        if held is None:
            held = self._memos[id(params)] = (params, {})
        return held[1]

    def forget_joins(self) -> None:
        """Drop the memoised join outcomes (after each policy: they are only reused within one)."""
        self._memos.clear()

    def candidates(self, join: Join, on: JoinOn, subject: Resource, key: Any) -> list[Resource]:
        cache_key = (join.resource, on.related, on.op)
        index = self._join_index.get(cache_key)
        if index is None:
            index = defaultdict(list)
            for r in self.by_type.get(join.resource, []):
                value = on.related_expr.search(self.document(r))
                if on.op == "contains" and isinstance(value, list):
                    for v in value:
                        index[join_key(v)].append(r)
                elif value is not None:
                    index[join_key(value)].append(r)
            self._join_index[cache_key] = index
        return index.get(key, [])


@dataclass
class Evaluated:
    results: list[Result] = field(default_factory=list)
    not_run: list[NotRun] = field(default_factory=list)
    policies_run: int = 0
    # The inventory's lookups, for what reads its documents after the policies (costs, the GPU
    # fleet): built once per inventory, not again by each. Its documents were dropped as their last
    # policy ran; a later reader builds them again, the same.
    index: InventoryIndex | None = None


def _scope_key(e: CollectionError) -> tuple[str, str | None, str | None, str | None]:
    return (e.provider, e.account, e.region, e.workspace)


def _unevaluable_uid(
    provider: str, account: str | None, region: str | None, workspace: str | None, rtype: str
) -> str:
    parts = [p for p in (account, region, workspace) if p]
    return f"unevaluable://{provider}/{'/'.join(parts) or '-'}/{rtype}"


def evaluate_inventory(
    policies: Iterable[Policy], inventory: Inventory, now: datetime | None = None
) -> Evaluated:
    out = Evaluated()
    with gc_paused():
        index = out.index = InventoryIndex(inventory)
        operators.set_now(now)
        policies = list(policies)
        last_use = {t: i for i, p in enumerate(policies) for t in p.required_types()}
        done: dict[int, list[str]] = defaultdict(list)  # policy position -> types it reads last
        for t, i in last_use.items():
            done[i].append(t)
        try:
            for i, policy in enumerate(policies):
                _evaluate_policy(policy, index, inventory, out)
                for t in done.get(i, ()):
                    index.forget_documents(t)
        finally:
            operators.set_now(None)
    return out


# Evidence values of these exact types are compared by value and type: two results' evidence
# holding equal ones is one Evidence (no float: 0.0 and -0.0 are equal but print apart).
_SHAREABLE = frozenset({str, type(None), bool, int})


class _Shared:
    """What many results of one policy hold equal, held once: 300k results at 100k resources
    repeat a few messages and evidences. Shared values are never changed in place (the models are
    frozen; a copy with an update gets its own), so sharing them changes no output. ``fields``:
    the fields of a result of the policy, each result's own replaced in a copy of them."""

    def __init__(self, policy: Policy) -> None:
        self.compliance = list(policy.compliance)
        self.messages: dict[str, str] = {}
        self.evidence: dict[tuple[Any, ...], Evidence] = {}
        self.policy_id = policy.id
        self.fields = Result.built(
            policy_id=policy.id,
            resource_uid="",
            resource_type=policy.resource,
            resource_name=None,
            provider=policy.provider,
            account=None,
            region=None,
            workspace=None,
            status=Status.ERROR,
            severity=policy.severity,
            category=policy.category,
            title=policy.title,
            message="",
            evidence=_NO_EVIDENCE,
            compliance=self.compliance,
        ).__dict__

    def message(self, text: str) -> str:
        return self.messages.setdefault(text, text)


_NO_EVIDENCE = Evidence()


def _result(r: Resource, status: Status, message: str, evidence: Evidence, shared: _Shared) -> Result:
    """The result of the policy of ``shared`` on ``r``: every value is the evaluator's own or comes
    from models already validated (the policy, the resource), so it is built without validating
    them again (:meth:`Result.built`'s, with the policy's fields copied)."""
    fields = shared.fields.copy()
    fields["resource_uid"] = uid = r.uid
    fields["resource_name"] = r.name
    fields["provider"] = r.provider
    fields["account"] = r.account
    fields["region"] = r.region
    fields["workspace"] = r.workspace
    fields["status"] = status
    fields["message"] = shared.message(message)
    fields["evidence"] = evidence
    fields["fingerprint"] = fingerprint(shared.policy_id, uid)
    return Result.built_from(fields)


def _unevaluable(
    policy: Policy,
    message: str,
    evidence: Evidence,
    uid: str,
    provider: str,
    account: str | None,
    region: str | None,
    workspace: str | None,
) -> Result:
    """The ERROR standing for the resources of a scope whose listing failed (validated: one per scope)."""
    return Result(
        policy_id=policy.id,
        resource_uid=uid,
        resource_type=policy.resource,
        resource_name=None,
        provider=provider,
        account=account,
        region=region,
        workspace=workspace,
        status=Status.ERROR,
        severity=policy.severity,
        category=policy.category,
        title=policy.title,
        message=message,
        evidence=evidence,
        fingerprint=fingerprint(policy.id, uid),
        compliance=list(policy.compliance),
    )


def _evaluate_policy(policy: Policy, index: InventoryIndex, inventory: Inventory, out: Evaluated) -> None:
    needed = sorted({provider_of(t) for t in policy.required_types()})
    unscanned = [p for p in needed if p not in index.providers]
    if len(needed) > 1 and unscanned:
        # A related resource of an unscanned provider is unknown for every subject: not run, not
        # one ERROR per subject.
        reason = f"needs {' and '.join(needed)} in the same scan ({', '.join(unscanned)} was not scanned)"
        out.not_run.append(NotRun(policy_id=policy.id, reason=reason))
        return
    resources = index.by_type.get(policy.resource, [])
    errors = index.errors_for_type(policy.resource, policy.provider)
    covered = bool(index.coverage.get(policy.resource))
    if not resources and not errors and not covered:
        out.not_run.append(NotRun(policy_id=policy.id, reason=f"{policy.resource} was not collected"))
        return
    out.policies_run += 1
    shared = _Shared(policy)
    append = out.results.append
    defaulted = index.defaulted  # filled as each resource's document is built
    for r in resources:
        try:
            result = _evaluate_resource(policy, r, index, shared)
        except Exception as exc:  # one result whatever the data holds: this result's ERROR
            result = _internal_error(policy, r, exc, shared)
        applied = defaulted.get(id(r))  # a note for each platform default the result relied on
        append(applied.annotate(result) if applied else result)
    index.forget_joins()
    # One ERROR per scope whose listing of this type failed: the resources nobody could see.
    by_scope: dict[tuple[str, str | None, str | None, str | None], list[CollectionError]] = defaultdict(list)
    for e in errors:
        by_scope[_scope_key(e)].append(e)
    for (provider, account, region, workspace), errs in sorted(by_scope.items(), key=lambda kv: str(kv[0])):
        ops = sorted({f"{e.operation} ({e.code})" for e in errs})
        where = errs[0].scope.label()
        message = (
            f"could not evaluate {policy.resource} in {where}: "
            f"collection failed: {', '.join(ops)}. {errs[0].message}"
        )
        out.results.append(
            _unevaluable(
                policy,
                message,
                Evidence(values={"collection_errors": [e.model_dump(exclude_none=True) for e in errs[:5]]}),
                _unevaluable_uid(provider, account, region, workspace, policy.resource),
                provider,
                account,
                region,
                workspace,
            )
        )


def _internal_error(policy: Policy, r: Resource, exc: Exception, shared: _Shared) -> Result:
    """The ERROR of an unexpected failure on ``r``'s data, with the policy id: not the scan's."""
    reason = f"{type(exc).__name__}: {str(exc)[:300]}"
    message = f"could not evaluate policy {policy.id}: internal error on this resource's data ({reason})"
    return _result(r, Status.ERROR, message, Evidence(collected_at=r.collected_at), shared)


def _evaluate_resource(policy: Policy, r: Resource, index: InventoryIndex, shared: _Shared) -> Result:
    doc = index.document(r)
    ev = Evaluation(policy.values, index, r, index.blocked(r))
    status: Status | None = None
    if policy.where is not None:
        applies, notes = evaluate(policy.where, doc, ev)
        if applies is None:
            status, message = Status.ERROR, "could not decide applicability: " + "; ".join(notes)
        elif not applies:
            status, message = Status.SKIP, "not applicable: " + ("; ".join(notes) or "where is false")
    if status is None:
        holds, notes = evaluate(policy.assert_, doc, ev)
        if holds is None:
            status, message = Status.ERROR, "could not evaluate: " + "; ".join(notes)
        elif holds:
            status, message = Status.PASS, "compliant"
        else:
            status, message = Status.FAIL, "; ".join(notes) or "assertion failed"
    return _result(r, status, message, _evidence(ev, r, shared), shared)


def _evidence(ev: Evaluation, r: Resource, shared: _Shared) -> Evidence:
    """The evidence of ``ev`` (its dict and list are this result's alone), or the equal one an
    earlier result of the policy holds (same values of the same types, in the same order)."""
    values = ev.evidence
    key: list[Any] = [r.collected_at, *ev.related, len(ev.related)]
    for k, v in values.items():
        kind = type(v)
        if kind not in _SHAREABLE:
            return Evidence.built(values, r.collected_at, ev.related)
        key += (k, kind, v)
    held = shared.evidence.get(tuple(key))
    if held is None:
        held = shared.evidence[tuple(key)] = Evidence.built(values, r.collected_at, ev.related)
    return held
