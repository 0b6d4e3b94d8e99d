"""Publication times in every form the sites print them, returned aware in China Standard Time."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from wagewatch.core import clock

CST = clock.LOCAL_TZ

_MINUTES_AGO = re.compile(r"^(\d+)\s*分钟前$")
_HOURS_AGO = re.compile(r"^(\d+)\s*小时前$")
_SECONDS_AGO = re.compile(r"^(\d+)\s*秒前$")
_TODAY = re.compile(r"^(?:今天\s*)?(\d{1,2}):(\d{2})$")
_YESTERDAY = re.compile(r"^昨天\s*(\d{1,2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})[-月](\d{1,2})日?(?:\s+(\d{1,2}):(\d{2}))?$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/年.](\d{1,2})月?$")
_FULL = re.compile(r"^(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?(?:[\sT]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_site_time(value: str | None, now: datetime | None = None) -> datetime | None:
    """'刚刚', '5分钟前', '3小时前', '今天 12:03', '11:24' (today), '昨天 12:30', '11-27', '03月05日 10:00',
    '2026-11-27 08:00', '2020-05' (Tieba's year-month for old threads), RFC 2822
    ('Sat Aug 20 18:29:52 +0800 2022') and ISO 8601. Unknown forms give None, never an error."""
    if not value:
        return None
    text = str(value).strip()
    current = (now or clock.now()).astimezone(CST)
    if text == "刚刚":
        return current.replace(microsecond=0)
    if m := _SECONDS_AGO.match(text):
        return (current - timedelta(seconds=int(m[1]))).replace(microsecond=0)
    if m := _MINUTES_AGO.match(text):
        return (current - timedelta(minutes=int(m[1]))).replace(second=0, microsecond=0)
    if m := _HOURS_AGO.match(text):
        return (current - timedelta(hours=int(m[1]))).replace(second=0, microsecond=0)
    if m := _TODAY.match(text):
        return current.replace(hour=int(m[1]), minute=int(m[2]), second=0, microsecond=0)
    if m := _YESTERDAY.match(text):
        day = current - timedelta(days=1)
        return day.replace(hour=int(m[1]), minute=int(m[2]), second=0, microsecond=0)
    if m := _FULL.match(text):
        return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), int(m[6] or 0), tzinfo=CST)
    if m := _YEAR_MONTH.match(text):
        return datetime(int(m[1]), int(m[2]), 1, tzinfo=CST)
    if m := _MONTH_DAY.match(text):
        candidate = datetime(current.year, int(m[1]), int(m[2]), int(m[3] or 0), int(m[4] or 0), tzinfo=CST)
        # "12-30" read on 1 January means last year.
        return candidate.replace(year=current.year - 1) if candidate > current + timedelta(days=1) else candidate
    try:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None


def from_unix(value) -> datetime | None:
    """Unix seconds (or milliseconds) as the sites send them, shown in China Standard Time."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    if seconds > 1e11:
        seconds /= 1000
    return datetime.fromtimestamp(int(seconds), tz=CST)
