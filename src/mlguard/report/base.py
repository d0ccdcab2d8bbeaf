"""The reporter interface: one extension axis, one registry.

Every reporter renders a :class:`~mlguard.model.ScanResult` (the canonical ``results.json``), so
``mlguard report results.json --format X`` re-renders any past scan.
"""

from __future__ import annotations

import itertools
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from mlguard.model import ScanResult

if TYPE_CHECKING:  # the history layer imports SQLAlchemy: only the reporters that need it load it
    from mlguard.history.report import ReportHistory


@dataclass(frozen=True)
class ReportOptions:
    framework: str | None = None  # compliance export for one framework
    results_sha256: str | None = None  # digest of the results file the report was rendered from
    # The run's history (diff against the previous run, trends): a ReportHistory or its JSON dict.
    history: ReportHistory | dict[str, Any] | None = None
    # ASFF: the Security Hub region findings are imported into, and the AWS account that files the
    # results without an AWS account of their own (Databricks, IaC). See report/formats/asff.py.
    asff_region: str | None = None
    asff_account: str | None = None
    sarif_category: str | None = None  # --sarif-category (None: one per provider and scope)


class Reporter(ABC):
    """Renders a scan result into one file."""

    name: ClassVar[str]  # the --format value
    filename: ClassVar[str]  # default file name inside --output-dir
    description: ClassVar[str]

    # True: ``chunks`` yields the file piece by piece (written as it comes, never held whole);
    # False: ``render`` builds it whole, before anything is written (it may refuse the scan).
    streams: ClassVar[bool] = False

    @abstractmethod
    def render(self, scan: ScanResult, options: ReportOptions) -> str | bytes:
        """Return the file contents. Must not write anything itself."""

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        """The file contents in pieces whose concatenation is :meth:`render`'s (a streaming
        reporter overrides this and renders with :func:`joined`)."""
        yield self.render(scan, options)

    def content(self, scan: ScanResult, options: ReportOptions) -> Content:
        """What :func:`mlguard.report.render.write_files` takes: the pieces to stream, or the whole."""
        return self.chunks(scan, options) if self.streams else self.render(scan, options)

    def write(self, scan: ScanResult, path: Path, options: ReportOptions) -> Path:
        """Render, then write atomically (see :func:`mlguard.report.render.write_files`)."""
        from mlguard.report.render import write_files

        return write_files([(path, self.content(scan, options))])[0]


Content = str | bytes | Iterator[str | bytes]
_K = TypeVar("_K")
_V = TypeVar("_V")


def joined(chunks: Iterable[str | bytes]) -> str:
    """Streamed pieces as one string (for ``render``: stdout, tests)."""
    return "".join(c if isinstance(c, str) else c.decode("utf-8") for c in chunks)


def json_array_chunks(items: Iterable[Any], indent: int | None = None, batch: int = 1000) -> Iterator[str]:
    """``json.dumps(list(items), ensure_ascii=False)`` (compact, or with ``indent``) in pieces of
    ``batch`` items, without the list or its text held whole."""
    pad = "" if indent is None else "\n" + " " * indent
    rest = iter(items)
    first = True
    while pending := list(itertools.islice(rest, batch)):
        if indent is None:
            text = json.dumps(pending, ensure_ascii=False, separators=(",", ":"))
        else:
            text = json.dumps(pending, ensure_ascii=False, indent=indent)
        # "[a,b]" or "[\n a,\n b\n]": the items at the depth they have inside the whole list
        yield ("[" if first else ",") + pad
        yield text[1 + len(pad) : -1 - (indent is not None)]
        first = False
    yield "[]" if first else ("" if indent is None else "\n") + "]"


def json_dumper(**options: Any) -> Callable[[Any], str]:
    """``lambda value: json.dumps(value, **options)``, for a value per result: the same encoder,
    made once rather than at every call (a small value's dump costs three times its encoding).
    The C encoder's one-shot call, as ``json.JSONEncoder.encode`` makes it, when it is there (no
    ``indent``); else that method. One per report (not shared between threads: it keeps the
    encoder's markers of the containers being encoded)."""
    encoder = json.JSONEncoder(**options)
    make = getattr(json.encoder, "c_make_encoder", None)  # not in the stubs: None without _json
    if make is None or encoder.indent is not None:
        return encoder.encode
    markers: dict[int, Any] | None = {} if encoder.check_circular else None
    strings = json.encoder.encode_basestring_ascii if encoder.ensure_ascii else json.encoder.encode_basestring
    one_shot = make(
        markers,
        encoder.default,
        strings,
        None,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )

    def dumps(value: Any) -> str:
        try:
            return "".join(one_shot(value, 0))
        except BaseException:
            if markers:  # a failed dump may leave its containers marked
                markers.clear()
            raise

    return dumps


#: What a writer's memo holds at most: values, and characters (of text values) in all.
MEMO_VALUES = 10_000
MEMO_CHARS = 8 << 20


class Bounded(Generic[_K, _V]):
    """A writer's memo of values by key, bounded in count and in size: at ``limit`` values, or
    values of ``chars`` characters in all (``size``: a value's), it starts again. Values that
    differ by result stay cheap to hold, and large ones (a policy's long description in every
    template of its kinds) cannot add up to more than ``chars``."""

    __slots__ = ("chars", "limit", "memo", "size", "used")

    def __init__(self, size: Callable[[_V], int], limit: int | None = None, chars: int | None = None) -> None:
        self.size = size
        self.limit = MEMO_VALUES if limit is None else limit
        self.chars = MEMO_CHARS if chars is None else chars
        self.memo: dict[_K, _V] = {}
        self.used = 0

    def get(self, key: _K) -> _V | None:
        return self.memo.get(key)

    def put(self, key: _K, value: _V) -> _V:
        size = self.size(value)
        if len(self.memo) >= self.limit or self.used + size > self.chars:
            self.memo.clear()
            self.used = 0
        self.memo[key] = value
        self.used += size
        return value


class PerObject(Generic[_K]):
    """``fn(obj)``, a text, computed once per object, not once per use: for what many results share
    by identity (the evaluator holds a policy's equal evidence once, so its JSON is written once).
    The object is kept beside its text, so an id is never taken for another object's; bounded as
    :class:`Bounded`, by the texts' characters."""

    def __init__(self, fn: Callable[[_K], str], limit: int | None = None, chars: int | None = None) -> None:
        self.fn = fn
        self.memo: Bounded[int, tuple[_K, str]] = Bounded(lambda hit: len(hit[1]), limit, chars)

    def __call__(self, obj: _K) -> str:
        hit = self.memo.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        return self.memo.put(id(obj), (obj, self.fn(obj)))[1]


_REGISTRY: dict[str, type[Reporter]] = {}


def register(cls: type[Reporter]) -> type[Reporter]:
    _REGISTRY[cls.name] = cls
    return cls


def reporters() -> dict[str, type[Reporter]]:
    import mlguard.report.formats  # noqa: F401  (registers the built-in reporters)

    return dict(_REGISTRY)
