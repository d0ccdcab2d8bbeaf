"""No planted secret leaves mlguard: canaries in every free-text field of both demo estates.

The demo estates plant distinct, realistic-looking credentials (AWS key pair, Databricks, GitHub,
Slack, Hugging Face and OpenAI tokens, an Azure account key, a JWT, URL and SAS passwords) in
descriptions, tags, environments, arguments, hyperparameters, Spark conf, job parameters, pipeline
configuration and lifecycle scripts. A demo scan writes every report format, the console output,
debug-mode stderr and the saved inventory; none may contain any canary. A collection of every
type the providers know (not only what the policies need) is checked too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlguard.collect.base import NullProgress, providers
from mlguard.collect.secrets import SECRET_PATHS
from mlguard.config import Config
from mlguard.demo.aws_estate import CANARIES as AWS_CANARIES
from mlguard.demo.databricks_fake.seeds import CANARIES as DATABRICKS_CANARIES
from mlguard.pipeline import LoadedConfig

pytestmark = pytest.mark.e2e
CANARIES = (*AWS_CANARIES, *DATABRICKS_CANARIES)
FORMATS = ("json", "sarif", "html", "junit", "markdown", "csv", "console")


def _leaks(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def test_canaries_are_distinct_and_many() -> None:
    assert len(set(CANARIES)) == len(CANARIES) >= 20


@pytest.fixture(scope="module")
def scan_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("canaries")
    env = {**os.environ, "MLGUARD_DEBUG": "1", "NO_COLOR": "1"}
    exe = shutil.which("mlguard", path=str(Path(sys.executable).parent))
    assert exe, "the mlguard console script is not installed next to this interpreter"
    proc = subprocess.run(
        [
            exe,
            "scan",
            "--demo",
            "--format",
            ",".join(FORMATS),
            "--output-dir",
            str(out),
            "--inventory-out",
            str(out / "inventory.json"),
            "--fail-on",
            "never",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    (out / "stdout.txt").write_text(proc.stdout)
    (out / "stderr.txt").write_text(proc.stderr)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_no_canary_in_any_output_of_a_demo_scan(scan_dir: Path) -> None:
    files = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in scan_dir.iterdir()}
    # every format was written (console goes to stdout), with debug stderr and the inventory
    assert {"results.json", "results.sarif", "report.html", "junit.xml", "summary.md", "results.csv"} <= set(
        files
    )
    assert "inventory.json" in files
    assert files["stdout.txt"].strip()
    assert {name: _leaks(text) for name, text in files.items() if _leaks(text)} == {}


def test_the_fact_of_each_planted_secret_survives(scan_dir: Path) -> None:
    inventory = json.loads((scan_dir / "inventory.json").read_text())
    flagged = {(r["type"], r.get("name")) for r in inventory["resources"] if r["data"].get(SECRET_PATHS)}
    assert {
        ("aws.sagemaker.model", "llm-summarizer-model"),
        ("aws.sagemaker.training_job", "llm-finetune-p4d-2026-11-25"),
        ("aws.sagemaker.processing_job", "llm-eval-g5"),
        ("aws.sagemaker.notebook_instance", "research-notebook-open"),
        ("aws.events.rule", "model-monitor-violations"),
        ("aws.glue.job", "legacy-export-etl"),
        ("aws.lambda.function", "preprocess-trigger"),
        ("databricks.cluster", "gpu-training-shared"),
        ("databricks.job", "train-nightly"),
        ("databricks.job", "etl-daily"),
        ("databricks.pipeline", "bronze-to-silver"),
        ("databricks.serving_endpoint", "fraud-gpu"),
        ("databricks.serving_endpoint", "openai-proxy"),
        ("aws.kms.key", None),
        ("databricks.instance_pool", "gpu-burst-pool"),
        ("aws.bedrock.agent", "ops-agent"),
    } <= flagged
    results = json.loads((scan_dir / "results.json").read_text())["results"]
    failing = {r["policy_id"] for r in results if r["status"] == "FAIL"}
    assert {
        "sagemaker_model_no_plaintext_secrets",
        "sagemaker_training_job_no_plaintext_secrets",
        "sagemaker_processing_job_no_plaintext_secrets",
        "sagemaker_notebook_no_plaintext_secrets",
        "databricks_job_no_plaintext_secrets",
        "databricks_pipeline_no_plaintext_secrets",
        "databricks_cluster_no_plaintext_secrets",
        "lambda_function_no_secret_env",
        "glue_job_no_secrets_in_arguments",
        "databricks_serving_no_plaintext_secrets",
        "databricks_cluster_policy_no_plaintext_secrets",
        "events_rule_no_plaintext_secrets",
        "kms_key_no_plaintext_secrets",
        "bedrock_agent_no_plaintext_secrets",
    } <= failing


def test_no_canary_in_an_inventory_of_every_type() -> None:
    from mlguard.demo.scan import collect_demo

    types = set().union(*(entry.types() for entry in providers().values()))
    collected, _ = collect_demo(LoadedConfig(Config(), None, None), types, NullProgress())
    inventory = collected.inventory
    assert len({r.type for r in inventory.resources}) > 40
    assert _leaks(inventory.model_dump_json()) == []
    for r in inventory.resources:
        assert SECRET_PATHS in r.data, r.uid
