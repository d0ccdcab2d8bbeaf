"""One-line error reasons for collection errors, whichever provider built them.

A proxy, load balancer or WAF in front of an API answers with an HTML page (``502 Bad Gateway``,
a login portal, a block page). The SDKs copy that page into their error messages; reports must
carry the error code, the HTTP status and one readable line, never kilobytes of markup.
"""

from __future__ import annotations

import html
import re
from http import HTTPStatus

MAX_REASON = 300
_SCAN = 64 * 1024  # markup is looked for in the first 64 KiB only: the title is near the top
_MARKUP = re.compile(r"<\s*(?:!doctype|html|head|body|title|h[1-6]|center|div|p|pre|br)\b", re.I)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_HEADING = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]{0,1000}>")


def one_line_reason(message: str, status: int | None = None) -> str:
    """``message`` as one line of at most :data:`MAX_REASON` characters. An HTML page becomes its
    title (or first heading, or the status phrase), marked as an HTML error page with its status."""
    text = (message or "")[:_SCAN]
    markup = _MARKUP.search(text)
    if markup is None:
        first = next((line for line in text.splitlines() if line.strip()), "")
        return _clip(" ".join(first.split()))
    before = text[: markup.start()].splitlines()
    prefix = " ".join(before[0].split()).rstrip(":'\" ").removesuffix(" b").rstrip(":") if before else ""
    found = _TITLE.search(text) or _HEADING.search(text)
    title = " ".join(html.unescape(_TAG.sub(" ", found.group(1))).split()) if found else ""
    if not title and status is not None:
        title = _phrase(status)
    parts = [p for p in (prefix, title) if p]
    where = f"HTTP {status}, " if status is not None else ""
    return _clip(f"{': '.join(parts) or 'no readable reason'} ({where}an HTML error page, not an API answer)")


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
