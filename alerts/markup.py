"""Making untrusted post text harmless in each alert format.

HTML is autoescaped by Jinja2. Markdown has no escaping that WeCom and DingTalk both honour (neither
documents backslash escapes), so every character that can start markup is replaced by its full-width twin,
which reads the same in Chinese text and can never form a link, heading, emphasis, HTML tag or @mention.
Line breaks are folded into spaces in every format, so a post cannot start a line of its own that looks
like part of the alert (a fake "签收" link, a heading, a list item).
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_MARKDOWN_ACTIVE = str.maketrans(
    {
        "\\": "＼",
        "`": "｀",
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "(": "（",
        ")": "）",
        "#": "＃",
        "<": "＜",
        ">": "＞",
        "!": "！",
        "|": "｜",
        "~": "～",
        "@": "＠",
        "&": "＆",
        "$": "＄",
    }
)
_LINE_BREAKS = re.compile(r"[\s\u2028\u2029\u0085]+")
_URL_SAFE = ":/?#@!$&*+,;=%~"  # plus letters, digits and "_.-~", which quote() always keeps


class SafeMarkdown(str):
    """Markup we wrote ourselves (links, colour tags); passes the markdown escaper unchanged."""


def one_line(value: object) -> str:
    """Fold every run of whitespace, line breaks included, into one space."""
    return _LINE_BREAKS.sub(" ", str(value)).strip()


def escape_markdown(value: object) -> str:
    """Untrusted text as inert markdown (full-width twins for active characters, one line)."""
    if isinstance(value, SafeMarkdown):
        return value
    return one_line(value).translate(_MARKDOWN_ACTIVE)


def escape_markdown_block(text: str) -> str:
    """Plain text as inert markdown, each non-empty line its own paragraph (markdown joins single lines)."""
    return "\n\n".join(escape_markdown(line) for line in text.splitlines() if line.strip())


def safe_url(url: str | None) -> str:
    """An http(s) URL with every character that could end a markdown link or an HTML attribute
    percent-encoded; anything else (javascript:, data:, garbage) becomes an empty string."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return quote(url.strip(), safe=_URL_SAFE)


def clip(value: str | None, limit: int = 140) -> str:
    """One line of at most `limit` characters, with an ellipsis when cut."""
    text = one_line(value or "")
    return text[:limit] + "…" if len(text) > limit else text
