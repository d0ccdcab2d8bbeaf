"""Databricks resource types described as data; the engine (``engine.py``) does the rest.

A :class:`ResourceSpec` says which route lists a type (and the SDK call behind it), where the items
sit in each answer, how the answer pages, which fields hold the id and name, how an item becomes
the resource's data (its normaliser), which per-item detail routes fill which data attributes, and
what the caller must be allowed to do. ``mlguard permissions databricks`` and the read-only guard's
route table are derived from these declarations (see ``permissions.py``), and so is what a scan
whose policies read fewer fields leaves out (:meth:`ResourceSpec.pruned`).

A type may be listed per item of a parent type (the Unity Catalog tree: ``ResourceSpec.parent``),
or with the account client instead of a workspace's (``ResourceSpec.level``: the account's
workspaces, each item its own workspace's resource).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mlguard.collect.secrets import SECRET_PATHS

if TYPE_CHECKING:
    from mlguard.collect.databricks._common import WorkspaceContext

Paging = Literal["token", "single", "sdk", "get", "self"]


@dataclass(kw_only=True, slots=True)
class Item:
    """One listed resource while it is being read: the raw list item, what each detail call
    returned (by detail name; absent when the call failed, was not made or was left out) and the
    normalised data."""

    raw: dict[str, Any]
    ident: str
    uid: str
    got: dict[str, Any] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)  # detail names whose call failed
    skipped: set[str] = field(default_factory=set)  # detail names left out (no policy reads them)
    data: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] | None = None
    name: str | None = None  # set by a normaliser whose name a detail supplies (else the spec's)
    region: str | None = None  # set by a normaliser whose region a detail supplies
    workspace: str | None = None  # an account-level item's workspace (ResourceSpec.workspace)

    def ok(self, detail: str) -> bool:
        """The detail was read (a ``when`` that did not hold also counts as read: nothing to add)."""
        return detail not in self.failed and detail not in self.skipped


@dataclass(frozen=True, kw_only=True, slots=True)
class Detail:
    """A per-item call that fills ``attributes`` of the item's data.

    ``fetch(ctx, item)`` makes the call(s) on ``routes`` (its result is ``item.got[name]``); a
    failure is a collection error against the resource on ``attributes`` only (plus the secret
    scrub's record). ``apply(data, value)`` merges a successful result into the data after the
    normaliser ran; without it the normaliser reads ``item.got`` itself. ``when``: made only for
    items it holds for. ``missing_ok``: a 404 means "none" (the value is None), not a failure.
    ``feeds``: attributes the call completes when the listing lacks them (a fallback, so not
    unknown when it fails): a scan whose policies read them still makes the call. ``required``:
    the item cannot be built without it (the metastore behind its assignment): never left out,
    and a failure fails the whole type, as a failed listing does."""

    name: str
    routes: tuple[str, ...]
    sdk_calls: tuple[str, ...]
    attributes: tuple[str, ...]
    fetch: Callable[[WorkspaceContext, Item], Any]
    apply: Callable[[dict[str, Any], Any], None] | None = None
    when: Callable[[Item], bool] | None = None
    missing_ok: bool = False
    feeds: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Prelude:
    """A workspace-wide lookup a type's normaliser needs (the node-type list, the supported
    runtimes): read once per workspace, shared by every type that names it. ``read(ctx)`` must
    not raise a transient error: it keeps the error in its result (the normaliser records it per
    resource). ``in_section``: read inside the type's progress unit (its calls count there);
    otherwise before the family's units start."""

    name: str
    routes: tuple[str, ...]
    sdk_calls: tuple[str, ...]
    read: Callable[[WorkspaceContext], Any]
    in_section: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourceSpec:
    """One Databricks resource type.

    ``list_route`` (``METHOD /path``) lists it; ``items`` is the key of the items in each answer.
    ``paging``: ``token`` follows ``next_page_token``; ``single`` is one answer; ``sdk`` iterates
    ``sdk_list(client)`` (typed SDK iterators that page themselves: SCIM, MLflow).
    ``normalize(ctx, item, preludes)`` fills ``item.data`` (and ``item.tags``) from the raw item
    and the details' results; it may record per-resource errors (unknown GPU facts).
    ``missing_ok``: a 404 on the list route means there is nothing to list (no metastore is
    assigned, a table without a monitor), not a failure: the type is covered with no resource.

    ``parent`` (a type of the same family): the list route is sent once per item of the parent's
    listing (``under`` picks which), with ``parent_query(parent_item)`` added to ``query``; with
    paging ``get`` it is one GET per parent item whose ``{placeholder}`` is the parent's id, and
    the answer is the one child, with the parent's id (a table's quality monitor). Such a family
    runs as a tree (:func:`mlguard.collect.databricks.engine.run_tree`). ``via`` (route, SDK call):
    the parent listing a per-parent type depends on, named first in its permission row.
    Paging ``self``: no list call, the one item is the workspace itself (``{"host": ...}``).

    ``level`` ``account``: listed with the account client, in an account-level context (routes
    under ``/api/2.0/accounts/{account_id}``, the context's account filled in); its coverage and
    type errors name the account, no workspace. ``workspace(ctx, item)``: the workspace an
    account-level item is or belongs to, the host of its uid and the workspace of its resource and
    of its errors."""

    type: str
    family: str
    list_route: str
    list_sdk_call: str
    items: str
    id: Callable[[dict[str, Any]], str]
    name: Callable[[dict[str, Any]], str | None]
    normalize: Callable[[WorkspaceContext, Item, dict[str, Any]], None]
    requires: str
    without_admin: str
    paging: Paging = "token"
    query: dict[str, Any] = field(default_factory=dict)
    sdk_list: Callable[[Any], Iterable[Any]] | None = None
    uid_id: Callable[[dict[str, Any]], str] | None = None  # the uid's id when it is not ``id``
    preludes: tuple[Prelude, ...] = ()
    details: tuple[Detail, ...] = ()  # made in order, before the normaliser
    after: tuple[Detail, ...] = ()  # made after the normaliser (object permissions)
    missing_ok: bool = False
    parent: str | None = None
    parent_query: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    under: Callable[[dict[str, Any]], bool] | None = None
    via: tuple[str, str] | None = None
    level: Literal["workspace", "account"] = "workspace"
    workspace: Callable[[WorkspaceContext, dict[str, Any]], str] | None = None

    def all_details(self) -> tuple[Detail, ...]:
        return (*self.details, *self.after)

    def routes(self) -> tuple[str, ...]:
        """Every ``METHOD /path/{placeholder}`` this type may send, in declaration order."""
        listed = () if self.paging == "self" else (self.list_route,)
        out: dict[str, None] = dict.fromkeys((*self.via[:1], *listed) if self.via else listed)
        for p in self.preludes:
            out.update(dict.fromkeys(p.routes))
        for d in self.all_details():
            out.update(dict.fromkeys(d.routes))
        return tuple(out)

    def sdk_calls(self) -> tuple[str, ...]:
        listed = () if self.paging == "self" else (self.list_sdk_call,)
        out: dict[str, None] = dict.fromkeys((*self.via[1:], *listed) if self.via else listed)
        for p in self.preludes:
            out.update(dict.fromkeys(p.sdk_calls))
        for d in self.all_details():
            out.update(dict.fromkeys(d.sdk_calls))
        return tuple(out)

    def pruned(self, reads: frozenset[str] | None) -> Pruned:
        """Which details a scan whose policies read only ``reads`` (root data keys of this type;
        None: everything) can leave out, and the attributes that leaves unread.

        A detail is made when one of its attributes (or ``feeds``) is read or when it supplies an
        attribute every scan reads (:data:`ALWAYS_READ`). When a selected policy reads the secret
        scrub's record, nothing is left out: the scrub must have seen every text the type holds.
        Otherwise a left-out detail also leaves that record unread (its text was never
        scrubbed)."""
        if reads is None or SECRET_PATHS in reads:
            return Pruned()
        wanted = reads | ALWAYS_READ
        skip = frozenset(
            d.name
            for d in self.all_details()
            if not d.required and not wanted.intersection((*d.attributes, *d.feeds))
        )
        unread: dict[str, None] = {}
        for d in self.all_details():
            if d.name in skip:
                unread.update(dict.fromkeys((*d.attributes, SECRET_PATHS)))
        return Pruned(details=skip, unread=tuple(sorted(unread)))


# Attributes every scan reads, whatever its policies (as on AWS): tags (owners, waivers, reports)
# and what the GPU fleet and cost figures read (mlguard.cost.fleet: node facts, served entities).
ALWAYS_READ: frozenset[str] = frozenset({"tags", "gpu", "driver_gpu", "is_gpu", "has_gpu", "served_entities"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Pruned:
    """What a scan leaves out of one type: the names of its details, and the attributes that
    leaves unread (recorded on the type's coverage, so anything that reads them is unknown)."""

    details: frozenset[str] = frozenset()
    unread: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class FamilySpec:
    """Types collected together (one module): their specs, in the order they run."""

    name: str
    specs: tuple[ResourceSpec, ...]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(s.type for s in self.specs)
