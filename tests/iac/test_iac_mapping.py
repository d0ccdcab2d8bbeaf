"""The severity/compliance mapping of IaC checks agrees with the framework files.

The framework files live in the repository's ``policies/frameworks``; where absent, that test skips.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlguard.iac.findings import Mapping, load_mapping

POLICIES = Path(os.environ.get("MLGUARD_TEST_POLICIES_DIR", Path(__file__).resolve().parents[2] / "policies"))
FRAMEWORKS = POLICIES / "frameworks"


def framework_index(directory: Path) -> tuple[set[str], dict[str, set[str]]]:
    """All framework:requirement ids, and check/policy id -> the requirements that list it."""
    requirements: set[str] = set()
    listed: dict[str, set[str]] = defaultdict(set)
    for path in sorted(directory.glob("*.yaml")):
        doc = YAML(typ="safe").load(path)
        for req in doc.get("requirements") or []:
            rid = f"{doc['id']}:{req['id']}"
            requirements.add(rid)
            for policy in req.get("policies") or []:
                listed[policy].add(rid)
    return requirements, listed


def check_against_frameworks(mapping: Mapping, directory: Path) -> list[str]:
    requirements, listed = framework_index(directory)
    problems = []
    for check_id, entry in mapping.checks.items():
        problems += [
            f"{check_id}: unknown requirement {c}" for c in entry.compliance if c not in requirements
        ]
        problems += [
            f"{check_id}: {r} lists the check but its mapping does not"
            for r in sorted(listed.get(check_id, set()) - set(entry.compliance))
        ]
        for live in entry.mirrors:
            problems += [
                f"{check_id}: mirrors {live}, which evidences {r}, missing from its compliance"
                for r in sorted(listed.get(live, set()) - set(entry.compliance))
            ]
    return problems


@pytest.mark.skipif(not any(FRAMEWORKS.glob("*.yaml")), reason=f"no framework files under {FRAMEWORKS}")
def test_mapping_agrees_with_framework_files() -> None:
    assert check_against_frameworks(load_mapping(), FRAMEWORKS) == []


def test_mapping_is_well_formed() -> None:
    mapping = load_mapping()
    for check_id, entry in mapping.checks.items():
        assert check_id.startswith(("CKV_", "CKV2_", "MLG_")), check_id
        assert all(":" in c for c in entry.compliance), check_id
        assert len(set(entry.compliance)) == len(entry.compliance), check_id
