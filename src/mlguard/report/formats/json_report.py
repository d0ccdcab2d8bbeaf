"""The canonical results.json.

Written as a stream: the envelope (provenance, errors, summary, policies...) is dumped without its
results, and the results are dumped in batches into its place, indented as in one dump of the
whole scan (``model_dump_json(indent=1, exclude_none=True)``), so the bytes are the same and the
whole document is never held in memory as one string.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import TypeAdapter

from mlguard.model import Result, ScanResult
from mlguard.report.base import Reporter, ReportOptions, joined, register

BATCH = 500  # results per dump: a few MB at most, whatever their evidence holds
_RESULTS = TypeAdapter(dict[str, list[Result]])
_BATCH_HEAD, _BATCH_TAIL = b'{\n "results": [\n', b"\n ]\n}"
# Where the results go in the envelope (a string value cannot hold a raw newline: this is the key).
_EMPTY_RESULTS = b'\n "results": [],\n'
_PIECE = 1 << 22


def scan_json_chunks(scan: ScanResult) -> Iterator[bytes]:
    """``scan.model_dump_json(indent=1, exclude_none=True) + "\\n"`` in pieces."""
    if not scan.results:
        yield scan.model_dump_json(indent=1, exclude_none=True).encode() + b"\n"
        return
    # The envelope as bytes (no str of it), and its two sides as views of it, not copies: with the
    # estate map of 100k resources it is tens of MB.
    envelope = ScanResult.__pydantic_serializer__.to_json(
        scan.model_copy(update={"results": []}), indent=1, exclude_none=True
    )
    at = envelope.index(_EMPTY_RESULTS)
    whole = memoryview(envelope)
    head, tail = whole[:at], whole[at + len(_EMPTY_RESULTS) :]
    yield bytes(head) + b'\n "results": [\n'
    for start in range(0, len(scan.results), BATCH):
        # Dumped under a key, so the items are as deep as in the envelope's results list:
        # '{\n "results": [\n  {...},\n  {...}\n ]\n}' -> '  {...},\n  {...}'
        results = {"results": scan.results[start : start + BATCH]}
        batch = _RESULTS.dump_json(results, indent=1, exclude_none=True)
        yield b",\n" if start else b""
        yield batch[len(_BATCH_HEAD) : -len(_BATCH_TAIL)]
        del batch, results
    yield b"\n ],\n"
    for start in range(0, len(tail), _PIECE):  # copies of a few MB at a time
        yield bytes(tail[start : start + _PIECE])
    yield b"\n"


@register
class JsonReporter(Reporter):
    name = "json"
    filename = "results.json"
    description = "The canonical scan result (stable, schema-versioned; see `mlguard schema result`)."
    streams = True

    def chunks(self, scan: ScanResult, options: ReportOptions) -> Iterator[str | bytes]:
        yield from scan_json_chunks(scan)

    def render(self, scan: ScanResult, options: ReportOptions) -> str:
        return joined(self.chunks(scan, options))
