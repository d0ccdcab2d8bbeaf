"""Text from the platforms is data: it must not drive the terminal or the Markdown renderer.

Resource names, tags, error messages and the like come from the cloud, so anyone who can name a
resource writes into our reports. :func:`terminal_safe` strips what a terminal would execute (ANSI
CSI, OSC 8 hyperlinks and other OSC strings, C0/C1 controls) and bidi overrides (text that reads
differently from what it is); :func:`markdown_neutral` stops bare URLs from becoming links and
makes bidi overrides visible.
"""

from __future__ import annotations

import re
from typing import Any

# OSC (ESC ] or 8-bit 0x9d) up to BEL or ST; CSI (ESC [ or 0x9b) with its parameters; any other
# escape sequence; then every remaining C0 control but tab and newline, DEL and the C1 block.
_TERMINAL = re.compile(
    r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[ -/]*[0-~]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# A scheme's "://" and a leading "www." are what Markdown renderers (GitHub's autolink extension)
# turn into links; a zero-width space inside each keeps the text readable and unlinked.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9+.-]:)(//)|\b(www)(\.)")
ZWSP = "\u200b"


def terminal_safe(text: object) -> str:
    """The text without anything a terminal would interpret (controls and bidi overrides)."""
    return _BIDI.sub("", _TERMINAL.sub("", str(text)))


def _unlink(m: re.Match[str]) -> str:
    if m.group(1):
        return "/" + ZWSP + "/"
    return m.group(2) + ZWSP + m.group(3)


def markdown_neutral(text: str) -> str:
    """Bare URLs broken so no renderer links them; bidi overrides shown as U+FFFD."""
    return _AUTOLINK.sub(_unlink, _BIDI.sub("\ufffd", text))


def json_safe(value: object) -> Any:
    """A JSON-ready value with :func:`terminal_safe` applied to every string, keys included: for the
    machine-readable exports (OCSF, ASFF) whose text ends up in consoles and SIEM views."""
    if isinstance(value, str):
        # fast path: a printable string holds no control character and no bidi override (format
        # characters are not printable), so terminal_safe would return it unchanged
        return value if value.isprintable() else terminal_safe(value)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
