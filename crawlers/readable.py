"""Readable text of any article page (trafilatura), with its title, author and publication time, for news
sites and YAML-configured sites that have no selectors for the body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import trafilatura

from wagewatch.crawlers.dates import parse_site_time

MIN_TEXT = 20  # fewer readable characters than this is not an article (an error, list or empty page)
_PRINTED_TIME = re.compile(r"(\d{4})[-年/.](\d{1,2})[-月/.](\d{1,2})日?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?")
_BYLINE = re.compile(r"(?:作者|记者|编辑)[：:]\s*([\w\u4e00-\u9fff·]{2,20})")
_BYLINE_LABEL = re.compile(r"^(?:作者|记者|编辑|来源)[：:]\s*")
_TITLE_SEPARATORS = ("_", " - ", " | ", "｜", " —")
MIN_TITLE = 5


def clean_title(title: str | None) -> str | None:
    """'济南：农民工讨薪_山东新闻_大众网' → '济南：农民工讨薪': portals append their section and name."""
    if not title:
        return None
    for separator in _TITLE_SEPARATORS:
        head = title.split(separator, 1)[0].strip()
        if len(head) >= MIN_TITLE:
            title = head
    return title.strip() or None


@dataclass
class Article:
    title: str | None
    text: str
    author: str | None
    published_at: datetime | None


def extract_article(html: str, url: str) -> Article | None:
    """The article in `html`, or None when the page holds no readable article."""
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        favor_precision=True,
        date_extraction_params={"outputformat": "%Y-%m-%d %H:%M:%S", "extensive_search": True, "original_date": True},
    )
    if doc is None:
        return None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = "\n".join(line.strip() for line in (data.get("text") or "").splitlines() if line.strip())
    if len(text) < MIN_TEXT:
        return None
    published = parse_site_time(data.get("date"))
    if published is None or (published.hour, published.minute) == (0, 0):
        # The metadata often has the day only; portals print the time by the title ("2026-11-25 10:32 来源：…").
        printed = _PRINTED_TIME.search(text) or _PRINTED_TIME.search(html)
        at = parse_site_time(printed[0]) if printed else None
        if at is not None and (published is None or at.date() == published.date()):
            published = at
    byline = _BYLINE.search(text)
    author = _BYLINE_LABEL.sub("", data.get("author") or "") or (byline[1] if byline else None)
    return Article(title=clean_title(data.get("title")), text=text, author=author, published_at=published)
