"""ASFF export: findings that ``BatchImportFindings`` accepts (botocore's own input shape, offline),
within Security Hub's field rules and length limits, with stable Ids and no invented account."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator
from click.testing import CliRunner

from mlguard.cli import cli, main
from mlguard.errors import InputError
from mlguard.model import Result, ScanResult, Status
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.formats.asff import MAX_BATCH, build_asff, clip
from tests.support.results_factory import make_scan

REGION = "eu-west-1"
IMPORTER = "111122223333"
OPTIONS = ReportOptions(asff_region=REGION, asff_account=IMPORTER)
# The required top-level attributes, from the Security Hub User Guide ("Required top-level ASFF
# attributes"); botocore marks Severity and Types optional only because FindingProviderFields
# can carry them instead.
REQUIRED = (
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
)
TYPE_NAMESPACES = (  # Types: namespace/category/classifier, with one of these namespaces
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
)
PRODUCT_ARN = re.compile(r"arn:aws:securityhub:([a-z0-9-]+):(\d{12}):product/(\d{12})/default")
# Timestamps Security Hub accepts (API reference, "Timestamps"): RFC 3339 with Z or an offset.
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)")


@pytest.fixture(scope="module")
def input_shape() -> StructureShape:
    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    assert isinstance(shape, StructureShape)
    return shape


def render(scan: ScanResult, options: ReportOptions = OPTIONS) -> list[dict[str, Any]]:
    text = reporters()["asff"]().render(scan, options)
    assert isinstance(text, str)
    findings: list[dict[str, Any]] = json.loads(text)
    return findings


@pytest.fixture(scope="module")
def findings(scan: ScanResult) -> list[dict[str, Any]]:
    return render(scan)


def by_id(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["Id"]: f for f in findings}


def validate(shape: StructureShape, findings: list[dict[str, Any]]) -> str:
    report = ParamValidator().validate({"Findings": findings}, shape)
    return str(report.generate_report()) if report.has_errors() else ""


# --------------------------------------------------------------------------- limits from the model

_LIMIT = re.compile(
    r"Maximum (?:length )?of (\d+)(?: length)?|Maximum number of (\d+) items|up to (\d+) key-value pairs"
)
_MAP_KEY = re.compile(r"key can contain up to (\d+) characters")
_MAP_VALUE = re.compile(r"value can contain up to (\d+) characters")


def _limit(doc: str) -> int | None:
    m = _LIMIT.search(doc or "")
    return int(next(g for g in m.groups() if g)) if m else None


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def limit_problems(value: Any, shape: Shape, doc: str, path: str, depth: int = 0) -> list[str]:
    """Every documented maximum (the "Length Constraints" and "Array Members" lines of botocore's
    model documentation, which are the API reference's) and every ``max`` the model declares."""
    problems: list[str] = []
    limit = _limit(doc)
    declared = shape.metadata.get("max")
    size = _utf16(value) if isinstance(value, str) else len(value) if isinstance(value, list | dict) else None
    for bound in (limit, declared):
        if bound is not None and size is not None and size > bound:
            problems.append(f"{path}: {size} > {bound}")
    if isinstance(value, str) and isinstance(shape, StringShape) and shape.enum and value not in shape.enum:
        problems.append(f"{path}: {value!r} not in {shape.enum}")
    if depth > 8:
        return problems
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            member = shape.members[key]
            problems += limit_problems(item, member, member.documentation, f"{path}.{key}", depth + 1)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for i, item in enumerate(value):
            problems += limit_problems(
                item, shape.member, shape.member.documentation, f"{path}[{i}]", depth + 1
            )
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        key_max = _MAP_KEY.search(doc or "")
        value_max = _MAP_VALUE.search(doc or "")
        for key, item in value.items():
            if key_max and _utf16(key) > int(key_max.group(1)):
                problems.append(f"{path} key {key!r} too long")
            if value_max and isinstance(item, str) and _utf16(item) > int(value_max.group(1)):
                problems.append(f"{path}[{key!r}] too long")
    return problems


def finding_limit_problems(shape: StructureShape, finding: dict[str, Any]) -> list[str]:
    list_shape = shape.members["Findings"]
    assert isinstance(list_shape, ListShape)
    return limit_problems(finding, list_shape.member, "", "finding")


def test_limits_parsed_from_the_model_are_the_documented_ones(input_shape: StructureShape) -> None:
    list_shape = input_shape.members["Findings"]
    assert isinstance(list_shape, ListShape)
    assert list_shape.metadata["max"] == MAX_BATCH == 100
    finding = list_shape.member
    assert isinstance(finding, StructureShape)
    docs = {k: _limit(v.documentation) for k, v in finding.members.items()}
    assert (docs["Title"], docs["Description"], docs["Id"], docs["GeneratorId"]) == (256, 1024, 512, 512)
    assert (docs["Types"], docs["Resources"], docs["ProductFields"]) == (50, 32, 50)
    # and the walker reports a breach
    too_long = {"Title": "x" * 257, "Types": ["a"] * 51}
    assert len(limit_problems(too_long, finding, "", "f")) == 2


# --------------------------------------------------------------------------- acceptance


def test_registered_as_a_format_writing_a_json_array(
    scan: ScanResult, findings: list[dict[str, Any]]
) -> None:
    assert reporters()["asff"].filename == "results.asff.json"
    assert isinstance(findings, list)
    assert len(findings) == len(scan.results)


def test_batches_of_100_pass_botocore_validation(input_shape: StructureShape, scan_1k: ScanResult) -> None:
    findings = render(scan_1k)
    assert len(findings) == 1_000
    batches = [findings[i : i + MAX_BATCH] for i in range(0, len(findings), MAX_BATCH)]
    assert [len(b) for b in batches] == [100] * 10
    for batch in batches:
        assert validate(input_shape, batch) == ""
    # the model's own bound on one call: 101 is more than BatchImportFindings takes
    assert len(findings[:101]) > input_shape.members["Findings"].metadata["max"]


def test_the_validator_rejects_a_broken_finding(
    input_shape: StructureShape, findings: list[dict[str, Any]]
) -> None:
    broken = json.loads(json.dumps(findings[0]))
    del broken["ProductArn"]
    broken["Resources"] = "not a list"
    report = validate(input_shape, [broken])
    assert "ProductArn" in report
    assert "Resources" in report


def test_required_fields_and_their_formats(findings: list[dict[str, Any]]) -> None:
    for f in findings:
        assert all(f.get(k) for k in REQUIRED), [k for k in REQUIRED if not f.get(k)]
        assert f["SchemaVersion"] == "2018-10-08"
        arn = PRODUCT_ARN.fullmatch(f["ProductArn"])
        assert arn, f["ProductArn"]
        assert arn.group(1) == REGION
        assert arn.group(2) == arn.group(3) == f["AwsAccountId"]  # the default product of the importer
        assert re.fullmatch(r"\d{12}", f["AwsAccountId"])
        for t in f["Types"]:
            namespace, category, classifier = t.split("/")
            assert namespace in TYPE_NAMESPACES
            assert category
            assert classifier
        for key in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
            assert TIMESTAMP.fullmatch(f[key]), f[key]
        created = datetime.fromisoformat(f["CreatedAt"].replace("Z", "+00:00"))
        assert datetime.fromisoformat(f["UpdatedAt"].replace("Z", "+00:00")) >= created
        assert f["Severity"]["Label"] in {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
        assert f["FindingProviderFields"]["Severity"] == f["Severity"]
        assert f["Compliance"]["Status"] in {"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"}
        assert f["RecordState"] in {"ACTIVE", "ARCHIVED"}
        assert f["Workflow"]["Status"] in {"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}
        assert 1 <= len(f["Resources"]) <= 32
        assert all(r["Type"] and r["Id"] for r in f["Resources"])


def test_every_finding_within_the_documented_limits(
    input_shape: StructureShape, findings: list[dict[str, Any]]
) -> None:
    problems = [p for f in findings for p in finding_limit_problems(input_shape, f)]
    assert problems == []


def _long_scan() -> ScanResult:
    scan = make_scan(12)
    fail = next(r for r in scan.results if r.status is Status.FAIL and r.provider == "aws")
    emoji = "\U0001f525"  # two UTF-16 code units: the API counts those, not code points
    long = fail.model_copy(
        update={
            "title": emoji * 300,
            "message": "m" * 5_000,
            "compliance": [f"fw{i}:REQ-{i}" for i in range(60)],
            "evidence": fail.evidence.model_copy(update={"values": {"blob": "v" * 10_000}}),
        }
    )
    policies = [
        p.model_copy(update={"remediation": "r" * 2_000}) if p.id == fail.policy_id else p
        for p in scan.policies
    ]
    return scan.model_copy(update={"results": [long], "policies": policies})


def test_long_text_is_cut_to_the_limits(input_shape: StructureShape) -> None:
    [f] = render(_long_scan())
    assert finding_limit_problems(input_shape, f) == []
    assert validate(input_shape, [f]) == ""
    assert _utf16(f["Title"]) <= 256
    assert f["Title"].endswith("\u2026")
    assert len(f["Description"]) == 1024
    assert f["Description"].endswith("\u2026")
    assert len(f["Remediation"]["Recommendation"]["Text"]) == 512
    assert len(f["Types"]) == 50
    assert len(f["Compliance"]["RelatedRequirements"]) == 32
    assert f["ProductFields"]["mlguard/requirements_not_listed"] == "28"
    assert len(f["ProductFields"]["mlguard/evidence"]) == 2048


def test_clip_counts_utf16_code_units() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab\u2026"
    cut = clip("\U0001f525" * 10, 5)  # 20 units: two emoji (4) and the ellipsis (1)
    assert cut == "\U0001f525\U0001f525\u2026"


# --------------------------------------------------------------------------- semantics


def _one(findings: list[dict[str, Any]], scan: ScanResult, status: Status) -> tuple[Result, dict[str, Any]]:
    result = next(r for r in scan.results if r.status is status)
    return result, by_id(findings)[f"mlguard/{result.fingerprint}"]


def test_status_mapping(scan: ScanResult, findings: list[dict[str, Any]]) -> None:
    expected = {
        "FAIL": ("FAILED", "NEW", "ACTIVE"),
        "ERROR": ("WARNING", "NEW", "ACTIVE"),
        "PASS": ("PASSED", "RESOLVED", "ACTIVE"),
        "WAIVED": ("FAILED", "SUPPRESSED", "ACTIVE"),
        "SKIP": ("NOT_AVAILABLE", "RESOLVED", "ARCHIVED"),
    }
    statuses = {r.fingerprint: r.status.value for r in scan.results}
    seen = set()
    for f in findings:
        status = statuses[f["Id"].removeprefix("mlguard/")]
        seen.add(status)
        assert f["ProductFields"]["mlguard/status"] == status
        got = (f["Compliance"]["Status"], f["Workflow"]["Status"], f["RecordState"])
        assert got == expected[status], status
    assert seen == set(expected)


def test_error_is_a_warning_with_a_status_reason(scan: ScanResult, findings: list[dict[str, Any]]) -> None:
    result, f = _one(findings, scan, Status.ERROR)
    assert f["Compliance"]["Status"] == "WARNING"
    [reason] = f["Compliance"]["StatusReasons"]
    assert reason["ReasonCode"] == "MLGUARD_COULD_NOT_EVALUATE"
    assert result.message in reason["Description"]
    assert f["Severity"]["Label"] != "INFORMATIONAL" or result.severity.value == "info"


def test_pass_and_skip_are_informational(scan: ScanResult, findings: list[dict[str, Any]]) -> None:
    for status in (Status.PASS, Status.SKIP):
        result, f = _one(findings, scan, status)
        assert f["Severity"] == {"Label": "INFORMATIONAL", "Original": result.severity.value}
    _, skip = _one(findings, scan, Status.SKIP)
    assert skip["Compliance"]["StatusReasons"][0]["ReasonCode"] == "MLGUARD_NOT_APPLICABLE"


def test_waiver_is_suppressed_with_a_note(scan: ScanResult, findings: list[dict[str, Any]]) -> None:
    result, f = _one(findings, scan, Status.WAIVED)
    assert result.waiver is not None
    assert f["Compliance"]["Status"] == "FAILED"  # a waiver does not make the resource compliant
    assert f["Workflow"]["Status"] == "SUPPRESSED"
    assert result.waiver.id in f["Note"]["Text"]
    assert f["Note"]["UpdatedBy"] == "mlguard"
    assert f["ProductFields"]["mlguard/waiver/owner"] == result.waiver.owner
    assert f["ProductFields"]["mlguard/waiver/expires"] == result.waiver.expires


def test_id_is_the_stable_fingerprint(scan: ScanResult, findings: list[dict[str, Any]]) -> None:
    ids = [f["Id"] for f in findings]
    assert len(set(ids)) == len(ids)
    assert ids == [f"mlguard/{r.fingerprint}" for r in scan.results]
    changed = scan.model_copy(
        update={"results": [r.model_copy(update={"message": "x"}) for r in scan.results]}
    )
    assert [f["Id"] for f in render(changed)] == ids  # a re-import updates, never duplicates
    assert {f["GeneratorId"] for f in findings} == {f"mlguard/{r.policy_id}" for r in scan.results}


def test_compliance_requirements_and_types(scan: ScanResult, findings: list[dict[str, Any]]) -> None:
    ids = by_id(findings)
    for r in scan.results:
        f = ids[f"mlguard/{r.fingerprint}"]
        frameworks = sorted({c.split(":", 1)[0] for c in r.compliance}) or ["mlguard"]
        prefix = "Software and Configuration Checks/Industry and Regulatory Standards/"
        assert f["Types"] == [prefix + fw for fw in frameworks]
        assert f["Compliance"].get("RelatedRequirements", []) == r.compliance


def test_accounts_regions_and_resources(scan: ScanResult, findings: list[dict[str, Any]]) -> None:
    ids = by_id(findings)
    for r in scan.results:
        f = ids[f"mlguard/{r.fingerprint}"]
        res = f["Resources"][0]
        assert res["Id"] == r.resource_uid
        if r.provider == "aws":
            assert f["AwsAccountId"] == r.account  # its own account, never the importer's
            assert res["Provider"] == "AWS"
            assert res["Partition"] == "aws"
            assert res["Region"] == r.region
        else:
            assert f["AwsAccountId"] == IMPORTER  # filed under --asff-account, as asked
            assert res["Type"] == "Other"
            assert res["Details"]["Other"]["mlguard/type"] == r.resource_type
            if r.workspace:
                assert res["Details"]["Other"]["mlguard/workspace"] == r.workspace
    types = {
        r.resource_type: ids[f"mlguard/{r.fingerprint}"]["Resources"][0]["Type"]
        for r in scan.results
        if r.provider == "aws"
    }
    assert types["aws.s3.bucket"] == "AwsS3Bucket"
    assert types["aws.sagemaker.notebook_instance"] == "AwsSageMakerNotebookInstance"
    assert types["aws.iam.role"] == "AwsIamRole"


def test_no_account_is_invented_for_results_without_one(scan: ScanResult) -> None:
    with pytest.raises(InputError, match=r"--asff-account .*databricks, iac.* will not choose one"):
        build_asff(scan, ReportOptions(asff_region=REGION))
    aws_only = scan.model_copy(update={"results": [r for r in scan.results if r.provider == "aws"]})
    out = build_asff(aws_only, ReportOptions(asff_region=REGION))
    assert {f["AwsAccountId"] for f in out} == {r.account for r in aws_only.results}


def test_the_region_is_asked_for_unless_the_scan_has_one(scan: ScanResult) -> None:
    with pytest.raises(InputError, match=r"--asff-region.*eu-west-1, us-east-1"):
        build_asff(scan, ReportOptions(asff_account=IMPORTER))
    one = scan.model_copy(update={"results": [r for r in scan.results if r.region in (None, "us-east-1")]})
    out = build_asff(one, ReportOptions(asff_account=IMPORTER))
    assert {PRODUCT_ARN.fullmatch(f["ProductArn"]).group(1) for f in out} == {"us-east-1"}  # type: ignore[union-attr]
    both = r"ASFF needs --asff-region.*; and --asff-account"
    with pytest.raises(InputError, match=both):
        build_asff(scan, ReportOptions())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (ReportOptions(asff_region=REGION, asff_account="12345"), "not a 12-digit AWS account id"),
        (ReportOptions(asff_region="Europe", asff_account=IMPORTER), "not an AWS region name"),
    ],
)
def test_bad_account_or_region_is_refused(scan: ScanResult, options: ReportOptions, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build_asff(scan, options)


def test_terminal_controls_are_removed_and_no_text_becomes_blank(input_shape: StructureShape) -> None:
    scan = make_scan(12)
    bad = scan.results[1].model_copy(
        update={"title": "\x1b[2J", "message": "\x1b[31mred\x1b[0m \u202eevil", "resource_name": "\x07"}
    )
    scan = scan.model_copy(update={"results": [bad]})
    text = reporters()["asff"]().render(scan, OPTIONS)
    assert isinstance(text, str)
    for bad_char in ("\x1b", "\u202e", "\x07", "\\u001b", "\\u202e", "\\u0007"):
        assert bad_char not in text
    [f] = json.loads(text)
    assert f["Title"] == bad.policy_id  # the title was only control characters
    assert f["Description"].startswith("red evil")
    assert validate(input_shape, [f]) == ""


def test_empty_scan_needs_no_target() -> None:
    assert build_asff(make_scan(0), ReportOptions()) == []


# --------------------------------------------------------------------------- CLI and import


def _results_file(tmp_path: Path, scan: ScanResult) -> Path:
    path = tmp_path / "results.json"
    path.write_text(scan.model_dump_json(exclude_none=True))
    return path


def test_cli_refuses_without_a_target_and_writes_nothing(
    tmp_path: Path, scan: ScanResult, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _results_file(tmp_path, scan)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["-q", "report", str(results), "--format", "json,asff", "--output-dir", str(out)])
    assert exc.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "mlguard: error: ASFF needs --asff-region" in err
    assert "and --asff-account" in err
    assert not out.exists()  # all or nothing: not even results.json


def test_cli_takes_the_target_from_options_or_environment(tmp_path: Path, scan: ScanResult) -> None:
    results = _results_file(tmp_path, scan)
    run = CliRunner().invoke(
        cli,
        ["-q", "report", str(results), "--format", "asff,ocsf", "--output-dir", str(tmp_path / "a")],
        env={"MLGUARD_ASFF_REGION": REGION, "MLGUARD_ASFF_ACCOUNT": IMPORTER},
    )
    assert run.exit_code == 0, run.output
    findings = json.loads((tmp_path / "a" / "results.asff.json").read_text())
    assert len(findings) == len(scan.results)
    assert len(json.loads((tmp_path / "a" / "results.ocsf.json").read_text())) == len(scan.results)
    run = CliRunner().invoke(
        cli,
        [
            *("-q", "report", str(results), "--format", "asff", "--output-dir", str(tmp_path / "b")),
            *("--asff-region", "us-east-1", "--asff-account", IMPORTER),
        ],
    )
    assert run.exit_code == 0, run.output
    again = json.loads((tmp_path / "b" / "results.asff.json").read_text())
    assert {PRODUCT_ARN.fullmatch(f["ProductArn"]).group(1) for f in again} == {"us-east-1"}  # type: ignore[union-attr]


def test_documented_jq_split_gives_importable_batches(
    tmp_path: Path, input_shape: StructureShape, scan_1k: ScanResult
) -> None:
    """The README's import recipe: one account's findings, 100 per file, each a valid call."""
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed")
    path = tmp_path / "results.asff.json"
    path.write_text(reporters()["asff"]().render(scan_1k, OPTIONS))
    account = "123456789012"
    proc = subprocess.run(
        [jq, "-c", f'map(select(.AwsAccountId == "{account}")) | _nwise(100)', str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    batches = [json.loads(line) for line in proc.stdout.splitlines()]
    everything = json.loads(path.read_text())
    assert sum(len(b) for b in batches) == sum(1 for f in everything if f["AwsAccountId"] == account) > 100
    assert all(1 <= len(b) <= MAX_BATCH for b in batches)
    for batch in batches:
        assert {f["AwsAccountId"] for f in batch} == {account}
        assert validate(input_shape, batch) == ""


def test_timestamps_are_normalised_and_a_bad_one_is_named() -> None:
    scan = make_scan(12)
    r = scan.results[0]
    offset = r.model_copy(
        update={"evidence": r.evidence.model_copy(update={"collected_at": "2026-11-28T16:00:00+01:00"})}
    )
    [f] = build_asff(scan.model_copy(update={"results": [offset]}), OPTIONS)
    assert f["CreatedAt"] == f["FirstObservedAt"] == "2026-11-28T15:00:00Z"
    assert f["UpdatedAt"] == "2026-11-28T15:03:12Z"  # the scan's end
    bad = r.model_copy(update={"evidence": r.evidence.model_copy(update={"collected_at": "yesterday"})})
    with pytest.raises(
        InputError, match=rf"result {r.fingerprint}: collected_at 'yesterday' is not an ISO-8601"
    ):
        build_asff(scan.model_copy(update={"results": [bad]}), OPTIONS)


def test_an_expired_waiver_stays_failed_and_says_so(scan: ScanResult) -> None:
    waived = next(r for r in scan.results if r.status is Status.WAIVED)
    assert waived.waiver is not None
    expired = waived.model_copy(
        update={"status": Status.FAIL, "waiver": waived.waiver.model_copy(update={"expired": True})}
    )
    [f] = build_asff(scan.model_copy(update={"results": [expired]}), OPTIONS)
    assert (f["Compliance"]["Status"], f["Workflow"]["Status"]) == ("FAILED", "NEW")
    assert f["ProductFields"]["mlguard/waiver/expired"] == "true"
    assert "Note" not in f


def test_a_slash_in_a_framework_id_keeps_the_type_format() -> None:
    scan = make_scan(12)
    r = scan.results[0].model_copy(update={"compliance": ["iso/27001:A.8.1"]})
    [f] = build_asff(scan.model_copy(update={"results": [r]}), OPTIONS)
    assert f["Types"] == ["Software and Configuration Checks/Industry and Regulatory Standards/iso-27001"]
    assert f["Compliance"]["RelatedRequirements"] == ["iso/27001:A.8.1"]
