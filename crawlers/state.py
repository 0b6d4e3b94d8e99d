"""Crawl state kept in the store between runs: back-off after blocks and per-query read cursors.

Kept in the store (not in memory or a job directory) so that every process, host and restart sees the
same state, and so that it stays bounded: one row per source and one per query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from wagewatch.core import clock
from wagewatch.core.config import SourceConfig
from wagewatch.core.store import Database
from wagewatch.core.store.models import CrawlCursor, SourceState


def backoff_until(db: Database, source: str) -> datetime | None:
    """When the source may be crawled again after a block, or None when it may run now."""
    with db.session() as session:
        state = session.get(SourceState, source)
        if state is None or state.blocked_until is None or state.blocked_until <= clock.now():
            return None
        return state.blocked_until


def record_block(db: Database, source: str, config: SourceConfig) -> datetime:
    """Back the source off: the configured minutes, doubled for each block in a row, capped."""
    with db.session(write=True) as session:
        state = session.get(SourceState, source) or SourceState(source=source, consecutive_blocks=0)
        session.add(state)
        minutes = min(config.block_backoff_max_minutes, config.block_backoff_minutes * 2**state.consecutive_blocks)
        state.consecutive_blocks += 1
        state.blocked_until = clock.now() + timedelta(minutes=minutes)
        return state.blocked_until


def clear_block(db: Database, source: str) -> None:
    with db.session(write=True) as session:
        state = session.get(SourceState, source)
        if state is not None:
            state.consecutive_blocks = 0
            state.blocked_until = None


@dataclass
class QueryPass:
    """One reading of one query from its newest results down to what the last completed pass saw."""

    key: str
    floor: datetime | None  # posts at or before this were covered by a completed pass
    resuming: bool  # the previous pass was interrupted: read on past known posts down to the floor
    payload: dict
    newest: datetime | None = None
    done: bool = False

    def saw(self, published: datetime | None) -> None:
        if published is not None and (self.newest is None or published > self.newest):
            self.newest = published


def open_pass(db: Database, source: str, key: str, payload: dict | None = None) -> QueryPass:
    """Start (or resume) a pass; the cursor row is marked in progress until `close_pass`."""
    with db.session(write=True) as session:
        cursor = session.scalars(
            select(CrawlCursor).where(CrawlCursor.source == source, CrawlCursor.key == key)
        ).first()
        if cursor is None:
            cursor = CrawlCursor(source=source, key=key, payload=payload or {})
            session.add(cursor)
        resuming = cursor.pass_started_at is not None
        cursor.pass_started_at = cursor.pass_started_at or clock.now()
        if payload is not None:
            cursor.payload = payload
        return QueryPass(key=key, floor=cursor.watermark, resuming=resuming, payload=dict(cursor.payload or {}))


def close_pass(db: Database, source: str, qpass: QueryPass, forget: bool = False) -> None:
    """The pass read everything new: move the watermark up. `forget` drops one-off cursors (time slices)."""
    qpass.done = True
    with db.session(write=True) as session:
        cursor = session.scalars(
            select(CrawlCursor).where(CrawlCursor.source == source, CrawlCursor.key == qpass.key)
        ).first()
        if cursor is None:
            return
        if forget:
            session.delete(cursor)
            return
        if qpass.newest is not None and (cursor.watermark is None or qpass.newest > cursor.watermark):
            cursor.watermark = qpass.newest
        cursor.pass_started_at = None
        cursor.completed_at = clock.now()


def unfinished_passes(db: Database, source: str, prefix: str) -> list[QueryPass]:
    """Passes under `prefix` that an earlier run started and did not finish (to resume them)."""
    with db.session() as session:
        rows = session.scalars(
            select(CrawlCursor)
            .where(
                CrawlCursor.source == source,
                CrawlCursor.key.startswith(prefix, autoescape=True),
                CrawlCursor.pass_started_at.is_not(None),
            )
            .order_by(CrawlCursor.id)
        ).all()
        return [QueryPass(key=r.key, floor=r.watermark, resuming=True, payload=dict(r.payload or {})) for r in rows]
