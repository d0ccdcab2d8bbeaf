"""Run checkov as a separate process and parse its JSON output.

checkov 3.3 pins ``boto3`` exactly, so it cannot share mlguard's environment: it is installed in its
own venv (or with pipx) and found here by path. mlguard never imports checkov.

checkov runs offline: no API key is passed (and any in the environment is dropped), downloads from
the Prisma Cloud platform are skipped (``--skip-download``, ``BC_SKIP_MAPPING``), external Terraform
modules are not fetched, and the PyPI update check is off.

What checkov writes is bounded like every input (:class:`~mlguard.yamlio.Limits`): its report (its
stdout, or the report file of a batch) at most ``$MLGUARD_MAX_CHECKOV_BYTES`` (read no further: a
bigger one is refused, and its process killed) and ``$MLGUARD_MAX_NESTING`` levels deep; of its
stderr only a tail and the first line saying a check could not be loaded are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlguard.errors import EXIT_INCOMPLETE, EXIT_SETUP, MlguardError, ToolMissingError
from mlguard.yamlio import Limits, nested_deeper_than, size_text

ENV_CHECKOV_BIN = "MLGUARD_CHECKOV_BIN"
FRAMEWORKS: tuple[str, ...] = ("terraform", "terraform_plan", "cloudformation")
CHECKS_DIR = Path(__file__).resolve().parent / "checks"
DEFAULT_TIMEOUT = 600.0
INSTALL_HINT = (
    "install checkov in its own environment (it pins boto3 and cannot share mlguard's): "
    "`pipx install 'checkov==3.3.*'`, or "
    "`python3 -m venv ~/.venvs/checkov && ~/.venvs/checkov/bin/pip install 'checkov==3.3.*'` "
    f"and pass --checkov-bin ~/.venvs/checkov/bin/checkov (or set {ENV_CHECKOV_BIN})"
)
# Variables that would make checkov talk to the Prisma Cloud / Bridgecrew platform.
_PLATFORM_ENV = ("BC_API_KEY", "PRISMA_API_URL", "BC_API_URL", "CKV_API_KEY")
_OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
    "ANSI_COLORS_DISABLED": "1",
    "LOG_LEVEL": "WARNING",
    "PYTHONDONTWRITEBYTECODE": "1",
}
_STDERR_TAIL = 800  # characters of stderr quoted in an error
_STDERR_KEPT = 64 * 1024  # bytes of stderr kept (its tail), and of one line while it is read
_CHUNK = 64 * 1024
_BROKEN_CHECK = b"Cannot load external check"


class CheckovFailedError(MlguardError):
    """checkov ran but produced no usable result (crash, unreadable output, a check not loaded)."""

    exit_code = EXIT_SETUP


class CheckovTimeoutError(MlguardError):
    """checkov did not finish within the timeout (exit 3, like any scan cut short)."""

    exit_code = EXIT_INCOMPLETE


# --------------------------------------------------------------------------- checkov's JSON


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CheckovCheckResult(_Lenient):
    result: Literal["PASSED", "FAILED", "SKIPPED"]
    evaluated_keys: list[str] = Field(default_factory=list)
    suppress_comment: str | None = None

    @field_validator("evaluated_keys", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return [] if value is None else value


class CheckovRecord(_Lenient):
    """One (check, resource) outcome as checkov reports it. Code blocks are deliberately not read."""

    check_id: str
    check_name: str = ""
    check_result: CheckovCheckResult
    file_path: str = ""
    file_abs_path: str | None = None
    file_line_range: list[int] = Field(default_factory=list)
    resource: str = ""
    resource_address: str | None = None
    guideline: str | None = None
    details: list[str] = Field(default_factory=list)
    check_class: str | None = None

    @field_validator("details", "file_line_range", mode="before")
    @classmethod
    def _none_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def address(self) -> str:
        return self.resource_address or self.resource


class CheckovReport(_Lenient):
    """checkov's report for one framework (``check_type``)."""

    check_type: str
    passed: list[CheckovRecord] = Field(default_factory=list)
    failed: list[CheckovRecord] = Field(default_factory=list)
    skipped: list[CheckovRecord] = Field(default_factory=list)
    parsing_errors: list[str] = Field(default_factory=list)
    checkov_version: str | None = None

    @property
    def records(self) -> list[CheckovRecord]:
        return [*self.failed, *self.passed, *self.skipped]


def parse_output(text: str, what: str = "its targets") -> list[CheckovReport]:
    """Parse ``checkov -o json`` output (of ``what``, named in errors) into one report per framework.

    checkov prints a list when several frameworks produced results, a single object when one did,
    and a bare summary object (no ``check_type``) when nothing was found to scan. Nested deeper
    than ``$MLGUARD_MAX_NESTING`` levels, as any JSON input, it is refused.
    """
    nesting = Limits.from_env().nesting
    too_deep = (
        f"checkov's report of {what} is nested deeper than {nesting} levels "
        "(raise it with $MLGUARD_MAX_NESTING)"
    )
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckovFailedError(f"checkov printed no valid JSON ({exc.msg} at char {exc.pos})") from None
    except RecursionError:
        raise CheckovFailedError(too_deep) from None
    if nested_deeper_than(doc, nesting):
        raise CheckovFailedError(too_deep)
    items = doc if isinstance(doc, list) else [doc]
    reports: list[CheckovReport] = []
    for item in items:
        if not isinstance(item, dict):
            raise CheckovFailedError(f"unexpected checkov JSON: a {type(item).__name__} in the report list")
        if "check_type" not in item:
            if "results" in item:
                raise CheckovFailedError("unexpected checkov JSON: a report without check_type")
            continue  # the empty-scan summary: nothing found to scan
        results = item.get("results") or {}
        summary = item.get("summary") or {}
        try:
            reports.append(
                CheckovReport(
                    check_type=item["check_type"],
                    passed=results.get("passed_checks") or [],
                    failed=results.get("failed_checks") or [],
                    skipped=results.get("skipped_checks") or [],
                    parsing_errors=results.get("parsing_errors") or [],
                    checkov_version=summary.get("checkov_version"),
                )
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CheckovFailedError(
                f"unexpected checkov JSON for {item.get('check_type')}: {where}: {first['msg']}"
            ) from None
    return reports


# --------------------------------------------------------------------------- finding and running


def find_checkov(checkov_bin: str | Path | None = None) -> Path:
    """The checkov executable: ``checkov_bin``, else ``$MLGUARD_CHECKOV_BIN``, else ``checkov`` on PATH."""
    explicit = str(checkov_bin) if checkov_bin else os.environ.get(ENV_CHECKOV_BIN)
    if explicit:
        origin = "--checkov-bin" if checkov_bin else ENV_CHECKOV_BIN
        candidate = Path(explicit).expanduser().absolute()
        if candidate.is_dir():
            candidate = candidate / "checkov"
        if not candidate.is_file():
            raise ToolMissingError(f"checkov not found at {candidate} (from {origin}); {INSTALL_HINT}")
        if not os.access(candidate, os.X_OK):
            raise ToolMissingError(f"{candidate} (from {origin}) is not executable; {INSTALL_HINT}")
        return candidate
    found = shutil.which("checkov")
    if found is None:
        raise ToolMissingError(f"checkov is not installed (not on PATH); {INSTALL_HINT}")
    return Path(found)


@dataclass(frozen=True)
class CheckovRun:
    reports: list[CheckovReport]
    command: list[str]
    returncode: int
    duration_seconds: float
    version: str | None


def checkov_command(
    checkov: Path,
    target: Path,
    *,
    frameworks: tuple[str, ...] = FRAMEWORKS,
    external_checks_dirs: tuple[Path, ...] = (CHECKS_DIR,),
    skip_paths: tuple[str, ...] = (),
) -> list[str]:
    cmd = [str(checkov), "-f" if target.is_file() else "-d", str(target)]
    return cmd + _options(frameworks, external_checks_dirs, skip_paths)


def _options(
    frameworks: tuple[str, ...], external_checks_dirs: tuple[Path, ...], skip_paths: tuple[str, ...]
) -> list[str]:
    cmd = ["--framework", *frameworks, "-o", "json"]
    cmd += ["--skip-download", "--skip-results-upload", "--download-external-modules", "false"]
    for directory in external_checks_dirs:
        cmd += ["--external-checks-dir", str(directory)]
    for pattern in skip_paths:
        cmd += ["--skip-path", pattern]
    return cmd


def checkov_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PLATFORM_ENV}
    env.update(_OFFLINE_ENV)
    return env


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _STDERR_TAIL else "..." + text[-_STDERR_TAIL:]


def _text(data: bytes | bytearray, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckovFailedError(f"checkov's report of {what} is not UTF-8 text (byte {exc.start})") from None


def _too_big(what: str, cap: int) -> CheckovFailedError:
    return CheckovFailedError(
        f"checkov's report of {what} is larger than the {size_text(cap)} limit "
        "(raise it with $MLGUARD_MAX_CHECKOV_BYTES)"
    )


class _Stderr:
    """checkov's stderr as it arrives, kept bounded: its last ``_STDERR_KEPT`` bytes, and the first
    line saying an external check could not be loaded."""

    def __init__(self) -> None:
        self.tail = b""
        self.line = b""  # the line being read (its last _STDERR_KEPT bytes)
        self.broken_check: str | None = None

    def feed(self, chunk: bytes) -> None:
        self.tail = (self.tail + chunk)[-_STDERR_KEPT:]
        *lines, rest = (self.line + chunk).split(b"\n")
        self.line = rest[-_STDERR_KEPT:]
        for line in lines:
            self._check(line)

    def close(self) -> None:
        self._check(self.line)
        self.line = b""

    def _check(self, line: bytes) -> None:
        if self.broken_check is None and _BROKEN_CHECK in line:
            self.broken_check = line.decode("utf-8", "replace").strip()

    def text(self) -> str:
        return self.tail.decode("utf-8", "replace")


def _execute(
    cmd: list[str], cwd: Path, timeout: float, what: str, env: dict[str, str], *, stdout: bool = True
) -> tuple[str, str, int]:
    """Run checkov: its stdout (empty with ``stdout=False``: not read), the tail of its stderr and
    its exit code; CheckovTimeoutError past ``timeout``, CheckovFailedError when its stdout is
    larger than ``$MLGUARD_MAX_CHECKOV_BYTES`` (read no further), it crashed or it could not load
    an mlguard check. Its whole process group is killed when it is not waited for to the end."""
    cap = Limits.from_env().checkov_bytes
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so a timeout kills its workers too
        )
    except OSError as exc:
        raise ToolMissingError(f"cannot run {cmd[0]}: {exc.strerror}; {INSTALL_HINT}") from None
    deadline = time.monotonic() + timeout
    out = bytearray()
    err = _Stderr()
    pipes = [p for p in (proc.stdout, proc.stderr) if p is not None]
    finished = False
    try:
        with selectors.DefaultSelector() as selector:
            for pipe in pipes:
                selector.register(pipe, selectors.EVENT_READ)
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                for key, _ in selector.select(left):
                    if key.fileobj is proc.stdout:
                        chunk = os.read(key.fd, min(_CHUNK, cap + 1 - len(out)))
                        out += chunk
                        if len(out) > cap:
                            raise _too_big(what, cap)
                    else:
                        chunk = os.read(key.fd, _CHUNK)
                        err.feed(chunk)
                    if not chunk:
                        selector.unregister(key.fileobj)
        proc.wait(max(deadline - time.monotonic(), 0))
        finished = True
    except subprocess.TimeoutExpired:
        raise CheckovTimeoutError(f"checkov did not finish scanning {what} within {timeout:g} s") from None
    finally:
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pipe in pipes:
            pipe.close()
    err.close()
    stderr = err.text()
    # checkov logs a broken external check and carries on without it: never accept that silently.
    if err.broken_check is not None:
        raise CheckovFailedError(f"checkov could not load an mlguard check: {err.broken_check}")
    if proc.returncode not in (0, 1):
        raise CheckovFailedError(f"checkov exited with code {proc.returncode}: {_tail(stderr)}")
    return _text(out, what), stderr, proc.returncode


def run_checkov(
    target: Path,
    *,
    checkov_bin: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    frameworks: tuple[str, ...] = FRAMEWORKS,
    external_checks_dirs: tuple[Path, ...] = (CHECKS_DIR,),
    skip_paths: tuple[str, ...] = (),
) -> CheckovRun:
    """Run checkov over ``target`` (a directory or a file) and parse what it found."""
    checkov = find_checkov(checkov_bin)
    cmd = checkov_command(
        checkov,
        target,
        frameworks=frameworks,
        external_checks_dirs=external_checks_dirs,
        skip_paths=skip_paths,
    )
    cwd = target if target.is_dir() else target.parent
    started = time.monotonic()
    stdout, stderr, returncode = _execute(cmd, cwd, timeout, str(target), checkov_env())
    duration = time.monotonic() - started
    if not stdout or stdout.isspace():  # (not stripped: a copy of a report up to the limit)
        raise CheckovFailedError(f"checkov printed nothing (exit code {returncode}): {_tail(stderr)}")
    reports = parse_output(stdout, str(target))
    version = next((r.checkov_version for r in reports if r.checkov_version), None)
    return CheckovRun(
        reports=reports, command=cmd, returncode=returncode, duration_seconds=duration, version=version
    )


# --------------------------------------------------------------------------- several units at once

#: The most units one checkov process reads (:func:`run_checkov_batch`). After each ``-d``
#: directory checkov writes out its report of everything read so far, so a process's output grows
#: with the square of its units; past this many, a shard's units go to a further process.
MAX_BATCH = 32
_REPORT_FILE = "results_json.json"


def batch_supported(frameworks: Sequence[str]) -> bool:
    """Whether one checkov process reads several units as separately as one process per unit
    does. checkov reads each ``-d`` directory with its framework runners in freshly forked
    processes only when there is more than one runner and it forks (its default on Linux); a
    runner run in its own process (one framework, or threads) would judge every directory after
    the first by the first one's Terraform definitions."""
    return sys.platform.startswith("linux") and len(set(frameworks)) > 1


def run_checkov_batch(
    targets: Sequence[Path],
    *,
    cwd: Path,
    checkov_bin: str | Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    frameworks: tuple[str, ...] = FRAMEWORKS,
    external_checks_dirs: tuple[Path, ...] = (CHECKS_DIR,),
    skip_paths: tuple[str, ...] = (),
) -> CheckovRun:
    """One checkov process over several units, each read as its own root (``-d`` repeated): the
    same records as one :func:`run_checkov` per target (:func:`batch_supported` says where). A
    file target (a template) is read through a directory holding only a link to it: checkov cannot
    mix ``-d`` and ``-f``, and records name the linked file (``file_abs_path``), which the
    conversion resolves. The report is checkov's last, of every directory (written to a file:
    what it prints after each directory is cumulative)."""
    if not targets:
        raise ValueError("run_checkov_batch needs at least one target")
    if not batch_supported(frameworks):
        raise ValueError(f"one checkov process cannot read several units separately here ({frameworks})")
    checkov = find_checkov(checkov_bin)
    with tempfile.TemporaryDirectory(prefix="mlguard-checkov-") as scratch:
        roots: list[str] = []
        for i, target in enumerate(targets):
            if target.is_dir():
                roots.append(str(target))
                continue
            holder = Path(scratch) / "files" / str(i)
            holder.mkdir(parents=True)
            (holder / target.name).symlink_to(target)
            roots.append(str(holder))
        out = Path(scratch) / "report"
        cmd = [str(checkov)]
        for root in roots:
            cmd += ["-d", root]
        cmd += _options(frameworks, external_checks_dirs, skip_paths)
        cmd += ["--compact", "--output-file-path", str(out)]
        env = checkov_env()
        env["CHECKOV_PARALLELIZATION_TYPE"] = "fork"  # each directory in fresh runner processes
        started = time.monotonic()
        what = f"{len(targets)} IaC units ({targets[0]} ...)"
        # what it prints after each directory is everything so far: not read
        _, stderr, returncode = _execute(cmd, cwd, timeout, what, env, stdout=False)
        duration = time.monotonic() - started
        named = ", ".join(str(t) for t in targets)
        text = _read_report(out / _REPORT_FILE, named, returncode, stderr)
        reports = [_unlinked(r, scratch) for r in parse_output(text, named)]
    version = next((r.checkov_version for r in reports if r.checkov_version), None)
    return CheckovRun(
        reports=reports, command=cmd, returncode=returncode, duration_seconds=duration, version=version
    )


def _read_report(path: Path, what: str, returncode: int, stderr: str) -> str:
    """The report file checkov wrote (of ``what``), refused unread when larger than
    ``$MLGUARD_MAX_CHECKOV_BYTES`` (and never read further than that)."""
    cap = Limits.from_env().checkov_bytes
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > cap:
                raise _too_big(what, cap)
            data = fh.read(cap + 1)
    except OSError:
        raise CheckovFailedError(
            f"checkov wrote no report (exit code {returncode}): {_tail(stderr)}"
        ) from None
    if len(data) > cap:
        raise _too_big(what, cap)
    return _text(data, what)


def _unlinked(report: CheckovReport, scratch: str) -> CheckovReport:
    """``report`` with the paths of linked templates (under ``scratch``) made their files' own."""

    def real(path: str) -> str:
        return str(Path(path).resolve()) if path.startswith(scratch) else path

    def records(items: list[CheckovRecord]) -> list[CheckovRecord]:
        return [
            r.model_copy(update={"file_abs_path": real(r.file_abs_path)})
            if r.file_abs_path and r.file_abs_path.startswith(scratch)
            else r
            for r in items
        ]

    return report.model_copy(
        update={
            "passed": records(report.passed),
            "failed": records(report.failed),
            "skipped": records(report.skipped),
            "parsing_errors": [real(p) for p in report.parsing_errors],
        }
    )
