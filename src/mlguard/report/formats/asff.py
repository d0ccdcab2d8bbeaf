"""AWS Security Finding Format (ASFF, schema 2018-10-08) for ``aws securityhub batch-import-findings``.

mlguard only writes the file (a JSON array of findings); importing it is the user's step, so the
scan stays read-only. One finding per result, ``Id`` = ``mlguard/<fingerprint>``: the same policy
on the same resource keeps its Id, so a re-import updates the finding instead of adding another.

Accounts and region (Security Hub's rules, not ours):

* A finding under the default product ARN ``arn:aws:securityhub:<region>:<account>:product/<account>/default``
  is accepted only from the account named in ``AwsAccountId``. An AWS result therefore carries its
  own account (``AwsAccountId`` = ``ProductArn`` account = the scanned account); a multi-account
  scan is imported account by account.
* A result that has no AWS account (Databricks, IaC) is filed under ``--asff-account``. mlguard
  never picks an account itself: without the option such a scan is refused (exit 2).
* ``ProductArn``'s region is the Security Hub region the findings are imported into:
  ``--asff-region``, or the one region of the scan's AWS results when there is exactly one;
  otherwise the render is refused (exit 2). The resource's own region is in ``Resources[].Region``.

Status mapping (``Compliance.Status`` / ``Workflow.Status`` / ``RecordState`` / severity):

* FAIL -> FAILED / NEW / ACTIVE / the policy's severity.
* ERROR -> WARNING / NEW / ACTIVE / the policy's severity, with a ``StatusReasons`` entry
  (``MLGUARD_COULD_NOT_EVALUATE``): a resource that could not be read is never PASSED.
* PASS -> PASSED / RESOLVED / ACTIVE / INFORMATIONAL (as Security Hub's own passed controls), which
  also resolves the FAILED finding of an earlier import.
* WAIVED -> FAILED / SUPPRESSED / ACTIVE / the policy's severity, a ``Note`` with the waiver and its
  id, owner, expiry and ticket in ``ProductFields``. Security Hub takes ``Workflow`` and ``Note``
  only when a finding is created: a finding waived after its first import is suppressed with
  ``aws securityhub batch-update-findings`` (the user's step).
* SKIP (not applicable) -> NOT_AVAILABLE / RESOLVED / ARCHIVED / INFORMATIONAL, reason
  ``MLGUARD_NOT_APPLICABLE``: archiving closes an earlier finding on a resource that left scope.

Limits: Title 256, Description 1024, Recommendation and Note 512 characters (counted in UTF-16
code units, as the API does), ``Types`` 50, ``Resources`` 32, ``Compliance.RelatedRequirements``
32, ``ProductFields`` 50 pairs with keys up to 128 and values up to 2048 characters. Longer text is
cut with an ellipsis; cut requirements are counted in ``ProductFields``. ``BatchImportFindings``
takes at most 100 findings per call: split the array (see the README).

The file is written from templates (:class:`FindingTexts`): the finding of the first result of
each kind, indented once, with the result's own values put in its holes; the bytes are those of
every finding built whole by :func:`build_finding` (``tests/report/test_event_templates.py``).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from mlguard.errors import InputError
from mlguard.model import Evidence, PolicyInfo, Result, ScanResult, Severity, Status, iso
from mlguard.report.base import Bounded, PerObject, Reporter, ReportOptions, joined, register
from mlguard.report.formats.json_template import Holes, Template, array_chunks, chars, indented, string
from mlguard.report.formats.ocsf import could_not_evaluate, parse_time
from mlguard.report.sanitize import json_safe, terminal_safe

SCHEMA_VERSION = "2018-10-08"
MAX_BATCH = 100  # BatchImportFindings: at most 100 findings per call
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512
MAX_NOTE = 512
MAX_TYPES = 50
MAX_REQUIREMENTS = 32
MAX_PRODUCT_FIELDS = 50
MAX_FIELD_KEY = 128
MAX_FIELD_VALUE = 2048
MAX_REGION = 16
ELLIPSIS = "\u2026"

TYPE_PREFIX = "Software and Configuration Checks/Industry and Regulatory Standards/"
NO_FRAMEWORK = "mlguard"
REASON_ERROR = "MLGUARD_COULD_NOT_EVALUATE"
REASON_SKIP = "MLGUARD_NOT_APPLICABLE"

SEVERITY_LABEL: dict[Severity, str] = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFO: "INFORMATIONAL",
}
# mlguard status -> (Compliance.Status, Workflow.Status, RecordState)
STATE: dict[Status, tuple[str, str, str]] = {
    Status.FAIL: ("FAILED", "NEW", "ACTIVE"),
    Status.ERROR: ("WARNING", "NEW", "ACTIVE"),
    Status.PASS: ("PASSED", "RESOLVED", "ACTIVE"),
    Status.WAIVED: ("FAILED", "SUPPRESSED", "ACTIVE"),
    Status.SKIP: ("NOT_AVAILABLE", "RESOLVED", "ARCHIVED"),
}
ACCOUNT_RE = re.compile(r"\d{12}")
REGION_RE = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-us-iso", "aws-us-iso-b")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 code units (the API's length unit), ending in an ellipsis."""
    if 2 * len(text) <= limit or _utf16_len(text) <= limit:  # a character is 1 or 2 code units
        return text
    out = text[: limit - 1]
    while _utf16_len(out) > limit - 1:
        out = out[:-1]
    return out + ELLIPSIS


def _text(value: object, limit: int, default: str) -> str:
    """Platform text made terminal-safe and cut to the limit; never blank (the API's ``.*\\S.*``)."""
    safe = "" if value is None else str(json_safe(str(value)))
    return clip(safe, limit) if safe.strip() else default


def check_account(value: str, what: str) -> str:
    if not ACCOUNT_RE.fullmatch(value):
        raise InputError(f"{what} {value!r} is not a 12-digit AWS account id")
    return value


def check_region(value: str, what: str) -> str:
    if not REGION_RE.fullmatch(value) or len(value) > MAX_REGION:
        raise InputError(f"{what} {value!r} is not an AWS region name (like eu-west-1)")
    return value


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@cache
def _asff_resource_types() -> dict[str, str]:
    """Security Hub's resource types (the members of ``ResourceDetails`` in botocore's model) by
    lower-case name: ``aws.sagemaker.notebook_instance`` -> ``AwsSageMakerNotebookInstance``."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("securityhub")
    details = model.shape_for("ResourceDetails")
    return {name.lower(): name for name in getattr(details, "members", {}) if name.startswith("Aws")}


def resource_type(result: Result) -> str:
    """The ASFF resource type of an AWS result's type when Security Hub has one, else ``Other``."""
    if result.provider != "aws":
        return "Other"
    key = "".join(part.replace("_", "") for part in result.resource_type.split(".")).lower()
    return _asff_resource_types().get(key, "Other")


@dataclass(frozen=True)
class Target:
    """Where the findings are imported: the Security Hub region and the account for results
    without an AWS account of their own (None when the scan has none)."""

    region: str
    account: str | None
    incomplete: str | None = None  # the scan's "incomplete: ..." note, once per render


def _own_account(result: Result) -> str | None:
    return result.account if result.provider == "aws" and result.account else None


def resolve_target(scan: ScanResult, options: ReportOptions) -> Target | None:
    """The import region and fallback account, or InputError saying which option is missing."""
    if not scan.results:
        return None
    account = check_account(options.asff_account, "--asff-account") if options.asff_account else None
    missing: list[str] = []
    region = None
    if options.asff_region:
        region = check_region(options.asff_region, "--asff-region")
    else:
        regions = sorted({r.region for r in scan.results if r.provider == "aws" and r.region})
        if len(regions) == 1:
            region = check_region(regions[0], "region")
        else:
            seen = f"the scan covers {', '.join(regions)}" if regions else "the scan has no AWS region"
            missing.append(
                "--asff-region, the Security Hub region to import into "
                f"({seen}, and a finding's ProductArn names one region)"
            )
    orphans = [r for r in scan.results if _own_account(r) is None]
    if orphans and account is None:
        providers = ", ".join(sorted({r.provider for r in orphans}))
        missing.append(
            f"--asff-account ({len(orphans)} results of {providers} have no AWS account, Security Hub "
            "files every finding under the account that imports it, and mlguard will not choose one)"
        )
    if missing or region is None:
        raise InputError("ASFF needs " + "; and ".join(missing))
    for r in scan.results:
        own = _own_account(r)
        if own is not None:
            check_account(own, f"the account of result {r.fingerprint}")
    return Target(region=region, account=account, incomplete=scan.incomplete)


def _types(result: Result) -> list[str]:
    frameworks = sorted({c.split(":", 1)[0] for c in result.compliance}) or [NO_FRAMEWORK]
    # a "/" in a framework id would add a level to namespace/category/classifier
    return [TYPE_PREFIX + terminal_safe(fw).replace("/", "-") for fw in frameworks][:MAX_TYPES]


def _description(result: Result) -> str:
    if result.status is Status.ERROR:
        text = could_not_evaluate(result)
    elif result.status is Status.SKIP:
        text = f"Not applicable: {result.message} (resource {result.resource_uid})"
    else:
        text = f"{result.message} (resource {result.resource_uid})"
    return _text(text, MAX_DESCRIPTION, f"{result.policy_id} on {result.resource_uid}")


def _resource_id(result: Result) -> str:
    return terminal_safe(result.resource_uid).strip() or result.fingerprint


def _uid_partition(uid: str) -> str | None:
    """The AWS partition an ARN names, if it is one of Security Hub's."""
    parts = uid.split(":", 2)
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] in PARTITIONS else None


def _other_text(value: str | None) -> str:
    """A value of ``Details.Other``: "" for none (the key is then left out)."""
    return _text(value, MAX_FIELD_VALUE, "") if value else ""


def _resource(result: Result, rtype: str) -> dict[str, Any]:
    res: dict[str, Any] = {"Type": rtype, "Id": _resource_id(result)}
    if result.provider == "aws":
        res["Provider"] = "AWS"
        partition = _uid_partition(result.resource_uid)
        if partition is not None:
            res["Partition"] = partition
    if result.region and REGION_RE.fullmatch(result.region) and len(result.region) <= MAX_REGION:
        res["Region"] = result.region
    other: dict[str, str] = {}
    for key, value in (
        ("mlguard/provider", result.provider),
        ("mlguard/type", result.resource_type),
        ("mlguard/name", result.resource_name),
        ("mlguard/workspace", result.workspace),
        ("mlguard/account", result.account),
        ("mlguard/file", result.source.file if result.source else None),
        ("mlguard/line", str(result.source.start_line) if result.source else None),
    ):
        text = _other_text(value)
        if text:
            other[key] = text
    if rtype == "Other":
        res["Details"] = {"Other": other}
    return res


def _evidence_json(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def _product_fields(result: Result, scan: ScanResult, target: Target, cut: int) -> dict[str, str]:
    fields: dict[str, str] = {
        "ProviderName": "mlguard",
        "ProviderVersion": scan.provenance.version,
        "mlguard/status": result.status.value,
        "mlguard/policy_id": result.policy_id,
        "mlguard/severity": result.severity.value,
        "mlguard/category": result.category.value,
        "mlguard/provider": result.provider,
        "mlguard/resource_type": result.resource_type,
        "mlguard/fingerprint": result.fingerprint,
        "mlguard/scan_started_at": scan.provenance.started_at,
    }
    optional: list[tuple[str, str | None]] = [
        ("mlguard/workspace", result.workspace),
        ("mlguard/baseline", result.baseline),
        ("mlguard/policy_pack_version", scan.provenance.policy_pack_version),
        ("mlguard/incomplete", target.incomplete),
    ]
    if result.evidence.values:
        optional.append(("mlguard/evidence", _evidence_json(result.evidence.values)))
    if cut:
        optional.append(("mlguard/requirements_not_listed", str(cut)))
    if result.waiver is not None:
        w = result.waiver
        optional += [
            ("mlguard/waiver/id", w.id),
            ("mlguard/waiver/owner", w.owner),
            ("mlguard/waiver/expires", w.expires),
            ("mlguard/waiver/reason", w.reason),
            ("mlguard/waiver/ticket", w.ticket),
            ("mlguard/waiver/expired", "true" if w.expired else None),
        ]
    for key, value in optional:
        if value:
            fields[key] = value
    # at most 22 fixed keys (under 50, each under 128 characters); values cut to 2048
    return {key: _text(value, MAX_FIELD_VALUE, "-") for key, value in fields.items()}


def _remediation(policy: PolicyInfo) -> dict[str, Any] | None:
    rec: dict[str, str] = {}
    if policy.remediation:
        text = _text(policy.remediation, MAX_RECOMMENDATION, "")
        if text:
            rec["Text"] = text
    if policy.references:
        rec["Url"] = policy.references[0]
    return {"Recommendation": rec} if rec else None


def _timestamps(result: Result, scan: ScanResult) -> tuple[str, str]:
    """(observed, updated): when the evidence was read (else the scan start) and when the scan
    ended, both normalised to ISO-8601 UTC, ``updated`` never before ``observed``."""
    started = parse_time(scan.provenance.started_at, "provenance.started_at")
    observed = started
    if result.evidence.collected_at:
        observed = parse_time(result.evidence.collected_at, f"result {result.fingerprint}: collected_at")
    finished = started
    if scan.provenance.finished_at:
        finished = parse_time(scan.provenance.finished_at, "provenance.finished_at")
    return iso(observed), iso(max(observed, finished))


def build_finding(result: Result, policy: PolicyInfo, scan: ScanResult, target: Target) -> dict[str, Any]:
    """One ASFF finding (a BatchImportFindings ``Findings`` item) for one result."""
    account = _own_account(result) or target.account
    if account is None:  # resolve_target refuses such scans; a direct call must not invent one
        raise InputError(f"result {result.fingerprint} has no AWS account and no --asff-account was given")
    partition = partition_of(target.region)
    observed, updated = _timestamps(result, scan)
    compliance_status, workflow, record_state = STATE[result.status]
    severity = SEVERITY_LABEL[result.severity]
    if result.status in (Status.PASS, Status.SKIP):
        severity = "INFORMATIONAL"
    types = _types(result)
    requirements = [terminal_safe(c) for c in result.compliance]
    cut = max(0, len(requirements) - MAX_REQUIREMENTS)
    compliance: dict[str, Any] = {"Status": compliance_status}
    if requirements:
        compliance["RelatedRequirements"] = requirements[:MAX_REQUIREMENTS]
    if result.status is Status.ERROR:
        compliance["StatusReasons"] = [{"ReasonCode": REASON_ERROR, "Description": _description(result)}]
    elif result.status is Status.SKIP:
        compliance["StatusReasons"] = [{"ReasonCode": REASON_SKIP, "Description": _description(result)}]
    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": f"mlguard/{result.fingerprint}",
        "ProductArn": f"arn:{partition}:securityhub:{target.region}:{account}:product/{account}/default",
        "ProductName": "mlguard",
        "CompanyName": "mlguard",
        "GeneratorId": _text(f"mlguard/{result.policy_id}", 512, "mlguard"),
        "AwsAccountId": account,
        "Types": types,
        "FirstObservedAt": observed,
        "LastObservedAt": observed,
        "CreatedAt": observed,
        "UpdatedAt": updated,
        "Severity": {"Label": severity, "Original": result.severity.value},
        "Title": _text(result.title, MAX_TITLE, result.policy_id),
        "Description": _description(result),
        "ProductFields": _product_fields(result, scan, target, cut),
        "Resources": [_resource(result, resource_type(result))],
        "Compliance": compliance,
        "Workflow": {"Status": workflow},
        "RecordState": record_state,
        "FindingProviderFields": {
            "Severity": {"Label": severity, "Original": result.severity.value},
            "Types": types,
        },
    }
    remediation = _remediation(policy)
    if remediation is not None:
        finding["Remediation"] = remediation
    if result.status is Status.WAIVED and result.waiver is not None:
        w = result.waiver
        finding["Note"] = {
            "Text": _text(
                f"Waived by mlguard waiver {w.id} (owner {w.owner}, expires {w.expires}): {w.reason}",
                MAX_NOTE,
                f"Waived by mlguard waiver {w.id}",
            ),
            "UpdatedBy": "mlguard",
            "UpdatedAt": updated,
        }
    result_json: dict[str, Any] = json_safe(finding)
    return result_json


def asff_findings(scan: ScanResult, options: ReportOptions) -> Iterator[dict[str, Any]]:
    """Every result as an ASFF finding, one at a time; InputError when the import account or
    region is unknown, raised by this call (before any finding), not by the first ``next``."""
    target = resolve_target(scan, options)
    if target is None:
        return iter(())
    policies = {p.id: p for p in scan.policies}
    return (
        build_finding(r, policies.get(r.policy_id) or PolicyInfo.of_result(r), scan, target)
        for r in scan.results
    )


def build_asff(scan: ScanResult, options: ReportOptions) -> list[dict[str, Any]]:
    """:func:`asff_findings` as one list."""
    return list(asff_findings(scan, options))


# The holes of a finding's template and of its resource's (see report/formats/json_template.py).
_ID, _OBSERVED, _UPDATED, _DESCRIPTION, _FINGERPRINT, _EVIDENCE, _RESOURCE = range(7)
_RESOURCE_ID, _RESOURCE_NAME = range(2)
_INDENT = 1  # the file's (json_array_chunks(findings, indent=1))


class FindingTexts:
    """The JSON text of each result's finding of :func:`asff_findings`, indented as an item of the
    file's array, from templates.

    A finding's text outside the values a result has of its own (fingerprint, times, description,
    evidence, resource) depends only on its kind: the policy and the result's provider, account,
    status, severity, category, title, requirements, resource type, workspace, baseline, waiver
    and whether it has evidence (the key of :attr:`findings`). Each kind's template is the finding
    of its first result, built by :func:`build_finding`, with holes at those values; the resource
    has its own, and the evidence's text is made once per object (a policy's results share one
    when equal). Not shared between threads (one per render).
    """

    def __init__(self, scan: ScanResult, target: Target) -> None:
        self.scan = scan
        self.target = target
        self.policies = {p.id: p for p in scan.policies}
        dumps = json.JSONEncoder(ensure_ascii=False, indent=_INDENT).encode  # as json_array_chunks
        self.finding_dumps = indented(dumps, _INDENT, 1)  # an item of the array
        self.resource_dumps = indented(dumps, _INDENT, 3)  # in the finding's Resources
        self.findings: Bounded[tuple[Any, ...], Template] = Bounded(chars)
        self.resources: Bounded[tuple[Any, ...], Template] = Bounded(chars)
        self.times: Bounded[str | None, tuple[str, str]] = Bounded(lambda pair: len(pair[0]) + len(pair[1]))
        self.types: dict[tuple[str, str], str] = {}  # one per (provider, resource type)
        self.evidence: PerObject[Evidence] = PerObject(
            lambda ev: string(_text(_evidence_json(ev.values), MAX_FIELD_VALUE, "-"))
        )

    def text(self, r: Result) -> str:
        values = r.evidence.values
        key: tuple[Any, ...] = (r.policy_id, r.provider, r.account, r.status, r.severity, r.category, r.title)
        key += (tuple(r.compliance), r.resource_type, r.workspace, r.baseline, r.waiver, not values)
        if r.policy_id not in self.policies:
            key += (None,)  # a policy of PolicyInfo.of_result (which reads only fields of the key)
        finding = self.findings.get(key)
        if finding is None:
            finding = self.findings.put(key, self._finding(r))
        times = self.times.get(r.evidence.collected_at)
        if times is None:
            observed, updated = _timestamps(r, self.scan)
            times = self.times.put(r.evidence.collected_at, (string(observed), string(updated)))
        fingerprint = r.fingerprint
        return finding.fill(
            string(f"mlguard/{fingerprint}"),
            times[0],
            times[1],
            string(_description(r)),
            string(_text(fingerprint, MAX_FIELD_VALUE, "-")),
            self.evidence(r.evidence) if values else "",
            self._resource(r),
        )

    def _finding(self, r: Result) -> Template:
        policy = self.policies.get(r.policy_id) or PolicyInfo.of_result(r)
        finding = build_finding(r, policy, self.scan, self.target)  # json_safe already
        punch = Holes()
        punch(finding, "Id", _ID)
        for key in ("FirstObservedAt", "LastObservedAt", "CreatedAt"):
            punch(finding, key, _OBSERVED)
        punch(finding, "UpdatedAt", _UPDATED)
        punch(finding, "Description", _DESCRIPTION)
        for reason in finding["Compliance"].get("StatusReasons", []):  # ERROR and SKIP (the status)
            punch(reason, "Description", _DESCRIPTION)
        fields = finding["ProductFields"]
        punch(fields, "mlguard/fingerprint", _FINGERPRINT)
        if "mlguard/evidence" in fields:  # whether there are values (of the key)
            punch(fields, "mlguard/evidence", _EVIDENCE)
        punch(finding["Resources"], 0, _RESOURCE)
        if "Note" in finding:  # a waiver (of the key)
            punch(finding["Note"], "UpdatedAt", _UPDATED)
        return punch.template(self.finding_dumps(finding))

    def _resource(self, r: Result) -> str:
        rtype = self.types.get(kind := (r.provider, r.resource_type))
        if rtype is None:
            rtype = self.types[kind] = resource_type(r)
        name = _other_text(r.resource_name)
        key: tuple[Any, ...] = (rtype, r.provider, r.resource_type, _uid_partition(r.resource_uid), r.region)
        key += (not name, r.workspace, r.account, r.source)
        resource = self.resources.get(key)
        if resource is None:
            details = json_safe(_resource(r, rtype))
            punch = Holes()
            punch(details, "Id", _RESOURCE_ID)
            other = details.get("Details", {}).get("Other", {})
            if "mlguard/name" in other:  # a name, in Details of the type Other (of the key)
                punch(other, "mlguard/name", _RESOURCE_NAME)
            resource = self.resources.put(key, punch.template(self.resource_dumps(details)))
        return resource.fill(string(_resource_id(r)), string(name))


def asff_finding_texts(scan: ScanResult, options: ReportOptions) -> Iterator[str]:
    """The JSON text of each finding of :func:`asff_findings` (as an item of the file's array);
    InputError, as it, raised by this call."""
    target = resolve_target(scan, options)
    if target is None:
        return iter(())
    return map(FindingTexts(scan, target).text, scan.results)


@register
class AsffReporter(Reporter):
    name = "asff"
    filename = "results.asff.json"
    description = (
        "AWS Security Finding Format for `aws securityhub batch-import-findings` (a JSON array; "
        "import in batches of 100; needs --asff-region/--asff-account, see the README)."
    )

    streams = True

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        # Not a generator: a scan the findings cannot be filed for is refused here, before
        # write_reports writes anything (a finding that fails later still leaves no file).
        findings = asff_finding_texts(scan, options)
        return itertools.chain(array_chunks(findings, indent=_INDENT), ["\n"])

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return joined(self.chunks(scan, options))


__all__ = [
    "AsffReporter",
    "FindingTexts",
    "asff_finding_texts",
    "asff_findings",
    "build_asff",
    "build_finding",
    "clip",
    "resolve_target",
]
