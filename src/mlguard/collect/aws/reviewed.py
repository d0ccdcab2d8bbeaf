"""Where a shortcut of the collector reproduces botocore's (or the standard library's) code, it runs
only on the code it was reviewed against.

The collector's clients take cheaper paths than botocore's for a few steps of every call (SigV4
signing, ``sigv4.py``; endpoint parameters, ``endpoints.py``; ``...Z`` and epoch-number
timestamps and the credentials' clock, ``timestamps.py``, which also reproduces dateutil's
``tzlocal``), each reproducing what botocore's code does, step for step, and tested against it.
botocore (and dateutil) are not pinned: a later version may change that code, and a shortcut that no longer
matches could sign, route or read differently. So each shortcut names the code it reproduces with
the digests of the versions reviewed (:data:`Reproduced`), and is given to a client only where
:func:`unchanged` finds that code here as reviewed; elsewhere botocore's own code runs (slower,
and right by definition), and the shortcut's comparison tests are skipped with that reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from hashlib import sha256
from typing import Any

#: name -> (the function reproduced, the digests of its reviewed versions: :func:`digest`)
Reproduced = Mapping[str, tuple[Any, set[str]]]


def digest(code: Any) -> str:
    """The first 16 hex digits of the sha256 of a function's source."""
    return sha256(inspect.getsource(code).encode()).hexdigest()[:16]


def unchanged(reproduced: Reproduced) -> bool:
    """Whether every function of ``reproduced`` is, here, one of its reviewed versions (False when
    a source cannot be read: a frozen or byte-code-only install)."""
    try:
        return all(digest(code) in digests for code, digests in reproduced.values())
    except (OSError, TypeError):
        return False
