"""Report periods: ISO weeks ('2026-W48') and calendar months ('2026-11') in China Standard Time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from wagewatch.core import clock
from wagewatch.core.config import ReportSchedule


@dataclass(frozen=True)
class Period:
    key: str  # 2026-W48 or 2026-11
    kind: str  # week or month
    first_day: date
    next_day: date  # the day after the last one

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=clock.LOCAL_TZ)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.next_day, time(), tzinfo=clock.LOCAL_TZ)

    @property
    def last_day(self) -> date:
        return self.next_day - timedelta(days=1)

    @property
    def name(self) -> str:
        return "周调度" if self.kind == "week" else "月通报"

    @property
    def span(self) -> str:
        """The days covered, e.g. 2026年11月23日至11月29日."""
        first, last = self.first_day, self.last_day
        return f"{first.year}年{first.month}月{first.day}日至{last.month}月{last.day}日"

    @property
    def short(self) -> str:
        """2026年第48周 or 2026年11月, for titles."""
        if self.kind == "week":
            year, week, _ = self.first_day.isocalendar()
            return f"{year}年第{week}周"
        return f"{self.first_day.year}年{self.first_day.month}月"

    @property
    def title(self) -> str:
        """2026年第48周（11月23日至11月29日）, 2026年11月, or the span of a campaign."""
        if self.kind == "campaign":
            return self.span
        if self.kind == "week":
            first, last = self.first_day, self.last_day
            return f"{self.short}（{first.month}月{first.day}日至{last.month}月{last.day}日）"
        return self.short


class PeriodError(ValueError):
    """A period that is not '2026-W48' or '2026-11'."""


def week(year: int, number: int) -> Period:
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise PeriodError(f"{year}年没有第{number}周 / {year} has no ISO week {number}") from None
    return Period(f"{year}-W{number:02d}", "week", monday, monday + timedelta(days=7))


def month(year: int, number: int) -> Period:
    if not 1 <= number <= 12:
        raise PeriodError(f"月份应为1至12 / month must be 1..12, got {number}")
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return Period(f"{year}-{number:02d}", "month", first, following)


def parse(text: str, kind: str | None = None) -> Period:
    """'2026-W48' (ISO week) or '2026-11' (month); with kind='week', '2026-48' is week 48 too."""
    if m := re.fullmatch(r"(\d{4})-W(\d{1,2})", text.strip(), re.IGNORECASE):
        return week(int(m[1]), int(m[2]))
    if kind == "week" and (m := re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())):
        return week(int(m[1]), int(m[2]))
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip()):
        return month(int(m[1]), int(m[2]))
    raise PeriodError(f"无法识别的时段 {text!r}，应如 2026-W48 或 2026-11 / expected 2026-W48 or 2026-11")


def containing(kind: str, day: date) -> Period:
    if kind == "week":
        year, number, _ = day.isocalendar()
        return week(year, number)
    return month(day.year, day.month)


def campaign(start: date, period: Period) -> Period:
    """From the campaign's first day to the end of `period`: the span of the 累计 figures."""
    return Period(f"{start.isoformat()}..{period.key}", "campaign", min(start, period.first_day), period.next_day)


def issue_day(period: Period, schedule: ReportSchedule) -> date:
    """The day the period's report goes out (its 成文日期): the configured weekday after the week, or the
    configured day of the month after the month."""
    if period.kind == "week":
        return period.next_day + timedelta(days=schedule.weekly_weekday - 1)
    return period.next_day.replace(day=schedule.monthly_day)


def previous(period: Period) -> Period:
    return containing(period.kind, period.first_day - timedelta(days=1))


def due(now: datetime, schedule: ReportSchedule) -> list[Period]:
    """The latest finished week and month whose report time (e.g. Monday 09:00 / the 1st at 09:00) has come."""
    local = clock.local(now)
    send_at = time.fromisoformat(schedule.at)
    periods = []
    this_week = containing("week", local.date())
    week_send = datetime.combine(
        this_week.first_day + timedelta(days=schedule.weekly_weekday - 1), send_at, tzinfo=clock.LOCAL_TZ
    )
    last_week = previous(this_week)
    periods.append(last_week if local >= week_send else previous(last_week))
    this_month = containing("month", local.date())
    month_send = datetime.combine(
        this_month.first_day.replace(day=schedule.monthly_day), send_at, tzinfo=clock.LOCAL_TZ
    )
    last_month = previous(this_month)
    periods.append(last_month if local >= month_send else previous(last_month))
    return periods
