"""What ``mlguard report`` and ``mlguard scan --format ... --output-dir`` call to write reports.

Outputs are all or nothing. :func:`write_reports` renders every requested format first, so a bad
format or framework name writes nothing; :func:`write_files` then writes each file to a temporary
beside its target and renames them all only when every one was written, so a full disk or an
unwritable directory leaves the previous set of reports intact and no temporary behind.

Several large streamed reports are written by two processes (:func:`write_files` with
``workers=2``): a forked worker writes some temporaries while this process writes the others, and
this process renames them all only when both succeeded. A worker's failure is raised here (an
:class:`~mlguard.errors.MlguardError` as itself, anything else as :class:`ReportWorkerError` with
the worker's traceback), and then, as for any failure, no report is replaced and no temporary is
left: the reports are still all or nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import signal
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

from mlguard.errors import InputError, MlguardError, OutputError
from mlguard.gc_pause import gc_paused
from mlguard.model import ScanResult
from mlguard.report.base import Content, Reporter, ReportOptions, reporters
from mlguard.report.compliance import find_framework
from mlguard.report.framework_report import framework_reporter, output_name


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_formats(value: str) -> list[str]:
    """``"sarif,html"`` -> ``["sarif", "html"]``; InputError naming the known formats otherwise."""
    known = reporters()
    formats = [f.strip().lower() for f in value.split(",") if f.strip()]
    unknown = [f for f in formats if f not in known]
    if unknown or not formats:
        raise InputError(
            f"unknown --format {', '.join(unknown) or value!r}; choose from {', '.join(sorted(known))}"
        )
    return list(dict.fromkeys(formats))


def write_reports(
    scan: ScanResult, formats: list[str], output_dir: Path, options: ReportOptions | None = None
) -> list[Path]:
    """Render each format into ``output_dir`` under its documented file name; return the paths.

    With ``options.framework`` set, each format is the compliance export of that framework
    (html, csv or json; file ``compliance-<framework>.<ext>``).
    """
    options = options or ReportOptions()
    plan = [reporter_for(scan, fmt, options) for fmt in formats]
    with gc_paused():  # many small acyclic objects (elements, rows): see mlguard.gc_pause
        streamed = sum(1 for reporter, _ in plan if reporter.streams)
        parallel = _parallel(len(scan.results), streamed)
        # The streamed formats (results json, SARIF, CSV, JUnit, HTML, OCSF, ASFF) are written
        # piece by piece into their temporaries. The whole-file ones render here, before anything
        # is written; with two processes, in the process that writes them (their one piece, made
        # when asked for), so that rendering is shared out too. Either way a format that refuses
        # the scan leaves no report replaced.
        rendered = [
            (output_dir / name, (reporter.chunks if parallel else reporter.content)(scan, options))
            for reporter, name in plan
        ]
        return write_files(rendered, workers=2 if parallel else 1)


# Below this many results the reports take well under a second: a second process costs more.
PARALLEL_MIN_RESULTS = 20_000


def _parallel(results: int, streamed: int) -> bool:
    """Whether to write with two processes: a large scan, two streamed reports or more, two CPUs,
    ``fork`` available, and no other thread alive (a fork copies only the calling thread: a lock
    another thread held, such as the import lock, would stay locked in the worker)."""
    return (
        results >= PARALLEL_MIN_RESULTS
        and streamed >= 2
        and hasattr(os, "fork")
        and (os.cpu_count() or 1) >= 2
        and threading.active_count() == 1
    )


def reporter_for(scan: ScanResult, fmt: str, options: ReportOptions) -> tuple[Reporter, str]:
    """The reporter of ``--format fmt`` and its file name (the compliance export's with
    ``options.framework``); InputError naming the known formats otherwise."""
    if options.framework:
        fw = find_framework(scan, options.framework)
        return framework_reporter(fmt), output_name(fmt, fw.id)
    known = reporters()
    if fmt not in known:
        raise InputError(f"unknown --format {fmt!r}; choose from {', '.join(sorted(known))}")
    reporter = known[fmt]()
    return reporter, reporter.filename


class ReportWorkerError(RuntimeError):
    """A report failed in the worker process for a reason that is not an :class:`MlguardError`
    (a bug): the message names the report and carries the worker's traceback."""


# Relative cost of writing each format, to share the work between the two processes: its CPU time
# in tenths of a second at 100k resources (324,018 results, bench/evaluate.py); a format not
# listed costs 1. The worker starts with WORKER_START: what it pays to copy the pages of the scan
# it touches (the results' reference counts) once forked. The six formats of a scan split about
# evenly: html, JUnit and Markdown here, results.json, CSV and SARIF in the worker.
WEIGHTS = {"report.html": 22, "results.json": 14, "results.csv": 12, "junit.xml": 11, "results.sarif": 8}
WEIGHTS |= {"summary.md": 2}
WEIGHTS |= {"results.ocsf.json": 50, "results.asff.json": 36}  # written from templates (json_template.py)
WORKER_START = 3


def _shares(files: Sequence[tuple[Path, Content]]) -> tuple[list[int], list[int]]:
    """Indices of ``files`` for this process and for the worker: the heaviest first, each to the
    lighter side (whole contents, already rendered, cost nothing more to write)."""
    load = [0, WORKER_START]
    sides: tuple[list[int], list[int]] = ([], [])
    weight = [0 if isinstance(c, str | bytes) else WEIGHTS.get(p.name, 1) for p, c in files]
    for i in sorted(range(len(files)), key=lambda i: -weight[i]):
        side = 0 if load[0] <= load[1] else 1
        sides[side].append(i)
        load[side] += weight[i]
    return sorted(sides[0]), sorted(sides[1])


def _write_one(path: Path, tmp: Path, content: Content) -> None:
    """``content`` into the temporary ``tmp`` (created here) of ``path``, synced."""
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
        for piece in [content] if isinstance(content, str | bytes) else content:
            fh.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
        fh.flush()
        os.fsync(fh.fileno())


def _output_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"could not write the reports: {exc.strerror or exc}", file=str(path))


def write_files(files: Sequence[tuple[Path, Content]], workers: int = 1) -> list[Path]:
    """Write every file or none: temporaries first (same directory, so the rename is atomic), then
    rename them all. A file's content is its text or bytes, or an iterator of pieces (a streamed
    report), written as they come. On failure (or an error raised while a streamed report is
    produced) the temporaries are removed and the old files are left as they were; an OSError is
    :class:`OutputError` naming the path and the reason (exit 2).

    ``workers=2``: a forked worker process writes about half of them (see the module docstring)."""
    pid = os.getpid()
    temps = [(path.with_name(f".{path.name}.{pid}.tmp"), path) for path, _ in files]

    def remove_temps() -> None:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):  # never created (its directory may not even be one)
                tmp.unlink()

    mine, theirs = _shares(files) if workers > 1 and len(files) > 1 else (list(range(len(files))), [])
    worker = _start_worker(files, temps, theirs) if theirs else None
    try:
        for i in mine:
            try:
                _write_one(files[i][0], temps[i][0], files[i][1])
            except OSError as exc:
                raise _output_error(files[i][0], exc) from None
        if worker is not None:
            failure = _join_worker(*worker)
            worker = None  # it has ended
            if failure is not None:
                raise failure
    except BaseException:  # a streamed report that could not be produced: nothing is written
        if worker is not None:  # this process failed first: the worker's files are not wanted
            os.kill(worker[0], signal.SIGKILL)
            os.waitpid(worker[0], 0)
            os.close(worker[1])
        remove_temps()
        raise
    for i, (tmp, path) in enumerate(temps):
        try:
            tmp.replace(path)
        except OSError as exc:
            for rest, _ in temps[i:]:
                rest.unlink(missing_ok=True)
            raise _output_error(path, exc) from None
    return [path for _, path in temps]


def _start_worker(
    files: Sequence[tuple[Path, Content]], temps: list[tuple[Path, Path]], share: list[int]
) -> tuple[int, int]:
    """Fork a worker writing the files ``share`` into their temporaries; it reports on a pipe: nothing
    when every file was written, else a pickled ``(kind, details)`` of its first failure."""
    reader, writer = os.pipe()
    child = os.fork()
    if child:
        os.close(writer)
        return child, reader
    # The worker: never returns (os._exit: no atexit handler, no flush of the parent's buffers).
    code = 0
    try:
        os.close(reader)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops it
        for i in share:
            path = files[i][0]
            try:
                _write_one(path, temps[i][0], files[i][1])
            except OSError as exc:
                raise _output_error(path, exc) from None
    except BaseException as exc:  # reported to the parent, which raises it
        code = 1
        try:
            if isinstance(exc, MlguardError):
                report = ("mlguard", (type(exc), exc.message, exc.file, exc.line))
                data = pickle.dumps(report)
            else:
                raise TypeError  # not an error for the user: its traceback, as text
        except Exception:
            data = pickle.dumps(("bug", "".join(traceback.format_exception(exc))))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(code)


def _join_worker(pid: int, reader: int) -> Exception | None:
    """Wait for the worker to end; its failure (see :func:`_start_worker`), if any."""
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if data:
        kind, details = pickle.loads(data)
        if kind == "mlguard":
            cls, message, file, line = details
            error: Exception = cls(message, file=file, line=line)
            return error
        return ReportWorkerError(f"a report could not be written (in the worker process):\n{details}")
    if status:
        return ReportWorkerError(
            f"the worker process writing reports ended abnormally (wait status {status})"
        )
    return None
