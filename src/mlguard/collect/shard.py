"""Sharding a scan over N processes (``mlguard collect --shard K/N``) and merging the parts.

The units of a scan are an AWS (account, region) pair, an AWS account's global types (IAM, S3,
account settings: the specs with ``scope == "account"``; one unit per account, so they are read by
exactly one shard), and a Databricks workspace (plus, for an account scan, the account's own
types), and with ``scan --iac PATH`` an IaC unit: a Terraform module directory or a template file
under PATH (:func:`mlguard.iac.scan.iac_units`, keyed by its path relative to PATH). A unit belongs
to shard ``sha256(key) mod N``. A hash, not a round-robin over a sorted list: the units are only
discovered during the scan (the organisation's accounts, each account's enabled regions),
concurrently and independently in every shard, so no shard knows the whole list up front; a hash of
the unit's own key needs no coordination and gives every process the same answer on every run.
Every shard still lists the accounts and regions (cheap), and records every unit it saw
(``all_units``) next to the ones it read (``units``), so ``mlguard merge`` knows what a missing
shard would have read and marks exactly that as not read (ERROR).

Balancing (``collect --shard`` or ``scan --shard`` with a results store): a hash spreads units
evenly by number, not by size, so one shard may get the few large accounts, workspaces or root
modules. When the store holds a previous run, every shard reads that same run's sizes and places
the units it knows by them (:func:`balance`). A unit's size is what predicts its cost: for an AWS
unit, the resources the run held there; for a Databricks workspace (or account), its resources;
for an IaC unit, the run's IaC results in the files it reads (its directory, and the local modules
it calls: a module two roots call is read, and counted, with each). Weight: 1 + that size. Each
kind (``aws``, ``databricks``, ``iac``) is balanced on its own, since a shard reads them one after
another (or side by side) and an AWS resource costs no fixed number of checkov results: largest
first, each onto the shard with the least weight of that kind so far (ties: the shard with the
least share of the kinds already placed, then the lower index; units in (-weight, key) order), so
the same previous run gives every process the same plan. Units the previous run did not hold (a
new account, region, workspace or root module, one without results) keep the hash. The plan's run
is recorded (``balanced_by``), and ``mlguard merge`` refuses parts planned from different runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from mlguard.errors import InputError
from mlguard.model import CollectionError, ShardInfo

#: Where ``--shard auto/N`` finds the index, first match wins.
INDEX_VARIABLES = ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "MLGUARD_SHARD_INDEX")

_SPEC = re.compile(r"^\s*(auto|\d+)\s*/\s*(\d+)\s*$")


def shard_of(key: str, count: int) -> int:
    """The shard a unit belongs to: stable across runs, processes and machines."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % count


def aws_unit(account: str, region: str | None) -> str:
    """The key of an AWS unit; ``region`` None: the account's global (account-scope) types."""
    return f"aws/{account}/{region or 'global'}"


def databricks_workspace_unit(workspace: str) -> str:
    return f"databricks/workspace/{workspace}"


def databricks_account_unit(account: str) -> str:
    return f"databricks/account/{account}"


def unit_kind(key: str) -> str:
    """A unit's kind: the first segment of its key (``aws``, ``databricks``, ``iac``)."""
    return key.split("/", 1)[0]


def balance(weights: Mapping[str, int], count: int) -> dict[str, int]:
    """A plan (unit -> shard) that evens out each kind's weight over the shards: per kind (in name
    order), largest unit first, onto the shard with the least weight of that kind so far (ties:
    the least share of the kinds placed before, then the lower index). Deterministic: units are
    taken in the order (-weight, key), whatever the order of ``weights``."""
    kinds: dict[str, dict[str, int]] = {}
    for key, weight in weights.items():
        kinds.setdefault(unit_kind(key), {})[key] = weight
    shares = [0.0] * count  # each shard's share of the kinds placed so far
    plan: dict[str, int] = {}
    for kind in sorted(kinds):
        loads = [0] * count
        for key, weight in sorted(kinds[kind].items(), key=lambda kv: (-kv[1], kv[0])):
            target = min(range(count), key=lambda i: (loads[i], shares[i], i))
            plan[key] = target
            loads[target] += weight
        total = sum(loads) or 1
        shares = [shares[i] + loads[i] / total for i in range(count)]
    return plan


class Claims(Protocol):
    """Units handed out at run time among the processes of one machine (``--jobs``, see
    :mod:`mlguard.collect.jobs`): a unit is read by the first process to claim it."""

    def claim(self, key: str) -> bool:
        """Whether this process reads ``key``: True for the first process to ask, and for it
        only, however often it asks."""
        ...


@dataclass
class Shard:
    """This process's shard: which units it reads, and every unit it saw (thread-safe). ``plan``
    places the units it names (see :func:`balance`); the others go by :func:`shard_of`. With
    ``claims`` (``--jobs``), nothing is placed: each unit is read by the process that claims it
    first, when that process is ready to read it (:meth:`keeps`, then :meth:`takes`), so a process
    that is slower (busier, or with larger units) reads fewer."""

    index: int
    count: int
    units: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    plan: Mapping[str, int] = field(default_factory=dict)
    balanced_by: str | None = None
    claims: Claims | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shard_for(self, key: str) -> int:
        return self.plan.get(key, shard_of(key, self.count))

    def owns(self, key: str) -> bool:
        """Whether this shard reads unit ``key``, decided now (recorded either way)."""
        mine = self.claims.claim(key) if self.claims is not None else self.shard_for(key) == self.index
        with self._lock:
            self.seen.add(key)
            if mine:
                self.units.add(key)
        return mine

    def keeps(self, key: str) -> bool:
        """Whether unit ``key`` stays on this process's work list (recorded as seen). Placed: only
        this shard's (:meth:`owns`). Claimed: every unit, each one claimed when its work is about to
        start (:meth:`takes`)."""
        if self.claims is None:
            return self.owns(key)
        with self._lock:
            self.seen.add(key)
        return True

    def takes(self, key: str) -> bool:
        """Whether this process reads unit ``key``, asked as its work starts (the unit was kept by
        :meth:`keeps`). Placed: yes, it is this shard's. Claimed: if this process claims it first."""
        return self.claims is None or self.owns(key)

    def info(self) -> ShardInfo:
        with self._lock:
            return ShardInfo(
                index=self.index,
                count=self.count,
                units=sorted(self.units),
                all_units=sorted(self.seen),
                balanced_by=self.balanced_by,
            )


def parse_shard(text: str, env: Mapping[str, str] | None = None) -> Shard:
    """``K/N`` or ``auto/N`` (the index from the job engine's environment). Bad input: InputError
    (exit 2), naming what was wrong."""
    env = os.environ if env is None else env
    m = _SPEC.match(text)
    if not m:
        raise InputError(f"--shard {text!r}: expected K/N (e.g. 0/4) or auto/N")
    count = int(m.group(2))
    if count < 1:
        raise InputError(f"--shard {text!r}: the shard count N must be at least 1")
    if m.group(1) == "auto":
        found = [(name, env[name]) for name in INDEX_VARIABLES if env.get(name, "").strip()]
        if not found:
            raise InputError(
                f"--shard {text!r}: no shard index in the environment "
                f"(set one of {', '.join(INDEX_VARIABLES)})"
            )
        name, raw = found[0]
        if not raw.strip().isdigit():
            raise InputError(f"--shard {text!r}: {name}={raw!r} is not a shard index (0..{count - 1})")
        index, origin = int(raw), f"{name}={raw.strip()}"
    else:
        index, origin = int(m.group(1)), text.strip()
    if index >= count:
        raise InputError(f"--shard {text!r}: shard index {origin} is not below the shard count {count}")
    return Shard(index, count)


def missing_unit_errors(
    key: str,
    shard: int | None,
    count: int,
    account_types: Mapping[str, Sequence[str]],
    message: str | None = None,
) -> list[CollectionError]:
    """What a missing shard would have read, as collection errors: its results are ERROR.
    ``account_types``: each provider's account-scope types (an account unit's error names each,
    so the account's regional resources and workspaces, read by other shards, are not marked)."""
    parts = key.split("/")
    which = f"shard {shard}/{count} is" if shard is not None else f"a shard of {count} is"
    message = message or f"{which} missing from the merge: unit {key} was not read"
    base = {"operation": "shard", "code": "ShardMissing", "message": message}
    if parts[0] == "aws" and len(parts) == 3:
        _, account, region = parts
        if region == "global":
            return [
                CollectionError(provider="aws", account=account, resource_type=t, **base)
                for t in account_types.get("aws", ())
            ]
        return [CollectionError(provider="aws", account=account, region=region, **base)]
    if parts[0] == "databricks" and len(parts) == 3:
        _, kind, name = parts
        if kind == "account":
            return [
                CollectionError(provider="databricks", account=name, resource_type=t, **base)
                for t in account_types.get("databricks", ())
            ]
        return [CollectionError(provider="databricks", workspace=name, **base)]
    return [CollectionError(provider=parts[0], **base)]


def missing_shard_error(spec: str) -> CollectionError:
    """A missing shard ``K/N`` that the present parts placed no unit on. It leaves no resource
    unread (its provider, ``mlguard``, has none) but makes the run incomplete in every report, as
    the merge's exit 3 says."""
    return CollectionError(
        provider="mlguard",
        operation="shard",
        code="ShardMissing",
        message=f"shard {spec} is missing from the merge: the other parts placed no unit on it, "
        "but what it would have seen is unknown",
    )
