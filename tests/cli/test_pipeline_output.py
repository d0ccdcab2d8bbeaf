"""The CLI in a pipeline: global options anywhere, reports on stdout, --status, narrow consoles,
the formats in --help, `mlguard frameworks`."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from mlguard.cli import cli, main, sample_inventory_path
from mlguard.demo.databricks_fake import Behaviour, FakeWorkspaceServer, demo_state
from mlguard.model import ScanResult, Severity, Status
from mlguard.policy.docs import framework_coverage
from mlguard.policy.loader import builtin_policy_dir, load_policy_set
from mlguard.report.base import Reporter, ReportOptions, register, reporters
from mlguard.report.console import print_summary
from mlguard.report.formats.markdown import md

SAMPLE = str(sample_inventory_path())
REPO = Path(__file__).resolve().parents[2]


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def results_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    result = invoke(
        ["-q", "evaluate", SAMPLE, "--output-dir", str(out), "--format", "json", "--fail-on", "never"]
    )
    assert result.exit_code == 0, result.stderr
    return out / "results.json"


# --------------------------------------------------------------------------- global options


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_before_or_after_the_subcommand_silences_the_wrote_lines(
    results_file: Path, tmp_path: Path, where: str
) -> None:
    args = ["report", str(results_file), "--format", "console,csv", "--output-dir", str(tmp_path)]
    result = invoke(["-q", *args] if where == "before" else [*args, "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results.csv").is_file()
    assert "wrote" not in result.stderr
    assert result.stdout == ""  # no console summary either


def test_without_quiet_the_wrote_lines_are_on_stderr(results_file: Path, tmp_path: Path) -> None:
    result = invoke(["report", str(results_file), "--format", "csv", "--output-dir", str(tmp_path)])
    assert f"wrote {tmp_path / 'results.csv'}" in result.stderr  # whole, however long
    assert result.stdout == ""


def test_global_options_are_accepted_after_nested_subcommands() -> None:
    result = invoke(["policies", "list", "--json", "-q", "--log-level", "warning"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)


def test_quiet_and_verbose_together_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(["-q", "evaluate", SAMPLE, "-v"], capsys)
    assert code == 2
    assert "-q/--quiet and -v/--verbose cannot be used together" in err
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "--bogus"], "No such option '--bogus'"),
        (
            ["evaluate", SAMPLE, "--status", "FAILED"],
            "unknown status FAILED (known: PASS, FAIL, ERROR, SKIP, WAIVED)",
        ),
        (["evaluate", SAMPLE, "--stdout", "pdf"], "unknown format 'pdf' (known: asff, csv,"),
        (["evaluate", SAMPLE, "--log-level", "loud"], "'loud' is not one of 'debug', 'info'"),
        (["frameworks", "--format", "xml"], "'xml' is not one of 'table', 'json'"),
    ],
)
def test_bad_flags_give_a_click_error_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(args, capsys)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err
    assert out == ""


def test_log_level_masks_secrets_and_keeps_library_debug_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    from mlguard.cli.output import configure_logging

    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    try:
        configure_logging("debug")
        secret = "dapi0123456789abcdef0123456789abcdef"
        logging.getLogger("mlguard").debug("token %s in a message", secret)
        assert logging.getLogger("botocore").getEffectiveLevel() == logging.INFO
        err = capsys.readouterr().err
        assert "mlguard: DEBUG: mlguard: token" in err
        assert secret not in err
    finally:
        for h in [h for h in root.handlers if h not in before[0]]:
            root.removeHandler(h)
        root.setLevel(before[1])
        logging.getLogger("botocore").setLevel(logging.NOTSET)


# --------------------------------------------------------------------------- reports on stdout


def test_stdout_carries_the_report_and_nothing_else(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    result = invoke(
        ["evaluate", SAMPLE, "--stdout", "json", "--output-dir", str(out_dir), "--fail-on", "never"]
    )
    assert result.exit_code == 0
    scan = ScanResult.model_validate(json.loads(result.stdout))  # the whole of stdout is the report
    assert scan.results
    assert not out_dir.exists()  # no --format: no file
    assert "Results by severity" in result.stderr  # the console summary went to stderr


def test_stdout_and_files_together(tmp_path: Path) -> None:
    result = invoke(
        [
            "-q",
            "evaluate",
            SAMPLE,
            "--stdout",
            "sarif",
            "--format",
            "json,csv",
            "--output-dir",
            str(tmp_path),
            "--fail-on",
            "never",
        ]
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["version"] == "2.1.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json"]


@pytest.mark.parametrize("fmt", sorted(reporters()))
def test_every_registered_format_can_go_to_stdout(fmt: str, results_file: Path, tmp_path: Path) -> None:
    # ASFF names the Security Hub import target; the other formats ignore these options.
    target = ["--asff-region", "us-east-1", "--asff-account", "123456789012"]
    files = invoke(
        ["-q", "report", str(results_file), "--format", fmt, "--output-dir", str(tmp_path), *target]
    )
    assert files.exit_code == 0, files.output
    piped = invoke(["-q", "report", str(results_file), "--stdout", fmt, *target])
    assert piped.exit_code == 0, piped.output
    assert piped.stdout_bytes == (tmp_path / reporters()[fmt].filename).read_bytes()


class _ToyReporter(Reporter):
    name = "toy-format"
    filename = "toy.txt"
    description = "a format registered by a test"

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return f"{len(scan.results)} results\n"


@pytest.fixture
def toy_format() -> Iterator[None]:
    from mlguard.report import base

    register(_ToyReporter)
    try:
        yield
    finally:
        base._REGISTRY.pop(_ToyReporter.name, None)


def test_a_newly_registered_format_is_listed_and_pipeable(toy_format: None, results_file: Path) -> None:
    help_text = invoke(["report", "--help"]).stdout
    assert "toy-format" in help_text
    piped = invoke(["-q", "report", str(results_file), "--stdout", "toy-format"])
    assert piped.exit_code == 0, piped.output
    assert re.fullmatch(r"\d+ results\n", piped.stdout)


def test_report_help_lists_every_format() -> None:
    text = invoke(["report", "--help"]).stdout
    section = text.split("Formats (--format, --stdout):", 1)[1]
    for name, cls in reporters().items():
        assert re.search(rf"^\s+{re.escape(name)}\s+{re.escape(cls.filename)}", section, re.M), name
    assert "console" in section


def test_compliance_export_to_stdout(results_file: Path) -> None:
    piped = invoke(["-q", "report", str(results_file), "--framework", "soc2", "--stdout", "json"])
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["framework"]["id"] == "soc2"


@pytest.fixture
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeWorkspaceServer]:
    """The demo workspace on a fake server that throttles every 5th request (429, retry at once)."""
    for var in ("DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CLIENT_ID", "DATABRICKS_AUTH_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    server = FakeWorkspaceServer(demo_state(), behaviour=Behaviour(throttle_every=5, retry_after=0)).start()
    monkeypatch.setenv("DATABRICKS_HOST", server.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
    yield server
    server.stop()


UNIT_LINE = re.compile(
    r"^mlguard: (?P<unit>\S+ \S+): (?P<res>\d+) resources?, "
    r"(?P<calls>\d+) calls? \((?P<retries>\d+) retr(?:y|ies)\), "
    r"(?P<err>\d+) errors?, \d+\.\ds$"
)


def test_collect_to_stdout_with_verbose_progress_lines(workspace: FakeWorkspaceServer) -> None:
    result = invoke(["collect", "--provider", "databricks", "--policy", "databricks_*", "-o", "-", "-v"])
    assert result.exit_code == 0, result.stderr
    inventory = json.loads(result.stdout)  # the inventory, and only it, on stdout
    lines = [m for line in result.stderr.splitlines() if (m := UNIT_LINE.match(line))]
    assert lines, result.stderr
    assert len({m["unit"] for m in lines}) == len(lines)  # one line per unit
    assert sum(int(m["res"]) for m in lines) == len(inventory["resources"])
    assert all(int(m["calls"]) > 0 for m in lines)
    assert sum(int(m["retries"]) for m in lines) > 0  # the 429s were retried, and counted
    assert re.search(r"^mlguard: family databricks\.cluster: 1 scope, ", result.stderr, re.M)  # -v's totals
    assert "wrote the inventory to stdout" in result.stderr


# --------------------------------------------------------------------------- --status


def test_status_filter_lists_some_results_but_totals_cover_all(results_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "part"
    fmts = "json,markdown,html,junit,sarif,csv"
    result = invoke(
        [
            "-q",
            "report",
            str(results_file),
            "--format",
            fmts,
            "--output-dir",
            str(out),
            "--status",
            "FAIL,error",
        ]
    )
    assert result.exit_code == 0, result.output
    full = ScanResult.model_validate_json(results_file.read_text())
    part = ScanResult.model_validate_json((out / "results.json").read_text())
    assert {r.status for r in part.results} == {Status.FAIL, Status.ERROR}
    assert len(part.results) == sum(r.status in (Status.FAIL, Status.ERROR) for r in full.results)
    assert part.summary == full.summary  # the totals still cover every result
    assert part.filter is not None
    assert (part.filter.shown, part.filter.total) == (len(part.results), len(full.results))
    note = part.filter.note()
    assert note.startswith("filtered: only FAIL, ERROR results are listed")
    markdown = (out / "summary.md").read_text()
    assert f"> {md(note)}" in markdown
    counts = " | ".join(str(full.summary.by_status[s]) for s in ("FAIL", "ERROR", "WAIVED", "PASS", "SKIP"))
    assert f"| {counts} |" in markdown  # PASS and SKIP counted, though none is listed
    assert note in (out / "report.html").read_text()
    suites = ET.parse(out / "junit.xml").getroot()
    assert {p.get("value") for p in suites.iter("property") if p.get("name") == "mlguard.filter"} == {note}
    sarif = json.loads((out / "results.sarif").read_text())
    assert sarif["runs"]
    assert all(run["properties"]["mlguard/filter"] == note for run in sarif["runs"])
    assert len((out / "results.csv").read_text().splitlines()) == len(part.results) + 1


def test_status_filter_is_said_on_the_console(results_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(
        ["report", str(results_file), "--format", "console", "--status", "ERROR"], capsys
    )
    assert code == 0
    assert "filtered: only ERROR results are listed" in " ".join(out.split())
    full = ScanResult.model_validate_json(results_file.read_text())
    assert f"FAIL {full.summary.by_status['FAIL']}" in out  # the totals are every result's
    assert "mlguard: filtered: only ERROR results" in err


# --------------------------------------------------------------------------- narrow console


def test_narrow_console_keeps_the_policy_table_and_whole_ids(results_file: Path) -> None:
    console = Console(record=True, width=80, color_system=None)
    print_summary(ScanResult.model_validate_json(results_file.read_text()), console)
    section = console.export_text().split("Top failing policies", 1)[1].split("Top failing resources")[0]
    assert "Policy / title" in section  # ids that fit keep the table; its titles wrap
    assert "iam_sagemaker_role_no_full_access_policy" in section
    assert "…" not in section


def test_narrow_console_never_cuts_an_id(results_file: Path) -> None:
    scan = ScanResult.model_validate_json(results_file.read_text())
    long_policy = "sagemaker_notebook_instance_root_access_disabled_everywhere_please"
    long_uid = (
        "arn:aws:sagemaker:eu-central-1:111122223333:notebook-instance/" + "a-very-long-notebook-name-" * 3
    )
    fail = next(r for r in scan.results if r.status is Status.FAIL)
    policy = next(p for p in scan.policies if p.id == fail.policy_id)
    scan.policies.append(policy.model_copy(update={"id": long_policy, "severity": Severity.CRITICAL}))
    scan.results.append(
        fail.model_copy(
            update={"policy_id": long_policy, "resource_uid": long_uid, "severity": Severity.CRITICAL}
        )
    )
    console = Console(record=True, width=80, color_system=None)
    print_summary(scan, console)
    text = console.export_text()
    assert long_policy in text
    assert long_uid in text  # on one line, for the terminal to wrap: copied whole
    assert "…" not in text
    top = text.split("Top failing resources", 1)[1]
    assert top.index(long_uid) < top.index("... and")  # critical first


# --------------------------------------------------------------------------- frameworks


def test_frameworks_json_matches_the_catalogue_coverage() -> None:
    result = invoke(["frameworks", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {row["framework"]: row for row in json.loads(result.stdout)}
    coverage = framework_coverage(load_policy_set([(builtin_policy_dir(), "builtin")]))
    assert rows
    assert set(rows) == {c.framework for c in coverage}
    readme = (REPO / "policies" / "README.md").read_text()
    for c in coverage:
        row = rows[c.framework]
        assert (row["total"], row["covered"], len(row["iac_only"]), len(row["uncovered"])) == (
            c.total,
            c.covered,
            len(c.iac_only),
            len(c.uncovered),
        )
        # the same figures as the generated catalogue's "Framework coverage" table
        figures = [
            c.version or "",
            c.total,
            c.covered,
            len(c.iac_only),
            len(c.uncovered),
            f"{c.percent:.0f}%",
        ]
        line = f"(`{c.framework}`) | " + " | ".join(str(f) for f in figures) + " |"
        assert line in readme, line


def test_frameworks_table_shows_whole_ids_at_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = invoke(["frameworks"])
    assert result.exit_code == 0
    coverage = framework_coverage(load_policy_set([(builtin_policy_dir(), "builtin")]))
    for c in coverage:
        assert re.search(rf"^ ?{re.escape(c.framework)}\s+{c.total}\s+{c.covered}\s", result.stdout, re.M), (
            c.framework
        )
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
