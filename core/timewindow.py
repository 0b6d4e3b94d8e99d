"""Daily time windows in China Standard Time ('08:00-20:00', '22:00-07:00' wrapping past midnight), shared by
duty rotas, quiet hours and digest times."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from wagewatch.core import clock


def _parse(hhmm: str) -> time:
    hh, mm = (int(x) for x in hhmm.split(":"))
    return time.max if hh == 24 else time(hh, mm)


def bounds(hours: str) -> tuple[time, time]:
    start, end = hours.split("-")
    return _parse(start), _parse(end)


def covers(hours: str, at: time) -> bool:
    """Whether the window contains the time of day `at`; a window whose end is before its start wraps."""
    start, end = bounds(hours)
    if start <= end:
        return start <= at < end or end == time.max
    return at >= start or at < end


def started_yesterday(hours: str, at: time) -> bool:
    """For a wrapping window, whether `at` lies in the part after midnight (the shift began the day before)."""
    start, end = bounds(hours)
    return start > end and at < end


def window_end(hours: str, at: datetime) -> datetime:
    """The first moment at or after `at` that lies outside the window (`at` itself when it already does)."""
    local = clock.local(at)
    if not covers(hours, local.time()):
        return at
    _, end = bounds(hours)
    day = local.date() if end > local.time() else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=clock.LOCAL_TZ).astimezone(at.tzinfo)


def next_time(times: list[str], at: datetime) -> datetime:
    """The next local occurrence, at or after `at`, of any of the 'HH:MM' times."""
    local = clock.local(at)
    candidates = [
        datetime.combine(local.date() + timedelta(days=d), _parse(t), tzinfo=clock.LOCAL_TZ)
        for d in (0, 1)
        for t in times
    ]
    return min(c for c in candidates if c >= local).astimezone(at.tzinfo)
