"""One-line error reasons: an HTML page becomes its title or heading with the HTTP status."""

from __future__ import annotations

from mlguard.collect.errortext import MAX_REASON, one_line_reason

NGINX = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
    "</center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n"
)


def test_html_page_becomes_its_title_and_status() -> None:
    assert one_line_reason(NGINX, 502) == "502 Bad Gateway (HTTP 502, an HTML error page, not an API answer)"


def test_html_page_without_title_uses_its_heading_or_the_status_phrase() -> None:
    page = "<!DOCTYPE html><html><body><h2>Access &amp; blocked</h2></body></html>"
    assert one_line_reason(page, 403).startswith("Access & blocked (HTTP 403,")
    assert one_line_reason("<html><body><p>x</p></body></html>", 504).startswith("Gateway Timeout (HTTP 504,")


def test_text_before_the_page_is_kept() -> None:
    message = "Unable to parse response (mismatched tag), invalid XML received:\nb'" + NGINX
    got = one_line_reason(message)
    assert got.startswith("Unable to parse response (mismatched tag), invalid XML received: 502 Bad Gateway")


def test_plain_messages_keep_their_first_line_clipped() -> None:
    assert one_line_reason("\n  Access   denied\nsecond line") == "Access denied"
    assert len(one_line_reason("x" * 10_000)) == MAX_REASON
    assert len(one_line_reason("<html><title>" + "t" * 10_000 + "</title>")) == MAX_REASON
