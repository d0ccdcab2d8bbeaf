"""`mlguard evaluate` checks an inventory's data against the declared fields: warnings, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlguard.cli import main
from mlguard.fields import inventory_field_warnings
from mlguard.model import Resource

ACCOUNT = "111122223333"


def _resource(i: int, **data: object) -> dict[str, object]:
    return {
        "uid": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-{i}",
        "type": "aws.ec2.instance",
        "provider": "aws",
        "id": f"i-{i}",
        "account": ACCOUNT,
        "region": "us-east-1",
        "data": data,
    }


def test_undeclared_and_mistyped_keys_are_named_with_their_type() -> None:
    resources = [
        Resource.model_validate(_resource(1, state="running", gpu_flavour="big")),
        Resource.model_validate(_resource(2, state=5, gpu_flavour="small", plaintext_secret_paths=[])),
    ]
    assert inventory_field_warnings(resources) == [
        "aws.ec2.instance: data key 'gpu_flavour' is not declared for this type (2 resource(s)); "
        "no policy reads it (see `mlguard types aws.ec2.instance`)",
        "aws.ec2.instance: 'state' is declared as string but 1 resource(s) hold another type; "
        "a policy reading it reports ERROR there",
    ]
    assert inventory_field_warnings([Resource.model_validate(_resource(3, state="running"))]) == []


def test_evaluate_warns_on_stderr_and_still_evaluates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventory.json"
    doc = {
        "provenance": {"version": "hand-written", "started_at": "2026-06-01T00:00:00Z"},
        "resources": [_resource(1, state="running", **{"odd\x1b[31mkey": 1})],
        "errors": [],
        "coverage": [
            {
                "provider": "aws",
                "account": ACCOUNT,
                "region": "us-east-1",
                "resource_type": "aws.ec2.instance",
            }
        ],
    }
    inventory.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(inventory), "--output-dir", str(tmp_path / "out"), "--fail-on", "never"])
    err = capsys.readouterr().err
    assert exc.value.code == 0
    assert "mlguard: warning: " in err
    # the key is named as written, its control character shown escaped, never sent to the terminal
    assert "aws.ec2.instance: data key 'odd\\x1b[31mkey' is not declared for this type" in err
    assert "\x1b" not in err
    assert (tmp_path / "out" / "results.json").is_file()
