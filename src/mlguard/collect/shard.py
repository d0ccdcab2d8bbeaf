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

Balancing (``collect --shard`` with a results store): a hash spreads units evenly by number, not by
size, so one shard may get the few large accounts. When the store holds a previous run, every
shard reads that same run's resources per unit and places the units it knows largest first, each
on the shard with the least weight so far (weight: 1 + the unit's resources; ties: the lower shard
index, then the unit key), so the same previous run gives every process the same plan. Units the
previous run did not hold (a new account or region, Databricks workspaces) keep the hash. The
plan's run is recorded (``balanced_by``), and ``mlguard merge`` refuses parts planned from
different runs.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


def balance(weights: Mapping[str, int], count: int) -> dict[str, int]:
    """A plan (unit -> shard) that evens out the shards' total weight: largest unit first, onto the
    shard with the least weight so far (ties: lower index). Deterministic: units are taken in the
    order (-weight, key)."""
    loads = [0] * count
    plan: dict[str, int] = {}
    for key, weight in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0])):
        target = min(range(count), key=lambda i: (loads[i], i))
        plan[key] = target
        loads[target] += weight
    return plan


@dataclass
class Shard:
    """This process's shard: which units it reads, and every unit it saw (thread-safe). ``plan``
    places the units it names (see :func:`balance`); the others go by :func:`shard_of`."""

    index: int
    count: int
    units: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    plan: Mapping[str, int] = field(default_factory=dict)
    balanced_by: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def shard_for(self, key: str) -> int:
        return self.plan.get(key, shard_of(key, self.count))

    def owns(self, key: str) -> bool:
        """Whether this shard reads unit ``key`` (recorded either way)."""
        mine = self.shard_for(key) == self.index
        with self._lock:
            self.seen.add(key)
            if mine:
                self.units.add(key)
        return mine

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
    key: str, shard: int | None, count: int, account_types: Mapping[str, Sequence[str]]
) -> list[CollectionError]:
    """What a missing shard would have read, as collection errors: its results are ERROR.
    ``account_types``: each provider's account-scope types (an account unit's error names each,
    so the account's regional resources and workspaces, read by other shards, are not marked)."""
    parts = key.split("/")
    which = f"shard {shard}/{count} is" if shard is not None else f"a shard of {count} is"
    message = f"{which} missing from the merge: unit {key} was not read"
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
