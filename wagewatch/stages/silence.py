"""Silence (沉默): a source that normally yields new posts and has stopped is a dead source, not a quiet day.

A source is silent when it has gone without a new post for longer than its hours threshold, or (once it is
known to yield) for more completed runs in a row than its runs threshold. `silence_hours` and `silence_runs`
in sources.yaml set them; unset, they are learned from the source's own history: twice the longest quiet
spell (in hours between new posts, and in empty runs between yielding ones) of its last 30 days, so a
forum that is quiet every night is not flagged each morning, and a busy search is flagged within hours.
Until the history is long enough to learn from, the hours threshold is DEFAULT_HOURS and runs are not
counted. Failed and blocked runs are other problems (failing, blocked) and do not count here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from wagewatch.core.config import SourceConfig
from wagewatch.core.states import CrawlStatus

LEARN_DAYS = 30  # history looked at, and learned from
MIN_LEARN_SPAN = timedelta(days=7)  # a week of runs, nights and weekends included, before anything is learned
MIN_YIELDING = 5  # runs with new posts before a source counts as one that normally yields
MIN_RUNS, MIN_HOURS, MAX_HOURS = 3, 6, 7 * 24  # bounds of what is learned
DEFAULT_HOURS = 48  # before the history is long enough, and nothing is configured


@dataclass(frozen=True)
class RunRecord:
    """What silence needs of one crawl run."""

    status: str
    posts_new: int
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Thresholds:
    runs: int | None  # None: runs are not counted (the source is not known to yield)
    hours: int
    runs_learned: bool
    hours_learned: bool


def learn(history: list[RunRecord]) -> tuple[int | None, int | None]:
    """Runs and hours thresholds learned from completed runs (oldest first), or None where the history is
    too short: fewer than MIN_YIELDING yielding runs, or less than MIN_LEARN_SPAN of runs."""
    completed = [r for r in history if r.status == CrawlStatus.OK and r.finished_at is not None]
    yielding = [r for r in completed if r.posts_new > 0]
    if len(yielding) < MIN_YIELDING or completed[-1].finished_at - completed[0].started_at < MIN_LEARN_SPAN:
        return None, None
    # Quiet spells between two yielding runs with only completed runs in between: a stretch of failures or
    # blocks is another problem and teaches nothing about how quiet the source normally is.
    longest, empty, widest = 0, None, timedelta(0)
    last_yield: datetime | None = None
    for run in history:
        if run.status != CrawlStatus.OK or run.finished_at is None:
            empty = last_yield = None
        elif run.posts_new > 0:
            longest = max(longest, empty or 0)
            widest = max(widest, run.finished_at - last_yield) if last_yield else widest
            empty, last_yield = 0, run.finished_at
        elif empty is not None:
            empty += 1
    hours = min(MAX_HOURS, max(MIN_HOURS, int(2 * widest.total_seconds() // 3600) + 1))
    return max(MIN_RUNS, 2 * longest), hours


def thresholds(source_config: SourceConfig, history: list[RunRecord]) -> Thresholds:
    """The configured thresholds, each falling back to the one learned from `history` (oldest first)."""
    runs, hours = learn(history)
    return Thresholds(
        runs=source_config.silence_runs or runs,
        hours=source_config.silence_hours or hours or DEFAULT_HOURS,
        runs_learned=source_config.silence_runs is None and runs is not None,
        hours_learned=source_config.silence_hours is None and hours is not None,
    )


def empty_runs(history: list[RunRecord]) -> int:
    """Completed runs without a new post since the last one that had some (history oldest first)."""
    count = 0
    for run in reversed(history):
        if run.status != CrawlStatus.OK:
            continue
        if run.posts_new > 0:
            break
        count += 1
    return count


def silence(
    source_config: SourceConfig, history: list[RunRecord], quiet_since: datetime | None, yielded: bool, now: datetime
) -> str | None:
    """Why the source is silent, in words ops read, or None. `quiet_since` is the end of the last run with a
    new post (or the first run, for a source that never yielded); `yielded` whether any run ever did."""
    if quiet_since is None:
        return None
    limits = thresholds(source_config, history)
    reasons = []
    if yielded and limits.runs is not None and (count := empty_runs(history)) >= limits.runs:
        how = "按历史学得" if limits.runs_learned else "配置"
        reasons.append(f"已连续{count}次运行没有新帖（阈值{limits.runs}次，{how}）")
    if now - quiet_since > timedelta(hours=limits.hours):
        hours = int((now - quiet_since).total_seconds() // 3600)
        how = "按历史学得" if limits.hours_learned else ("配置" if source_config.silence_hours else "默认")
        reasons.append(f"已{hours}小时没有新帖（阈值{limits.hours}小时，{how}）")
    return "；".join(reasons) or None
