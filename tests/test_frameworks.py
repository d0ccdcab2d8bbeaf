"""The compliance framework files: each validates and loads, requirement ids are unique, references
are well formed, and framework_coverage counts what the loaded policies evidence.

Until every planned policy exists, the framework files name ids that the strict loader rejects, so
these tests load the built-in set with ``strict_frameworks=False``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from mlguard.policy.docs import framework_coverage
from mlguard.policy.loader import (
    IAC_ID_PREFIXES,
    PolicySet,
    builtin_policy_dir,
    load_framework,
    load_policy_set,
)
from mlguard.policy.schema import POLICY_ID_PATTERN, framework_schema

FRAMEWORK_DIR = builtin_policy_dir() / "frameworks"
FRAMEWORK_FILES = sorted(FRAMEWORK_DIR.glob("*.yaml"))
EXPECTED = {
    "aws-securityhub-sagemaker",
    "aws-ai-security-best-practices",
    "cis-aws-foundations",
    "nist-800-53-r5",
    "iso-42001-2023",
    "nist-ai-rmf-1.0",
    "eu-ai-act",
    "databricks-dasf",
    "soc2",
    "owasp-llm-top10-2025",
    "mitre-atlas-mitigations",
}
CHECKOV_ID = re.compile(r"^CKV2?_AWS_\d+$")


def _raw(path: Path) -> dict[str, object]:
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def policy_set() -> PolicySet:
    return load_policy_set([(builtin_policy_dir(), "builtin")], strict_frameworks=False)


def test_every_expected_framework_has_a_file() -> None:
    assert {p.stem for p in FRAMEWORK_FILES} >= EXPECTED


@pytest.mark.parametrize("path", FRAMEWORK_FILES, ids=[p.stem for p in FRAMEWORK_FILES])
def test_framework_file_validates_and_loads(path: Path) -> None:
    raw = _raw(path)
    jsonschema.Draft202012Validator(framework_schema()).validate(raw)
    fw = load_framework(path)
    assert fw.id == path.stem, "the framework id must equal the file name"
    assert fw.requirements
    ids = [r.id for r in fw.requirements]
    assert len(ids) == len(set(ids)), (
        f"duplicate requirement ids: {sorted({i for i in ids if ids.count(i) > 1})}"
    )
    for req in fw.requirements:
        assert req.title.strip() == req.title, req.id
        assert len(req.title) >= 3, req.id
        assert len(req.policies) == len(set(req.policies)), req.id


@pytest.mark.parametrize("path", FRAMEWORK_FILES, ids=[p.stem for p in FRAMEWORK_FILES])
def test_framework_references_are_well_formed(path: Path) -> None:
    for req in load_framework(path).requirements:
        for pid in req.policies:
            if pid.startswith(IAC_ID_PREFIXES):
                assert CHECKOV_ID.match(pid) or pid.startswith("MLG_"), f"{req.id}: bad IaC check id {pid}"
            else:
                assert re.match(POLICY_ID_PATTERN, pid), f"{req.id}: bad policy id {pid}"


def test_loaded_policies_get_the_compliance_index(policy_set: PolicySet) -> None:
    """Every (framework, requirement) that names a loaded policy appears in that policy's
    compliance field, and nothing else does."""
    expected: dict[str, set[str]] = {pid: set() for pid in policy_set.policies}
    for fw in policy_set.frameworks.values():
        for req in fw.requirements:
            for pid in req.policies:
                if pid in expected:
                    expected[pid].add(f"{fw.id}:{req.id}")
    for pid, policy in policy_set.policies.items():
        assert set(policy.compliance) == expected[pid], pid


def test_securityhub_sagemaker_lists_every_control_once() -> None:
    fw = load_framework(FRAMEWORK_DIR / "aws-securityhub-sagemaker.yaml")
    assert [r.id for r in fw.requirements] == [f"SageMaker.{n}" for n in range(1, 26)]


def test_ai_security_standard_agrees_with_the_sagemaker_controls() -> None:
    """The AI Security Best Practices standard reuses SageMaker controls: same titles, same evidence."""
    sagemaker = {
        r.id: r for r in load_framework(FRAMEWORK_DIR / "aws-securityhub-sagemaker.yaml").requirements
    }
    standard = load_framework(FRAMEWORK_DIR / "aws-ai-security-best-practices.yaml")
    shared = [r for r in standard.requirements if r.id.startswith("SageMaker.")]
    assert shared
    for req in shared:
        assert req.id in sagemaker, req.id
        assert req.title == sagemaker[req.id].title, req.id
        assert req.policies == sagemaker[req.id].policies, req.id


@pytest.mark.parametrize(
    ("framework", "count"),
    [
        ("nist-ai-rmf-1.0", 72),
        ("iso-42001-2023", 38),
        ("soc2", 14),
        ("databricks-dasf", 56),
        ("owasp-llm-top10-2025", 10),
        ("mitre-atlas-mitigations", 35),
    ],
)
def test_framework_requirement_counts(framework: str, count: int) -> None:
    assert len(load_framework(FRAMEWORK_DIR / f"{framework}.yaml").requirements) == count


# ---- framework_coverage


POLICY = """\
title: Example bucket policy for coverage
description: A small policy used to test framework coverage.
severity: low
category: security
resource: aws.s3.bucket
assert:
  path: name
  op: not_empty
remediation:
  text: Nothing to remediate in this example.
"""

FRAMEWORK = """\
id: demo
name: Demo framework
requirements:
  - id: R1
    title: Evidenced by a loaded policy
    policies: [pol_a]
  - id: R2
    title: Evidenced by a loaded policy and an IaC check
    policies: [CKV_AWS_21, pol_b]
  - id: R3
    title: Evidenced by an IaC check only
    policies: [CKV_AWS_19]
  - id: R4
    title: Names a policy that is not loaded
    policies: [pol_missing]
  - id: R5
    title: Not mapped at all
    policies: []
"""


def test_framework_coverage_counts_requirements(tmp_path: Path) -> None:
    (tmp_path / "aws").mkdir()
    for pid in ("pol_a", "pol_b"):
        (tmp_path / "aws" / f"{pid}.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "frameworks").mkdir()
    (tmp_path / "frameworks" / "demo.yaml").write_text(FRAMEWORK, encoding="utf-8")
    ps = load_policy_set([(tmp_path, "test")], strict_frameworks=False)

    [cov] = framework_coverage(ps)
    assert cov.framework == "demo"
    assert cov.total == 5
    assert cov.covered == 2
    assert [r.id for r in cov.iac_only] == ["R3"]
    assert [r.id for r in cov.uncovered] == ["R4", "R5"]
    assert cov.percent == pytest.approx(40.0)


def test_framework_coverage_of_the_builtin_set_adds_up(policy_set: PolicySet) -> None:
    coverage = framework_coverage(policy_set)
    assert [c.framework for c in coverage] == sorted(policy_set.frameworks)
    for c in coverage:
        fw = policy_set.frameworks[c.framework]
        assert c.total == len(fw.requirements)
        assert c.covered + len(c.iac_only) + len(c.uncovered) == c.total
        evidenced = {
            req.id for req in fw.requirements if any(pid in policy_set.policies for pid in req.policies)
        }
        assert c.covered == len(evidenced)
        assert not evidenced & {r.id for r in c.uncovered}


def test_policy_catalogue_is_in_sync() -> None:
    """policies/README.md is generated by `mlguard policies docs -o policies/README.md`."""
    from mlguard.policy.docs import render_catalogue
    from mlguard.policy.loader import builtin_policy_dir, load_policy_set

    committed = (Path(__file__).resolve().parents[1] / "policies" / "README.md").read_text(encoding="utf-8")
    assert committed == render_catalogue(load_policy_set([(builtin_policy_dir(), "builtin")])), (
        "policies/README.md is stale: run `mlguard policies docs -o policies/README.md`"
    )


def test_owasp_llm_top10_lists_the_ten_2025_risks_in_order() -> None:
    fw = load_framework(FRAMEWORK_DIR / "owasp-llm-top10-2025.yaml")
    assert [r.id for r in fw.requirements] == [f"LLM{n:02d}:2025" for n in range(1, 11)]


def test_mitre_atlas_lists_every_mitigation_once_in_order() -> None:
    fw = load_framework(FRAMEWORK_DIR / "mitre-atlas-mitigations.yaml")
    assert [r.id for r in fw.requirements] == [f"AML.M{n:04d}" for n in range(35)]
