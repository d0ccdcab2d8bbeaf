"""Response headers read without the email package, for the collector's clients.

``http.client`` reads an answer's header block and hands it to the email package's feed parser
(``http.client.parse_headers``), which cracks it into lines again, matches each against the RFC
2822 patterns, and stores every header through the email policy; each later read of a header
(urllib3 reads them all, then ``Content-Length``, ``Transfer-Encoding``, ``Connection``...) goes
through the policy once more (``header_fetch_parse``: a surrogate check per value). That was about
a tenth of botocore's CPU per API call.

:func:`parse_headers` reads the block with ``http.client``'s own reader (the same line-length and
header-count limits) and, when every line is a plain ``Name: value`` line of printable ASCII (every
AWS answer), builds the :class:`~http.client.HTTPMessage` the email parser would have built (the
same headers, values, payload and defects); any other block (folded lines, a line without a colon,
control or non-ASCII characters, a ``From `` line) goes to ``http.client.parse_headers`` as before.
Its :class:`LeanMessage` answers reads of plain-ASCII string values without the policy call, whose
answer for such a value is that value.

:class:`LeanHTTPResponse` is ``http.client``'s response whose ``begin`` is the standard library's
own code (the same function body, not a copy of its source) with this :func:`parse_headers`.
:func:`install` gives a client's HTTP session connection classes answering with it: only the
collector's clients (``clients.py``) get it; ``http.client``, urllib3 and botocore are not patched.
"""

from __future__ import annotations

import email.parser
import http.client
import re
import types
from email import policy as email_policy
from typing import Any

import botocore.awsrequest
from botocore.httpsession import URLLib3Session

# A plain header line: a field name (printable ASCII but the colon, as the email parser's header
# pattern), a colon, a value of tabs and printable ASCII, a line end. Anything else: the email parser.
_PLAIN = re.compile(rb"[\x21-\x39\x3b-\x7e]+:[\t\x20-\x7e]*\r?\n")
_ENDS = (b"\r\n", b"\n", b"")
_COMPAT32 = email_policy.compat32


class LeanMessage(http.client.HTTPMessage):
    """An ``HTTPMessage`` whose reads of plain-ASCII string values skip the compat32 policy's
    fetch step (``_sanitize_header``: a value without surrogates is returned as it is; an ASCII
    string has none). Other values, and any other policy, are read as by ``email.message``."""

    def _fast(self) -> bool:
        return self.policy is _COMPAT32

    def items(self) -> list[tuple[str, Any]]:
        if not self._fast():
            return super().items()
        fetch = self.policy.header_fetch_parse
        return [
            (k, v) if type(v) is str and v.isascii() else (k, fetch(k, v))
            for k, v in self._headers  # type: ignore[attr-defined]
        ]

    def values(self) -> list[Any]:
        return [v for _, v in self.items()]

    def get(self, name: str, failobj: Any = None) -> Any:
        if not self._fast():
            return super().get(name, failobj)
        name = name.lower()
        for k, v in self._headers:  # type: ignore[attr-defined]
            if k.lower() == name:
                return v if type(v) is str and v.isascii() else self.policy.header_fetch_parse(k, v)
        return failobj

    def __getitem__(self, name: str) -> Any:
        return self.get(name)


def message_of(lines: list[bytes]) -> http.client.HTTPMessage:
    """The message ``http.client.parse_headers`` makes of the header ``lines`` it read (those of
    ``http.client._read_headers``, the blank line, or the stream's end, last)."""
    *fields, end = lines if lines else [b""]
    plain = _PLAIN.fullmatch
    if end not in _ENDS or not all(plain(line) for line in fields):
        hstring = b"".join(lines).decode("iso-8859-1")
        parsed: http.client.HTTPMessage = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(
            hstring
        )
        return parsed
    msg = LeanMessage()
    raw = msg._headers  # type: ignore[attr-defined]
    for line in fields:
        name, _, value = line.decode("ascii").partition(":")
        raw.append((name, value.lstrip(" \t").rstrip("\r\n")))
    msg.set_payload("")
    return msg


def parse_headers(fp: Any) -> http.client.HTTPMessage:
    """``http.client.parse_headers(fp)`` for the collector's clients (see the module's text)."""
    lines: list[bytes] = http.client._read_headers(fp)  # type: ignore[attr-defined]
    return message_of(lines)


def _begin_with(parse: Any) -> Any:
    """``HTTPResponse.begin``'s own code, run with ``parse`` for ``http.client.parse_headers``."""
    std = http.client.HTTPResponse.begin
    scope = dict(vars(http.client))
    scope["parse_headers"] = parse
    return types.FunctionType(std.__code__, scope, std.__name__, std.__defaults__, std.__closure__)


class LeanHTTPResponse(http.client.HTTPResponse):
    """``http.client``'s response, its headers read by :func:`parse_headers`."""

    begin = _begin_with(parse_headers)


# (botocore's stubs say its connections answer with AWSHTTPResponse: they answer with http.client's)
class LeanHTTPConnection(botocore.awsrequest.AWSHTTPConnection):
    response_class = LeanHTTPResponse  # type: ignore[assignment]


class LeanHTTPSConnection(botocore.awsrequest.AWSHTTPSConnection):
    response_class = LeanHTTPResponse  # type: ignore[assignment]


class LeanHTTPConnectionPool(botocore.awsrequest.AWSHTTPConnectionPool):
    ConnectionCls = LeanHTTPConnection


class LeanHTTPSConnectionPool(botocore.awsrequest.AWSHTTPSConnectionPool):
    ConnectionCls = LeanHTTPSConnection


_BOTOCORE_POOLS = {
    "http": botocore.awsrequest.AWSHTTPConnectionPool,
    "https": botocore.awsrequest.AWSHTTPSConnectionPool,
}
_LEAN_POOLS = {"http": LeanHTTPConnectionPool, "https": LeanHTTPSConnectionPool}


def install(client: Any) -> bool:
    """Make ``client``'s HTTP session answer with :class:`LeanHTTPResponse`: a botocore
    ``URLLib3Session`` (or a subclass) with botocore's own pool classes, whose pool managers share
    that table and make their pools when first asked. Whether it did. (A session that replaces the
    client's HTTP session afterwards must install it again on its own.)"""
    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    if not isinstance(session, URLLib3Session):
        return False
    pools: dict[str, type] = session._pool_classes_by_scheme  # type: ignore[attr-defined]
    if pools != _BOTOCORE_POOLS:
        return pools == _LEAN_POOLS
    pools.update(_LEAN_POOLS)
    return True
