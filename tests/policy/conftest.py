from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlguard.model import Coverage, Inventory, Provenance, Resource
from mlguard.policy.loader import Policy, load_policy

ACCOUNT = "111122223333"
REGION = "us-east-1"


@pytest.fixture
def make_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Policy]:
    # The engine is exercised on synthetic fields (a, b, x...): the declared-field check of the
    # loader is tested apart, in tests/test_fields.py.
    monkeypatch.setattr("mlguard.policy.loader.policy_path_problems", lambda resource, raw: [])
    counter = [0]

    def make(body: str, resource: str = "aws.sagemaker.endpoint", name: str | None = None) -> Policy:
        counter[0] += 1
        pid = name or f"test_policy_{counter[0]}"
        header = (
            "title: A test policy for the engine\n"
            "description: Exercises one feature of the policy language.\n"
            "severity: high\ncategory: security\n"
            f"resource: {resource}\n"
            "remediation: {text: Fix the resource as described.}\n"
        )
        path = tmp_path / f"{pid}.yaml"
        path.write_text(header + textwrap.dedent(body), encoding="utf-8")
        return load_policy(path, "test")

    return make


def res(uid: str, rtype: str = "aws.sagemaker.endpoint", **kw: Any) -> Resource:
    data = kw.pop("data", {})
    return Resource(
        uid=uid,
        type=rtype,
        provider=rtype.split(".", 1)[0],
        id=uid.rsplit("/", 1)[-1],
        name=kw.pop("name", uid.rsplit("/", 1)[-1]),
        account=kw.pop("account", ACCOUNT),
        region=kw.pop("region", REGION),
        data=data,
        **kw,
    )


def inventory(*resources: Resource, errors: Any = (), coverage: Any = None) -> Inventory:
    if coverage is None:
        coverage = sorted(
            {
                Coverage(provider=r.provider, account=r.account, region=r.region, resource_type=r.type)
                for r in resources
            },
            key=lambda c: c.model_dump_json(),
        )
    return Inventory(
        provenance=Provenance(version="test", started_at="2026-06-01T00:00:00Z"),
        resources=list(resources),
        errors=list(errors),
        coverage=list(coverage),
    )
