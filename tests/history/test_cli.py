"""The `history` click group, as the main CLI will run it."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from mlguard.history.cli import META_STORE, history, inventory_sidecar
from mlguard.history.errors import StoreError
from mlguard.history.models import InventorySummary
from mlguard.history.store import Store
from mlguard.model import ScanResult
from tests.history import estates as e


def run(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    wide = {"COLUMNS": "200", **(env or {})}  # no folding of long uids in the assertions below
    return CliRunner().invoke(history, list(args), env=wide, catch_exceptions=False)


def _write_estates(tmp_path: Path) -> list[Path]:
    files = []
    for name, est in (("week1", e.week1()), ("week2", e.week2())):
        f = tmp_path / f"{name}.results.json"
        f.write_text(est.scan().model_dump_json(indent=2))
        (tmp_path / f"{name}.inventory.json").write_text(est.inventory().model_dump_json())
        files.append(f)
    return files


def test_import_then_diff_names_the_changes(store_target: str, tmp_path: Path) -> None:
    files = _write_estates(tmp_path)
    res = run("import", "--store", store_target, *map(str, files))
    assert res.exit_code == 0, res.output
    assert res.output.count("recorded as 2026110") == 2

    res = run("diff", "--store", store_target, "--json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert [(c["policy_id"], c["resource_uid"]) for c in d["fixed"]] == [(e.S3_ENC, e.BUCKET_RAW.uid)]
    assert [(c["policy_id"], c["resource_uid"]) for c in d["regressed"]] == [(e.NB_ROOT, e.NOTEBOOK.uid)]
    assert [(c["policy_id"], c["resource_uid"]) for c in d["new"]] == [(e.EP_ALARM, e.ENDPOINT_NEW.uid)]
    assert [i["uid"] for i in d["appeared"]] == [e.ENDPOINT_NEW.uid]
    assert d["disappeared"] == []

    res = run("diff", "--store", store_target)
    assert res.exit_code == 0
    assert "new 1 · regressed 1 · fixed 1 · still failing 1" in res.output
    assert e.ENDPOINT_NEW.uid in res.output


def test_export_and_import_rebuild_the_store(tmp_path: Path) -> None:
    first = str(tmp_path / "first.sqlite")
    run("import", "--store", first, *map(str, _write_estates(tmp_path)))
    out = tmp_path / "exports"
    res = run("export", "--store", first, "--all", "--output-dir", str(out))
    assert res.exit_code == 0, res.output
    assert len(list(out.glob("*.results.json"))) == 2
    assert len(list(out.glob("*.inventory.json"))) == 2

    rebuilt = str(tmp_path / "rebuilt.sqlite")
    res = run("import", "--store", rebuilt, str(out))
    assert res.exit_code == 0, res.output
    with Store.open(first) as a, Store.open(rebuilt) as b:
        assert [r.id for r in a.runs()] == [r.id for r in b.runs()]
        assert [r.model_dump(exclude={"recorded_at"}) for r in a.runs()] == [
            r.model_dump(exclude={"recorded_at"}) for r in b.runs()
        ]
        for run_id in (r.id for r in a.runs()):
            assert a.document(run_id) == b.document(run_id)
            assert sorted(a.inventory(run_id), key=str) == sorted(b.inventory(run_id), key=str)

    # Importing again changes nothing.
    res = run("import", "--store", rebuilt, str(out))
    assert res.output.count("already recorded as") == 2


def test_export_one_run(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    run("import", "--store", store, *map(str, _write_estates(tmp_path)))
    target = tmp_path / "out" / "results.json"
    res = run("export", "--store", store, "latest", "-o", str(target))
    assert res.exit_code == 0, res.output
    assert ScanResult.model_validate_json(target.read_text()) == e.week2().scan()
    side = inventory_sidecar(target)
    assert side.name == "results.inventory.json"
    assert {i.uid for i in InventorySummary.model_validate_json(side.read_text()).resources} == {
        r.uid for r in e.week2().resources
    }


def test_list_trend_and_prune(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    env = {"MLGUARD_STORE": store}
    run("import", *map(str, _write_estates(tmp_path)), env=env)

    listed = json.loads(run("list", "--json", env=env).output)
    assert [r["counts"]["failed"] for r in listed] == [2, 3]
    assert listed[0]["started_at"] == "2026-11-01T02:00:00Z"
    assert listed[0]["complete"] is True
    table = run("list", env=env).output
    assert "aws:111122223333" in table
    assert listed[1]["id"] in table

    trends = json.loads(run("trend", "--json", "--by", "severity", "--by", "framework", env=env).output)
    assert [t["dimension"] for t in trends] == ["severity", "framework"]
    assert [p["values"]["medium"] for p in trends[0]["points"]] == [1, 2]
    chart = run("trend", env=env).output
    for title in ("by severity", "by category", "by provider", "Compliance by framework"):
        assert title in chart

    res = run("prune", "--keep", "1", "--dry-run", env=env)
    assert res.output.startswith("would delete 1 run(s): ")
    res = run("prune", "--keep", "1", env=env)
    assert res.output.startswith("deleted 1 run(s)")
    assert len(json.loads(run("list", "--json", env=env).output)) == 1


def test_store_from_the_main_cli_config(tmp_path: Path) -> None:
    """The main CLI passes the config file's store: through ctx.meta."""
    store = str(tmp_path / "from-config.sqlite")

    @click.group()
    @click.pass_context
    def main(ctx: click.Context) -> None:
        ctx.meta[META_STORE] = store

    main.add_command(history)
    res = CliRunner().invoke(main, ["history", "list"], env={"MLGUARD_STORE": ""})
    assert res.exit_code == 0, res.output
    assert "No runs recorded yet." in res.output
    assert Path(store).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list"], "no results store"),
        (["list", "--store", "mysql://x/y"], "unsupported store backend"),
        (["list", "--store", "{tmp}/bad.json"], "file is not a database"),
        (["list", "--store", "/proc/nowhere/s.sqlite"], "cannot create the folder of the store"),
        (["diff", "--store", "{tmp}/s.sqlite"], "no run latest~1"),
        (["export", "--store", "{tmp}/s.sqlite", "latest"], "give -o FILE"),
        (["export", "--store", "{tmp}/s.sqlite"], "give one RUN"),
        (["prune", "--store", "{tmp}/s.sqlite"], "say what to keep"),
        (["import", "--store", "{tmp}/s.sqlite", "{tmp}/bad.json"], "bad.json: not an mlguard results file"),
    ],
)
def test_user_errors_are_one_clean_line_with_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.json").write_text('{"hello": 1}')
    res = CliRunner().invoke(
        history, [a.replace("{tmp}", str(tmp_path)) for a in args], env={"MLGUARD_STORE": ""}
    )
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def _fake_scan(config_store: str | None) -> click.Command:
    """How `mlguard scan` uses record_options() and recording()."""
    from mlguard.history.cli import record_options, recording

    @click.command()
    @record_options
    def scan(record: bool | None, store_target: str | None, lock_timeout: float) -> None:
        with recording(record, store_target, config_store, lock_timeout) as store:
            if store is None:
                click.echo("not recorded")
            else:
                click.echo(f"recorded {store.record(e.week1().scan(), e.week1().inventory())}")

    return scan


def test_scan_records_when_a_store_is_configured(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    no_env = {"MLGUARD_STORE": ""}
    invoke = CliRunner().invoke
    assert invoke(_fake_scan(None), [], env=no_env).output == "not recorded\n"
    assert invoke(_fake_scan(None), ["--store", store]).output.startswith("recorded 20261101-")
    assert invoke(_fake_scan(store), [], env=no_env).output.startswith("recorded 20261101-")
    assert invoke(_fake_scan(store), ["--no-record"], env=no_env).output == "not recorded\n"
    assert invoke(_fake_scan(None), ["--store", store], env={"MLGUARD_STORE": ""}).exit_code == 0
    res = invoke(_fake_scan(None), ["--record"], env=no_env)
    assert isinstance(res.exception, StoreError)
    assert "--record needs a results store" in str(res.exception)
    with Store.open(store) as s:
        assert len(s.runs()) == 1  # the same scan recorded three times is one run


def test_a_password_in_the_store_url_is_never_printed() -> None:
    res = CliRunner().invoke(
        history, ["list", "--store", "postgresql://mlguard:canary-s3cret@127.0.0.1:1/x?connect_timeout=2"]
    )
    assert res.exit_code == 2
    assert "cannot open the results store" in res.output
    assert "canary-s3cret" not in res.output
    assert "***" in res.output


@pytest.mark.e2e
def test_history_as_a_process_exits_cleanly(tmp_path: Path) -> None:
    """A real process: user errors are one line on stderr and exit 2, no traceback."""
    import subprocess
    import sys

    code = "from mlguard.history.cli import history; history()"
    files = _write_estates(tmp_path)
    store = str(tmp_path / "p.sqlite")
    ok = subprocess.run(
        [sys.executable, "-c", code, "import", "--store", store, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [sys.executable, "-c", code, "diff", "--store", store, "latest~5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("mlguard: error: no run latest~5")
    assert "Traceback" not in bad.stderr


def test_a_damaged_store_is_a_clean_error(tmp_path: Path) -> None:
    import sqlite3

    store = tmp_path / "s.sqlite"
    Store.open(str(store)).close()
    with sqlite3.connect(store) as db:
        db.execute("DROP TABLE mlguard_runs")
    res = CliRunner().invoke(history, ["list", "--store", str(store)])
    assert res.exit_code == 2
    assert "results store: no such table: mlguard_runs" in res.output
    assert "Traceback" not in res.output


def test_trend_metric_cost(tmp_path: Path) -> None:
    store = str(tmp_path / "s.sqlite")
    env = {"MLGUARD_STORE": store}
    run("import", *map(str, _write_estates(tmp_path)), env=env)  # runs recorded without cost figures
    points = json.loads(run("trend", "--metric", "cost", "--json", env=env).output)
    assert [p["recorded"] for p in points] == [False, False]
    assert all(p["gpu_hours_per_month"] is None for p in points)
    assert "not recorded" in run("trend", "--metric", "cost", env=env).output
    res = CliRunner().invoke(history, ["trend", "--metric", "cost", "--by", "severity"], env=env)
    assert res.exit_code == 2
    assert "--by applies to --metric failures only" in res.output
