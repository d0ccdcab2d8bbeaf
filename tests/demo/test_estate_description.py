"""The demo AWS estate description (src/mlguard/data/demo/aws*) and the seeder that applies it.

The packaged description validates, names only real boto3 operations and catalogue types, and
every planted misconfiguration is written next to its resource. A malformed description is refused
with a message naming the file, the line and the entry; the seeder's semantics (saved values,
``each``, ``when``, computed values, records and flaws) are checked against moto in-process.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import xform_name

from mlguard.demo import aws_estate
from mlguard.demo.aws_estate import ESTATE_INDEX
from mlguard.demo.estate import ESTATE_DIR, EstateError, EstateSeeder, Step, load_family, load_index

ACCOUNT = "123456789012"


def _steps(steps: list[Step]) -> list[Step]:
    out: list[Step] = []
    for step in steps:
        out.append(step)
        out += _steps(step.steps or [])
    return out


def _families() -> dict[str, list[Step]]:
    index = load_index(ESTATE_INDEX)
    return {
        name: _steps(load_family(ESTATE_DIR / f"{name}.yaml").steps)
        for name in index.account + index.regional
    }


def test_packaged_estate_validates_and_lists_every_family_file() -> None:
    index = load_index(ESTATE_INDEX)
    listed = index.account + index.regional
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(p.stem for p in ESTATE_DIR.glob("*.yaml"))


def test_every_call_is_a_boto3_operation_and_every_action_exists() -> None:
    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for name, steps in _families().items():
        for step in steps:
            if step.action is not None:
                assert step.action in aws_estate._ACTIONS, f"{name}: unknown action {step.action}"
            if step.call is None:
                continue
            service, operation = step.call.split(".", 1)
            if service not in operations:
                model = session.get_service_model(service)
                operations[service] = {xform_name(op) for op in model.operation_names}
            assert operation in operations[service], f"{name}: {step.call} is not a boto3 operation"


def test_every_planted_misconfiguration_is_described() -> None:
    """The demo announces "N planted misconfigurations": each is a non-empty reason in the data."""
    reasons = [
        text
        for steps in _families().values()
        for step in steps
        for text in ([step.record.flaw] if step.record and step.record.flaw else [])
        + [f.reason for f in step.flaws]
    ]
    assert len(reasons) > 50
    assert all(r.strip() for r in reasons)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        (  # a misspelt step field
            "scope: region\nsteps:\n  - call: iam.create_role\n  - cal: iam.create_user\n",
            r"steps\[1\].*cal",
            4,
        ),
        (  # a record of a type the catalogue does not know
            "scope: region\nsteps:\n  - call: s3.create_bucket\n    args: {Bucket: b}\n"
            "    record: {type: aws.s3.buckets, name: b}\n",
            r"steps\[0\]\.record: not a catalogue type: aws\.s3\.buckets",
            5,
        ),
        (  # a step that is both a call and a group
            "scope: region\nsteps:\n  - record: {type: aws.s3.bucket, name: a}\n"
            "  - call: s3.create_bucket\n    steps: [{call: s3.list_buckets}]\n",
            r"steps\[1\].*one of call, action, steps",
            4,
        ),
        (  # a condition the seeder does not know
            "scope: region\nsteps:\n  - call: s3.list_buckets\n    when: sometimes\n",
            r"steps\[0\].*when must be",
            3,
        ),
        ("scope: everywhere\nsteps: []\n", r"scope: 'everywhere' is not one of: account, region", 1),
        ("scope: region\nsteps:\n  - {call: s3.list_buckets\n", r"YAML syntax error", 4),
    ],
)
def test_malformed_family_is_refused_naming_file_line_and_entry(
    tmp_path: Path, text: str, expected: str, line: int
) -> None:
    path = _write(tmp_path, "broken.yaml", text)
    with pytest.raises(EstateError, match=expected) as caught:
        load_family(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line


def test_index_naming_a_missing_or_misplaced_family_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "net.yaml", "scope: region\nsteps:\n  - call: ec2.describe_vpcs\n")
    missing = _write(tmp_path, "index.yaml", "account: []\nregional:\n  - net\n  - nowhere\n")
    with pytest.raises(EstateError, match=r"regional\[1\]: no description file nowhere\.yaml") as caught:
        load_index(missing, tmp_path)
    assert caught.value.line == 4
    misplaced = _write(tmp_path, "index2.yaml", "account: [net]\nregional: []\n")
    with pytest.raises(EstateError, match=r"account\[0\]: net has scope region, not account"):
        load_index(misplaced, tmp_path)


def _seeder(regions: list[str]) -> EstateSeeder:
    def client(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region)  # type: ignore[call-overload]

    return EstateSeeder(client, ACCOUNT, regions, {"team": "ml"}, {}, datetime(2026, 12, 1, tzinfo=UTC))


def test_seeder_applies_calls_saved_values_each_when_and_records(mocked: None, tmp_path: Path) -> None:
    _write(
        tmp_path,
        "roles.yaml",
        """
scope: account
steps:
  - call: iam.create_role
    each: [{name: reader, service: glue.amazonaws.com}, {name: writer, service: lambda.amazonaws.com}]
    args:
      RoleName: ${item.name}
      AssumeRolePolicyDocument:
        $json: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: "${item.service}"}}]}
      Tags: [{Key: team, Value: "${team}"}]
    save: {"role.${item.name}": Role.Arn}
    record: {type: aws.iam.role, name: "${item.name}"}
  - call: iam.create_instance_profile
    args: {InstanceProfileName: "for-${account}"}
  - call: iam.add_role_to_instance_profile
    args: {InstanceProfileName: "for-${account}", RoleName: writer}
    record: {type: aws.iam.role, name: "${role.writer}", flaw: "too broad: ${role.reader}"}
    flaws: [{type: aws.iam.policy, name: other, reason: also flagged}]
""",
    )
    _write(
        tmp_path,
        "buckets.yaml",
        """
scope: region
region_vars:
  bucket: {primary: "main-${region}", other: "side-${region}"}
steps:
  - call: s3.create_bucket
    when: region:us-east-1
    args: {Bucket: "${bucket}"}
    record: {type: aws.s3.bucket, name: "${bucket}"}
  - call: s3.create_bucket
    when: not region:us-east-1
    args: {Bucket: "${bucket}", CreateBucketConfiguration: {LocationConstraint: "${region}"}}
    record: {type: aws.s3.bucket, name: "${bucket}", flaw: outside the first region}
""",
    )
    _write(tmp_path, "index.yaml", "account: [roles]\nregional: [buckets]\n")
    seeder = _seeder(["us-east-1", "eu-west-1"])
    seeder.seed(load_index(tmp_path / "index.yaml", tmp_path), tmp_path)

    iam = boto3.client("iam", region_name="us-east-1")
    reader = iam.get_role(RoleName="reader")["Role"]
    assert reader["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "glue.amazonaws.com"
    }
    assert reader["Tags"] == [{"Key": "team", "Value": "ml"}]
    profile = iam.get_instance_profile(InstanceProfileName=f"for-{ACCOUNT}")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["writer"]
    assert boto3.client("s3", region_name="eu-west-1").head_bucket(Bucket="side-eu-west-1")

    writer_arn = f"arn:aws:iam::{ACCOUNT}:role/writer"
    assert seeder.rec.names == {
        "aws.iam.role": ["reader", "writer", writer_arn],
        "aws.s3.bucket": ["main-us-east-1", "side-eu-west-1"],
    }
    assert seeder.rec.regions["aws.iam.role"]["reader"] is None
    assert seeder.rec.regions["aws.s3.bucket"]["side-eu-west-1"] == "eu-west-1"
    assert [(f.type, f.name, f.region, f.reason) for f in seeder.rec.flaws] == [
        ("aws.iam.role", writer_arn, None, f"too broad: arn:aws:iam::{ACCOUNT}:role/reader"),
        ("aws.iam.policy", "other", None, "also flagged"),
        ("aws.s3.bucket", "side-eu-west-1", "eu-west-1", "outside the first region"),
    ]


def test_seeder_names_the_step_whose_value_is_undefined(mocked: None, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "typo.yaml",
        "scope: region\nsteps:\n  - call: s3.list_buckets\n"
        '  - call: s3.create_bucket\n    args: {Bucket: "${bukcet}"}\n',
    )
    with pytest.raises(EstateError, match=r"steps\[1\]: \$\{bukcet\} is not defined") as caught:
        _seeder(["us-east-1"]).apply(path, "us-east-1")
    assert caught.value.file == str(path)
    assert caught.value.line == 4
    assert boto3.client("s3", region_name="us-east-1").list_buckets()["Buckets"] == []


def test_computed_values_json_keeps_the_written_key_order(mocked: None, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "policy.yaml",
        """
scope: account
steps:
  - call: iam.create_policy
    args:
      PolicyName: p
      PolicyDocument:
        $json: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:*", Resource: "*"}]}
""",
    )
    _seeder(["us-east-1"]).apply(path)
    iam = boto3.client("iam", region_name="us-east-1")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/p"
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    document = version if isinstance(version, dict) else json.loads(version)
    assert list(document) == ["Version", "Statement"]
    assert list(document["Statement"][0]) == ["Effect", "Action", "Resource"]
