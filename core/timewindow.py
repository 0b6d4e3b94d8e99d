"""Daily time windows in China Standard Time ('08:00-20:00', '22:00-07:00' wrapping past midnight), shared by
duty rotas, quiet hours and digest times."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from wagewatch.core import clock


def time_of_day(hhmm: str, *, end_of_day: bool = False) -> time:
    """'HH:MM' as a time; '24:00' (the end of the day, time.max) only where `end_of_day` allows it.

    The one parser for rota hours, quiet hours, digest and report times; ValueError names the bad value.
    """
    try:
        hh, mm = (int(x) for x in hhmm.split(":"))
        if not (0 <= mm < 60 and (0 <= hh <= 23 or (end_of_day and (hh, mm) == (24, 0)))):
            raise ValueError
    except ValueError:
        raise ValueError(f"{hhmm!r} is not a time like '09:00'") from None
    return time.max if hh == 24 else time(hh, mm)


def bounds(hours: str) -> tuple[time, time]:
    """The start and end of a window like '08:00-18:00'; ValueError names the bad value."""
    parts = hours.split("-")
    if len(parts) != 2:
        raise ValueError(f"{hours!r} is not a window like '08:00-18:00'")
    try:
        return time_of_day(parts[0], end_of_day=True), time_of_day(parts[1], end_of_day=True)
    except ValueError:
        raise ValueError(f"{hours!r} is not a window like '08:00-18:00'") from None


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
        datetime.combine(local.date() + timedelta(days=d), time_of_day(t), tzinfo=clock.LOCAL_TZ)
        for d in (0, 1)
        for t in times
    ]
    return min(c for c in candidates if c >= local).astimezone(at.tzinfo)
