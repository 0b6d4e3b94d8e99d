"""HTML-to-text and number helpers shared by the spiders."""

from __future__ import annotations

import hashlib
import re

from parsel import Selector

_BR = re.compile(r"<br\s*/?>", re.I)
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")


def html_to_text(html) -> str:
    """Visible text of an HTML fragment; emoji images become their alt text ([doge]), <br> a newline.
    Sites sometimes send a number where text belongs; anything else that is not text counts as none."""
    if isinstance(html, (int, float)) and not isinstance(html, bool):
        html = str(html)
    if not html or not isinstance(html, str):
        return ""
    html = _BR.sub("\n", html)
    sel = Selector(text=f"<div>{html}</div>")
    for img in sel.css("img[alt]"):
        img.root.tail = (img.attrib.get("alt") or "") + (img.root.tail or "")
    text = "".join(sel.xpath("//div[1]//text()").getall())
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def to_int(value) -> int | None:
    """Counts as sites show them: 12, "12", "1.2万", "3万+", "1亿"; None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().rstrip("+")
    scale = 1
    if text.endswith("万"):
        scale, text = 10_000, text[:-1]
    elif text.endswith("亿"):
        scale, text = 100_000_000, text[:-1]
    try:
        return int(float(text) * scale)
    except ValueError:
        return None


def url_id(url: str) -> str:
    """An id for sites whose posts have none (news articles): the URL, hashed to fit the store's key."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def as_text(value) -> str:
    """A field the site should send as text: numbers become text, anything else not text becomes ''."""
    if isinstance(value, str):
        return value
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
