"""Progress on stderr: a rich bar with totals on a terminal, one line per finished unit of
collection (a family in one account/region or workspace) otherwise, so a CI log shows where a
long scan is; with ``--verbose``, totals by family.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from mlguard.cli.output import OutputSettings
from mlguard.collect.base import Calls, NullProgress, Progress
from mlguard.report.sanitize import terminal_safe

log = logging.getLogger("mlguard")


def family_of(key: str) -> tuple[str, str]:
    """(provider, family) of a progress unit key: ``aws/ACCOUNT/REGION/FAMILY`` or
    ``databricks:HOST:TYPE``."""
    provider = re.split(r"[/:]", key, maxsplit=1)[0]
    return provider, re.split(r"[/:]", key)[-1]


@dataclass
class FamilyTotals:
    units: int = 0
    resources: int = 0
    errors: int = 0
    calls: int = 0
    retries: int = 0
    seconds: float = 0.0


@dataclass
class _Tally:
    """What the finished units add up to, per (provider, family) and overall."""

    started: int = 0
    finished: int = 0
    by_family: dict[tuple[str, str], FamilyTotals] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)

    def add(self, key: str, resources: int, errors: int, calls: Calls | None, seconds: float) -> None:
        t = self.by_family.setdefault(family_of(key), FamilyTotals())
        t.units += 1
        t.resources += resources
        t.errors += errors
        t.calls += calls.calls if calls else 0
        t.retries += calls.retries if calls else 0
        t.seconds += seconds
        self.finished += 1

    def total(self) -> FamilyTotals:
        out = FamilyTotals()
        for t in self.by_family.values():
            out.units += t.units
            out.resources += t.resources
            out.errors += t.errors
            out.calls += t.calls
            out.retries += t.retries
            out.seconds += t.seconds
        return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s" if not word.endswith("y") else f"{n} {word[:-1]}ies"


def unit_line(
    description: str, resources: int, errors: int, calls: Calls | None, seconds: float, verbose: bool
) -> str:
    """One finished unit: ``AWS 123456789012 us-east-1 sagemaker: 4 resources, 9 calls, 0 errors, 0.3s``."""
    parts = [_plural(resources, "resource")]
    if calls is not None:
        text = _plural(calls.calls, "call")
        if verbose:
            text += f" ({_plural(calls.retries, 'retry')})"
        parts.append(text)
    parts += [_plural(errors, "error"), f"{seconds:.1f}s"]
    return f"mlguard: {terminal_safe(description)}: {', '.join(parts)}"


class _BaseProgress:
    def __init__(self, err: Console, verbose: bool) -> None:
        self.err = err
        self.verbose = verbose
        self.tally = _Tally()
        self._lock = threading.Lock()
        self._units: dict[str, tuple[str, float]] = {}

    def start(self, key: str, description: str) -> None:
        with self._lock:
            self._units[key] = (description, time.monotonic())
            self.tally.started += 1
        log.debug("collecting %s", description)

    def _finished(self, key: str, resources: int, errors: int, calls: Calls | None) -> tuple[str, float]:
        with self._lock:
            description, began = self._units.pop(key, (key, time.monotonic()))
            seconds = time.monotonic() - began
            self.tally.add(key, resources, errors, calls, seconds)
        return description, seconds

    def summary(self) -> None:
        """With --verbose: one line per family (all its scopes together: calls, retries, time
        summed over the scopes, which ran concurrently), then the totals. Lines, not a table: a
        log keeps them whole and grep finds them."""
        if not self.verbose or not self.tally.by_family:
            return
        for (provider, family), f in sorted(self.tally.by_family.items()):
            label = family if family.startswith(f"{provider}.") else f"{provider} {family}"
            self._print(
                f"mlguard: family {terminal_safe(label)}: {_plural(f.units, 'scope')}, "
                f"{_plural(f.resources, 'resource')}, {_plural(f.calls, 'call')} "
                f"({_plural(f.retries, 'retry')}), {_plural(f.errors, 'error')}, {f.seconds:.1f}s"
            )
        total = self.tally.total()
        self._print(
            f"mlguard: collected {_plural(total.resources, 'resource')} in {_plural(total.units, 'unit')}: "
            f"{_plural(total.calls, 'call')} ({_plural(total.retries, 'retry')}), "
            f"{_plural(total.errors, 'error')}, {time.monotonic() - self.tally.began:.1f}s"
        )

    def _print(self, line: str) -> None:
        self.err.print(line, highlight=False, markup=False, soft_wrap=True)


class LineProgress(_BaseProgress):
    """stderr is not a terminal (a CI log): one line per finished unit, nothing redrawn."""

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        description, seconds = self._finished(key, resources, errors, calls)
        line = unit_line(description, resources, errors, calls, seconds, self.verbose)
        with self._lock:  # whole lines, never interleaved
            self._print(line)


class BarProgress(_BaseProgress):
    """stderr is a terminal: a bar of finished units with the running totals, a spinner per unit
    at work (with --verbose, each finished unit's line is printed above the bar)."""

    def __init__(self, err: Console, verbose: bool) -> None:
        super().__init__(err, verbose)
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as RichProgress

        self._progress = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[totals]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._overall = self._progress.add_task("collecting", total=0, totals="")
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> BarProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def start(self, key: str, description: str) -> None:
        super().start(key, description)
        task = self._progress.add_task(terminal_safe(description), total=None, totals="")
        with self._lock:
            self._tasks[key] = task
            started = self.tally.started
        self._progress.update(self._overall, total=started)

    def finish(self, key: str, resources: int, errors: int, calls: Calls | None = None) -> None:
        description, seconds = self._finished(key, resources, errors, calls)
        with self._lock:
            task = self._tasks.pop(key, None)
            total = self.tally.total()
            finished = self.tally.finished
        if task is not None:
            self._progress.remove_task(task)
        self._progress.update(self._overall, completed=finished, totals=self.totals_text(total))
        if self.verbose:
            line = unit_line(description, resources, errors, calls, seconds, True)
            self._progress.console.print(line, highlight=False, markup=False, soft_wrap=True)

    @staticmethod
    def totals_text(total: FamilyTotals) -> str:
        return (
            f"{_plural(total.resources, 'resource')}, {_plural(total.calls, 'call')}, "
            f"{_plural(total.errors, 'error')}"
        )


@contextmanager
def progress(err: Console, out: OutputSettings) -> Iterator[Progress]:
    """The progress display for one collection: none with -q, a bar on a terminal, lines else."""
    if out.quiet:
        yield NullProgress()
        return
    if err.is_terminal:
        with BarProgress(err, out.verbose > 0) as bar:
            yield bar
        bar.summary()
        return
    lines = LineProgress(err, out.verbose > 0)
    yield lines
    lines.summary()
