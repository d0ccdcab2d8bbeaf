"""The demo's cost figures: GPU-hours always, dollars only with a price file (the SAMPLE one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from mlguard.cli import cli
from mlguard.model import ScanResult

SAMPLE = Path(__file__).resolve().parents[2] / "src" / "mlguard" / "data" / "pricing-sample.yaml"
LLM = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/llm-summarizer"
POOL = "databricks://demo.cloud.databricks.com/instance_pool/pool-gpu-01"
CLUSTER = "databricks://demo.cloud.databricks.com/cluster/0101-gpu-train-a1"


def _scan(out: Path, *extra: str) -> tuple[dict[str, Any], str]:
    result = CliRunner().invoke(
        cli,
        [
            "scan",
            "--demo",
            "--category",
            "cost",
            "--format",
            "console,json,markdown,html",
            "--output-dir",
            str(out),
            "--fail-on",
            "never",
            *extra,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads((out / "results.json").read_text())
    return data, result.output


@pytest.fixture(scope="module")
def unpriced(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("unpriced")
    data, console = _scan(out)
    return data, console, out


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("priced")
    data, console = _scan(out, "--pricing", str(SAMPLE))
    return data, console, out


def _by(data: dict[str, Any], policy: str, uid: str) -> dict[str, Any]:
    (r,) = [r for r in data["results"] if r["policy_id"] == policy and r["resource_uid"] == uid]
    return r


def test_gpu_hours_without_prices(unpriced: tuple[dict[str, Any], str, Path]) -> None:
    data, console, out = unpriced
    idle = _by(data, "sagemaker_endpoint_idle", LLM)["cost"]
    # 730 h/month x 1 instance x 8 GPUs (ml.p4d.24xlarge); no price given, so no dollars
    assert (idle["gpu_hours_per_month"], idle["node_hours_per_month"]) == (5840.0, 730.0)
    assert "usd_per_month" not in idle
    assert any("invocations over the window: 0" in a for a in idle["assumptions"])
    pool = _by(data, "databricks_gpu_pool_no_idle_instances", POOL)["cost"]
    assert (pool["gpu_hours_per_month"], pool["owner"]) == (11680.0, "vision")
    summary = data["cost"]
    assert "pricing" not in summary
    assert "usd_per_month" not in summary["total"]
    # + gpu-embedding-emr: 4 running g5.2xlarge - 1 = 3 x 730 h x 1 GPU
    assert summary["total"]["gpu_hours_per_month"] == 24820.0 + 2190.0
    assert "no prices given" in " ".join(console.split())
    assert "no dollar figures" in (out / "summary.md").read_text()
    # every FAIL of a policy with a cost block carries a cost; nothing else does
    for r in data["results"]:
        assert ("cost" in r) == (r["status"] == "FAIL" and r["policy_id"] in _COSTED), r["policy_id"]


_COSTED = {
    "ec2_gpu_instance_idle",
    "ec2_gpu_instance_gpu_idle",
    "sagemaker_endpoint_idle",
    "sagemaker_endpoint_variants_autoscaled",
    "sagemaker_gpu_variant_autoscaling_bounded",
    "sagemaker_notebook_gpu_instance",
    "databricks_gpu_pool_no_idle_instances",
    "databricks_gpu_serving_scale_to_zero",
    "databricks_gpu_cluster_autotermination",
    "emr_gpu_cluster_managed_scaling",
    "bedrock_provisioned_throughput_idle",
    "sagemaker_training_job_gpu_spot_or_bounded",
}


def test_unmeasured_hours_are_unknown_not_zero(unpriced: tuple[dict[str, Any], str, Path]) -> None:
    data, console, _ = unpriced
    cost = _by(data, "databricks_gpu_cluster_autotermination", CLUSTER)["cost"]
    assert "gpu_hours_per_month" not in cost  # unknown (null), never 0
    assert cost["lines"][0]["instances"] == 5.0  # 4 workers + the driver
    assert any("not measured" in u for u in cost["unknown"])
    assert "each such hour: 5 instance-hours, 40 GPU-hours" in cost["assumptions"]
    # + the Bedrock throughput (no GPUs exposed) and the training job (hours unmeasured)
    assert data["cost"]["total"]["unknown"] == 4
    assert "unknown" in console


def test_dollars_with_the_sample_price_file(priced: tuple[dict[str, Any], str, Path]) -> None:
    data, console, out = priced
    idle = _by(data, "sagemaker_endpoint_idle", LLM)["cost"]
    assert idle["usd_per_month"] == 27010.0  # 730 h x 37.00 $/h (SAMPLE)
    assert idle["lines"][0]["price_source"] == "pricing-sample.yaml: 37 $/h"
    pool = _by(data, "databricks_gpu_pool_no_idle_instances", POOL)["cost"]
    assert pool["usd_per_month"] == 16644.0  # 2920 instance-h x 5.70 $/h (SAMPLE)
    serving = _by(
        data,
        "databricks_gpu_serving_scale_to_zero",
        "databricks://demo.cloud.databricks.com/serving_endpoint/fraud-gpu",
    )["cost"]
    assert serving["usd_per_month"] == 3577.0  # 730 h x 70 DBU/h x 0.07 $/DBU (SAMPLE)
    assert serving["at_least"] is True
    cluster = _by(data, "databricks_gpu_cluster_autotermination", CLUSTER)["cost"]
    assert "usd_per_month" not in cluster  # unmeasured hours: unknown, however well priced
    # 5 nodes x (32 $/h VM + 40 DBU/h x 0.55 $/DBU) (SAMPLE)
    assert any("each such hour costs $270.00" in u for u in cluster["unknown"])
    summary = data["cost"]
    assert summary["sample_prices"] is True
    # + faq-tuned-pt 2 model units x 730 h x 20 $/h and gpu-embedding-emr 2190 h x 1.20 $/h (SAMPLE)
    assert summary["total"]["usd_per_month"] == 57378.0 + 29200.0 + 2628.0
    assert summary["top"][0]["resource_name"] == "faq-tuned-pt"  # $29,200: the largest SAMPLE figure
    assert summary["top"][1]["resource_uid"] == LLM
    assert "SAMPLE prices, not real rates" in " ".join(console.split())
    assert "SAMPLE prices, not real rates" in (out / "summary.md").read_text()
    assert 'id="cost-sample"' in (out / "report.html").read_text()


def test_results_with_cost_validate_against_the_published_schema(
    priced: tuple[dict[str, Any], str, Path],
) -> None:
    data, _, _ = priced
    schema = ScanResult.model_json_schema()
    jsonschema.Draft202012Validator(schema).validate(data)
    again = ScanResult.model_validate(data).with_derived_figures()
    assert again.cost is not None
    assert again.cost.model_dump(exclude_none=True) == data["cost"]


def test_console_cost_tables_never_cut_a_name(priced: tuple[dict[str, Any], str, Path]) -> None:
    """At the 80 columns of a CI log, a resource or owner name is folded onto the next line, never
    shortened with an ellipsis (a cut name cannot be searched for)."""
    from rich.console import Console

    from mlguard.cost.render import print_cost

    data, _, _ = priced
    console = Console(width=80, record=True, force_terminal=False, color_system=None)
    print_cost(ScanResult.model_validate(data).cost, console)
    text = console.export_text()
    assert "Stop or scale down first" in text
    assert "…" not in text
    top = text[text.index("Stop or scale down first") :]
    resources = "".join(line.split("│")[3].strip() for line in top.splitlines() if line.count("│") > 3)
    assert "llm-summarizer" in resources  # folded over lines, but whole


def test_the_demo_gpu_fleet_covers_both_platforms(priced: tuple[dict[str, Any], str, Path]) -> None:
    data, console, out = priced
    fleet = data["gpu_fleet"]
    kinds = {t["key"] for t in fleet["by_kind"]}
    assert kinds == {
        "EC2 instance",
        "SageMaker endpoint variant",
        "SageMaker notebook",
        "SageMaker training job",
        "Bedrock provisioned throughput",
        "Databricks cluster",
        "Databricks pool (idle instances)",
        "Databricks serving entity",
    }
    # --category cost collects only what cost policies read, and the fleet says what it lacks
    assert fleet["not_collected"] == ["aws.sagemaker.processing_job"]
    assert r"not collected in this run: aws.sagemaker.processing\_job" in (out / "summary.md").read_text()
    names = {i["name"] for i in fleet["items"]}
    # failing or not: fraud-detector's variant autoscales within bounds, yet it is GPU capacity
    assert "fraud-detector / AllTraffic" in names
    assert "llm-summarizer / AllTraffic" in names
    assert not {"ml-bastion", "churn-predictor / AllTraffic", "etl-pool", "analyst-shared"} & names
    llm = next(i for i in fleet["items"] if i["name"] == "llm-summarizer / AllTraffic")
    assert (llm["accelerators_per_instance"], llm["accelerator_model"], llm["instances"]) == (8, "A100", 1)
    assert llm["gpu_hours"] == llm["hours"] * 8
    assert llm["usd"] == round(llm["hours"] * 37.0, 2)
    total = fleet["total"]
    assert total["items"] == len(fleet["items"])
    assert total["gpu_hours"] == pytest.approx(sum(i.get("gpu_hours") or 0 for i in fleet["items"]))
    assert total["unknown_gpu_hours"] == sum(1 for i in fleet["items"] if i.get("gpu_hours") is None) > 0
    assert "GPU fleet by kind" in console
    assert "### GPU fleet" in (out / "summary.md").read_text()
    html = (out / "report.html").read_text()
    assert 'id="fleet-by-kind"' in html
    assert 'id="fleet-items"' in html
