"""JSON text of many similar objects: the text of one, encoded once, with holes where they differ.

OCSF and ASFF write one JSON object per result, and most of its text is the same for every result
of a policy in a given state (the policy's description, the requirements, the remediation...).
Building and encoding each object whole costs tens of microseconds a result at 100k resources;
instead the writer builds the object of the first result of a kind with its general code, puts a
hole (:func:`hole`) at each value that differs between results of that kind (the fingerprint, the
resource, the message, the time...), and encodes it once into a :class:`Template`. Every other
result of the kind fills the holes with the JSON text of its own values. Which results are of a
kind (the writer's cache key) is everything the text outside the holes depends on.

A hole replaces a value of a JSON-ready dict that has been through
:func:`~mlguard.report.sanitize.json_safe`, which leaves no NUL in any string: its marker, a string
holding NULs, is encoded as ``"\\u0000<n>\\u0000"`` (quotes included), which nothing else in the
text can be; :func:`template` checks that every hole is found as many times as it was put.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import Any

from mlguard.report.sanitize import json_safe

# The encoding of a JSON string as json.dumps writes it with ensure_ascii=False (the encoders'
# own function: the C one when there is one).
_encode_string: Callable[[str], str] = json.encoder.encode_basestring
_MARK = re.compile(r'"\\u0000(\d+)\\u0000"')


def hole(n: int) -> str:
    """The marker of hole ``n``, to put in place of a value."""
    return f"\x00{n}\x00"


def string(text: str) -> str:
    """The JSON text of ``json_safe(text)`` (what a string of a json_safe object is encoded as)."""
    return _encode_string(json_safe(text))


class Template:
    """A JSON text with holes: ``fill(*texts)`` is the text with ``texts[n]`` in hole ``n``. Not
    shared between threads (it fills one list of its pieces in place)."""

    __slots__ = ("chars", "holes", "parts", "values")

    def __init__(self, pieces: list[str], holes: list[int]) -> None:
        self.holes = holes
        self.chars = sum(map(len, pieces))  # its size in a writer's memo (report.base.Bounded)
        self.parts = [""] * (2 * len(pieces) - 1)  # piece, hole, piece, ..., piece
        self.parts[0::2] = pieces
        get = itemgetter(*holes) if holes else (lambda _: ())
        self.values: Callable[[tuple[str, ...]], Any] = (lambda v: (get(v),)) if len(holes) == 1 else get

    def fill(self, *texts: str) -> str:
        parts = self.parts
        parts[1::2] = self.values(texts)
        return "".join(parts)


def chars(template: Template) -> int:
    """A template's size, in a writer's memo (:class:`~mlguard.report.base.Bounded`)."""
    return template.chars


def template(text: str, placed: Counter[int]) -> Template:
    """The template of ``text``, the encoding of an object with the holes ``placed`` (hole: times
    put); ValueError when the text does not hold each hole as many times (a string of the object
    held a NUL: it was not made json_safe)."""
    parts = _MARK.split(text)
    holes = [int(n) for n in parts[1::2]]
    if Counter(holes) != placed:
        put = sorted(placed.elements())
        raise ValueError(f"a JSON template holds the holes {sorted(holes)}, not the {put} put in it")
    return Template(parts[0::2], holes)


class Holes:
    """Puts holes in a JSON-ready object and counts them, for :func:`template`."""

    def __init__(self) -> None:
        self.placed: Counter[int] = Counter()

    def __call__(self, container: dict[str, Any] | list[Any], key: str | int, n: int) -> None:
        """``container[key]`` becomes hole ``n``; the key must be there (a new key of a dict would
        be encoded last, out of the order the object has)."""
        if isinstance(container, dict):
            if not isinstance(key, str) or key not in container:
                raise KeyError(key)
            container[key] = hole(n)
        elif isinstance(key, int):
            container[key] = hole(n)
        else:
            raise KeyError(key)
        self.placed[n] += 1

    def template(self, text: str) -> Template:
        """The template of ``text``, the encoding of the object the holes were put in."""
        return template(text, self.placed)


def indented(dumps: Callable[[Any], str], indent: int, depth: int) -> Callable[[Any], str]:
    """An encoder with ``indent`` (``dumps``) whose text is indented as at ``depth`` levels inside a
    larger dump (a JSON text has no newline but those of the indentation: strings escape theirs)."""
    pad = "\n" + " " * (indent * depth)
    return lambda value: dumps(value).replace("\n", pad)


def array_chunks(texts: Iterable[str], indent: int | None = None, batch: int = 1000) -> Iterator[str]:
    """What :func:`~mlguard.report.base.json_array_chunks` writes for the items whose JSON texts
    (indented as at depth 1) are ``texts``, in pieces of ``batch`` items."""
    pad = "" if indent is None else "\n" + " " * indent
    rest = iter(texts)
    first = True
    while pending := list(itertools.islice(rest, batch)):
        yield ("[" if first else ",") + pad + ("," + pad).join(pending)
        first = False
    yield "[]" if first else ("" if indent is None else "\n") + "]"


__all__ = ["Holes", "Template", "array_chunks", "chars", "hole", "indented", "string", "template"]
