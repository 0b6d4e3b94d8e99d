"""HTML-to-text and number helpers shared by the spiders."""

from __future__ import annotations

import re

from parsel import Selector

_BR = re.compile(r"<br\s*/?>", re.I)
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")


def html_to_text(html: str | None) -> str:
    """Visible text of an HTML fragment; emoji images become their alt text ([doge]), <br> a newline."""
    if not html:
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
