"""One place that tells the time, so tests can move it (deadlines, escalation, rotas)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def now() -> datetime:
    """The current time as an aware UTC datetime (or the frozen time set by a test)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | None) -> None:
    """Pin `now()` to `at` (aware); `None` releases it."""
    global _frozen
    if at is not None and at.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = at.astimezone(UTC) if at is not None else None


def local(dt: datetime) -> datetime:
    """`dt` shown in China Standard Time, the time every user reads."""
    return dt.astimezone(LOCAL_TZ)
