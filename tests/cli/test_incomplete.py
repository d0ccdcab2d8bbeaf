"""A scan that could not read everything says so everywhere; one that read nothing exits 4."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlguard.cli import main, sample_inventory_path
from mlguard.demo.databricks_fake import Behaviour, FakeWorkspaceServer, demo_state

SAMPLE = str(sample_inventory_path())
NOTE = "incomplete: 1 collection error in these scopes: aws/111122223333/eu-west-1"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_every_report_opens_with_the_incomplete_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        [
            "-q",
            "evaluate",
            SAMPLE,
            "--fail-on",
            "never",
            "--output-dir",
            str(tmp_path),
            "--format",
            "json,markdown,html,junit,sarif",
        ],
        capsys,
    )
    assert code == 0
    assert f"mlguard: {NOTE}" in err  # even with -q
    assert (tmp_path / "summary.md").read_text().splitlines()[2] == f"> **{NOTE}**"
    html = (tmp_path / "report.html").read_text()
    assert f'<p id="incomplete" class="incomplete" role="alert"><strong>{NOTE}</strong>' in html
    assert html.index('id="incomplete"') < html.index('id="summary"')
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    assert all(s.find("properties/property[@name='mlguard.incomplete']").get("value") == NOTE for s in suites)
    sarif = json.loads((tmp_path / "results.sarif").read_text())
    assert [r["properties"].get("mlguard/incomplete") for r in sarif["runs"]] == [NOTE]
    summary = json.loads((tmp_path / "results.json").read_text())["summary"]
    assert summary["incomplete_scopes"] == ["aws/111122223333/eu-west-1"]


def test_console_summary_opens_with_the_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["evaluate", SAMPLE, "--fail-on", "never", "--output-dir", str(tmp_path)], capsys)
    assert code == 0
    assert out.splitlines()[0] == NOTE


def _workspace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, behaviour: Behaviour
) -> Iterator[FakeWorkspaceServer]:
    """The demo workspace on a fake server, the only Databricks credentials in the environment."""
    for var in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_AUTH_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    server = FakeWorkspaceServer(demo_state(), behaviour=behaviour).start()
    monkeypatch.setenv("DATABRICKS_HOST", server.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
    yield server
    server.stop()


@pytest.fixture
def denied_workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeWorkspaceServer]:
    """A Databricks workspace that answers every API call with 403 PERMISSION_DENIED."""
    yield from _workspace(monkeypatch, tmp_path, Behaviour(deny={"/api/.*"}))


def test_a_scan_that_read_nothing_exits_4(
    denied_workspace: FakeWorkspaceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        [
            "-q",
            "scan",
            "--provider",
            "databricks",
            "--fail-on",
            "never",
            "--format",
            "json",
            "--policy",
            "databricks_cluster_*",
            "--output-dir",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 4, err
    assert "nothing could be collected from databricks" in err
    assert "mlguard: incomplete:" in err
    scan = json.loads((tmp_path / "results.json").read_text())
    assert scan["summary"]["by_status"]["PASS"] == 0
    assert scan["summary"]["resources"] == 0


def test_an_inventory_with_only_errors_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.loads(Path(SAMPLE).read_text())
    raw["resources"] = []
    (tmp_path / "inv.json").write_text(json.dumps(raw))
    code, _, err = run(["-q", "evaluate", str(tmp_path / "inv.json"), "--output-dir", str(tmp_path)], capsys)
    assert code == 4
    assert "nothing could be collected from aws: 1 collection error(s) and no resource" in err


@pytest.fixture
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeWorkspaceServer]:
    yield from _workspace(monkeypatch, tmp_path, Behaviour())


def test_one_provider_scan_is_scoped_to_it(
    workspace: FakeWorkspaceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        [
            "-q",
            "scan",
            "--provider",
            "databricks",
            "--fail-on",
            "never",
            "--format",
            "json,markdown",
            "--output-dir",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0, err
    scan = json.loads((tmp_path / "results.json").read_text())
    providers = {p["id"]: p["provider"] for p in scan["policies"]}
    assert set(providers.values()) == {"databricks"}
    assert all(n["policy_id"] in providers for n in scan["not_run"])
    assert scan["frameworks"]
    for fw in scan["frameworks"]:
        assert all(pid in providers for req in fw["requirements"] for pid in req["policies"]), fw["id"]
    assert "aws-securityhub-sagemaker" not in {fw["id"] for fw in scan["frameworks"]}
    assert "| 0.0% |" not in (tmp_path / "summary.md").read_text()


def test_collect_that_read_nothing_exits_4(
    denied_workspace: FakeWorkspaceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "inv.json"
    code, _, err = run(
        ["-q", "collect", "--provider", "databricks", "--policy", "databricks_cluster_*", "-o", str(out)],
        capsys,
    )
    assert code == 4, err
    assert "nothing could be collected from databricks" in err
    assert "mlguard: incomplete:" in err
    assert out.is_file()  # the errors are data: kept for the record
