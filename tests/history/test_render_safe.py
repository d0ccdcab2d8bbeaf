"""History views print platform text: terminal controls in a recorded name never reach the terminal."""

from __future__ import annotations

from pathlib import Path

from mlguard.model import Status
from tests.history.factory import Check, Estate, Res

from .test_cli import run

# colour, an OSC 8 hyperlink, a cursor move, a C1 CSI and a bidi override, in a resource name
PAYLOAD = "x\x1b[31mred\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\\x1b[2A\x9b1m\u202eevil"
EVIL = Res(f"nb-{PAYLOAD}", "aws.sagemaker.notebook_instance")
GOOD = Res("kept", "aws.sagemaker.notebook_instance")
WORKSPACE = f"dbc-{PAYLOAD}.cloud.databricks.com"
POLICY = "aws-sagemaker-010"


def _record(tmp_path: Path, store: str) -> None:
    files = []
    estates = (
        (
            "w1",
            Estate(
                "2026-11-01T02:00:00Z",
                [EVIL, GOOD],
                [Check(POLICY, EVIL, Status.PASS)],
                workspaces=[WORKSPACE],
            ),
        ),
        (
            "w2",
            Estate(
                "2026-11-08T02:00:00Z", [GOOD], [Check(POLICY, EVIL, Status.FAIL)], workspaces=[WORKSPACE]
            ),
        ),
    )
    for name, est in estates:
        f = tmp_path / f"{name}.results.json"
        f.write_text(est.scan().model_dump_json())
        (tmp_path / f"{name}.inventory.json").write_text(est.inventory().model_dump_json())
        files.append(str(f))
    res = run("import", "--store", store, *files)
    assert res.exit_code == 0, res.output


def _clean(text: str) -> bool:
    return not any(c in text for c in ("\x1b", "\x9b", "\u202e", "\x07"))


def test_history_views_strip_terminal_controls_from_recorded_text(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    _record(tmp_path, store)
    listed = run("list", "--store", store).output
    assert _clean(listed)
    assert "dbc-xred" in listed  # the text stays, its controls go
    diff = run("diff", "--store", store, "--all").output
    assert "nb-xred" in diff  # the new failure and the disappeared resource are named
    assert _clean(diff)
    trend = run("trend", "--store", store).output
    assert _clean(trend)
    assert "by severity" in trend
