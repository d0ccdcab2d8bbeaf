"""The Markdown policy catalogue and the compliance framework coverage report.

``render_catalogue`` is what ``mlguard policies docs`` prints and what is committed as
``policies/README.md``; its output depends only on the policy set (sorted, no timestamps), so a test
can keep the committed file in sync. ``framework_coverage`` counts, per framework, the requirements
that at least one loaded policy evidences: a requirement evidenced only by IaC check ids is reported
apart, and one with no resolvable evidence is listed as not covered.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from pydantic import BaseModel, ConfigDict

from mlguard.fields import fields_read
from mlguard.model import RequirementInfo
from mlguard.policy.conditions import missing_rules, required_joins
from mlguard.policy.loader import IAC_ID_PREFIXES, Framework, Policy, PolicySet

PROVIDER_TITLES = {"aws": "AWS", "databricks": "Databricks", "iac": "Infrastructure as code"}
# (provider, service) -> heading; service "" holds the provider-level types (aws.account,
# databricks.cluster, ...), whose names have no service part.
SERVICE_TITLES = {
    ("aws", ""): "Account and region",
    ("aws", "apigateway"): "API Gateway",
    ("aws", "applicationautoscaling"): "Application Auto Scaling",
    ("aws", "cloudwatch"): "CloudWatch",
    ("aws", "ec2"): "EC2",
    ("aws", "emr"): "EMR",
    ("aws", "events"): "EventBridge",
    ("aws", "glue"): "Glue",
    ("aws", "iam"): "IAM",
    ("aws", "kms"): "KMS",
    ("aws", "lambda"): "Lambda",
    ("aws", "s3"): "S3",
    ("aws", "sagemaker"): "SageMaker",
    ("databricks", ""): "Workspace",
    ("databricks", "uc"): "Unity Catalog",
    ("iac", ""): "IaC resources",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FrameworkCoverage(_Frozen):
    """How many of a framework's requirements the loaded policy set evidences."""

    framework: str
    name: str
    version: str | None
    total: int
    covered: int  # at least one loaded policy evidences the requirement
    iac_only: list[RequirementInfo]  # evidenced only by IaC check ids
    uncovered: list[RequirementInfo]  # no loaded policy and no IaC check id

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 0.0


def _is_iac(policy_id: str) -> bool:
    return policy_id.startswith(IAC_ID_PREFIXES)


def _coverage_of(fw: Framework, policy_ids: set[str]) -> FrameworkCoverage:
    covered = 0
    iac_only: list[RequirementInfo] = []
    uncovered: list[RequirementInfo] = []
    for req in fw.requirements:
        if any(pid in policy_ids for pid in req.policies):
            covered += 1
        elif any(_is_iac(pid) for pid in req.policies):
            iac_only.append(req)
        else:
            uncovered.append(req)
    return FrameworkCoverage(
        framework=fw.id,
        name=fw.name,
        version=fw.version,
        total=len(fw.requirements),
        covered=covered,
        iac_only=iac_only,
        uncovered=uncovered,
    )


def framework_coverage(policy_set: PolicySet) -> list[FrameworkCoverage]:
    """Coverage of every framework in the set, sorted by framework id.

    A policy id counts only if the policy is loaded (an id that a framework names but that is not
    in the set, possible when loading with ``strict_frameworks=False``, evidences nothing).
    """
    policy_ids = set(policy_set.policies)
    return [_coverage_of(policy_set.frameworks[fid], policy_ids) for fid in sorted(policy_set.frameworks)]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"`{_cell(text)}`" if "`" not in text else f"`` {_cell(text)} ``"


def _section_key(policy: Policy) -> tuple[str, str]:
    parts = policy.resource.split(".")
    return parts[0], parts[1] if len(parts) > 2 else ""


def _section_title(key: tuple[str, str]) -> str:
    provider, service = key
    return SERVICE_TITLES.get(key, service or provider)


def _reads(policy: Policy) -> list[str]:
    """The declared fields the policy reads (``mlguard types TYPE`` describes them)."""
    conds = [c for c in (policy.where, policy.assert_) if c is not None]
    return [
        f"- Reads `{rtype}`: " + ", ".join(f"`{f}`" for f in names)
        for rtype, names in fields_read(policy.resource, conds).items()
    ]


def _render_policy(policy: Policy, fw_names: dict[str, str]) -> list[str]:
    out = [f"#### {policy.id}", "", f"**{policy.title}**", ""]
    if not policy.enabled:
        out += ["*Disabled by default: select it with `--policy` to run it.*", ""]
    out += [" ".join(policy.description.split()), ""]
    out += [
        f"- Severity: **{policy.severity.value}**",
        f"- Category: {policy.category.value}",
        f"- Resource: `{policy.resource}`",
    ]
    if policy.tags:
        out.append("- Tags: " + ", ".join(f"`{t}`" for t in policy.tags))
    out += _reads(policy)
    if policy.compliance:
        by_fw: dict[str, list[str]] = defaultdict(list)
        for ref in policy.compliance:
            fid, _, req = ref.partition(":")
            by_fw[fid].append(req)
        out.append("- Frameworks:")
        for fid in sorted(by_fw):
            reqs = ", ".join(_cell(r) for r in by_fw[fid])
            out.append(f"  - {_cell(fw_names.get(fid, fid))} (`{fid}`): {reqs}")
    else:
        out.append("- Frameworks: none")
    rules = [r for root in (policy.where, policy.assert_) if root is not None for r in missing_rules(root)]
    if rules:
        out.append("- When absent (missing or null; an attribute that was not read is always ERROR):")
        for path, passes, why in rules:
            text = f"  - {_code(path)}: the condition {'holds' if passes else 'is false'} (if_missing: "
            text += f"{'pass' if passes else 'fail'})"
            out.append(text + (f": {_cell(why)}" if why else ""))
    required = [
        r for root in (policy.where, policy.assert_) if root is not None for r in required_joins(root)
    ]
    for rtype, related, subject in required:
        out.append(
            f"- Every {_code(subject)} must name a collected `{rtype}` (by {_code(related)}); "
            "one the scan did not see is ERROR"
        )
    if policy.cost is not None:
        out.append(f"- Cost of a FAIL: {policy.cost.describe()}")
    out.append("")
    if policy.parameters:
        out += ["| parameter | type | default | description |", "|---|---|---|---|"]
        for name in sorted(policy.parameters):
            p = policy.parameters[name]
            ptype = f"array of {p.items}" if p.type == "array" and p.items else p.type
            out.append(f"| `{name}` | {ptype} | {_code(p.default)} | {_cell(p.description)} |")
        out.append("")
    out += ["Remediation: " + " ".join(policy.remediation.split()), ""]
    if policy.remediation_cli:
        out += ["```shell", policy.remediation_cli.strip(), "```", ""]
    if policy.remediation_terraform:
        out += ["```hcl", policy.remediation_terraform.strip(), "```", ""]
    if policy.references:
        out += ["References: " + ", ".join(f"<{r}>" for r in policy.references), ""]
    return out


def _render_coverage(policy_set: PolicySet) -> list[str]:
    coverage = framework_coverage(policy_set)
    out = ["## Framework coverage", ""]
    if not coverage:
        return [*out, "No compliance frameworks are loaded.", ""]
    out += [
        "A requirement is covered when at least one policy in this catalogue evidences it; *IaC only* "
        "means only checkov checks of Terraform or CloudFormation evidence it. Covered means that "
        "mlguard can check it, not that an account complies.",
        "",
        "| framework | version | requirements | covered | IaC only | not covered | coverage |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for c in coverage:
        out.append(
            f"| {_cell(c.name)} (`{c.framework}`) | {_cell(c.version or '')} | {c.total} | {c.covered} "
            f"| {len(c.iac_only)} | {len(c.uncovered)} | {c.percent:.0f}% |"
        )
    out.append("")
    for c in coverage:
        fw = policy_set.frameworks[c.framework]
        out += [f"### {_cell(c.name)} (`{c.framework}`)", ""]
        covered = [r for r in fw.requirements if any(pid in policy_set.policies for pid in r.policies)]
        if covered:
            out += ["| requirement | title | evidenced by |", "|---|---|---|"]
            for req in covered:
                evidence = [f"[{pid}](#{pid})" for pid in req.policies if pid in policy_set.policies]
                evidence += [f"`{pid}`" for pid in req.policies if _is_iac(pid)]
                out.append(f"| `{_cell(req.id)}` | {_cell(req.title)} | {', '.join(evidence)} |")
            out.append("")
        if c.iac_only:
            out += ["Evidenced by IaC checks only:", ""]
            out += [f"- `{_cell(r.id)}` {_cell(r.title)}" for r in c.iac_only]
            out.append("")
        if c.uncovered:
            out += ["Not covered:", ""]
            out += [f"- `{_cell(r.id)}` {_cell(r.title)}" for r in c.uncovered]
        else:
            out.append("Every requirement is evidenced by at least one policy or IaC check.")
        out.append("")
    return out


def render_catalogue(policy_set: PolicySet) -> str:
    """The Markdown catalogue of the policies, grouped by provider and service, followed by the
    framework coverage table and, per framework, the evidence for each covered requirement and the
    requirements left to IaC checks or not covered."""
    fw_names = {fid: fw.name for fid, fw in policy_set.frameworks.items()}
    sections: dict[tuple[str, str], list[Policy]] = defaultdict(list)
    for policy in policy_set.policies.values():
        sections[_section_key(policy)].append(policy)
    keys = sorted(sections, key=lambda k: (k[0], _section_title(k).lower()))

    n_pol, n_fw = len(policy_set.policies), len(policy_set.frameworks)
    out = [
        "# mlguard policy catalogue",
        "",
        "Generated by `mlguard policies docs` from the policy and framework files; do not edit by hand.",
        "",
        f"{n_pol} {'policy' if n_pol == 1 else 'policies'}, "
        f"{n_fw} compliance {'framework' if n_fw == 1 else 'frameworks'}.",
        "",
        "## Contents",
        "",
    ]
    providers = sorted({k[0] for k in keys})
    for provider in providers:
        out.append(f"- {PROVIDER_TITLES.get(provider, provider)}")
        for key in (k for k in keys if k[0] == provider):
            out.append(f"  - {_section_title(key)} ({len(sections[key])})")
    out += ["- Framework coverage", ""]

    for provider in providers:
        out += [f"## {PROVIDER_TITLES.get(provider, provider)}", ""]
        for key in (k for k in keys if k[0] == provider):
            policies = sorted(sections[key], key=lambda p: p.id)
            out += [
                f"### {_section_title(key)}",
                "",
                "| id | title | severity | category | resource |",
                "|---|---|---|---|---|",
            ]
            out += [
                f"| [{p.id}](#{p.id}) | {_cell(p.title)} | {p.severity.value} | {p.category.value} "
                f"| `{p.resource}` |"
                for p in policies
            ]
            out.append("")
            for p in policies:
                out += _render_policy(p, fw_names)
    out += _render_coverage(policy_set)
    return "\n".join(out).rstrip("\n") + "\n"
