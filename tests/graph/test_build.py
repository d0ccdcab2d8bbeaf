"""The estate graph: nodes per stage, edges from the reference table and the policies' joins
(across providers too), scope rules, findings overlay, and robustness to odd data."""

from __future__ import annotations

from typing import Any

import pytest

from mlguard.catalogue import CATALOGUE, fields_of
from mlguard.graph.build import (
    DOCUMENT_ENVELOPE,
    _Estate,
    _join_edges,
    _read,
    _subject_keys,
    _values,
    estate_of,
    findings_of,
    graph_of,
    node_of,
)
from mlguard.graph.model import Estate, EstateEdge, EstateNode, Stage
from mlguard.graph.rules import (
    REFERENCES,
    STAGES,
    JoinKey,
    JoinLink,
    KeyForm,
    compiled,
    group_of,
    join_links,
    keyed,
)
from mlguard.model import Evidence, Resource, Result, ScanResult, Severity, Status, Summary, fingerprint
from mlguard.pipeline import load_config, load_policies
from mlguard.policy.conditions import DottedPath, root_field, search
from mlguard.policy.operators import MalformedValue

from .conftest import DemoRun

POLICIES = list(load_policies(load_config(None)).policies.values())


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun) -> tuple[Estate, dict[str, str]]:
    inv = demo_run.load_inventory()
    estate = estate_of(inv.resources, POLICIES)
    return estate, {n.uid: n.name or n.uid for n in estate.nodes}


def edge(estate: Estate, source: str, target: str) -> EstateEdge:
    """The edge between two named nodes (either direction: one edge per pair)."""
    names = {n.uid: n.name for n in estate.nodes}
    for e in estate.edges:
        if {names[e.source], names[e.target]} == {source, target}:
            return e
    raise AssertionError(f"no edge {source} -> {target}")


def test_cross_platform_edges_of_the_demo(demo: tuple[Estate, dict[str, str]]) -> None:
    estate, _ = demo
    loc = edge(estate, "raw-data", "acme-ml-raw-data")  # UC external location -> its S3 bucket
    assert loc.cross_provider
    assert "external location on bucket" in loc.why
    assert any("databricks_uc_external_location_s3_not_public" in w for w in loc.why)  # the policies' join
    cred = edge(estate, "raw-data-cred", "databricks-uc-access")  # storage credential -> IAM role
    assert cred.cross_provider
    assert "assumes IAM role" in cred.why
    cross = [e for e in estate.edges if e.cross_provider]
    providers = {n.uid: n.provider for n in estate.nodes}
    assert cross
    assert all(providers[e.source] != providers[e.target] for e in cross)


@pytest.mark.parametrize(
    ("source", "target", "why"),
    [
        ("fraud-detector", "fraud-detector-config", "endpoint config"),
        ("fraud-detector-config", "fraud-detector-model", "variant model"),
        ("fraud-detector-model", "ml-serving", "container image"),
        ("fraud-detector-model", "acme-ml-model-artifacts", "model artifacts bucket"),
        ("churn-train-2026-11-26", "SageMakerExecutionRole-Scoped", "execution role"),
        ("churn-train-2026-11-26", "acme-ml-model-artifacts", "training input/output bucket"),
        ("policies-kb", "acme-ml-raw-data", "data source bucket"),
        ("claims-summarizer-pt", "claims-summarizer", "serves custom model"),
        ("churn-cpu", "ml.models.churn", "serves model"),
        ("train-nightly", "gpu-training-shared", "runs on cluster"),
        ("ml.models", "ml", "schema in catalog"),
        ("raw-data", "raw-data-cred", "storage credential"),
    ],
)
def test_reference_edges_of_the_demo(
    demo: tuple[Estate, dict[str, str]], source: str, target: str, why: str
) -> None:
    estate, names = demo
    e = edge(estate, source, target)
    assert why in e.why
    assert {names[e.source], names[e.target]} == {source, target}


def test_demo_nodes_stages_and_groups(demo: tuple[Estate, dict[str, str]]) -> None:
    estate, _ = demo
    by_type = {n.type: n for n in estate.nodes}
    assert by_type["aws.s3.bucket"].stage is Stage.DATA
    assert by_type["aws.sagemaker.training_job"].stage is Stage.TRAINING
    assert by_type["databricks.uc.registered_model"].stage is Stage.MODELS
    assert by_type["databricks.serving_endpoint"].stage is Stage.SERVING
    assert by_type["aws.iam.role"].stage is Stage.IDENTITY
    assert "aws.iam.password_policy" not in by_type  # scope settings are not part of the estate
    table = next(
        n for n in estate.nodes if n.type == "databricks.uc.table" and n.name == "ml.features.txn_features"
    )
    assert table.group == "catalog ml @ demo.cloud.databricks.com"
    uids = {n.uid for n in estate.nodes}
    assert all(e.source in uids and e.target in uids for e in estate.edges)
    assert len({(e.source, e.target) for e in estate.edges}) == len(estate.edges)
    assert not {(e.target, e.source) for e in estate.edges} & {(e.source, e.target) for e in estate.edges}


def test_results_carry_the_estate_of_their_inventory(demo_run: DemoRun) -> None:
    scan = demo_run.load_results()
    assert scan.estate is not None
    inv = demo_run.load_inventory()
    assert scan.estate == estate_of(inv.resources, POLICIES)


# --------------------------------------------------------------------------- rules as data


def test_every_type_and_referring_field_is_declared() -> None:
    for t in STAGES:
        assert t in CATALOGUE, t
    for ref in REFERENCES:
        assert ref.subject in STAGES, ref
        assert ref.target in STAGES, ref
        for type_, path in ((ref.subject, ref.path), (ref.target, ref.key)):
            if path in ("uid", "name", "id"):
                continue
            declared = fields_of(type_)
            assert declared is not None, type_
            roots = [root_field(p.strip()) for p in path.removeprefix("join('.', [").rstrip("])").split(",")]
            for root in roots:
                assert root in declared.fields, f"{type_}.{root} ({ref.why}) is not a declared field"


def test_joins_on_scope_fields_alone_make_no_link() -> None:
    links = join_links(POLICIES)
    assert links
    scope = {"workspace", "account", "region"}
    # a key from a subject field to the target's scope (a serving endpoint's bedrock_account to the
    # account of Bedrock's logging settings) relates two resources; scope to scope relates a scope
    scope_only = [
        link for link in links if all(k.related_text in scope and k.subject_text in scope for k in link.keys)
    ]
    assert scope_only == []
    assert any(
        link.subject == "databricks.uc.external_location" and link.target == "aws.s3.bucket" for link in links
    )


@pytest.mark.parametrize(
    ("value", "form", "key"),
    [
        ("s3://bucket-a/some/prefix/", KeyForm.S3_BUCKET, "bucket-a"),
        ("s3a://bucket-b", KeyForm.S3_BUCKET, "bucket-b"),
        ("arn:aws:s3:::bucket-c", KeyForm.S3_BUCKET, "bucket-c"),
        ("dbfs:/mnt/x", KeyForm.S3_BUCKET, None),
        (
            "1234.dkr.ecr.eu-west-1.amazonaws.com/team/repo:1.2",
            KeyForm.IMAGE_REPO,
            "1234.dkr.ecr.eu-west-1.amazonaws.com/team/repo",
        ),
        (
            "1234.dkr.ecr.eu-west-1.amazonaws.com/repo@sha256:ab",
            KeyForm.IMAGE_REPO,
            "1234.dkr.ecr.eu-west-1.amazonaws.com/repo",
        ),
        ("docker.io/library/python:3", KeyForm.IMAGE_REPO, None),
        (7, KeyForm.AS_IS, "7"),
        (True, KeyForm.AS_IS, None),
        ({"a": 1}, KeyForm.AS_IS, None),
    ],
)
def test_keyed(value: Any, form: KeyForm, key: str | None) -> None:
    assert keyed(value, form) == key


# --------------------------------------------------------------------------- scope and odd data


def res(
    type_: str, name: str, account: str | None = "111", region: str | None = "us-east-1", **data: Any
) -> Resource:
    provider = type_.split(".", 1)[0]
    return Resource(
        uid=f"{provider}://{account or 'ws'}/{region}/{type_}/{name}",
        type=type_,
        provider=provider,
        id=name,
        name=name,
        account=account if provider == "aws" else None,
        region=region if provider == "aws" else None,
        workspace="ws1" if provider == "databricks" else None,
        data=data,
    )


def test_a_name_links_only_inside_its_account_and_region() -> None:
    ep = res("aws.sagemaker.endpoint", "ep", endpoint_config_name="cfg")
    same = res("aws.sagemaker.endpoint_config", "cfg")
    other_account = res("aws.sagemaker.endpoint_config", "cfg", account="222")
    other_region = res("aws.sagemaker.endpoint_config", "cfg", region="eu-west-1")
    estate = estate_of([ep, same, other_account, other_region])
    assert [(e.source, e.target) for e in estate.edges] == [(ep.uid, same.uid)]


def test_a_cross_provider_key_links_whatever_the_scope() -> None:
    loc = res("databricks.uc.external_location", "loc", s3_bucket="shared-bucket")
    bucket = res("aws.s3.bucket", "shared-bucket", account="999", region="ap-south-1")
    estate = estate_of([loc, bucket])
    assert [(e.source, e.target, e.cross_provider) for e in estate.edges] == [(loc.uid, bucket.uid, True)]


def test_odd_shapes_make_no_link_and_no_crash() -> None:
    model = res(
        "aws.sagemaker.model",
        "m",
        ecr_repository_arns="not-a-list",
        s3_buckets=[None, 3, {"x": 1}, ["nested"]],
        primary_container=["wrong"],
        execution_role_arn=None,
    )
    table = res("databricks.uc.table", "t", catalog_name=None, schema_name=5, storage_location=17)
    bucket = res("aws.s3.bucket", "nested")
    estate = estate_of([model, table, bucket], POLICIES)
    assert [(e.source, e.target) for e in estate.edges] == [
        (model.uid, bucket.uid)
    ]  # the nested name still counts


# --------------------------------------------------------------------------- findings overlay


def result(
    uid: str, status: Status, severity: Severity, policy: str = "p", related: tuple[str, ...] = ()
) -> Result:
    return Result(
        policy_id=policy,
        resource_uid=uid,
        resource_type="aws.s3.bucket",
        resource_name=uid.rsplit("/", 1)[-1],
        provider="aws",
        account="111",
        region="us-east-1",
        status=status,
        severity=severity,
        category="security",
        title="t",
        message="m",
        evidence=Evidence(related=list(related)),
        fingerprint=fingerprint(policy, uid),
    )


def test_findings_summary_per_node() -> None:
    rs = [
        result("a", Status.PASS, Severity.CRITICAL, "p1"),
        result("a", Status.ERROR, Severity.LOW, "p2"),
        result("a", Status.FAIL, Severity.MEDIUM, "p3"),
        result("b", Status.WAIVED, Severity.HIGH, "p1"),
        result("b", Status.PASS, Severity.HIGH, "p2"),
    ]
    f = findings_of(rs)
    assert (f["a"].FAIL, f["a"].ERROR, f["a"].PASS, f["a"].worst_status, f["a"].worst_severity) == (
        1,
        1,
        1,
        "FAIL",
        "medium",
    )
    assert (f["b"].worst_status, f["b"].worst_severity) == ("WAIVED", None)


def test_results_without_an_estate_are_drawn_from_their_results() -> None:
    rs = [
        result("arn:aws:s3:::a", Status.FAIL, Severity.HIGH, "p1", ("arn:aws:s3:::b",)),
        result("arn:aws:s3:::b", Status.PASS, Severity.HIGH, "p1"),
    ]
    scan = ScanResult(
        provenance={"version": "0", "started_at": "2026-01-01T00:00:00Z"}, results=rs, summary=Summary()
    )
    graph = graph_of(None, scan, "results")
    assert {n.uid for n in graph.nodes} == {"arn:aws:s3:::a", "arn:aws:s3:::b"}
    assert [(e.source, e.target, e.why) for e in graph.edges] == [
        ("arn:aws:s3:::a", "arn:aws:s3:::b", ["policy join (p1)"])
    ]
    assert {g.group: g.worst_status for g in graph.groups} == {group_of(res("aws.s3.bucket", "x")): "FAIL"}


# --------------------------------------------------------------------------- fast paths


def test_nodes_built_without_validation_are_the_validated_models() -> None:
    nodes = [
        res("aws.s3.bucket", "b"),
        res("aws.iam.role", "r", account=None, region=None),
        res("databricks.uc.table", "ml.features.t", catalog_name="ml"),
        res("databricks.uc.schema", "ml.features", catalog_name=7),
        Resource(uid="u", type="databricks.cluster", provider="databricks", id="c", workspace="w", data={}),
    ]
    for r in nodes:
        built = node_of(r)
        validated = EstateNode(
            uid=r.uid,
            type=r.type,
            provider=r.provider,
            name=r.name,
            account=r.account,
            region=r.region,
            workspace=r.workspace,
            stage=STAGES[r.type].value,
            group=group_of(r),
        )
        assert built == validated
        assert repr(built) == repr(validated)  # the stage as the enum member, not its text
        assert list(built.__dict__) == list(validated.__dict__)
        assert built.model_fields_set == validated.model_fields_set
        assert built.model_dump_json() == validated.model_dump_json()
        assert built.__pydantic_extra__ is validated.__pydantic_extra__
        assert built.__pydantic_private__ is validated.__pydantic_private__


def _join_edges_in_full(est: _Estate, jl: JoinLink) -> None:
    """The join's links as first written: every key's every target, then their intersection."""
    indexes = [est.index(jl.target, k.related_text) for k in jl.keys]
    for r in est.by_type[jl.subject]:
        matched: set[str] | None = None
        hits: dict[str, Resource] = {}
        for key, index in zip(jl.keys, indexes, strict=True):
            found: dict[str, Resource] = {}
            for k in _subject_keys(est, r, key):
                for t in index.get(k, r, jl.target):
                    found[t.uid] = t
            hits.update(found)
            matched = set(found) if matched is None else matched & set(found)
            if not matched:
                break
        for uid in sorted(matched or ()):
            est.link(r, hits[uid], jl.why)


def test_a_join_of_several_keys_links_what_every_key_matches() -> None:
    variants = [{"variant_name": "AllTraffic"}, {"variant_name": "canary"}]
    endpoints = [res("aws.sagemaker.endpoint", f"ep{i}", variants=variants) for i in range(4)]
    endpoints.append(res("aws.sagemaker.endpoint", "ep-other", account="222", variants=variants))
    targets = [
        # many AllTraffic targets (more than one endpoint's matches), a few canaries, one endpoint's
        # many targets, uids shared by targets of different endpoints, another account's
        res(
            "aws.applicationautoscaling.scalable_target",
            f"t{i % 9}",
            endpoint_name=f"ep{i % 3}",
            variant_name=v,
        )
        for i in range(30)
        for v in (("AllTraffic",) if i % 4 else ("AllTraffic", "canary"))
    ]
    targets.append(
        res(
            "aws.applicationautoscaling.scalable_target",
            "t1",
            account="222",
            endpoint_name="ep-other",
            variant_name="AllTraffic",
        )
    )
    targets += [
        res(
            "aws.applicationautoscaling.scalable_target",
            f"only-ep0-{i}",
            endpoint_name="ep0",
            variant_name="blue",
        )
        for i in range(20)
    ]
    for region in ("us-east-1", "eu-west-1", "us-east-1", "eu-west-1"):  # one uid, several targets:
        shared = res("aws.applicationautoscaling.scalable_target", "x", region=region)  # the last counts
        targets.append(
            shared.model_copy(
                update={"uid": "shared", "data": {"endpoint_name": "ep1", "variant_name": "AllTraffic"}}
            )
        )
    resources = endpoints + targets
    (jl,) = [
        j
        for j in join_links(POLICIES)
        if (j.subject, j.target) == ("aws.sagemaker.endpoint", "aws.applicationautoscaling.scalable_target")
        and len(j.keys) == 2
    ]
    fast, full = _Estate(resources), _Estate(resources)
    _join_edges(fast, jl)
    _join_edges_in_full(full, jl)
    assert fast.edges
    assert list(fast.edges.items()) == list(full.edges.items())  # the same links, made in the same order
    assert fast.cross == full.cross
    assert (endpoints[1].uid, "shared") not in fast.edges  # the last target of that uid is in another region


def test_the_document_envelope_is_what_a_document_sets_over_the_data() -> None:
    bare = Resource(uid="u", type="aws.s3.bucket", provider="aws", id="i", data={})
    assert set(bare.document()) == DOCUMENT_ENVELOPE


@pytest.mark.parametrize("first", [0, 1])
def test_a_path_read_without_a_document_reads_what_the_document_holds(first: int) -> None:
    data = {
        "name": "data-name",  # the envelope's name wins in the document
        "tags": "data-tags",
        "role_arn": "arn:aws:iam::111:role/r",
        "nested": {"a": {"b": [1, 2]}, "s": "text"},
        "s3_buckets": ["x", "y"],
    }
    one = res("aws.sagemaker.model", "m").model_copy(update={"data": data})
    other = res("aws.sagemaker.model", "m", role_arn="another", nested=None)  # the same uid
    paths = [
        "name",
        "tags",
        "uid",
        "role_arn",
        "nested.a.b",
        "nested.s.t",
        "absent.x",
        "s3_buckets",
        "s3_buckets[0]",
    ]
    est = _Estate([one, other])
    order = [one, other] if first == 0 else [other, one]
    for r in order:
        for text in paths:
            expr = compiled(text)
            try:
                expected: Any = search(expr, est.doc(r))
            except MalformedValue as exc:
                expected = str(exc)
            try:
                got: Any = est.read(expr, r)
            except MalformedValue as exc:
                got = str(exc)
            assert got == expected, text
            assert est.values(expr, r) == _read(expr, est.doc(r))
    assert isinstance(compiled("nested.a.b"), DottedPath)
    assert est.read(compiled("role_arn"), one) == est.read(
        compiled("role_arn"), other
    )  # by uid, as documents


def _subject_keys_of_the_document(est: _Estate, r: Resource, key: JoinKey) -> set[str]:
    """A join key's values in the subject, read as first written: from its document."""
    elements: list[Any] = [est.doc(r)]
    for q in key.within:
        elements = [e for el in elements for e in _read(q, el) if isinstance(e, dict)]
    out: set[str] = set()
    for el in elements:
        if key.subject_text == "@":
            value = el
        else:
            try:
                value = search(key.subject, el)
            except MalformedValue:
                value = None
        for v in _values(value) if key.op == "in" or isinstance(value, list) else [value]:
            k = keyed(v, KeyForm.AS_IS)
            if k is not None:
                out.add(k)
    return out


def test_join_keys_read_without_documents_are_those_of_the_documents(demo_run: DemoRun) -> None:
    resources = demo_run.load_inventory().resources
    odd = [  # shapes no collector writes: still the same keys, or none, either way
        res(
            t,
            "odd",
            **{"variants": "x", "vpc_config": [1, {"security_group_ids": [["sg"]]}], "model_name": {}},
        )
        for t in STAGES
    ]
    est = _Estate([*resources, *odd])
    compared = 0
    for jl in join_links(POLICIES):
        for r in est.by_type.get(jl.subject, []):
            for key in jl.keys:
                assert list(_subject_keys(est, r, key)) == list(_subject_keys_of_the_document(est, r, key))
                compared += bool(_subject_keys(est, r, key))
    assert compared > 10
