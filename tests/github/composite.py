"""A small interpreter for the composite action, to run it end to end offline.

It reads ``action.yml``, substitutes ``${{ inputs.* }}``, ``${{ steps.*.outputs.* }}``,
``${{ github.* }}`` and ``${{ env.* }}`` expressions, evaluates ``if:`` conditions (``==``, ``!=``,
``&&``, ``||``, ``!``, parentheses, string literals), runs each ``run:`` step with bash as GitHub does
(``bash --noprofile --norc -eo pipefail``, its own ``$GITHUB_OUTPUT`` file, a shared
``$GITHUB_STEP_SUMMARY``, ``$GITHUB_ACTION_PATH``, ``$RUNNER_TEMP``), and records the ``with:`` values
of ``uses:`` steps without running them. A failing step ends the run, as in a composite action.

Installing nothing is the action's own switch: the input ``package: none`` ("mlguard is already
installed") skips setup-python and pip, and the tests put the mlguard under test on PATH.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(==|!=|&&|\|\||!|\(|\))|([A-Za-z_][A-Za-z0-9_.-]*))")


@dataclass
class StepRun:
    name: str
    id: str | None
    skipped: bool
    uses: str | None = None
    with_: dict[str, str] = field(default_factory=dict)
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    summary: str
    failed: StepRun | None  # the step that failed (the action's result is then failure)

    def step(self, name: str) -> StepRun:
        return next(s for s in self.steps if s.name == name)


def load_action(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = YAML(typ="safe", pure=True).load(path.read_text())
    return doc


class Context:
    def __init__(self, inputs: dict[str, str], github: dict[str, str], env: dict[str, str]) -> None:
        self.inputs = inputs
        self.github = github
        self.env = env
        self.steps: dict[str, dict[str, dict[str, str]]] = {}

    def lookup(self, name: str) -> Any:
        head, _, rest = name.partition(".")
        if head in ("true", "false") and not rest:
            return head == "true"
        if head == "inputs":
            if rest not in self.inputs:
                raise KeyError(f"unknown input {rest!r}")
            return self.inputs[rest]
        if head == "github":
            return self.github.get(rest, "")
        if head == "env":
            return self.env.get(rest, "")
        if head == "steps":
            step_id, _, tail = rest.partition(".")
            kind, _, key = tail.partition(".")
            if kind != "outputs":
                raise KeyError(f"unsupported expression {name!r}")
            return self.steps.get(step_id, {}).get("outputs", {}).get(key, "")
        raise KeyError(f"unsupported context in {name!r}")

    def evaluate(self, expr: str) -> Any:
        tokens: list[tuple[str, str]] = []
        pos = 0
        text = expr.strip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(f"cannot read expression {expr!r} at {text[pos:]!r}")
            literal, op, ident = m.groups()
            if literal is not None:
                tokens.append(("value", literal[1:-1].replace("''", "'")))
            elif op is not None:
                tokens.append(("op", op))
            else:
                tokens.append(("value", self.lookup(ident)))
            pos = m.end()
        value, rest = _or(tokens)
        if rest:
            raise ValueError(f"trailing tokens in {expr!r}")
        return value

    def substitute(self, text: str) -> str:
        return EXPR.sub(lambda m: _string(self.evaluate(m.group(1))), text)


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: Any) -> bool:
    return bool(value) if not isinstance(value, str) else value != ""


def _or(tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
    left, tokens = _and(tokens)
    while tokens and tokens[0] == ("op", "||"):
        right, tokens = _and(tokens[1:])
        left = left if _truthy(left) else right
    return left, tokens


def _and(tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
    left, tokens = _compare(tokens)
    while tokens and tokens[0] == ("op", "&&"):
        right, tokens = _compare(tokens[1:])
        left = right if _truthy(left) else left
    return left, tokens


def _compare(tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
    left, tokens = _unary(tokens)
    while tokens and tokens[0] in (("op", "=="), ("op", "!=")):
        op = tokens[0][1]
        right, tokens = _unary(tokens[1:])
        same = _string(left).lower() == _string(right).lower()  # GitHub compares strings ignoring case
        left = same if op == "==" else not same
    return left, tokens


def _unary(tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
    kind, value = tokens[0]
    if (kind, value) == ("op", "!"):
        inner, rest = _unary(tokens[1:])
        return not _truthy(inner), rest
    if (kind, value) == ("op", "("):
        inner, rest = _or(tokens[1:])
        if not rest or rest[0] != ("op", ")"):
            raise ValueError("unbalanced parenthesis")
        return inner, rest[1:]
    if kind == "op":
        raise ValueError(f"unexpected {value!r}")
    return value, tokens[1:]


def read_outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT``: ``name=value`` lines and ``name<<DELIM`` ... ``DELIM`` blocks."""
    out: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def run_action(
    action_path: Path,
    inputs: dict[str, str],
    workdir: Path,
    env: dict[str, str] | None = None,
    github: dict[str, str] | None = None,
) -> ActionRun:
    """Run the composite action in ``workdir`` with ``inputs`` (defaults filled in) and ``env``."""
    action = load_action(action_path)
    declared = action["inputs"]
    unknown = set(inputs) - set(declared)
    if unknown:
        raise KeyError(f"inputs not declared by the action: {sorted(unknown)}")
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update(inputs)
    base_env = dict(os.environ if env is None else env)
    ctx = Context(values, github or {}, base_env)
    runner_temp = workdir / "_runner_temp"
    runner_temp.mkdir(parents=True, exist_ok=True)
    summary = runner_temp / "step_summary.md"
    summary.touch()
    runs: list[StepRun] = []
    failed: StepRun | None = None
    for index, step in enumerate(action["runs"]["steps"]):
        name = str(step.get("name", f"step {index}"))
        condition = step.get("if")
        if failed is not None or (condition is not None and not _truthy(ctx.evaluate(str(condition)))):
            runs.append(StepRun(name, step.get("id"), skipped=True, uses=step.get("uses")))
            continue
        if "uses" in step:
            with_ = {k: ctx.substitute(str(v)) for k, v in (step.get("with") or {}).items()}
            runs.append(StepRun(name, step.get("id"), skipped=False, uses=step["uses"], with_=with_))
            continue
        assert step.get("shell") == "bash", f"{name}: composite run steps must name their shell"
        output = runner_temp / f"output_{index}"
        output.touch()
        step_env = dict(base_env)
        step_env.update({k: ctx.substitute(str(v)) for k, v in (step.get("env") or {}).items()})
        step_env.update(
            GITHUB_OUTPUT=str(output),
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_ACTION_PATH=str(action_path.parent),
            GITHUB_WORKSPACE=str(workdir),
            RUNNER_TEMP=str(runner_temp),
        )
        script = runner_temp / f"step_{index}.sh"
        script.write_text(ctx.substitute(str(step["run"])))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workdir,
            env=step_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        outputs = read_outputs(output)
        run = StepRun(
            name, step.get("id"), False, None, {}, proc.returncode, proc.stdout, proc.stderr, outputs
        )
        runs.append(run)
        if step.get("id"):
            ctx.steps[str(step["id"])] = {"outputs": outputs}
        if proc.returncode != 0:
            failed = run
    outputs = {k: ctx.substitute(str(v["value"])) for k, v in (action.get("outputs") or {}).items()}
    return ActionRun(runs, outputs, summary.read_text(), failed)
