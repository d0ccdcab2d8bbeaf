"""The Markdown policy catalogue (``mlguard policies docs``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlguard.policy.docs import framework_coverage, render_catalogue
from mlguard.policy.loader import PolicySet, builtin_policy_dir, load_policy_set


@pytest.fixture(scope="module")
def builtin_set() -> PolicySet:
    # Non-strict: the framework files already name policies that are planned but not written yet.
    return load_policy_set([(builtin_policy_dir(), "builtin")], strict_frameworks=False)


def test_catalogue_of_the_builtin_set_has_every_policy_and_framework(builtin_set: PolicySet) -> None:
    text = render_catalogue(builtin_set)
    assert text.startswith("# mlguard policy catalogue\n")
    assert text.endswith("\n")
    assert not text.endswith("\n\n")
    assert text == render_catalogue(builtin_set), "the catalogue must be deterministic"

    headings = re.findall(r"^#### (\S+)$", text, flags=re.MULTILINE)
    assert sorted(headings) == sorted(builtin_set.policies), "one section per policy"
    for pid, policy in builtin_set.policies.items():
        assert f"| [{pid}](#{pid}) |" in text, f"{pid} missing from its service table"
        section = text.split(f"#### {pid}\n", 1)[1].split("\n#### ", 1)[0]
        assert f"- Severity: **{policy.severity.value}**" in section
        assert f"- Resource: `{policy.resource}`" in section
        assert "Remediation: " in section
        for ref in policy.compliance:
            fid, _, req = ref.partition(":")
            assert f"(`{fid}`)" in section, ref
            assert req in section, ref

    providers = {p.provider for p in builtin_set.policies.values()}
    for provider, title in (("aws", "## AWS"), ("databricks", "## Databricks")):
        assert (f"\n{title}\n" in text) == (provider in providers)

    coverage = text.split("\n## Framework coverage\n", 1)[1]
    for c in framework_coverage(builtin_set):
        row = next(line for line in coverage.splitlines() if f"(`{c.framework}`) |" in line)
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[2:6] == [str(c.total), str(c.covered), str(len(c.iac_only)), str(len(c.uncovered))]
        section = coverage.split(f"\n### {c.name} (`{c.framework}`)\n", 1)[1].split("\n### ", 1)[0]
        for req in builtin_set.frameworks[c.framework].requirements:
            loaded = [pid for pid in req.policies if pid in builtin_set.policies]
            if loaded:
                row = next(line for line in section.splitlines() if line.startswith(f"| `{req.id}` |"))
                assert all(f"[{pid}](#{pid})" in row for pid in loaded), req.id
        for req in c.uncovered:
            assert f"- `{req.id}` {req.title}" in section, req.id


POLICY = """\
title: Buckets use the expected versioning state | strict
description: >
  Versioning keeps old object versions so that training data can be recovered.
severity: medium
category: governance
resource: aws.s3.bucket
parameters:
  expected:
    type: string
    default: Enabled
    description: Versioning status | expected
  exempt:
    type: array
    items: string
    default: [scratch]
    description: Bucket names exempted.
assert:
  path: versioning
  op: eq
  param: expected
remediation:
  text: Turn on versioning.
  cli: aws s3api put-bucket-versioning --bucket <b> --versioning-configuration Status=Enabled
references:
  - https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html
"""

DBX_POLICY = """\
title: Warehouses stop when idle
description: An idle SQL warehouse keeps billing until it stops.
severity: low
category: cost
resource: databricks.sql_warehouse
enabled: false
assert:
  path: auto_stop_mins
  op: gt
  value: 0
remediation:
  text: Set auto stop on the warehouse.
"""

FRAMEWORK = """\
id: demo
name: Demo framework
version: "1"
requirements:
  - id: D-1
    title: Data is versioned
    policies: [bucket_versioning]
  - id: D-2
    title: Nothing evidences this
    policies: []
"""


def test_catalogue_renders_parameters_escapes_cells_and_lists_uncovered(tmp_path: Path) -> None:
    (tmp_path / "aws").mkdir()
    (tmp_path / "aws" / "bucket_versioning.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "databricks").mkdir()
    (tmp_path / "databricks" / "warehouse_auto_stop.yaml").write_text(DBX_POLICY, encoding="utf-8")
    (tmp_path / "frameworks").mkdir()
    (tmp_path / "frameworks" / "demo.yaml").write_text(FRAMEWORK, encoding="utf-8")
    text = render_catalogue(load_policy_set([(tmp_path, "test")]))

    assert "2 policies, 1 compliance framework." in text
    assert text.index("\n## AWS\n") < text.index("\n### S3\n") < text.index("\n## Databricks\n")
    assert "\n### Workspace\n" in text
    # A pipe inside a table cell is escaped; the heading keeps the raw title.
    assert "| Buckets use the expected versioning state \\| strict | medium | governance |" in text
    assert "**Buckets use the expected versioning state | strict**" in text
    assert "| `expected` | string | `Enabled` | Versioning status \\| expected |" in text
    assert '| `exempt` | array of string | `["scratch"]` | Bucket names exempted. |' in text
    assert "```shell\naws s3api put-bucket-versioning" in text
    assert "  - Demo framework (`demo`): D-1" in text
    assert "*Disabled by default" in text.split("#### warehouse_auto_stop", 1)[1]
    assert "- Frameworks: none" in text.split("#### warehouse_auto_stop", 1)[1]
    assert "| Demo framework (`demo`) | 1 | 2 | 1 | 0 | 1 | 50% |" in text
    assert "| `D-1` | Data is versioned | [bucket_versioning](#bucket_versioning) |" in text
    assert "Not covered:\n\n- `D-2` Nothing evidences this\n" in text


def test_catalogue_states_what_absence_means_for_each_policy_that_decides_it(builtin_set: PolicySet) -> None:
    text = render_catalogue(builtin_set)
    section = text.split("#### sagemaker_notebook_direct_internet_disabled\n", 1)[1].split("\n#### ", 1)[0]
    assert "- When absent (missing or null; an attribute that was not read is always ERROR):" in section
    assert "`direct_internet_access`: the condition is false (if_missing: fail)" in section
    assert "DirectInternetAccess is Enabled" in section
    plain = text.split("#### sagemaker_model_network_isolation\n", 1)[1].split("\n#### ", 1)[0]
    assert "When absent" not in plain
