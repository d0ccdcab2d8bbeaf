"""SARIF 2.1.0 for GitHub code scanning.

The output validates against the OASIS SARIF 2.1.0 schema and follows GitHub's stricter ingestion
rules:

* One run per provider scope (``aws``, ``databricks``, ``iac``, ...), each with its own
  ``automationDetails.id`` = ``<category>/<started_at>``. GitHub takes everything before the last
  ``/`` as the analysis category (the rest is the run id), and an upload replaces (closes the
  alerts of) the earlier analysis of the same category only. ``upload-sarif`` keeps an id the file
  already has (its ``category`` input only fills a missing one), so the category is chosen here
  (:func:`run_category`): ``--sarif-category`` when given (``<given>/<provider>`` when the file
  has several runs, since the runs of one file need distinct categories), else one per provider
  and scope: ``mlguard/aws/<account>``, ``mlguard/databricks/<workspace host>``, ``mlguard/iac``.
  Several accounts (workspaces) in one scan: ``mlguard/aws/<a>+<b>+<c>`` (sorted) up to
  :data:`MAX_SCOPES_NAMED`, else ``mlguard/aws/<n>-accounts-<digest of the sorted list>``:
  the same scope gives the same category on every run, whatever the order of discovery.
* Which results are exported: ``FAIL`` (level from the severity: critical/high -> ``error``,
  medium -> ``warning``, low/info -> ``note``) and ``ERROR`` (always ``level: warning``, message
  prefixed "Could not evaluate"). ERROR is exported on purpose: it carries the same fingerprint as
  the FAIL it may hide, so an open alert is not closed as "fixed" because the data could not be
  read. ``PASS`` and ``SKIP`` are not exported. ``WAIVED`` results are left out (GitHub ignores
  SARIF suppressions) and counted in the run property ``mlguard/waived``.
* Location: every result has ``locations[0].physicalLocation.artifactLocation.uri`` and a
  ``region.startLine``. IaC results (``Result.source`` set) point at their file and line. A cloud
  resource has no file, so it gets a stable, repo-relative pseudo-path (see :func:`pseudo_path`)
  ``mlguard/<provider>/<account or workspace>/<region or "global">/<type>/<name or id>``, each
  segment percent-encoded, with ``startLine`` 1. The resource uid is the ``logicalLocations``
  entry's ``fullyQualifiedName``.
* Rules carry shortDescription, fullDescription, help (text and markdown with remediation),
  ``properties.tags`` (``security`` when the category is security, category, provider, frameworks;
  at most 20), ``security-severity`` (critical 9.5, high 8.0, medium 5.5, low 3.0, info 0.0;
  GitHub maps >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low) and ``precision``
  (``very-high``: the policy reads the collected configuration directly).
* Limits: at most 25,000 results per run (the most severe are kept), 25,000 rules per run, 20 tags
  per rule, 20 runs per file. What was cut is reported in the run property ``mlguard/truncated``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from itertools import groupby
from operator import attrgetter
from typing import Any
from urllib.parse import quote

import orjson

from mlguard.model import PolicyInfo, Result, ScanResult, Severity, Status, incomplete_note
from mlguard.report.base import PerObject, Reporter, ReportOptions, joined, json_dumper, register

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/mlguard/mlguard"

MAX_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000
MAX_TAGS_PER_RULE = 20
MAX_RUNS_PER_FILE = 20

SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
EXPORTED = (Status.FAIL, Status.ERROR)
FINGERPRINT_KEY = "mlguardFingerprint/v1"
MAX_SCOPES_NAMED = 3  # more accounts/workspaces than this: a count and a digest in the category
_SCOPE_NOUN = {"aws": "accounts", "databricks": "workspaces"}


def _segment(value: str | None, default: str) -> str:
    return quote(value, safe="") if value else default


def pseudo_path(result: Result) -> str:
    """The stable repo-relative pseudo-path of a cloud resource (no source file).

    ``mlguard/<provider>/<account|workspace|"global">/<region|"global">/<type>/<name|id>``; every
    segment is percent-encoded so the path is a valid URI reference whatever the name holds.
    """
    owner = result.account or result.workspace
    leaf = result.resource_name or result.resource_uid
    prefix = _path_prefix(result.provider, owner, result.region, result.resource_type)
    return f"{prefix}/{_segment(leaf, 'unknown')}"


@functools.lru_cache(maxsize=4096)
def _path_prefix(provider: str, owner: str | None, region: str | None, resource_type: str) -> str:
    """The segments of :func:`pseudo_path` before the resource's own (few distinct values)."""
    return "/".join(
        (
            "mlguard",
            _segment(provider, "unknown"),
            _segment(owner, "global"),
            _segment(region, "global"),
            _segment(resource_type, "unknown"),
        )
    )


def _source_uri(path: str) -> str:
    """A repo-relative file path as a URI reference (backslashes and ./ prefixes normalised)."""
    clean = path.replace("\\", "/")
    while clean.startswith("./"):
        clean = clean[2:]
    if clean.startswith("/"):
        return "file://" + quote(clean, safe="/")
    return quote(clean, safe="/")


def _location(result: Result) -> dict[str, Any]:
    if result.source is not None:
        region: dict[str, Any] = {"startLine": result.source.start_line}
        if result.source.end_line is not None and result.source.end_line >= result.source.start_line:
            region["endLine"] = result.source.end_line
        uri = _source_uri(result.source.file)
    else:
        region = {"startLine": 1}
        uri = pseudo_path(result)
    return {
        "physicalLocation": {"artifactLocation": {"uri": uri}, "region": region},
        "logicalLocations": [
            {
                "fullyQualifiedName": result.resource_uid,
                "name": result.resource_name or result.resource_uid,
                "kind": "resource",
            }
        ],
    }


def _rule_tags(policy: PolicyInfo, frameworks: list[str]) -> tuple[list[str], int]:
    tags: list[str] = []
    if policy.category.value == "security":
        tags.append("security")
    for tag in (policy.category.value, policy.provider, *frameworks):
        if tag not in tags:
            tags.append(tag)
    cut = max(0, len(tags) - MAX_TAGS_PER_RULE)
    return tags[:MAX_TAGS_PER_RULE], cut


def _help_markdown(policy: PolicyInfo) -> str:
    parts = [f"**{policy.title}**", "", policy.description]
    if policy.remediation:
        parts += ["", "**Remediation**", "", policy.remediation]
    if policy.remediation_cli:
        parts += ["", "CLI:", "", "```sh", policy.remediation_cli, "```"]
    if policy.remediation_terraform:
        parts += ["", "Terraform:", "", "```hcl", policy.remediation_terraform, "```"]
    if policy.compliance:
        parts += ["", "**Compliance**: " + ", ".join(policy.compliance)]
    if policy.references:
        parts += ["", "**References**", ""] + [f"- {ref}" for ref in policy.references]
    return "\n".join(parts)


def _rule(policy: PolicyInfo) -> tuple[dict[str, Any], int]:
    frameworks = sorted({c.split(":", 1)[0] for c in policy.compliance})
    tags, cut = _rule_tags(policy, frameworks)
    help_text = policy.description
    if policy.remediation:
        help_text += "\n\nRemediation: " + policy.remediation
    rule: dict[str, Any] = {
        "id": policy.id,
        "name": policy.id.replace("-", "_").replace(".", "_"),
        "shortDescription": {"text": policy.title},
        "fullDescription": {"text": policy.description},
        "help": {"text": help_text, "markdown": _help_markdown(policy)},
        "defaultConfiguration": {"level": LEVEL[policy.severity]},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[policy.severity],
            "precision": "very-high",
            "mlguard/severity": policy.severity.value,
            "mlguard/category": policy.category.value,
            "mlguard/resource": policy.resource,
        },
    }
    if policy.references:
        rule["helpUri"] = policy.references[0]
    return rule, cut


def _result(
    result: Result, rule_index: int, evidence: PerObject[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A result as SARIF; with ``evidence``, its evidence is the JSON text that gives for it, in an
    ``orjson.Fragment`` (see :func:`_dumps_results`)."""
    if result.status is Status.ERROR:
        level = "warning"
        text = f"Could not evaluate {result.policy_id} on {result.resource_uid}: {result.message}"
    else:
        level = LEVEL[result.severity]
        text = f"{result.title}: {result.message} (resource {result.resource_uid})"
    props: dict[str, Any] = {
        "mlguard/status": result.status.value,
        "mlguard/severity": result.severity.value,
        "mlguard/resourceType": result.resource_type,
    }
    if result.evidence.values:
        values = result.evidence.values
        props["mlguard/evidence"] = values if evidence is None else orjson.Fragment(evidence(values))
    if result.compliance:
        props["mlguard/compliance"] = result.compliance
    if result.baseline:
        props["mlguard/baseline"] = result.baseline
    out: dict[str, Any] = {
        "ruleId": result.policy_id,
        "ruleIndex": rule_index,
        "level": level,
        "message": {"text": text},
        "locations": [_location(result)],
        "partialFingerprints": {FINGERPRINT_KEY: result.fingerprint},
        "properties": props,
    }
    if result.baseline:
        out["baselineState"] = "new" if result.baseline == "new" else "unchanged"
    return out


_NEGATIVE_RANK = {s: -s.rank for s in Severity}


_GROUP = attrgetter("severity", "status")
_STATUS = attrgetter("status")
_PROVIDER = attrgetter("provider")
_FINGERPRINT = attrgetter("fingerprint")


def _group_order(group: tuple[Severity, Status]) -> tuple[int, int]:
    # Most severe first, FAIL before ERROR, then (within a group) stable by fingerprint:
    # truncation keeps the worst.
    severity, status = group
    return (_NEGATIVE_RANK[severity], 0 if status is Status.FAIL else 1)


def _worst(results: list[Result], limit: int) -> tuple[list[Result], int]:
    """The FAIL and ERROR results sorted by (severity, status, fingerprint), the first ``limit``,
    and how many there were. Grouped by severity and status first (in scan order), so only the
    groups that make the cut are sorted, by fingerprint alone (stable: the same order)."""
    groups: dict[tuple[Severity, Status], list[Result]] = defaultdict(list)
    for r in results:
        groups[_GROUP(r)].append(r)
    worst: list[Result] = []
    count = 0
    for key in sorted((k for k in groups if k[1] in EXPORTED), key=_group_order):
        group = groups[key]
        count += len(group)
        if len(worst) < limit:
            group.sort(key=_FINGERPRINT)
            worst += group[: limit - len(worst)]
    return worst, count


_AWS_ACCOUNT = re.compile(r"\d{12}")


def _scope_name(value: str) -> str:
    """An account id or workspace host as a category segment (a workspace URL loses its scheme)."""
    text = value.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    return text.strip("/").replace("/", "%2F") or "unknown"


def run_category(scan: ScanResult, provider: str, results: list[Result], given: str | None, runs: int) -> str:
    """The code scanning category of one run (see the module docstring)."""
    if given:
        return f"{given}/{provider}" if runs > 1 else given
    if provider == "aws":
        # provenance.accounts also holds a Databricks account an account scan read (not a
        # 12-digit AWS account id)
        aws_accounts = [a for a in scan.provenance.accounts if _AWS_ACCOUNT.fullmatch(a)]
        scopes = aws_accounts or [r.account for r in results if r.account]
    elif provider == "databricks":
        scopes = scan.provenance.workspaces or [r.workspace for r in results if r.workspace]
    else:
        scopes = []
    names = sorted({_scope_name(s) for s in set(scopes)})
    if not names:
        return f"mlguard/{provider}"
    if len(names) <= MAX_SCOPES_NAMED:
        return f"mlguard/{provider}/{'+'.join(names)}"
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    return f"mlguard/{provider}/{len(names)}-{_SCOPE_NOUN.get(provider, 'scopes')}-{digest}"


def clean_category(value: str) -> str:
    """A ``--sarif-category`` as written, without the trailing ``/`` (GitHub's own separator);
    ValueError when nothing is left or it holds a control character."""
    text = value.strip().rstrip("/")
    if not text:
        raise ValueError("the category is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("the category holds a control character")
    return text


class _Pending:
    """A run's results left out of the document, to be streamed into its place (see ``chunks``)."""

    def __init__(self, exported: list[Result], index: dict[str, int]) -> None:
        self.exported = exported
        self.index = index
        self.token = f"mlguard-results-{uuid.uuid4().hex}"  # a string no scan can hold by chance


def _run(
    scan: ScanResult,
    provider: str,
    results: list[Result],
    category: str,
    pending: list[_Pending] | None = None,
) -> dict[str, Any]:
    """One run; with ``pending``, its results are a placeholder recorded there, not dicts."""
    policies = {p.id: p for p in scan.policies}
    exported, count = _worst(results, MAX_RESULTS_PER_RUN)
    dropped_results = max(0, count - MAX_RESULTS_PER_RUN)

    rule_ids: list[str] = []
    seen: set[str] = set()
    for r in exported:
        if r.policy_id not in seen:
            seen.add(r.policy_id)
            rule_ids.append(r.policy_id)
    dropped_rules = max(0, len(rule_ids) - MAX_RULES_PER_RUN)
    if dropped_rules:
        keep = set(rule_ids[:MAX_RULES_PER_RUN])
        dropped_results += sum(1 for r in exported if r.policy_id not in keep)
        exported = [r for r in exported if r.policy_id in keep]
        rule_ids = rule_ids[:MAX_RULES_PER_RUN]

    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    tags_cut: dict[str, int] = {}
    first: dict[str, Result] = {}
    for r in exported:
        first.setdefault(r.policy_id, r)
    for pid in rule_ids:
        rule, cut = _rule(policies.get(pid) or PolicyInfo.of_result(first[pid]))
        if cut:
            tags_cut[pid] = cut
        index[pid] = len(rules)
        rules.append(rule)

    truncated: dict[str, Any] = {}
    if dropped_results:
        truncated["results"] = dropped_results
    if tags_cut:
        truncated["ruleTags"] = tags_cut

    tally = Counter(map(_STATUS, results))
    counts = {st.value: tally[st] for st in Status}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mlguard",
                "version": scan.provenance.version,
                "semanticVersion": scan.provenance.version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"{category}/{scan.provenance.started_at}"},
        "columnKind": "unicodeCodePoints",
        "results": _results(exported, index, pending),
        "invocations": [
            {
                "executionSuccessful": not any(e.provider == provider for e in scan.errors),
                "startTimeUtc": scan.provenance.started_at,
                **({"endTimeUtc": scan.provenance.finished_at} if scan.provenance.finished_at else {}),
                **({"commandLine": scan.provenance.command} if scan.provenance.command else {}),
            }
        ],
        "properties": {
            "mlguard/provider": provider,
            "mlguard/waived": tally[Status.WAIVED],
            "mlguard/counts": counts,
            "mlguard/collectionErrors": sum(1 for e in scan.errors if e.provider == provider),
            "mlguard/policyPackVersion": scan.provenance.policy_pack_version,
            "mlguard/truncated": truncated,
        },
    }
    note = incomplete_note([e for e in scan.errors if e.provider == provider])
    if note:
        run["properties"]["mlguard/incomplete"] = note
    if scan.filter:  # --status: only some results were listed
        run["properties"]["mlguard/filter"] = scan.filter.note()
    return run


def _results(
    exported: list[Result], index: dict[str, int], pending: list[_Pending] | None
) -> list[dict[str, Any]] | str:
    if pending is None:
        return [_result(r, index[r.policy_id]) for r in exported]
    pending.append(_Pending(exported, index))
    return pending[-1].token


def build_sarif(scan: ScanResult, category: str | None = None) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict (one run per provider scope); ``category``: the
    ``--sarif-category`` given (None: one per provider and scope)."""
    return _sarif(scan, category)


def sarif_chunks(scan: ScanResult, category: str | None = None) -> Iterator[str]:
    """``build_sarif`` as compact JSON (and a newline), in pieces: each run's results are encoded
    one by one into their place, never all at once."""
    pending: list[_Pending] = []
    text = _dumps(_sarif(scan, category, pending))
    evidence: PerObject[dict[str, Any]] = PerObject(json_dumper(separators=(",", ":"), ensure_ascii=False))
    for run in pending:
        head, text = text.split(_dumps(run.token), 1)
        yield head + "["
        for start in range(0, len(run.exported), _BATCH):
            batch = _dumps_results(run.exported[start : start + _BATCH], run.index, evidence)
            # the items of a compact list are the list's text between its brackets
            yield ("," if start else "") + batch[1:-1]
        yield "]"
    yield text + "\n"


_BATCH = 1000  # results encoded at once


def _dumps_results(results: list[Result], index: dict[str, int], evidence: PerObject[dict[str, Any]]) -> str:
    """``_dumps`` of the results as SARIF. Their evidence (values of any JSON type) is ``json``'s
    text, made once per evidence object (a policy's equal ones are one), and the rest (texts, ints,
    lists and dicts of them) orjson's, which is json's text for these, five times faster; a batch
    orjson refuses (a lone surrogate in a text, an int beyond 64 bits) is written by ``json``."""
    try:
        return orjson.dumps([_result(r, index[r.policy_id], evidence) for r in results]).decode()
    except TypeError:  # orjson.JSONEncodeError
        return _dumps([_result(r, index[r.policy_id]) for r in results])


def _dumps(value: Any) -> str:
    # Compact: json's C encoder only runs without indent (10x faster at 25,000 results per run).
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _sarif(scan: ScanResult, category: str | None, pending: list[_Pending] | None = None) -> dict[str, Any]:
    by_provider: dict[str, list[Result]] = defaultdict(list)
    for provider, run in groupby(scan.results, _PROVIDER):  # a policy's results come together
        by_provider[provider] += run
    for e in scan.errors:  # a provider whose collection only failed still gets a (empty) run
        by_provider.setdefault(e.provider, [])
    if not by_provider:
        for p in sorted({p.provider for p in scan.policies}) or ["mlguard"]:
            by_provider[p] = []
    providers = sorted(by_provider)
    given = clean_category(category) if category is not None else None
    kept = providers[:MAX_RUNS_PER_FILE]
    runs = []
    for provider in kept:
        results = by_provider[provider]
        where = run_category(scan, provider, results, given, len(kept))
        runs.append(_run(scan, provider, results, where, pending))
    if len(providers) > MAX_RUNS_PER_FILE:
        runs[-1]["properties"]["mlguard/truncated"]["runs"] = providers[MAX_RUNS_PER_FILE:]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


@register
class SarifReporter(Reporter):
    name = "sarif"
    filename = "results.sarif"
    description = "SARIF 2.1.0 for GitHub code scanning (FAIL and ERROR results; one run per provider)."

    streams = True

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        yield from sarif_chunks(scan, options.sarif_category)

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return joined(self.chunks(scan, options))


__all__ = ["SarifReporter", "build_sarif", "clean_category", "pseudo_path", "run_category", "sarif_chunks"]
