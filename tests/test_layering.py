"""Where the helpers live: nothing the wheel ships depends on a test-only module.

``src/mlguard`` must never import selenium (the ``test`` extra) or anything under ``tests/`` (not in
the wheel): an installed mlguard would fail on it. Checked twice: statically (every import
statement, including the lazy ones inside functions) and by importing every module of the package
with the repository root on ``sys.path`` (transitive imports included). ``mlguard.demo`` must stay
light: botocore loads its s3control plugin in every client process of a demo environment.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "mlguard"
FORBIDDEN = ("selenium", "tests")


def _top_level(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    if node.level:  # relative: stays inside mlguard
        return []
    return [(node.module or "").split(".")[0]]


def test_no_module_under_src_imports_selenium_or_tests() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                offenders += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: imports {name}"
                    for name in _top_level(node)
                    if name in FORBIDDEN
                ]
    assert offenders == []


IMPORT_ALL = """
import json, pkgutil, sys
import mlguard
failed = {}
for info in pkgutil.walk_packages(mlguard.__path__, "mlguard.", onerror=lambda name: None):
    try:
        __import__(info.name)
    except ImportError as exc:  # an optional tool (checkov...) missing here: which one?
        failed[info.name] = exc.name
    except Exception:  # runs only under its tool (alembic's migration env): the AST check covers it
        failed[info.name] = None
loaded = sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[1:])
mlguard_modules = len([m for m in sys.modules if m.startswith("mlguard")])
print(json.dumps({"modules": mlguard_modules, "failed": failed, "loaded": loaded}))
"""


def _run(code: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def test_importing_every_mlguard_module_loads_neither_selenium_nor_tests() -> None:
    # tests/ is importable here (the repository root is on the path): only an import can load it.
    seen = _run(IMPORT_ALL, *FORBIDDEN)
    failed = seen["failed"]
    assert isinstance(failed, dict)
    assert [m for m, name in failed.items() if str(name).split(".")[0] in FORBIDDEN] == []
    assert seen["loaded"] == []
    assert isinstance(seen["modules"], int)
    assert seen["modules"] > 100  # the walk really imported the package


LOADED = """
import json, sys
print(json.dumps({"loaded": sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[1:])}))
"""


def test_demo_package_and_s3control_plugin_do_not_load_moto() -> None:
    assert _run("import mlguard.demo.s3control_host\n" + LOADED, "moto", "boto3")["loaded"] == []
