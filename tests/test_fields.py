"""Declared fields per resource type: the data files, the policy-path check, platform defaults and
the meta-tests that keep declarations, collectors and policies in step."""

from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlguard.catalogue import CATALOGUE, fields_of
from mlguard.cli import cli
from mlguard.errors import PolicyError
from mlguard.fields import (
    ENVELOPE,
    Field,
    FieldsFileError,
    all_declared,
    fields_dir,
    fields_read,
    load_fields_file,
)
from mlguard.model import CollectionError, Inventory, Provenance, Resource, Status
from mlguard.policy.evaluator import evaluate_inventory
from mlguard.policy.loader import builtin_policy_dir, load_policy, load_policy_set

WS = "databricks.workspace"


def _policy(tmp_path: Path, resource: str, body: str, name: str = "p") -> Any:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        "title: A policy for the declared-field check\n"
        "description: Reads one field of its type.\n"
        "severity: high\ncategory: security\n"
        f"resource: {resource}\n"
        "remediation: {text: Fix the resource as described.}\n" + textwrap.dedent(body),
        encoding="utf-8",
    )
    return load_policy(path, "test")


# --------------------------------------------------------------------------- the data files


def test_every_catalogue_type_has_declared_fields() -> None:
    declared = all_declared()
    assert sorted(set(CATALOGUE) - set(declared)) == []
    assert sorted(set(declared) - set(CATALOGUE)) == []  # no file for a type that does not exist
    for name, tf in declared.items():
        assert tf.source, name
        assert tf.fields or tf.absent, f"{name}: no fields and no reason"


def test_declared_defaults_have_their_declared_type() -> None:
    for tf in all_declared().values():
        for f in tf.fields.values():
            if f.has_default:
                assert f.default is not None, (tf.type, f.name)
                assert f.accepts(f.default), (tf.type, f.name)


def test_a_broken_fields_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "aws.s3.bucket.yaml"
    path.write_text("source: s3:ListBuckets\nfields:\n  encrypted: {type: bool, description: Encrypted.}\n")
    with pytest.raises(FieldsFileError) as exc:
        load_fields_file(path)
    assert f"{path}:3:" in str(exc.value)


def test_fields_dir_is_inside_the_package() -> None:
    assert fields_dir().is_dir()
    assert (fields_dir() / "aws.s3.bucket.yaml").is_file()


# --------------------------------------------------------------------------- policy paths


def test_undeclared_root_field_is_rejected_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as exc:
        _policy(tmp_path, "aws.s3.bucket", "assert: {path: 'length(lifecycle_rulez)', op: gt, value: 0}\n")
    message = str(exc.value)
    assert (
        f"{tmp_path / 'p.yaml'}:7: assert.path: unknown field 'lifecycle_rulez' of aws.s3.bucket" in message
    )
    assert "did you mean 'lifecycle_rules' or 'lifecycle_rule_count'?" in message


def test_envelope_and_declared_fields_are_accepted(tmp_path: Path) -> None:
    p = _policy(
        tmp_path,
        "aws.s3.bucket",
        """\
        where: {path: tags.env, op: eq, value: prod}
        assert: {path: public_access_block.block_public_acls, op: is_true}
        """,
    )
    assert fields_read(p.resource, [p.where, p.assert_]) == {"aws.s3.bucket": ["public_access_block", "tags"]}


def test_quantifier_elements_are_checked_where_sub_fields_are_declared(tmp_path: Path) -> None:
    ok = "assert: {every: variants, satisfy: {path: instance_type, op: regex, value: '^ml'}}\n"
    _policy(tmp_path, "aws.sagemaker.endpoint", ok)
    bad = "assert: {every: 'variants[?is_gpu]', satisfy: {path: instance_typ, op: exists}}\n"
    with pytest.raises(
        PolicyError, match=r"unknown field 'instance_typ' of aws\.sagemaker\.endpoint element"
    ):
        _policy(tmp_path, "aws.sagemaker.endpoint", bad, "q")


def test_open_objects_are_not_checked_below_their_root(tmp_path: Path) -> None:
    # gpu is an object without declared sub-fields: paths below it are left open.
    _policy(tmp_path, "aws.ec2.instance", "assert: {path: gpu.whatever, op: exists}\n")
    with pytest.raises(PolicyError, match=r"unknown field 'gpux' of aws\.ec2\.instance"):
        _policy(tmp_path, "aws.ec2.instance", "assert: {path: gpux.whatever, op: exists}\n", "q")


def test_join_paths_are_checked_against_the_joined_type(tmp_path: Path) -> None:
    body = """\
    assert:
      join:
        resource: aws.cloudwatch.alarm
        on: [{related: endpoint_name, subject: name}]
        filter: {path: has_action, op: is_true}
    """
    with pytest.raises(PolicyError, match=r"unknown field 'has_action' of aws\.cloudwatch\.alarm"):
        _policy(tmp_path, "aws.sagemaker.endpoint", body)
    with pytest.raises(PolicyError, match=r"unknown field 'endpoint_nam' of aws\.sagemaker\.endpoint"):
        _policy(
            tmp_path,
            "aws.sagemaker.endpoint",
            """\
            assert:
              join:
                resource: aws.cloudwatch.alarm
                on: [{related: endpoint_name, subject: endpoint_nam}]
            """,
            "q",
        )


def test_every_builtin_policy_reads_declared_fields_only() -> None:
    # Loading checks every path; the docs' view of what is read must be declared too.
    policies = load_policy_set([(builtin_policy_dir(), "builtin")]).policies
    problems = []
    for p in policies.values():
        conds = [c for c in (p.where, p.assert_) if c is not None]
        for rtype, names in fields_read(p.resource, conds).items():
            tf = fields_of(rtype)
            assert tf is not None
            problems += [f"{p.id}: {rtype}.{n}" for n in names if n not in tf.fields and n not in _ENVELOPE]
    assert problems == []


_ENVELOPE = set(ENVELOPE)


# --------------------------------------------------------------------------- platform defaults


def _inventory(data: dict[str, Any], errors: tuple[CollectionError, ...] = ()) -> Inventory:
    uid = "databricks://demo/workspace/demo"
    r = Resource(uid=uid, type=WS, provider="databricks", id="demo", name="demo", workspace="demo", data=data)
    return Inventory(
        provenance=Provenance(tool="mlguard", version="0", started_at="2026-01-01T00:00:00Z"),
        resources=[r],
        errors=list(errors),
    )


def test_an_unset_workspace_conf_key_takes_its_platform_default(tmp_path: Path) -> None:
    p = _policy(tmp_path, WS, "assert: {path: enableDbfsFileBrowser, op: is_false}\n")
    (res,) = evaluate_inventory([p], _inventory({"enableDbfsFileBrowser": None})).results
    assert res.status is Status.FAIL
    assert res.evidence.values == {"enableDbfsFileBrowser": True}
    assert "enableDbfsFileBrowser is unset: the platform default (true) applies" in res.message
    assert "found true" in res.message

    q = _policy(tmp_path, WS, "assert: {path: enableVerboseAuditLogs, op: is_false}\n", "q")
    (ok,) = evaluate_inventory([q], _inventory({})).results  # key missing altogether
    assert ok.status is Status.PASS
    assert "platform default (false) applies" in ok.message


def test_a_set_value_is_never_replaced_by_the_default(tmp_path: Path) -> None:
    p = _policy(tmp_path, WS, "assert: {path: enableDbfsFileBrowser, op: is_false}\n")
    (res,) = evaluate_inventory([p], _inventory({"enableDbfsFileBrowser": False})).results
    assert res.status is Status.PASS
    assert "platform default" not in res.message


def test_a_default_never_fills_a_value_that_was_not_read(tmp_path: Path) -> None:
    p = _policy(tmp_path, WS, "assert: {path: enableDbfsFileBrowser, op: is_false}\n")
    err = CollectionError(
        provider="databricks",
        workspace="demo",
        resource_type=WS,
        resource_uid="databricks://demo/workspace/demo",
        operation="workspace_conf.get_status",
        code="PERMISSION_DENIED",
        message="denied",
        attributes=["enableDbfsFileBrowser"],
    )
    (res,) = evaluate_inventory([p], _inventory({}, (err,))).results
    assert res.status is Status.ERROR
    assert "platform default" not in res.message


def test_a_field_without_a_declared_default_stays_unknown(tmp_path: Path) -> None:
    p = _policy(tmp_path, WS, "assert: {path: enforceWorkspaceViewAcls, op: is_true}\n")
    (res,) = evaluate_inventory([p], _inventory({"enforceWorkspaceViewAcls": None})).results
    # No documented default: an unset value is unknown, never judged as false or true.
    assert res.status is Status.ERROR
    assert "attribute enforceWorkspaceViewAcls is absent" in res.message
    assert "platform default" not in res.message


# --------------------------------------------------------------------------- the CLI


def test_types_command_prints_the_fields_of_one_type() -> None:
    out = CliRunner().invoke(cli, ["types", "aws.sagemaker.notebook_instance"])
    assert out.exit_code == 0, out.output
    assert "root_access  (string)" in out.output
    assert 'platform default when unset: "Enabled"' in out.output
    assert "sagemaker:DescribeNotebookInstance" in out.output
    listing = CliRunner().invoke(cli, ["types"])
    assert "aws.s3.bucket" in listing.output
    bad = CliRunner().invoke(cli, ["types", "aws.s3.buckets"])
    assert bad.exit_code == 2
    assert "did you mean aws.s3.bucket" in bad.output


# --------------------------------------------------------------------------- meta: demo estate


@pytest.fixture(scope="module")
def demo_data() -> dict[str, list[dict[str, Any]]]:
    from mlguard.collect.base import NullProgress, providers
    from mlguard.config import Config
    from mlguard.demo.scan import collect_demo
    from mlguard.pipeline import LoadedConfig

    types = set().union(*(entry.types() for entry in providers().values()))
    collected, _ = collect_demo(LoadedConfig(Config(), None, None), types, NullProgress())
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in collected.inventory.resources:
        out[r.type].append(r.data)
    return out


def _undeclared(where: str, values: list[dict[str, Any]], fields: dict[str, Field] | Any) -> list[str]:
    out: list[str] = []
    for data in values:
        for key, value in data.items():
            f = fields.get(key)
            if f is None:
                kind = next(
                    (
                        k
                        for k in ("boolean", "integer", "number", "string", "array", "object")
                        if Field(key, k, "", ()).accepts(value) and value is not None
                    ),
                    "any",
                )
                out.append(
                    f"{where}.{key}: emitted but not declared; add to its fields file: "
                    f"{key}: {{type: {kind}, description: ...}}"
                )
            elif not f.accepts(value):
                out.append(f"{where}.{key}: declared {f.type}, emitted {type(value).__name__}")
            elif f.fields is not None:
                items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
                out += _undeclared(f"{where}.{key}", [v for v in items if isinstance(v, dict)], f.fields)
    return sorted(set(out))


def _unemitted(where: str, values: list[dict[str, Any]], fields: dict[str, Field] | Any) -> list[str]:
    out: list[str] = []
    for name, f in fields.items():
        present = [d[name] for d in values if name in d]
        if not present and f.absent is None:
            out.append(
                f"{where}.{name}: declared but not emitted by the demo (emit it or document `absent:`)"
            )
        if f.fields is not None:
            items = [i for v in present for i in (v if isinstance(v, list) else [v]) if isinstance(i, dict)]
            if items:
                out += _unemitted(f"{where}.{name}", items, f.fields)
    return out


@pytest.mark.e2e
def test_every_field_the_demo_collection_emits_is_declared_with_its_type(
    demo_data: dict[str, list[dict[str, Any]]],
) -> None:
    problems: list[str] = []
    for rtype, values in sorted(demo_data.items()):
        tf = fields_of(rtype)
        if tf is None:
            problems.append(f"{rtype}: no declarations file (src/mlguard/data/fields/{rtype}.yaml)")
            continue
        # plaintext_secret_paths, which the sink adds to every resource, is declared with the envelope
        problems += _undeclared(rtype, values, {**ENVELOPE, **tf.fields})
    assert problems == [], "\n".join(problems)


@pytest.mark.e2e
def test_every_declared_field_is_emitted_by_the_demo_or_documented_absent(
    demo_data: dict[str, list[dict[str, Any]]],
) -> None:
    problems: list[str] = []
    for rtype, tf in sorted(all_declared().items()):
        values = demo_data.get(rtype, [])
        if not values:
            if tf.absent is None:
                problems.append(f"{rtype}: the demo estate has none (add some or document `absent:`)")
            continue
        problems += _unemitted(rtype, values, tf.fields)
    assert problems == [], "\n".join(problems)


def test_notebook_direct_internet_access_omitted_means_the_aws_default_enabled() -> None:
    # DirectInternetAccess defaults to Enabled (CreateNotebookInstance); reading its absence as
    # "disabled" would turn an unknown into a PASS of sagemaker_notebook_direct_internet_disabled.
    from datetime import UTC, datetime

    from mlguard.collect.aws.sagemaker import _notebook
    from mlguard.collect.aws.spec import Item, Options

    opts = Options(
        account="1",
        region="us-east-1",
        partition="aws",
        job_lookback_days=30,
        metrics_days=14,
        now=datetime.now(UTC),
    )
    raw = {"NotebookInstanceName": "nb", "InstanceType": "ml.t3.medium"}
    data = _notebook(Item(raw=raw, region="us-east-1"), opts)
    assert data["direct_internet_access"] is True
    assert data["root_access_enabled"] is True
    disabled = _notebook(Item(raw={**raw, "DirectInternetAccess": "Disabled"}, region="us-east-1"), opts)
    assert disabled["direct_internet_access"] is False


def test_paths_through_list_elements_are_checked_against_the_element_fields(tmp_path: Path) -> None:
    _policy(tmp_path, "aws.sagemaker.endpoint", "assert: {path: 'variants[0].instance_type', op: exists}\n")
    with pytest.raises(
        PolicyError, match=r"unknown field 'instance_typ' of aws\.sagemaker\.endpoint field variants"
    ):
        _policy(
            tmp_path,
            "aws.sagemaker.endpoint",
            "assert: {path: 'variants[?is_gpu].instance_typ', op: exists}\n",
            "q",
        )


def _sources(fields: Any) -> set[str]:
    out: set[str] = set()
    for f in fields.values():
        out.update(f.source)
        if f.fields:
            out |= _sources(f.fields)
    return out


def test_every_declared_source_is_a_call_the_collectors_declare() -> None:
    # AWS: an operation of the type's spec (so it is in the read-only allowlist and the IAM policy);
    # Databricks: a route of the type's entry in `mlguard permissions databricks`.
    import re

    import mlguard.collect.aws.families  # noqa: F401  (registers the specs)
    from mlguard.collect.aws.spec import SPECS, api_name
    from mlguard.collect.databricks.permissions import PERMISSIONS

    routes = {p.resource_type: p.routes for p in PERMISSIONS}
    placeholder = re.compile(r"\{[^}]*\}")
    problems = []
    for rtype, tf in all_declared().items():
        used = set(tf.source) | _sources(tf.fields)
        if rtype.startswith("aws."):
            spec = SPECS[rtype]
            known = {f"{svc}:{api_name(svc, op)}" for svc, op in spec.operations()}
            problems += [f"{rtype}: {s}" for s in sorted(used - known)]
        elif rtype.startswith("databricks."):
            patterns = [
                re.compile(
                    "^" + placeholder.sub("[^/]+", re.escape(r).replace(r"\{", "{").replace(r"\}", "}")) + "$"
                )
                for r in routes[rtype]
            ]
            problems += [
                f"{rtype}: {s}"
                for s in sorted(used)
                if not any(p.match(placeholder.sub("x", s)) for p in patterns)
            ]
    assert problems == []
