"""Meta-test of collection pruning (issue 15) on the demo AWS estate: for every built-in AWS policy
whose selection leaves a call out, a scan of that policy alone judges every resource exactly as
the full scan does (same resources, statuses, messages and evidence).

Policies whose selection prunes nothing collect exactly what the full scan collects and are not
re-run. Each case is one collection of the policy's types against the seeded moto server, so the
default run takes a deterministic sample (the first three policies of each type, by id: every type
that prunes is covered); ``MLGUARD_PRUNE_META=all`` runs every policy (79 cases, all equal when
this was written).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest

from mlguard.collect.aws import families  # noqa: F401  (registers the specs)
from mlguard.collect.aws.spec import SPECS
from mlguard.collect.base import NullProgress
from mlguard.collect.prune import scan_reads
from mlguard.config import AwsScope, Config
from mlguard.demo.environment import demo_environment
from mlguard.model import Inventory
from mlguard.pipeline import LoadedConfig, collect
from mlguard.policy.loader import Policy, builtin_policy_dir, load_policy_set
from tests.support.prune import Outcome, outcomes, sample

POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
AWS = [p for p in POLICIES.values() if p.provider == "aws"]


def _prunes(policy: Policy) -> bool:
    reads = scan_reads([policy], POLICIES.values())
    if reads is None:
        return False
    for rtype in policy.required_types():
        pruned = SPECS[rtype].pruned(reads.get(rtype)) if rtype in SPECS else None
        if pruned is not None and (pruned.details or pruned.enrich):
            return True
    return False


PRUNING = sorted(p.id for p in AWS if _prunes(p))


@dataclass
class Estate:
    scope: AwsScope
    full: Mapping[str, list[Outcome]]

    def collect(self, types: set[str], reads: Mapping[str, frozenset[str]] | None) -> Inventory:
        config = Config()
        config.scope.aws = self.scope.model_copy(deep=True)
        loaded = LoadedConfig(config, None, None)
        return collect(loaded, ["aws"], types, NullProgress(), reads=reads).inventory


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    with demo_environment() as demo:
        estate = Estate(demo.aws_scope, {})
        types = set().union(*(p.required_types() for p in AWS))
        inventory = estate.collect(types, None)
        estate.full = {p.id: outcomes(p, inventory) for p in AWS}
        yield estate


def test_most_aws_policies_leave_calls_out() -> None:
    assert len(PRUNING) > len(AWS) // 3, (len(PRUNING), len(AWS))
    assert "s3_bucket_default_encryption" in PRUNING


@pytest.mark.slow
@pytest.mark.parametrize("policy_id", sample(PRUNING, POLICIES))
def test_a_scan_of_one_policy_judges_as_the_full_scan(estate: Estate, policy_id: str) -> None:
    policy = POLICIES[policy_id]
    reads = scan_reads([policy], POLICIES.values())
    assert reads is not None
    inventory = estate.collect(policy.required_types(), reads)
    assert any(c.unread for c in inventory.coverage)  # something was left out ...
    assert outcomes(policy, inventory) == estate.full[policy_id]  # ... and nothing it judges changed
    assert estate.full[policy_id]  # the demo estate has resources it judges
