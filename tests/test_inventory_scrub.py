"""An inventory file given to `mlguard evaluate` never passed a collector: it is scrubbed on load,
so evaluate's reports obey the same no-secret rule as scan's."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mlguard.cli import cli
from mlguard.collect.secrets import SECRET_PATHS
from mlguard.pipeline import load_inventory

ACCOUNT = "111122223333"
# distinct realistic-looking tokens (a GitHub PAT shape, an AWS secret key shape), one per place
CANARY_NAME = "ghp_" + "Zq8Xw3Lk9Vb2Nm4Pr7Ts1Yu6Hc0Jd5Fg8Ka3"
CANARY_TAG = "ghp_" + "Mn3Bv6Cx9Zl2Kj5Hg8Fd1Sa4Qw7Er0Ty3Ui6"
CANARY_DATA = "ghp_" + "Po9Iu8Yt7Re6Wq5As4Df3Gh2Jk1Lz0Xc9Vb8"
CANARY_ERROR = "ghp_" + "Lk4Jh7Gf0Ds3Ap6Oi9Uy2Tr5Ew8Qz1Xm4Nb7"
CANARIES = (CANARY_NAME, CANARY_TAG, CANARY_DATA, CANARY_ERROR)
FORMATS = "json,sarif,html,junit,markdown,csv,console"


def _inventory(path: Path) -> Path:
    instance = f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1"
    job = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/train"
    doc = {
        "provenance": {"version": "hand-written", "started_at": "2026-06-01T00:00:00Z"},
        "resources": [
            {
                "uid": instance,
                "type": "aws.ec2.instance",
                "provider": "aws",
                "id": "i-1",
                "name": f"gpu box {CANARY_NAME}",
                "account": ACCOUNT,
                "region": "us-east-1",
                "tags": {"owner": f"team {CANARY_TAG}"},
                "data": {"state": "running", "is_gpu": True, "gpu": {"accelerator_count": 1}},
            },
            {
                "uid": job,
                "type": "aws.sagemaker.training_job",
                "provider": "aws",
                "id": "train",
                "name": "train",
                "account": ACCOUNT,
                "region": "us-east-1",
                "data": {
                    "hyperparameters": {"notes": f"pull with {CANARY_DATA}"},
                    "plaintext_secret_paths": [],
                },
            },
        ],
        "errors": [
            {
                "provider": "aws",
                "account": ACCOUNT,
                "region": "eu-west-1",
                "operation": "DescribeInstances",
                "code": "AccessDenied",
                "message": f"denied for token {CANARY_ERROR}",
            }
        ],
        "coverage": [
            {"provider": "aws", "account": ACCOUNT, "region": "us-east-1", "resource_type": t}
            for t in ("aws.ec2.instance", "aws.sagemaker.training_job")
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_loaded_inventory_is_scrubbed_and_records_where(tmp_path: Path) -> None:
    inv = load_inventory(_inventory(tmp_path / "inventory.json"))
    text = inv.model_dump_json()
    assert not [c for c in CANARIES if c in text]
    by_type = {r.type: r for r in inv.resources}
    assert sorted(by_type["aws.ec2.instance"].data[SECRET_PATHS]) == ["name", "tags.owner"]
    assert by_type["aws.sagemaker.training_job"].data[SECRET_PATHS] == ["hyperparameters.notes"]


def test_evaluate_reports_of_a_hand_written_inventory_hold_no_secret(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path / "inventory.json")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["evaluate", str(inventory), "--format", FORMATS, "--output-dir", str(out), "--fail-on", "never"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    files = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert {"results.json", "results.sarif", "report.html", "junit.xml", "summary.md", "results.csv"} <= set(
        files
    )
    for name, text in [*files.items(), ("console", result.output)]:
        assert not [c for c in CANARIES if c in text], name
    results = json.loads(files["results.json"])["results"]
    # the secret the file carried is judged as the scan would have: a FAIL, not a PASS
    job = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/train"
    plaintext = [
        r["status"] for r in results if r["resource_uid"] == job and r["policy_id"].endswith("secrets")
    ]
    assert plaintext == ["FAIL"]
