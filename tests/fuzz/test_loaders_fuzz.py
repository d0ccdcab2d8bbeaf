"""Fuzz every loader: any bytes give a loaded value or an InputError (exit 2), never another
exception (exit 5, a traceback), a hang or a memory blow-up.

Inputs are mutations of real files (the built-in policies, a framework, the sample inventory and
results), arbitrary YAML/JSON documents and raw text. Derandomised with a bounded number of
examples, so CI runs the same cases every time in a few seconds."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlguard.cli import sample_inventory_path
from mlguard.config import Config
from mlguard.errors import InputError
from mlguard.pipeline import LoadedConfig, load_config, load_inventory, load_results, load_waivers
from mlguard.policy.baseline import apply_baseline
from mlguard.policy.loader import load_framework, load_policy

ROOT = Path(__file__).parents[2]
POLICY = ROOT / "policies" / "aws" / "s3" / "s3_bucket_public_access_blocked.yaml"
FRAMEWORK = ROOT / "policies" / "frameworks" / "cis-aws-foundations.yaml"
CONFIG = "fail_on: high\nscope:\n  aws:\n    regions: [us-east-1]\nparameters: {}\n"
WAIVERS = (
    "waivers:\n  - policy: sagemaker_notebook_in_vpc\n    resource: '*'\n    reason: lab\n"
    "    owner: ml-platform\n    expires: 2030-01-01\n"
)
INVENTORY = sample_inventory_path().read_text(encoding="utf-8")
RESULTS = json.dumps(
    {
        "schema_version": "1.0",
        "provenance": {"version": "0.1.0", "started_at": "2026-01-01T00:00:00Z"},
        "results": [],
    }
)

FUZZ = settings(
    max_examples=int(os.environ.get("MLGUARD_FUZZ_EXAMPLES", "60")),
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=20),  # a bound against hangs, not a timing assertion
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["2027-02-30", "2026-13-01", "0000-00-00", "*", "~", "&a", "*a", "<<", "!!python/object"]
    ),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                ["id", "title", "resource", "assert", "uid", "type", "data", "results", "waivers"]
            )
            | st.text(max_size=8),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=20,
)


@st.composite
def mutated(draw: st.DrawFn, seed: str) -> str:
    """``seed`` with a few slices deleted, duplicated or replaced by fuzz text."""
    text = seed
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 40)))
        op = draw(st.sampled_from(["delete", "duplicate", "replace", "insert"]))
        junk = draw(st.text(alphabet=st.sampled_from(list("{}[]:,-&*!|>'\"\n\t #%@`?\\0aZ")), max_size=12))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "replace":
            text = text[:i] + junk + text[j:]
        else:
            text = text[:i] + junk + text[i:]
    return text


@st.composite
def hostile(draw: st.DrawFn, seed: str) -> str:
    """The shapes that used to crash or hang a loader: deep nesting (YAML and JSON), alias
    fan-out, impossible dates, odd tags and encodings, spliced into the seed file."""
    depth = draw(st.sampled_from([1, 50, 99, 100, 101, 999, 1000, 1001, 5000]))
    fan = draw(st.integers(1, 12))
    levels = draw(st.integers(1, 8))
    bomb = "a0: &a0 [x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]\n" for i in range(1, levels)
    )
    piece = draw(
        st.sampled_from(
            [
                "[" * depth + "]" * depth,
                "{" + '"a":{' * depth + "}" * depth + "}",
                "- " * min(depth, 400) + "x",
                bomb,
                "expires: 2027-02-30",
                "when: 2026-02-29T25:61:00Z",
                "x: !!python/object:os.system ls",
                "x: !!binary AAAA====",
                "\ufeff\x00\x1b",
            ]
        )
    )
    at = draw(st.integers(0, len(seed)))
    return draw(st.sampled_from([piece, seed[:at] + piece + seed[at:], seed + "\n" + piece + "\n"]))


def inputs(seed: str) -> st.SearchStrategy[str]:
    return st.one_of(
        hostile(seed),
        mutated(seed),
        DOCS.map(lambda d: json.dumps(d, default=str)),
        DOCS.map(_yamlish),
        st.text(max_size=200),
    )


def _yamlish(doc: Any) -> str:
    """A YAML rendering of ``doc`` (JSON is YAML; block style for the top-level mapping)."""
    if isinstance(doc, dict):
        return "".join(f"{json.dumps(str(k))}: {json.dumps(v, default=str)}\n" for k, v in doc.items())
    return json.dumps(doc, default=str)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def _loads_or_input_error(load: Any, *args: Any) -> None:
    """The loader returns, or raises an InputError (exit 2) with a message; anything else fails."""
    error: InputError | None = None
    try:
        load(*args)
    except InputError as exc:
        error = exc
    if error is not None:
        assert error.exit_code == 2
        assert error.message


@FUZZ
@given(text=inputs(POLICY.read_text(encoding="utf-8")))
def test_policy_loader(tmp_path_factory: Any, text: str) -> None:
    path = _write(tmp_path_factory.mktemp("p"), POLICY.name, text)
    _loads_or_input_error(load_policy, path, "fuzz")


@FUZZ
@given(text=inputs(FRAMEWORK.read_text(encoding="utf-8")))
def test_framework_loader(tmp_path_factory: Any, text: str) -> None:
    path = _write(tmp_path_factory.mktemp("f"), FRAMEWORK.name, text)
    _loads_or_input_error(load_framework, path)


@FUZZ
@given(text=inputs(CONFIG))
def test_config_loader(tmp_path_factory: Any, text: str) -> None:
    path = _write(tmp_path_factory.mktemp("c"), "mlguard.yaml", text)
    _loads_or_input_error(load_config, path)


@FUZZ
@given(text=inputs(WAIVERS))
def test_waivers_loader(tmp_path_factory: Any, text: str) -> None:
    path = _write(tmp_path_factory.mktemp("w"), "waivers.yaml", text)
    _loads_or_input_error(load_waivers, LoadedConfig(Config(), None, None), path)


@FUZZ
@given(text=inputs(INVENTORY))
def test_inventory_loader(tmp_path_factory: Any, text: str) -> None:
    path = _write(tmp_path_factory.mktemp("i"), "inventory.json", text)
    _loads_or_input_error(load_inventory, path)


@FUZZ
@given(text=inputs(RESULTS))
def test_results_and_baseline_loaders(tmp_path_factory: Any, text: str) -> None:
    path = _write(tmp_path_factory.mktemp("r"), "results.json", text)
    _loads_or_input_error(load_results, path)

    def baseline() -> None:
        apply_baseline([], load_results(path), path, set())

    _loads_or_input_error(baseline)
