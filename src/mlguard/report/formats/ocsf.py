"""OCSF 1.5 Compliance Finding events (class_uid 2003) for Amazon Security Lake and any SIEM.

Why Compliance Finding and not Detection Finding (2004): every mlguard result is the evaluation of
one resource's configuration against a policy that is mapped to framework requirements, which is
what Compliance Finding describes ("results of evaluations performed against resources, to check
compliance with ... frameworks"), and only Compliance Finding has the ``compliance`` object that
carries the framework and requirement ids and the Pass/Warning/Fail status of the check. Detection
Finding is for alerts of detection engines and would lose the requirements (or hide them in
``unmapped``). Security Hub's own control findings reach Security Lake as Compliance Findings too.

The events are built with ``py-ocsf-models`` (the model library Prowler uses), whose pydantic
models validate every event on construction; the file is a JSON array of events, one per result.
It is written from templates (:class:`EventTexts`): the event of the first result of each kind
(policy, status, waiver, account...) is built and validated, and the others of its kind put their
own strings and times (typed by :class:`~mlguard.model.Result`) in its holes; the bytes are those
of every event built whole (``tests/report/test_event_templates.py``).

Mapping:

* Every result is exported: FAIL, PASS, ERROR, WAIVED and SKIP (a SIEM keeps the whole posture;
  a PASS is what closes a FAIL of an earlier run).
* ``compliance.status_id`` is what the check found: FAIL and WAIVED -> 3 Fail (a waiver does not
  make a resource compliant), PASS -> 1 Pass, ERROR -> 2 Warning ("did not yield a result due to
  missing information": the resource could not be read, never Pass), SKIP -> 99 Other with
  ``compliance.status`` "Not Applicable". ``compliance.status_code`` is the mlguard status and
  ``compliance.status_details`` the reason; the event's ``status_code``/``status_detail`` repeat it.
* The event ``status_id`` is the finding's lifecycle: FAIL and ERROR -> 1 New, PASS -> 4 Resolved,
  WAIVED -> 3 Suppressed (the waiver is in ``unmapped.mlguard.waiver``: id, owner, reason, expiry,
  ticket), SKIP -> 5 Archived.
* ``severity_id`` is the policy's severity: critical 5, high 4, medium 3, low 2, info 1.
* ``compliance.standards`` are the framework ids the policy maps to (``mlguard`` when none),
  ``compliance.requirements`` the ``framework:requirement`` ids, ``compliance.checks`` the policy.
* ``finding_info.uid`` is ``mlguard/<fingerprint>``: the same policy on the same resource keeps its
  uid across runs (the fingerprint of ``results.json`` and of SARIF's ``partialFingerprints``).
  ``activity_id`` is 2 Update for a result the baseline knew, else 1 Create.
* The resource: uid, name, type, region and AWS partition in ``resources[0]``; the ``cloud``
  profile says where it lives: ``cloud.provider`` ``AWS`` with the account (type AWS Account) and
  region, or ``Databricks`` with the workspace as the account. IaC results carry no cloud profile;
  their file and line are in ``resources[0].data``.
* ``remediation.desc`` is the policy's remediation (with its CLI and Terraform snippets),
  ``remediation.references`` its references; ``evidences[0].data`` the values the policy read.
* ``time`` is when the evidence was collected (else the scan start), in epoch milliseconds.

Every string passes :func:`mlguard.report.sanitize.json_safe` (terminal controls and bidi
overrides removed), like the text of the other reporters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.account import Account, TypeID
from py_ocsf_models.objects.analytic import Analytic
from py_ocsf_models.objects.check import Check
from py_ocsf_models.objects.cloud import Cloud
from py_ocsf_models.objects.compliance import Compliance
from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
from py_ocsf_models.objects.evidence_artifacts import EvidenceArtifacts
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.remediation import Remediation
from py_ocsf_models.objects.resource_details import ResourceDetails
from pydantic import BaseModel

from mlguard.errors import InputError
from mlguard.model import Evidence, PolicyInfo, Result, ScanResult, Severity, Status
from mlguard.report.base import Bounded, PerObject, Reporter, ReportOptions, joined, json_dumper, register
from mlguard.report.formats.json_template import Holes, Template, array_chunks, chars, string
from mlguard.report.sanitize import json_safe

CLASS_UID = 2003
SCHEMA_VERSION = OCSF_VERSION
PRODUCT_URL = "https://github.com/mlguard/mlguard"
NO_FRAMEWORK = "mlguard"

SEVERITY_ID: dict[Severity, SeverityID] = {
    Severity.CRITICAL: SeverityID.Critical,
    Severity.HIGH: SeverityID.High,
    Severity.MEDIUM: SeverityID.Medium,
    Severity.LOW: SeverityID.Low,
    Severity.INFO: SeverityID.Informational,
}
# What the check found (compliance.status_id): a waiver does not make a resource compliant, and an
# unreadable resource is a Warning ("missing information"), never a Pass.
COMPLIANCE_STATUS: dict[Status, tuple[ComplianceStatusID, str]] = {
    Status.PASS: (ComplianceStatusID.Pass, "Pass"),
    Status.FAIL: (ComplianceStatusID.Fail, "Fail"),
    Status.WAIVED: (ComplianceStatusID.Fail, "Fail"),
    Status.ERROR: (ComplianceStatusID.Warning, "Warning"),
    Status.SKIP: (ComplianceStatusID.Other, "Not Applicable"),
}
# The finding's lifecycle (event status_id).
FINDING_STATUS: dict[Status, tuple[StatusID, str]] = {
    Status.FAIL: (StatusID.New, "New"),
    Status.ERROR: (StatusID.New, "New"),
    Status.PASS: (StatusID.Resolved, "Resolved"),
    Status.WAIVED: (StatusID.Suppressed, "Suppressed"),
    Status.SKIP: (StatusID.Archived, "Archived"),
}


class OcsfCompliance(Compliance):
    """The OCSF 1.5 ``compliance`` object: the library's model lacks ``status``, ``status_code``
    and ``status_details``, which say why a check is a Warning (ERROR) or Other (SKIP)."""

    status: str | None = None
    status_code: str | None = None
    status_details: list[str] | None = None


class OcsfComplianceFinding(ComplianceFinding):
    """Compliance Finding with the ``cloud`` profile (``base_event`` includes ``profiles/cloud.json``;
    the library models it on Detection Finding only)."""

    compliance: OcsfCompliance
    cloud: Cloud | None = None


def parse_time(ts: str, what: str) -> datetime:
    """An ISO-8601 timestamp of the results file (naive ones are UTC); InputError naming it if not."""
    try:
        dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{what} {ts!r} is not an ISO-8601 timestamp") from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _event_time(result: Result, scan: ScanResult) -> int:
    """When the evidence was collected (else when the scan started), in epoch milliseconds."""
    if result.evidence.collected_at:
        when = parse_time(result.evidence.collected_at, f"result {result.fingerprint}: collected_at")
    else:
        when = parse_time(scan.provenance.started_at, "provenance.started_at")
    return int(when.timestamp() * 1000)


def _partition(uid: str) -> str | None:
    parts = uid.split(":", 2)
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else None


def _frameworks(result: Result) -> list[str]:
    return sorted({c.split(":", 1)[0] for c in result.compliance}) or [NO_FRAMEWORK]


def _remediation(policy: PolicyInfo) -> Remediation | None:
    parts = [policy.remediation] if policy.remediation else []
    if policy.remediation_cli:
        parts.append("CLI:\n" + policy.remediation_cli)
    if policy.remediation_terraform:
        parts.append("Terraform:\n" + policy.remediation_terraform)
    if not parts:
        return None
    return Remediation(desc="\n\n".join(parts), references=list(policy.references) or None)


def _cloud(result: Result) -> Cloud | None:
    if result.provider == "aws" and result.account:
        account = Account(
            uid=result.account, name=result.account, type_id=TypeID.AWS_Account, type="AWS Account"
        )
        return Cloud(provider="AWS", region=result.region, account=account)
    if result.provider == "databricks" and result.workspace:
        workspace = Account(
            uid=result.workspace, name=result.workspace, type_id=TypeID.Other, type="Databricks Workspace"
        )
        return Cloud(provider="Databricks", region=result.region, account=workspace)
    return None


def _resource(result: Result) -> ResourceDetails:
    data: dict[str, object] = {"provider": result.provider}
    if result.workspace:
        data["workspace"] = result.workspace
    if result.account:
        data["account"] = result.account
    if result.source is not None:
        data["file"] = result.source.file
        data["start_line"] = result.source.start_line
        if result.source.end_line is not None:
            data["end_line"] = result.source.end_line
    return ResourceDetails(
        uid=result.resource_uid,
        name=result.resource_name or result.resource_uid,
        type=result.resource_type,
        region=result.region,
        cloud_partition=_partition(result.resource_uid),
        data=data,
    )


def could_not_evaluate(result: Result) -> str:
    """The reason an ERROR result has no verdict, said once ("Could not evaluate ...")."""
    if result.message.lower().startswith("could not evaluate"):
        return result.message
    return f"Could not evaluate {result.policy_id} on {result.resource_uid}: {result.message}"


def _status_detail(result: Result) -> str:
    if result.status is Status.ERROR:
        return could_not_evaluate(result)
    if result.status is Status.SKIP:
        return f"Not applicable: {result.message}"
    if result.status is Status.WAIVED and result.waiver is not None:
        w = result.waiver
        return f"Waived ({w.id}, owner {w.owner}, expires {w.expires}): {w.reason}"
    return result.message


def _message(result: Result) -> str:
    return f"{result.title}: {result.message}"


def _evidence(evidence: Evidence) -> EvidenceArtifacts:
    data: dict[str, object] = {"values": evidence.values}
    if evidence.related:
        data["related"] = list(evidence.related)
    return EvidenceArtifacts(name="mlguard evidence", data=data)


def _unmapped(result: Result, scan: ScanResult, incomplete: str | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "status": result.status.value,
        "severity": result.severity.value,
        "category": result.category.value,
        "policy_id": result.policy_id,
        "fingerprint": result.fingerprint,
        "provider": result.provider,
        "scan_started_at": scan.provenance.started_at,
    }
    if result.baseline:
        info["baseline"] = result.baseline
    if result.waiver is not None:
        info["waiver"] = result.waiver.model_dump(exclude_none=True)
    if incomplete:
        info["incomplete"] = incomplete
    return {"mlguard": info}


def build_event(
    result: Result, policy: PolicyInfo, scan: ScanResult, incomplete: str | None = None
) -> OcsfComplianceFinding:
    """One validated OCSF Compliance Finding for one result (pydantic validates on construction)."""
    time_ms = _event_time(result, scan)
    compliance_id, compliance_caption = COMPLIANCE_STATUS[result.status]
    finding_id, finding_caption = FINDING_STATUS[result.status]
    activity = ActivityID.Update if result.baseline == "existing" else ActivityID.Create
    detail = _status_detail(result)
    standards = _frameworks(result)
    cloud = _cloud(result)
    return OcsfComplianceFinding(
        activity_id=activity,
        activity_name=activity.name,
        type_uid=ComplianceFindingTypeID(CLASS_UID * 100 + activity.value),
        type_name=f"Compliance Finding: {activity.name}",
        category_name="Findings",
        class_name="Compliance Finding",
        time=time_ms,
        severity_id=SEVERITY_ID[result.severity],
        severity=SEVERITY_ID[result.severity].name,
        status_id=finding_id,
        status=finding_caption,
        status_code=result.status.value,
        status_detail=detail,
        message=_message(result),
        metadata=Metadata(
            version=SCHEMA_VERSION,
            product=Product(
                name="mlguard",
                vendor_name="mlguard",
                version=scan.provenance.version,
                url_string=PRODUCT_URL,
            ),
            profiles=["cloud"] if cloud is not None else None,
            event_code=result.policy_id,
            log_name="mlguard scan",
            log_provider="mlguard",
            tenant_uid=result.account or result.workspace,
        ),
        finding_info=FindingInformation(
            uid=f"mlguard/{result.fingerprint}",
            title=result.title,
            desc=policy.description,
            types=[f"{result.category.value}"],
            src_url=policy.references[0] if policy.references else None,
            analytic=Analytic(
                uid=policy.id, name=policy.id, type_id=1, type="Rule", category=result.category.value
            ),
            last_seen_time=time_ms,
        ),
        compliance=OcsfCompliance(
            standards=standards,
            requirements=list(result.compliance) or None,
            control=policy.id,
            desc=policy.description,
            status_id=compliance_id,
            status=compliance_caption,
            status_code=result.status.value,
            status_details=[detail],
            checks=[
                Check(
                    uid=policy.id,
                    name=policy.title,
                    desc=policy.description,
                    severity=result.severity.value,
                    severity_id=SEVERITY_ID[result.severity],
                    standards=standards,
                    status=compliance_caption,
                    status_id=compliance_id,
                    version=scan.provenance.policy_pack_version,
                )
            ],
        ),
        remediation=_remediation(policy),
        resources=[_resource(result)],
        evidences=[_evidence(result.evidence)],
        cloud=cloud,
        unmapped=_unmapped(result, scan, incomplete),
    )


def _dump(model: BaseModel) -> Any:
    """What a model is in an event written by :func:`ocsf_events` (strings made terminal-safe)."""
    return json_safe(model.model_dump(mode="json", exclude_none=True))


def ocsf_events(scan: ScanResult) -> Iterator[dict[str, Any]]:
    """Every result as an OCSF Compliance Finding, JSON-ready (strings made terminal-safe)."""
    policies = {p.id: p for p in scan.policies}
    incomplete = scan.incomplete
    for result in scan.results:
        policy = policies.get(result.policy_id) or PolicyInfo.of_result(result)
        yield _dump(build_event(result, policy, scan, incomplete))


def build_ocsf(scan: ScanResult) -> list[dict[str, Any]]:
    """:func:`ocsf_events` as one list."""
    return list(ocsf_events(scan))


# The holes of an event's template and of its resource's (see report/formats/json_template.py).
_MESSAGE, _DETAIL, _FINGERPRINT, _UID, _TIME, _EVIDENCE, _RESOURCE, _CLOUD = range(8)
_RESOURCE_UID, _RESOURCE_NAME = range(2)


class EventTexts:
    """The compact JSON text of each result's event of :func:`ocsf_events`, from templates.

    An event's text outside the values a result has of its own (message, status detail,
    fingerprint, time, evidence, resource, cloud) depends only on its kind: the policy and the
    result's status, severity, category, title, baseline, requirements, waiver, provider, account
    and workspace (the key of :attr:`events`). Each kind's template is the event of its first
    result, built and validated by :func:`build_event`, with holes at those values; the resource
    and the cloud have theirs, and the evidence's text is made once per object (a policy's results
    share one when equal). Not shared between threads (one per render).
    """

    def __init__(self, scan: ScanResult) -> None:
        self.scan = scan
        self.incomplete = scan.incomplete
        self.policies = {p.id: p for p in scan.policies}
        self.dumps = json_dumper(ensure_ascii=False, separators=(",", ":"))  # as json_array_chunks
        self.events: Bounded[tuple[Any, ...], Template] = Bounded(chars)
        self.resources: Bounded[tuple[Any, ...], Template] = Bounded(chars)
        self.clouds: Bounded[tuple[Any, ...], str] = Bounded(len)
        self.times: Bounded[str | None, str] = Bounded(len)
        self.evidence: PerObject[Evidence] = PerObject(lambda ev: self.dumps(_dump(_evidence(ev))))

    def text(self, r: Result) -> str:
        key: tuple[Any, ...] = (r.policy_id, r.status, r.severity, r.category, r.title, r.baseline)
        key += (tuple(r.compliance), r.waiver, r.provider, r.account, r.workspace)
        if r.policy_id not in self.policies:
            key += (r.resource_type,)  # PolicyInfo.of_result reads it too
        event = self.events.get(key)
        if event is None:
            event = self.events.put(key, self._event(r))
        time = self.times.get(r.evidence.collected_at)
        if time is None:
            time = self.times.put(r.evidence.collected_at, str(_event_time(r, self.scan)))
        cloud = self.clouds.get(where := (r.provider, r.account, r.workspace, r.region))
        if cloud is None:
            place = _cloud(r)
            cloud = self.clouds.put(where, "" if place is None else self.dumps(_dump(place)))
        fingerprint = r.fingerprint
        return event.fill(
            string(_message(r)),
            string(_status_detail(r)),
            string(fingerprint),
            string(f"mlguard/{fingerprint}"),
            time,
            self.evidence(r.evidence),
            self._resource(r),
            cloud,
        )

    def _event(self, r: Result) -> Template:
        policy = self.policies.get(r.policy_id) or PolicyInfo.of_result(r)
        event = _dump(build_event(r, policy, self.scan, self.incomplete))
        punch = Holes()
        punch(event, "message", _MESSAGE)
        punch(event, "status_detail", _DETAIL)
        punch(event["compliance"]["status_details"], 0, _DETAIL)
        punch(event["unmapped"]["mlguard"], "fingerprint", _FINGERPRINT)
        punch(event["finding_info"], "uid", _UID)
        punch(event["finding_info"], "last_seen_time", _TIME)
        punch(event, "time", _TIME)
        punch(event["evidences"], 0, _EVIDENCE)
        punch(event["resources"], 0, _RESOURCE)
        if "cloud" in event:  # by provider, account and workspace (of the key)
            punch(event, "cloud", _CLOUD)
        return punch.template(self.dumps(event))

    def _resource(self, r: Result) -> str:
        key: tuple[Any, ...] = (r.provider, r.workspace, r.account, r.source, r.region, r.resource_type)
        key += (_partition(r.resource_uid),)
        resource = self.resources.get(key)
        if resource is None:
            details = _dump(_resource(r))
            punch = Holes()
            punch(details, "uid", _RESOURCE_UID)
            punch(details, "name", _RESOURCE_NAME)
            resource = self.resources.put(key, punch.template(self.dumps(details)))
        return resource.fill(string(r.resource_uid), string(r.resource_name or r.resource_uid))


def ocsf_event_texts(scan: ScanResult) -> Iterator[str]:
    """The JSON text of each event of :func:`ocsf_events` (compact, as the report writes it)."""
    events = EventTexts(scan)
    return map(events.text, scan.results)


@register
class OcsfReporter(Reporter):
    name = "ocsf"
    filename = "results.ocsf.json"
    description = "OCSF 1.5 Compliance Finding events (class 2003), a JSON array for Security Lake and SIEMs."

    streams = True

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        yield from array_chunks(ocsf_event_texts(scan))
        yield "\n"

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return joined(self.chunks(scan, options))


__all__ = [
    "EventTexts",
    "OcsfComplianceFinding",
    "OcsfReporter",
    "build_event",
    "build_ocsf",
    "could_not_evaluate",
    "ocsf_event_texts",
    "ocsf_events",
    "parse_time",
]
