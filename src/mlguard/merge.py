"""``mlguard merge``: the partial inventories of a sharded collection made one inventory.

Shards only collect; the merged inventory is evaluated once, like a single scan's. Policies that
join resources (``join:``) need every related resource, which may lie in another shard's part:
evaluating each part alone would judge a resource without what it joins with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlguard import __version__
from mlguard.collect.base import kept_of
from mlguard.collect.shard import missing_shard_error, missing_unit_errors, shard_of
from mlguard.errors import InputError, InventoryError
from mlguard.model import CollectionError, IacScan, Identity, Inventory, Provenance, Resource, ShardInfo
from mlguard.pipeline import load_inventory


@dataclass
class Merged:
    inventory: Inventory
    missing: list[str]  # "K/N" of each shard no part holds
    disagree: list[int]  # the shard counts, when the parts disagree on N
    timed_out: bool  # a part's collection hit its --timeout

    @property
    def incomplete(self) -> bool:
        return bool(self.missing or self.disagree or self.timed_out)


def account_scope_types() -> dict[str, list[str]]:
    from mlguard.collect.aws import families  # noqa: F401  (registers the specs)
    from mlguard.collect.aws.spec import SPECS
    from mlguard.collect.databricks import account

    return {
        "aws": sorted(t for t, s in SPECS.items() if s.scope == "account"),
        "databricks": [account.TYPE],
    }


def merge_parts(paths: Sequence[Path], command: str | None = None) -> Merged:
    """One inventory of the part files. Bad input (exit 2): a file that is not a shard's inventory,
    two parts of the same shard, a unit read by two parts. A unit some part saw but no part read (a
    shard missing, parts of different N) is recorded as a collection error: its results are ERROR."""
    if not paths:
        raise InputError("mlguard merge: no part files given")
    loaded: list[tuple[str, Inventory]] = []
    for path in paths:
        if not path.is_file():
            raise InputError("part file not found", file=str(path))
        loaded.append((str(path), load_inventory(path)))
    return merge_inventories(loaded, command)


def merge_inventories(
    labelled: Sequence[tuple[str, Inventory]],
    command: str | None = None,
    claimed: Mapping[str, int] | None = None,
) -> Merged:
    """:func:`merge_parts` of parts already loaded (from files, or from the results store's parts
    of a run), each with a label that names it in messages and in ``provenance.shards``.
    ``claimed``: the processes' claims (unit -> index) of a ``--jobs`` run, whose units were not
    placed but claimed (:class:`~mlguard.collect.shard.Claims`): a unit no part read is then the
    claimant's (or, unclaimed, no process reached it)."""
    parts: list[tuple[str, Inventory, ShardInfo]] = []
    for label, inv in labelled:
        if inv.provenance.shard is None:
            raise InventoryError(
                "not a shard's partial inventory (no provenance.shard): "
                "write the parts with `mlguard collect --shard K/N`",
                file=label,
            )
        parts.append((label, inv, inv.provenance.shard))
    owner: dict[tuple[int, int], str] = {}
    for path, _, info in parts:
        key = (info.index, info.count)
        if key in owner:
            raise InputError(f"{owner[key]} and {path} are both shard {info.index}/{info.count}")
        owner[key] = path
    reader: dict[str, str] = {}
    for path, _, info in parts:
        for unit in info.units:
            other = reader.setdefault(unit, path)
            if other != path:
                raise InputError(f"unit {unit} was read by two parts: {other} and {path}")
    # A resource two parts read (from two units: a global and a regional list, an API that lists
    # another region's) is kept once, the copy a single process would keep (``kept_of``).
    kept: dict[str, Resource] = {}
    for _, inv, _ in sorted(parts, key=lambda p: p[2].index):
        for r in inv.resources:
            kept[r.uid] = r if r.uid not in kept else kept_of(kept[r.uid], r)
    plans = sorted({info.balanced_by or "" for _, _, info in parts})
    if len(plans) > 1:
        named = ", ".join(f"run {p}" if p else "the hash" for p in plans)
        raise InputError(
            f"the parts placed their units by different plans ({named}): a unit may have been read "
            "twice or not at all; collect every shard of a run against the same store state"
        )
    counts = sorted({info.count for _, _, info in parts})
    present = {(info.index, info.count) for _, _, info in parts}
    missing = [f"{i}/{n}" for n in counts for i in range(n) if (i, n) not in present]
    universe = {u for _, _, info in parts for u in info.all_units}
    read = {u for _, _, info in parts for u in info.units}
    n = max(counts)
    types = account_scope_types()
    errors: list[CollectionError] = []
    for _, inv, _ in parts:
        errors += [e for e in inv.errors if e not in errors]  # setup errors every shard repeats
    balanced = bool(plans[0])
    lone = int(missing[0].split("/")[0]) if len(missing) == 1 and len(counts) == 1 else None
    placed_on: set[int | None] = set()
    for unit in sorted(universe - read):
        message = None
        if claimed is not None:
            placed = claimed.get(unit)
            message = (
                f"unit {unit} was claimed by process {placed}/{n} and is in no part: it was not read"
                if placed is not None
                else f"no process of {n} claimed unit {unit} before the collection stopped: it was not read"
            )
        else:  # a balanced plan is not in the parts: the missing shard is named when it is the only one
            placed = lone if balanced else shard_of(unit, n)
        placed_on.add(placed)
        errors += missing_unit_errors(unit, placed, n, types, message)
    for spec in missing:
        # a missing shard the other parts placed no unit on: nothing is known to be unread, but the
        # run is still incomplete (exit 3), and its results must say why, not look whole
        if None not in placed_on and int(spec.split("/")[0]) not in placed_on:
            errors.append(missing_shard_error(spec))
    identities: list[Identity] = []
    for _, inv, _ in parts:
        identities += [i for i in inv.provenance.identities if i not in identities]
    provs = [inv.provenance for _, inv, _ in parts]
    finished = [p.finished_at for p in provs if p.finished_at]
    coverage = sorted(
        {c for _, inv, _ in parts for c in inv.coverage},
        key=lambda c: (c.provider, c.account or "", c.region or "", c.workspace or "", c.resource_type),
    )
    merged = Inventory(
        provenance=Provenance(
            version=__version__,
            started_at=min(p.started_at for p in provs),
            finished_at=max(finished) if finished else None,
            command=command,
            identities=identities,
            accounts=sorted({a for p in provs for a in p.accounts}),
            regions=sorted({r for p in provs for r in p.regions}),
            workspaces=sorted({w for p in provs for w in p.workspaces}),
            sources=[label for label, _, _ in parts],
            shards=sorted(
                (info.model_copy(update={"source": label}) for label, _, info in parts),
                key=lambda s: (s.count, s.index),
            ),
        ),
        resources=sorted(kept.values(), key=lambda r: (r.type, r.uid)),
        errors=errors,
        coverage=coverage,
        iac=_merged_iac([inv for _, inv, _ in parts]),
    )
    return Merged(
        merged,
        missing,
        counts if len(counts) > 1 else [],
        any(e.code == "Timeout" and e.operation == "scan" for e in errors),
    )


def _merged_iac(parts: Sequence[Inventory]) -> IacScan | None:
    """The parts' IaC findings as one scan's (each IaC unit was read by exactly one part)."""
    scans = [inv.iac for inv in parts if inv.iac is not None]
    if not scans:
        return None
    from mlguard.iac.scan import combine

    return combine(scans)
