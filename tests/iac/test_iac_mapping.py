"""The IaC mapping (severity, category, mirrored live policies) is sound, and compliance for IaC
checks comes from the framework files alone."""

from __future__ import annotations

from mlguard.iac.findings import load_mapping
from mlguard.policy.loader import IAC_ID_PREFIXES, builtin_policy_dir, load_policy_set

POLICY_SET = load_policy_set([(builtin_policy_dir(), "builtin")])


def test_mirrors_name_existing_live_policies() -> None:
    mapping = load_mapping()
    unknown = {c: m for c, e in mapping.checks.items() for m in e.mirrors if m not in POLICY_SET.policies}
    assert unknown == {}


def test_iac_ids_in_framework_files_are_checks_we_know() -> None:
    mapping = load_mapping()
    listed = {
        pid
        for fw in POLICY_SET.frameworks.values()
        for req in fw.requirements
        for pid in req.policies
        if pid.startswith(IAC_ID_PREFIXES)
    }
    # every check a framework names gets our severity and category, not the default
    assert listed - set(mapping.checks) == set()


def test_mapping_is_well_formed() -> None:
    mapping = load_mapping()
    for check_id in mapping.checks:
        assert check_id.startswith(IAC_ID_PREFIXES), check_id
