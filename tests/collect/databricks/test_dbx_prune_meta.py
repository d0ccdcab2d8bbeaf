"""Collection pruning on Databricks (issue 15), on the demo workspace: a scan of one policy leaves
out the per-item detail routes whose fields it does not read, records them as unread on the type's
coverage (so a policy that reads them is ERROR), and judges every resource as the full scan does.

Each case is one collection of the policy's types against the fake workspace; the default run
takes the first three pruning policies of each type (by id); ``MLGUARD_PRUNE_META=all`` runs every
one."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest
from tests.support.databricks_harness import RecordingClock
from tests.support.prune import Outcome, outcomes, sample

from mlguard.collect.base import InventorySink, NullProgress
from mlguard.collect.databricks import ALL_TYPES, DatabricksCollector
from mlguard.collect.databricks.permissions import SPEC_FAMILIES
from mlguard.collect.databricks.spec import ResourceSpec
from mlguard.collect.prune import scan_reads
from mlguard.config import ScopeConfig
from mlguard.demo.databricks_fake import FakeWorkspaceServer, demo_state
from mlguard.fields import all_declared
from mlguard.model import Inventory, Status
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import Policy, builtin_policy_dir, load_policy_set

POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
DBX = [p for p in POLICIES.values() if p.provider == "databricks"]
SPECS: dict[str, ResourceSpec] = {s.type: s for family in SPEC_FAMILIES for s in family.specs}
WORKSPACE = frozenset(ALL_TYPES - {"databricks.account_workspace"})


def _left_out(policy: Policy) -> dict[str, frozenset[str]]:
    reads = scan_reads([policy], POLICIES.values())
    if reads is None:
        return {}
    out = {t: SPECS[t].pruned(reads.get(t)).details for t in policy.required_types() if t in SPECS}
    return {t: d for t, d in out.items() if d}


PRUNING = sorted(p.id for p in DBX if _left_out(p))


@dataclass
class Workspace:
    server: FakeWorkspaceServer
    full: Mapping[str, list[Outcome]]

    def collect(self, types: frozenset[str], reads: Mapping[str, frozenset[str]] | None) -> Inventory:
        sink = InventorySink(reads=reads)
        DatabricksCollector(ScopeConfig(), clock=RecordingClock()).collect(types, sink, NullProgress())
        return sink.to_inventory(started_at="2026-01-01T00:00:00Z")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    server = FakeWorkspaceServer(demo_state()).start()
    with pytest.MonkeyPatch.context() as mp:
        for var in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET"):
            mp.delenv(var, raising=False)
        for var in ("DATABRICKS_ACCOUNT_ID", "DATABRICKS_AUTH_TYPE"):
            mp.delenv(var, raising=False)
        mp.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path_factory.mktemp("cfg") / "none"))
        mp.setenv("DATABRICKS_HOST", server.host)
        mp.setenv("DATABRICKS_TOKEN", server.token)
        ws = Workspace(server, {})
        inventory = ws.collect(WORKSPACE, None)
        ws.full = {p.id: outcomes(p, inventory) for p in DBX}
        try:
            yield ws
        finally:
            server.stop()


def test_many_databricks_policies_leave_calls_out() -> None:
    assert len(PRUNING) > len(DBX) // 4, (len(PRUNING), len(DBX))
    assert "databricks_sql_warehouse_auto_stop" in PRUNING


@pytest.mark.slow
@pytest.mark.parametrize("policy_id", sample(PRUNING, POLICIES))
def test_a_scan_of_one_policy_judges_as_the_full_scan(workspace: Workspace, policy_id: str) -> None:
    policy = POLICIES[policy_id]
    reads = scan_reads([policy], POLICIES.values())
    inventory = workspace.collect(frozenset(policy.required_types()) & ALL_TYPES, reads)
    assert any(c.unread for c in inventory.coverage)  # something was left out ...
    assert outcomes(policy, inventory) == workspace.full[policy_id]  # ... nothing it judges changed


@pytest.mark.slow
def test_the_sample_judges_resources(workspace: Workspace) -> None:
    """The comparisons above are not all vacuous: most sampled policies judge demo resources."""
    judged = [i for i in sample(PRUNING, POLICIES) if workspace.full[i]]
    assert len(judged) > len(sample(PRUNING, POLICIES)) * 3 // 4


def test_left_out_routes_are_not_called_and_their_fields_are_unknown(workspace: Workspace) -> None:
    """A scan of the job timeout policy reads neither job permissions nor the full settings of
    long jobs: those requests are not sent, and a policy that reads permissions is ERROR."""
    narrow = POLICIES["databricks_job_timeout"]
    reads = scan_reads([narrow], POLICIES.values())
    requests = workspace.server.fake.requests
    before = len(requests)
    full = workspace.collect(frozenset({"databricks.job"}), None)
    full_paths = [r.path for r in requests[before:]]
    before = len(requests)
    inventory = workspace.collect(frozenset({"databricks.job"}), reads)
    narrow_paths = [r.path for r in requests[before:]]

    assert any(p.startswith("/api/2.0/permissions/jobs/") for p in full_paths)
    assert not any(p.startswith("/api/2.0/permissions/jobs/") for p in narrow_paths)
    assert len(narrow_paths) < len(full_paths)
    assert len(inventory.resources) == len(full.resources)
    [coverage] = [c for c in inventory.coverage if c.resource_type == "databricks.job"]
    assert coverage.unread is not None
    assert "acl_managers" in coverage.unread
    assert outcomes(narrow, inventory) == outcomes(narrow, full)

    reader = POLICIES["databricks_job_scheduled_managed_by_groups"]
    judged = evaluate_inventory([reader], inventory).results
    by_full = {r.resource_uid: r.status for r in evaluate_inventory([reader], full).results}
    assert any(s in (Status.PASS, Status.FAIL) for s in by_full.values())
    for r in judged:  # whatever the full scan judged PASS or FAIL is unknown now
        if by_full[r.resource_uid] in (Status.PASS, Status.FAIL):
            assert r.status == Status.ERROR, (r.resource_uid, r.status)


def test_every_field_a_detail_route_supplies_is_among_its_attributes() -> None:
    """A field declared with a detail route as its only source is one the detail fills: if the
    detail left it out of ``attributes``, a pruned scan would leave it absent without marking it
    unread, and a policy reading it could pass."""
    declared = all_declared()
    problems = []
    for rtype, spec in SPECS.items():
        tf = declared.get(rtype)
        if tf is None:
            continue
        for detail in spec.all_details():
            for name, f in tf.fields.items():
                sources = set(f.source)
                if (
                    sources
                    and sources <= set(detail.routes)
                    and name not in (*detail.attributes, *detail.feeds)
                ):
                    problems.append(f"{rtype}.{name} ({detail.name})")
    assert problems == []


def test_the_catalog_tree_leaves_grant_calls_out_of_a_narrow_scan(workspace: Workspace) -> None:
    """The catalog tree is specs too: a scan of the catalog owner policy sends no catalog grant
    requests, and records the grant attributes as unread."""
    narrow = POLICIES["databricks_uc_catalog_owner_group"]
    reads = scan_reads([narrow], POLICIES.values())
    requests = workspace.server.fake.requests
    before = len(requests)
    full = workspace.collect(frozenset({"databricks.uc.catalog"}), None)
    full_paths = [r.path for r in requests[before:]]
    before = len(requests)
    inventory = workspace.collect(frozenset({"databricks.uc.catalog"}), reads)
    narrow_paths = [r.path for r in requests[before:]]

    grants = "/api/2.1/unity-catalog/permissions/catalog/"
    assert any(p.startswith(grants) for p in full_paths)
    assert not any(p.startswith(grants) for p in narrow_paths)
    assert len(inventory.resources) == len(full.resources)
    [coverage] = [c for c in inventory.coverage if c.resource_type == "databricks.uc.catalog"]
    assert coverage.unread is not None
    assert {"grants", "effective_grants"} <= set(coverage.unread)
    assert outcomes(narrow, inventory) == outcomes(narrow, full)


def test_the_workspace_object_leaves_unread_calls_out_of_a_narrow_scan(workspace: Workspace) -> None:
    """databricks.workspace is a spec too: a scan of the token lifetime policy reads the
    workspace-conf keys but sends neither the token permissions nor the admins group request."""
    narrow = POLICIES["databricks_token_max_lifetime_set"]
    reads = scan_reads([narrow], POLICIES.values())
    requests = workspace.server.fake.requests
    before = len(requests)
    full = workspace.collect(frozenset({"databricks.workspace"}), None)
    full_paths = [r.path for r in requests[before:]]
    before = len(requests)
    inventory = workspace.collect(frozenset({"databricks.workspace"}), reads)
    narrow_paths = [r.path for r in requests[before:]]

    tokens = "/api/2.0/permissions/authorization/tokens"
    assert tokens in full_paths
    assert tokens not in narrow_paths
    assert "/api/2.0/workspace-conf" in narrow_paths
    [coverage] = [c for c in inventory.coverage if c.resource_type == "databricks.workspace"]
    assert coverage.unread is not None
    assert "token_acl" in coverage.unread
    assert outcomes(narrow, inventory) == outcomes(narrow, full)
