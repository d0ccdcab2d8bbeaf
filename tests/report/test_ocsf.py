"""OCSF export: Compliance Finding events that the model library accepts and that carry every
attribute the published OCSF 1.5.0 schema requires, with statuses that never call an unread
resource compliant."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

from mlguard.errors import InputError
from mlguard.model import Evidence, Result, ScanResult, Severity, Status
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.formats.ocsf import OcsfComplianceFinding, build_ocsf
from tests.support.results_factory import make_scan

# Required attributes of OCSF 1.5.0, read from the published schema (github.com/ocsf/ocsf-schema,
# tag 1.5.0; the same definitions schema.ocsf.io/1.5.0 serves). An event class inherits its
# parent's attributes: events/base_event.json (activity_id, category_uid, class_uid, metadata,
# severity_id, time, type_uid), events/findings/finding.json (finding_info) and
# events/findings/compliance_finding.json (compliance). Applying a profile adds its required
# attributes: profiles/cloud.json (cloud).
REQUIRED_EVENT = {
    "activity_id",
    "category_uid",
    "class_uid",
    "compliance",
    "finding_info",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
}
REQUIRED_WITH_CLOUD_PROFILE = {"cloud"}
# Every attribute compliance_finding defines in 1.5.0 (inherited ones and those of the cloud
# profile included): an event must not carry a key the class does not define.
DEFINED_EVENT = {
    "activity_id", "activity_name", "api", "category_name", "category_uid", "class_name",
    "class_uid", "cloud", "comment", "compliance", "count", "duration", "end_time", "enrichments",
    "evidences", "finding_info", "message", "metadata", "observables", "raw_data", "raw_data_size",
    "remediation", "resource", "resources", "severity", "severity_id", "start_time", "status",
    "status_code", "status_detail", "status_id", "time", "timezone_offset", "type_name",
    "type_uid", "unmapped", "vendor_attributes",
}  # fmt: skip
# objects/compliance.json (1.5.0): its attributes (none required; standards recommended).
DEFINED_COMPLIANCE = {
    "assessments", "category", "checks", "compliance_references", "compliance_standards",
    "control", "control_parameters", "desc", "requirements", "standards", "status", "status_code",
    "status_detail", "status_details", "status_id",
}  # fmt: skip
# Required attributes of the objects used (objects/<name>.json, 1.5.0); "one of" are the
# at_least_one constraints inherited from objects/_entity.json.
REQUIRED_OBJECT: dict[str, set[str]] = {
    "metadata": {"product", "version"},
    "finding_info": {"uid"},
    "cloud": {"provider"},
    "remediation": {"desc"},
    "analytic": {"type_id"},
}
ONE_OF_OBJECT: dict[str, set[str]] = {
    "product": {"name", "uid"},
    "account": {"name", "uid"},
    "resource_details": {"name", "uid"},
    "analytic": {"name", "uid"},
}
CLASS_UID = 2003
CATEGORY_UID = 2  # Findings
COMPLIANCE_STATUS_IDS = {1, 2, 3, 99}  # Pass, Warning, Fail, Other
FINDING_STATUS_IDS = {1, 2, 3, 4, 5, 99}  # New, In Progress, Suppressed, Resolved, Archived, Other
SEVERITY_IDS = {1, 2, 3, 4, 5}


def render(scan: ScanResult) -> list[dict[str, Any]]:
    text = reporters()["ocsf"]().render(scan, ReportOptions())
    assert isinstance(text, str)
    events: list[dict[str, Any]] = json.loads(text)
    return events


@pytest.fixture(scope="module")
def events(scan: ScanResult) -> list[dict[str, Any]]:
    return render(scan)


def by_uid(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["finding_info"]["uid"]: e for e in events}


def test_registered_as_a_format_writing_a_json_array(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    reporter = reporters()["ocsf"]
    assert reporter.filename == "results.ocsf.json"
    assert isinstance(events, list)
    assert len(events) == len(scan.results)  # every status is exported, SKIP included
    assert {e["compliance"]["status_code"] for e in events} == {s.value for s in Status}


def test_every_event_validates_with_the_model_library(events: list[dict[str, Any]]) -> None:
    for event in events:
        OcsfComplianceFinding.model_validate(event)
        ComplianceFinding.model_validate(event)  # the library's own class, without our additions
        assert event["class_uid"] == CLASS_UID
        assert event["category_uid"] == CATEGORY_UID
        assert event["type_uid"] == CLASS_UID * 100 + event["activity_id"]
        assert event["metadata"]["version"] == OCSF_VERSION
        assert OCSF_VERSION.startswith("1.")


def _check_object(name: str, value: dict[str, Any], where: str) -> list[str]:
    problems = [f"{where}: missing {k}" for k in REQUIRED_OBJECT.get(name, set()) if k not in value]
    one_of = ONE_OF_OBJECT.get(name)
    if one_of and not one_of & set(value):
        problems.append(f"{where}: needs one of {sorted(one_of)}")
    return problems


def test_required_attributes_of_the_published_schema(events: list[dict[str, Any]]) -> None:
    problems: list[str] = []
    for i, e in enumerate(events):
        required = set(REQUIRED_EVENT)
        if "cloud" in e["metadata"].get("profiles", []):
            required |= REQUIRED_WITH_CLOUD_PROFILE
        problems += [f"[{i}]: missing {k}" for k in sorted(required - set(e))]
        problems += [f"[{i}]: {k} not defined by compliance_finding" for k in sorted(set(e) - DEFINED_EVENT)]
        problems += [
            f"[{i}].compliance.{k} undefined" for k in sorted(set(e["compliance"]) - DEFINED_COMPLIANCE)
        ]
        problems += _check_object("metadata", e["metadata"], f"[{i}].metadata")
        problems += _check_object("product", e["metadata"]["product"], f"[{i}].metadata.product")
        problems += _check_object("finding_info", e["finding_info"], f"[{i}].finding_info")
        problems += _check_object("analytic", e["finding_info"]["analytic"], f"[{i}].finding_info.analytic")
        if "cloud" in e:
            problems += _check_object("cloud", e["cloud"], f"[{i}].cloud")
            problems += _check_object("account", e["cloud"]["account"], f"[{i}].cloud.account")
        if "remediation" in e:
            problems += _check_object("remediation", e["remediation"], f"[{i}].remediation")
        for r in e.get("resources", []):
            problems += _check_object("resource_details", r, f"[{i}].resources")
        assert e["severity_id"] in SEVERITY_IDS
        assert e["status_id"] in FINDING_STATUS_IDS
        assert e["compliance"]["status_id"] in COMPLIANCE_STATUS_IDS
    assert problems == []


def test_the_checker_catches_a_missing_required_attribute(events: list[dict[str, Any]]) -> None:
    broken = json.loads(json.dumps(events[0]))
    del broken["finding_info"]["uid"]
    assert _check_object("finding_info", broken["finding_info"], "x") == ["x: missing uid"]
    assert REQUIRED_EVENT - {k for k in broken if k != "metadata"} == {"metadata"}


def _one(events: list[dict[str, Any]], scan: ScanResult, status: Status) -> tuple[Result, dict[str, Any]]:
    result = next(r for r in scan.results if r.status is status)
    return result, by_uid(events)[f"mlguard/{result.fingerprint}"]


def test_error_is_a_warning_with_its_reason_never_a_pass(
    scan: ScanResult, events: list[dict[str, Any]]
) -> None:
    result, e = _one(events, scan, Status.ERROR)
    assert e["compliance"]["status_id"] == 2  # Warning: "did not yield a result due to missing information"
    assert e["compliance"]["status"] == "Warning"
    assert e["compliance"]["status_code"] == e["status_code"] == "ERROR"
    assert result.message in e["status_detail"]
    assert e["compliance"]["status_details"] == [e["status_detail"]]
    assert e["status_id"] == 1  # New: it needs someone's attention
    errors = [x for x in events if x["status_code"] == "ERROR"]
    assert errors
    assert all(x["compliance"]["status_id"] == 2 for x in errors)


def test_status_mapping_of_every_status(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    expected = {
        "PASS": (1, 4),  # compliance Pass, finding Resolved
        "FAIL": (3, 1),  # Fail, New
        "ERROR": (2, 1),  # Warning, New
        "WAIVED": (3, 3),  # still Fail (a waiver does not make it compliant), Suppressed
        "SKIP": (99, 5),  # Other ("Not Applicable"), Archived
    }
    seen = Counter()
    for e in events:
        seen[e["status_code"]] += 1
        assert (e["compliance"]["status_id"], e["status_id"]) == expected[e["status_code"]], e["status_code"]
    assert set(seen) == set(expected)
    skip = next(e for e in events if e["status_code"] == "SKIP")
    assert skip["compliance"]["status"] == "Not Applicable"
    assert skip["status_detail"].startswith("Not applicable: ")


def test_waiver_state_is_carried(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    result, e = _one(events, scan, Status.WAIVED)
    assert result.waiver is not None
    assert e["status"] == "Suppressed"
    waiver = e["unmapped"]["mlguard"]["waiver"]
    assert waiver["id"] == result.waiver.id
    assert waiver["owner"] == result.waiver.owner
    assert waiver["expires"] == result.waiver.expires
    assert result.waiver.id in e["status_detail"]


def test_compliance_requirements_and_standards(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    uids = by_uid(events)
    mapped = 0
    for r in scan.results:
        comp = uids[f"mlguard/{r.fingerprint}"]["compliance"]
        if r.compliance:
            mapped += 1
            assert comp["requirements"] == r.compliance
            assert comp["standards"] == sorted({c.split(":", 1)[0] for c in r.compliance})
        else:
            assert comp["standards"] == ["mlguard"]
            assert "requirements" not in comp
        assert comp["control"] == r.policy_id
        assert comp["checks"][0]["uid"] == r.policy_id
    assert mapped > 0


def test_severity_mapping(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    want = {Severity.CRITICAL: 5, Severity.HIGH: 4, Severity.MEDIUM: 3, Severity.LOW: 2, Severity.INFO: 1}
    uids = by_uid(events)
    for r in scan.results:
        assert uids[f"mlguard/{r.fingerprint}"]["severity_id"] == want[r.severity]


def test_resource_and_cloud_per_provider(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    uids = by_uid(events)
    for r in scan.results:
        e = uids[f"mlguard/{r.fingerprint}"]
        res = e["resources"][0]
        assert (res["uid"], res["type"]) == (r.resource_uid, r.resource_type)
        if r.provider == "aws":
            assert e["cloud"]["provider"] == "AWS"
            assert e["cloud"]["account"] == {
                "name": r.account,
                "type": "AWS Account",
                "type_id": 10,
                "uid": r.account,
            }
            assert e["cloud"]["region"] == r.region == res["region"]
            assert res["cloud_partition"] == "aws"
            assert e["metadata"]["profiles"] == ["cloud"]
        elif r.provider == "databricks":
            assert e["cloud"]["provider"] == "Databricks"
            assert e["cloud"]["account"]["uid"] == r.workspace
            assert e["cloud"]["account"]["type"] == "Databricks Workspace"
            assert res["data"]["workspace"] == r.workspace
        else:  # IaC: a file, not a cloud resource
            assert "cloud" not in e
            assert "profiles" not in e["metadata"]
            assert r.source is not None
            assert res["data"]["file"] == r.source.file
            assert res["data"]["start_line"] == r.source.start_line


def test_remediation_from_the_policy(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    policies = {p.id: p for p in scan.policies}
    for e in events:
        policy = policies[e["compliance"]["control"]]
        assert policy.remediation is not None
        assert e["remediation"]["desc"].startswith(policy.remediation)
        assert e["remediation"]["references"] == policy.references
        if policy.remediation_cli:
            assert policy.remediation_cli in e["remediation"]["desc"]


def test_finding_uid_is_the_stable_fingerprint(scan: ScanResult, events: list[dict[str, Any]]) -> None:
    uids = [e["finding_info"]["uid"] for e in events]
    assert len(set(uids)) == len(uids)
    assert uids == [f"mlguard/{r.fingerprint}" for r in scan.results]
    later = scan.model_copy(
        update={
            "results": [
                r.model_copy(
                    update={
                        "message": "changed",
                        "baseline": "existing",
                        "evidence": Evidence(collected_at="2026-12-01T00:00:00Z"),
                    }
                )
                for r in scan.results
            ]
        }
    )
    again = render(later)
    assert [e["finding_info"]["uid"] for e in again] == uids  # same policy + resource, same uid
    assert {e["activity_id"] for e in again} == {2}  # Update: the baseline knew them
    assert {e["activity_id"] for e in events} == {1}  # Create
    collected = datetime(2026, 12, 1, tzinfo=UTC)
    assert again[0]["time"] == int(collected.timestamp()) * 1000  # the evidence's collection time


def test_terminal_controls_and_bidi_overrides_are_removed() -> None:
    scan = make_scan(12)
    bad = scan.results[1].model_copy(
        update={"message": "\x1b[31mred\x1b[0m \u202eevil", "resource_name": "name\x1b]8;;http://x\x07link"}
    )
    scan = scan.model_copy(update={"results": [bad]})
    text = reporters()["ocsf"]().render(scan, ReportOptions())
    assert isinstance(text, str)
    for bad_char in ("\x1b", "\u202e", "\x07", "\\u001b", "\\u202e", "\\u0007"):
        assert bad_char not in text
    event = json.loads(text)[0]
    assert event["message"].endswith("red evil")
    assert event["resources"][0]["name"] == "namelink"


def test_empty_scan_is_an_empty_array() -> None:
    scan = make_scan(0)
    assert build_ocsf(scan) == []
    assert reporters()["ocsf"]().render(scan, ReportOptions()) == "[]\n"


def test_a_bad_timestamp_is_named() -> None:
    scan = make_scan(12)
    r = scan.results[0]
    bad = r.model_copy(update={"evidence": r.evidence.model_copy(update={"collected_at": "2026-13-45"})})
    with pytest.raises(InputError, match=r"collected_at '2026-13-45' is not an ISO-8601 timestamp"):
        build_ocsf(scan.model_copy(update={"results": [bad]}))
