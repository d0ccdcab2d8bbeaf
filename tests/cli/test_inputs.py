"""Inventory and results files: one resource never judged on another's data, derived figures
recomputed on every load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlguard.cli import main, sample_inventory_path
from mlguard.model import Inventory, ScanResult, Status
from mlguard.pipeline import LoadedConfig, Selection, load_config, load_policies, select_policies
from mlguard.policy.evaluator import evaluate_inventory

SAMPLE = sample_inventory_path()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return int(exc.value.code or 0), capsys.readouterr().err


def _colliding_sample() -> dict[str, object]:
    """The sample with the public bucket's uid given to the private bucket that precedes it."""
    raw = json.loads(SAMPLE.read_text())
    resources = raw["resources"]
    private = next(i for i, r in enumerate(resources) if r["uid"] == "arn:aws:s3:::private")
    public = next(i for i, r in enumerate(resources) if r["uid"] == "arn:aws:s3:::public-policy")
    resources[public]["uid"] = resources[private]["uid"]
    return raw


def test_duplicate_uid_in_inventory_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps(_colliding_sample(), indent=1))
    code, err = run(["-q", "evaluate", str(inv), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2
    assert "resources[47] and resources[49] share uid 'arn:aws:s3:::private'" in err
    assert f"{inv}:" in err
    assert not (tmp_path / "out").exists()


def test_evaluator_never_judges_a_resource_on_anothers_data() -> None:
    """Even when an inventory built in code repeats a uid, each resource is judged on its own data."""
    inventory = Inventory.model_validate(_colliding_sample())
    loaded: LoadedConfig = load_config(None, cwd=Path("/nonexistent"))
    policies = select_policies(load_policies(loaded), loaded, Selection(include=["s3_bucket_not_public"]))
    results = evaluate_inventory(policies, inventory).results
    on_private_uid = [r.status for r in results if r.resource_uid == "arn:aws:s3:::private"]
    assert sorted(on_private_uid) == [Status.FAIL, Status.PASS]


def test_duplicate_result_in_results_file_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(["-q", "evaluate", str(SAMPLE), "--output-dir", str(tmp_path), "--fail-on", "never"], capsys)
    raw = json.loads((tmp_path / "results.json").read_text())
    raw["results"].append(raw["results"][3])
    (tmp_path / "results.json").write_text(json.dumps(raw))
    code, err = run(["report", str(tmp_path / "results.json"), "--output-dir", str(tmp_path / "b")], capsys)
    assert code == 2
    assert f"results[3] and results[{len(raw['results']) - 1}] share fingerprint" in err


def test_report_recomputes_a_tampered_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["-q", "evaluate", str(SAMPLE), "--output-dir", str(tmp_path / "a"), "--fail-on", "never"], capsys)
    path = tmp_path / "a" / "results.json"
    honest = json.loads(path.read_text())
    tampered = json.loads(path.read_text())
    tampered["summary"]["by_status"] = {"PASS": tampered["summary"]["total"], "FAIL": 0, "ERROR": 0}
    tampered["summary"]["collection_errors"] = 0
    path.write_text(json.dumps(tampered))
    code, _ = run(
        ["-q", "report", str(path), "--format", "json", "--output-dir", str(tmp_path / "b")], capsys
    )
    assert code == 0
    rewritten = json.loads((tmp_path / "b" / "results.json").read_text())
    assert rewritten["summary"] == honest["summary"]
    assert rewritten["summary"]["by_status"]["FAIL"] > 0
    scan = ScanResult.model_validate(rewritten)
    assert scan.summary.collection_errors == len(scan.errors) > 0


def test_history_import_rejects_a_repeated_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["-q", "evaluate", str(SAMPLE), "--output-dir", str(tmp_path), "--fail-on", "never"], capsys)
    raw = json.loads((tmp_path / "results.json").read_text())
    raw["results"].insert(0, raw["results"][5])
    (tmp_path / "results.json").write_text(json.dumps(raw))
    code, err = run(
        ["history", "import", "--store", str(tmp_path / "s.sqlite"), str(tmp_path / "results.json")], capsys
    )
    assert code == 2
    assert "results[0] and results[6] share fingerprint" in err
