"""Synthetic ScanResults for reporter tests and benchmarks.

``make_scan(n)`` builds a deterministic, internally consistent scan of exactly ``n`` results:
policies of every provider, severity and category, two frameworks (one requirement deliberately
uncovered, one evidenced by a policy that did not run), waivers, IaC findings with file and line,
collection errors, and hostile resource names and tags (markup, quotes, non-ASCII) so reporters
are exercised on data that must be escaped.
"""

from __future__ import annotations

import random

from mlguard.model import (
    Category,
    CollectionError,
    Evidence,
    FrameworkInfo,
    Identity,
    NotRun,
    PolicyInfo,
    Provenance,
    RequirementInfo,
    Result,
    ScanResult,
    Severity,
    SourceLocation,
    Status,
    Summary,
    WaiverRef,
    fingerprint,
)

HOSTILE_NAME = "<img src=x onerror=alert(1)>\"'&</script>"

_AWS_TYPES = (
    "aws.s3.bucket",
    "aws.sagemaker.endpoint",
    "aws.sagemaker.notebook_instance",
    "aws.iam.role",
    "aws.ec2.instance",
    "aws.kms.key",
)
_DBX_TYPES = (
    "databricks.cluster",
    "databricks.sql_warehouse",
    "databricks.serving_endpoint",
    "databricks.uc.catalog",
    "databricks.token",
)
_IAC_TYPES = ("iac.resource",)
_ACCOUNTS = ("123456789012", "210987654321")
_REGIONS = ("us-east-1", "eu-west-1")
_WORKSPACES = ("adb-1111.11.azuredatabricks.net", "dbc-2222.cloud.databricks.com")
_STATUS_WEIGHTS = (
    (Status.PASS, 55),
    (Status.FAIL, 28),
    (Status.ERROR, 6),
    (Status.SKIP, 6),
    (Status.WAIVED, 5),
)


def _policies() -> list[PolicyInfo]:
    severities = list(Severity)
    categories = list(Category)
    out: list[PolicyInfo] = []
    families: list[tuple[str, str, tuple[str, ...]]] = [
        ("aws", "AWS", _AWS_TYPES),
        ("databricks", "DBX", _DBX_TYPES),
        ("iac", "IAC", _IAC_TYPES),
    ]
    i = 0
    for provider, prefix, types in families:
        count = 4 if provider == "iac" else 12
        for k in range(count):
            rtype = types[k % len(types)]
            sev = severities[i % len(severities)]
            cat = categories[(i // 2) % len(categories)]
            pid = (
                f"{prefix}-{rtype.split('.')[1].upper()}-{k + 1:03d}"
                if provider != "iac"
                else f"CKV_AWS_{k + 18}"
            )
            out.append(
                PolicyInfo(
                    id=pid,
                    title=f"{rtype.split('.')[-1].replace('_', ' ')} check {k + 1}",
                    description=f"Checks that every {rtype} meets requirement {k + 1} ({cat.value}).",
                    severity=sev,
                    category=cat,
                    resource=rtype,
                    provider=provider,
                    remediation=f"Reconfigure the {rtype.split('.')[-1]} so that check {k + 1} holds.",
                    remediation_cli=f"aws example-command --id <id> --fix {k}" if provider == "aws" else None,
                    remediation_terraform='resource "x" "y" {\n  enabled = true\n}' if k % 3 == 0 else None,
                    references=[f"https://docs.example.com/{pid.lower()}"],
                    source="checkov" if provider == "iac" else "mlguard",
                )
            )
            i += 1
    return out


def _frameworks(policies: list[PolicyInfo]) -> list[FrameworkInfo]:
    ids = [p.id for p in policies]
    soc2 = FrameworkInfo(
        id="soc2",
        name="SOC 2 (ML controls)",
        version="2017",
        url="https://example.com/soc2",
        requirements=[
            RequirementInfo(id="CC6.1", title="Logical access security", policies=ids[0:6]),
            RequirementInfo(id="CC6.7", title="Encryption in transit and at rest", policies=ids[6:12]),
            RequirementInfo(id="CC7.2", title="System monitoring", policies=ids[12:20]),
            RequirementInfo(id="CC8.1", title="Change management", policies=ids[20:24]),
            RequirementInfo(id="A1.2", title="Recovery infrastructure (no policy yet)", policies=[]),
        ],
    )
    mlops = FrameworkInfo(
        id="mlops-baseline",
        name="MLOps baseline",
        version="1.0",
        requirements=[
            RequirementInfo(id="ML-1", title="Endpoints are monitored", policies=ids[1:24:3]),
            RequirementInfo(id="ML-2", title="GPU spend is controlled", policies=ids[2:28:4]),
            RequirementInfo(id="ML-3", title="Data is governed", policies=ids[24:]),
            RequirementInfo(id="ML-4", title="Model lineage (policy not run)", policies=["ML-LINEAGE-001"]),
        ],
    )
    return [soc2, mlops]


def _compliance_index(frameworks: list[FrameworkInfo]) -> dict[str, list[str]]:
    index: dict[str, list[str]] = {}
    for fw in frameworks:
        for req in fw.requirements:
            for pid in req.policies:
                index.setdefault(pid, []).append(f"{fw.id}:{req.id}")
    return index


def _message(status: Status, policy: PolicyInfo) -> str:
    if status is Status.PASS:
        return f"{policy.title}: compliant."
    if status is Status.FAIL or status is Status.WAIVED:
        return f"{policy.title}: found encryption=false, expected true."
    if status is Status.ERROR:
        return "Could not evaluate: collection failed (AccessDenied on Describe)."
    return "Not applicable: resource is not in service."


def make_scan(n_results: int, seed: int = 0, *, hostile: bool = True) -> ScanResult:
    """A deterministic scan with exactly ``n_results`` results."""
    rng = random.Random(seed)
    policies = _policies()
    frameworks = _frameworks(policies)
    compliance = _compliance_index(frameworks)
    policies = [p.model_copy(update={"compliance": compliance.get(p.id, [])}) for p in policies]
    statuses = [s for s, _ in _STATUS_WEIGHTS]
    weights = [w for _, w in _STATUS_WEIGHTS]

    results: list[Result] = []
    resources: set[str] = set()
    for i in range(n_results):
        policy = policies[i % len(policies)]
        serial = i // len(policies)
        account = region = workspace = None
        source = None
        if policy.provider == "aws":
            account = _ACCOUNTS[serial % 2]
            region = _REGIONS[(serial // 2) % 2]
            name = f"ml-{policy.resource.split('.')[-1]}-{serial:06d}"
            uid = f"arn:aws:{policy.resource.split('.')[1]}:{region}:{account}:{name}"
        elif policy.provider == "databricks":
            workspace = _WORKSPACES[serial % 2]
            name = f"dbx-{policy.resource.split('.')[-1]}-{serial:06d}"
            uid = f"databricks://{workspace}/{policy.resource}/{serial}"
        else:
            name = f"bucket_{serial}"
            path = f"infra/module{serial % 7}/main.tf"
            uid = f"iac://{path}/{policy.resource}.{name}"
            source = SourceLocation(file=path, start_line=1 + (serial * 7) % 400, end_line=None)
        if hostile and i == 1:  # a FAIL, so every reporter shows it
            name = HOSTILE_NAME
        status = rng.choices(statuses, weights)[0]
        if i < len(statuses):
            status = statuses[i]  # every status present even in tiny scans
        waiver = None
        if status is Status.WAIVED:
            waiver = WaiverRef(
                id=f"W-{i}",
                reason="Accepted risk until migration" if not hostile else "Risk <b>accepted</b>",
                owner="ml-platform@example.com",
                expires="2027-03-31",
                ticket=f"SEC-{100 + i % 50}",
            )
        results.append(
            Result(
                policy_id=policy.id,
                resource_uid=uid,
                resource_type=policy.resource,
                resource_name=name,
                provider=policy.provider,
                account=account,
                region=region,
                workspace=workspace,
                status=status,
                severity=policy.severity,
                category=policy.category,
                title=policy.title,
                message=_message(status, policy),
                evidence=Evidence(
                    values={"encryption.enabled": status is Status.PASS, "tags.owner": None},
                    collected_at="2026-11-28T15:00:00Z",
                ),
                fingerprint=fingerprint(policy.id, uid),
                compliance=policy.compliance,
                waiver=waiver,
                source=source,
            )
        )
        resources.add(uid)

    errors = [
        CollectionError(
            provider="aws",
            account=_ACCOUNTS[1],
            region="eu-west-1",
            resource_type="aws.sagemaker.endpoint",
            operation="sagemaker:DescribeEndpoint",
            code="AccessDenied",
            message="User is not authorized to perform sagemaker:DescribeEndpoint",
        ),
        CollectionError(
            provider="databricks",
            workspace=_WORKSPACES[1],
            resource_type="databricks.token",
            operation="GET /api/2.0/token-management/tokens",
            code="PERMISSION_DENIED",
            message="Only admins can list tokens",
        ),
    ]
    provenance = Provenance(
        version="0.1.0",
        policy_pack_version="2026.11",
        started_at="2026-11-28T15:00:00Z",
        finished_at="2026-11-28T15:03:12Z",
        command="mlguard scan --config mlguard.yaml",
        identities=[
            Identity(provider="aws", account=_ACCOUNTS[0], principal="arn:aws:iam::123456789012:role/audit"),
            Identity(provider="databricks", workspace=_WORKSPACES[0], principal="auditor@example.com"),
        ],
        accounts=list(_ACCOUNTS),
        regions=list(_REGIONS),
        workspaces=list(_WORKSPACES),
        sources=["infra/"],
    )
    return ScanResult(
        provenance=provenance,
        results=results,
        errors=errors,
        summary=Summary.of(results, len(resources), len(policies), len(errors)),
        policies=policies,
        frameworks=frameworks,
        not_run=[NotRun(policy_id="ML-LINEAGE-001", reason="resource type not collected")],
    )
