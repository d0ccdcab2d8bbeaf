"""A scan narrower than every enabled policy makes only the calls its policies read (issue 15):
the other detail calls are not sent, what they would have filled is recorded unread, and anything
that still evaluates it is ERROR, never PASS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from mlguard.collect.aws import AwsCollector
from mlguard.collect.aws.spec import SPECS, Detail, Enrichment, ResourceSpec
from mlguard.collect.base import InventorySink
from mlguard.collect.prune import policy_reads, scan_reads
from mlguard.collect.secrets import SECRET_PATHS
from mlguard.config import AwsScope, ScopeConfig
from mlguard.model import Inventory, Status
from mlguard.policy.conditions import root_field
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from tests.collect.aws.conftest import REGION, NullProgress

POLICIES = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
BUCKET = "aws.s3.bucket"
S3_DETAILS = {
    "GetBucketAcl",
    "GetBucketPolicy",
    "GetBucketPolicyStatus",
    "GetPublicAccessBlock",
    "GetBucketVersioning",
    "GetBucketLogging",
    "GetBucketLifecycleConfiguration",
    "GetBucketOwnershipControls",
}


def _collect(types: set[str], reads: Mapping[str, frozenset[str]] | None) -> tuple[Inventory, AwsCollector]:
    collector = AwsCollector(
        ScopeConfig(aws=AwsScope(regions=[REGION], max_workers=4)), max_attempts=1, retry_mode="standard"
    )
    sink = InventorySink(reads=reads)
    collector.collect(frozenset(types), sink, NullProgress())
    return sink.to_inventory(started_at="2026-01-01T00:00:00Z"), collector


def _buckets() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for name in ("plain", "sealed"):
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="sealed",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_tagging(Bucket="sealed", Tagging={"TagSet": [{"Key": "owner", "Value": "ml"}]})


def _outcomes(policy_id: str, inventory: Inventory) -> list[tuple[str, Status, str]]:
    results = evaluate_inventory([POLICIES[policy_id]], inventory).results
    return sorted((r.resource_uid, r.status, r.message) for r in results)


@pytest.mark.usefixtures("aws")
def test_an_encryption_only_scan_sends_no_other_bucket_detail_call_and_judges_alike() -> None:
    _buckets()
    policy = POLICIES["s3_bucket_default_encryption"]
    reads = scan_reads([policy], POLICIES.values())
    assert reads is not None
    assert reads[BUCKET] == {"encrypted"}

    pruned, pruned_collector = _collect({BUCKET}, reads)
    full, full_collector = _collect({BUCKET}, None)

    sent = {op.split(":", 1)[1] for op in pruned_collector.stats.by_operation}
    assert sent.isdisjoint(S3_DETAILS), sent & S3_DETAILS
    assert {"ListBuckets", "GetBucketLocation", "GetBucketEncryption", "GetBucketTagging"} <= sent
    assert {op.split(":", 1)[1] for op in full_collector.stats.by_operation} >= S3_DETAILS
    assert pruned_collector.stats.by_type[BUCKET] < full_collector.stats.by_type[BUCKET]

    assert _outcomes("s3_bucket_default_encryption", pruned) == _outcomes(
        "s3_bucket_default_encryption", full
    )
    statuses = {uid.rsplit(":", 1)[1]: s for uid, s, _ in _outcomes("s3_bucket_default_encryption", pruned)}
    assert statuses == {"plain": Status.FAIL, "sealed": Status.PASS}
    # identity, scope and tags are read whatever the policies need
    by_name = {r.name: r for r in pruned.resources}
    assert by_name["sealed"].tags == {"owner": "ml"}
    assert by_name["sealed"].region == REGION
    assert [r.uid for r in pruned.resources] == [r.uid for r in full.resources]


@pytest.mark.usefixtures("aws")
def test_a_field_a_pruned_scan_left_out_is_unknown_never_a_pass() -> None:
    _buckets()  # both buckets have versioning on: a full scan passes them
    reads = scan_reads([POLICIES["s3_bucket_default_encryption"]], POLICIES.values())
    pruned, _ = _collect({BUCKET}, reads)
    full, _ = _collect({BUCKET}, None)

    (coverage,) = [c for c in pruned.coverage if c.resource_type == BUCKET]
    assert coverage.unread is not None
    assert {"versioning", "acl_public", "effective_public", SECRET_PATHS} <= set(coverage.unread)
    assert "encrypted" not in coverage.unread
    assert "tags" not in coverage.unread
    assert all("versioning" not in r.data for r in pruned.resources)
    assert [c.unread for c in full.coverage] == [None]

    assert {s for _, s, _ in _outcomes("s3_bucket_versioning", full)} == {Status.PASS}
    outcomes = _outcomes("s3_bucket_versioning", pruned)
    assert {s for _, s, _ in outcomes} == {Status.ERROR}
    assert all("not collected: no policy selected for the scan reads it" in m for _, _, m in outcomes)


def _spec(details: tuple[Detail, ...], enrich: tuple[Enrichment, ...] = ()) -> ResourceSpec:
    return ResourceSpec(
        type="aws.test.thing",
        family="test",
        service="s3",
        operation="list_buckets",
        items="Buckets",
        id="Name",
        arn_template="arn:{partition}:s3:::{id}",
        details=details,
        enrich=enrich,
    )


def _noop(items: Any, caller: Any, opts: Any) -> None:
    return None


def test_what_a_spec_leaves_out() -> None:
    describe = Detail(operation="get_bucket_acl", attributes=("a", "b"))
    logging = Detail(operation="get_bucket_logging", attributes=("c",))
    dependent = Detail(operation="get_bucket_policy", attributes=("d",), when=lambda r: "X" in r)
    tags = Detail(operation="get_bucket_tagging", attributes=("tags",))
    located = Detail(operation="get_bucket_location", attributes=("region_of",), always=True)
    unnamed = Detail(operation="get_bucket_versioning", attributes=())
    volumes = Enrichment(name="v", operations=(), attributes=("all_enc",), run=_noop, extends=("vols",))
    spec = _spec((describe, logging, dependent, tags, located, unnamed), (volumes,))

    assert spec.pruned(None).details == frozenset()
    assert spec.pruned(None).unread == ()
    only_a = spec.pruned(frozenset({"a"}))
    assert only_a.details == {1, 2}  # tags, the always-made location and an undeclared detail stay
    assert only_a.enrich == {0}
    assert only_a.unread == tuple(sorted({"c", "d", "all_enc", "vols", SECRET_PATHS}))
    # a kept detail with a `when` keeps every detail before it: its condition may test their answer
    assert spec.pruned(frozenset({"d"})).details == frozenset()
    # the element fields an enrichment completes make it run
    assert 0 not in spec.pruned(frozenset({"vols"})).enrich
    # a policy reading the secret scrub's record needs every text the type holds
    assert spec.pruned(frozenset({"a", SECRET_PATHS})).details == frozenset()


def test_the_reads_of_a_scan() -> None:
    enc = POLICIES["s3_bucket_default_encryption"]
    assert scan_reads([], POLICIES.values()) is None
    assert scan_reads([enc], POLICIES.values(), all_fields=True) is None
    assert scan_reads(list(POLICIES.values()), POLICIES.values()) is None
    enabled = [p for p in POLICIES.values() if p.enabled]
    assert scan_reads(enabled, POLICIES.values()) is None  # every enabled policy: a full scan
    # joins: both sides' keys and the joined type's where
    joining = [p for p in POLICIES.values() if len(p.required_types()) > 1]
    assert joining
    for p in joining:
        reads = policy_reads(p)
        assert set(reads) == p.required_types()
        assert all(reads[t] for t in p.required_types() - {p.resource}), p.id
    # cost blocks: what they measure is read too
    costed = [p for p in POLICIES.values() if p.cost is not None and p.cost.each is None]
    for p in costed:
        assert p.cost is not None
        assert root_field(p.cost.instance_type) in policy_reads(p)[p.resource], p.id


def test_every_spec_detail_names_what_it_fills() -> None:
    from mlguard.collect.aws import families  # noqa: F401  (registers the specs)

    # An unnamed detail is always made (nothing to prune it by); none should exist.
    unnamed = [f"{s.type}:{d.operation}" for s in SPECS.values() for d in s.details if not d.attributes]
    assert unnamed == []
