"""The main job: APScheduler runs every stage on its interval, jobs persisted in the store's database."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.schedulers.blocking import BlockingScheduler

from wagewatch.core.config import AppConfig, load_config
from wagewatch.core.store import Database
from wagewatch.pipeline import STAGES, run_stage

log = logging.getLogger("wagewatch.scheduler")


@lru_cache(maxsize=2)
def _context(config_dir: str) -> tuple[AppConfig, Database]:
    config = load_config(config_dir)
    return config, Database(config.settings.database_url)


# A stage that produced work wakes the stages that consume it, so a post goes from crawl to the officer in
# seconds instead of waiting for each stage's next interval; the intervals stay as the safety net.
FOLLOWERS: dict[str, tuple[str, ...]] = {
    "crawl": ("analyze",),
    "analyze": ("cluster",),
    "cluster": ("dispatch", "index"),
}


class _Chain:
    """Which stages are running in this process, and which were woken while running (they run again)."""

    def __init__(self) -> None:
        self.scheduler: BlockingScheduler | None = None
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.wanted: set[str] = set()

    def started(self, stage: str) -> None:
        with self.lock:
            self.running.add(stage)
            self.wanted.discard(stage)

    def finished(self, stage: str) -> bool:
        """True when the stage was woken during its run: work may have arrived after it last looked."""
        with self.lock:
            self.running.discard(stage)
            again = stage in self.wanted
            self.wanted.discard(stage)
            return again

    def wake(self, stage: str) -> None:
        """Run `stage` now; if it is running, once more when it ends (a job never overlaps itself)."""
        with self.lock:
            if stage in self.running:
                self.wanted.add(stage)
                return
        if self.scheduler is not None and self.scheduler.state == STATE_RUNNING:
            # From a thread of its own: a shutdown holds the job store lock while it waits for running jobs,
            # so a job that modified a job itself could wait for the shutdown that waits for it.
            threading.Thread(target=self._run_now, args=(self.scheduler, stage), daemon=True).start()

    @staticmethod
    def _run_now(scheduler: BlockingScheduler, stage: str) -> None:
        try:
            # APScheduler fires on the wall clock, not on the business time that tests may freeze.
            scheduler.modify_job(f"stage-{stage}", next_run_time=datetime.now(UTC))
        except JobLookupError:
            pass  # the stage has no interval: it is switched off in this service
        except Exception:
            log.debug("could not wake stage %s", stage, exc_info=True)


_chain = _Chain()


def _produced(stage: str, result: Any) -> bool:
    """Whether a stage's result may have left work for its followers (a crawl always may)."""
    return stage == "crawl" or (isinstance(result, int) and result > 0)


def scheduled_stage(stage: str, config_dir: str) -> None:
    """Job entry point; takes only plain arguments so the persistent job store can keep it."""
    config, db = _context(config_dir)
    _chain.started(stage)
    result = None
    try:
        result = run_stage(stage, config, db)
    except Exception:
        log.exception("stage %s failed; it runs again at its next interval", stage)
    finally:
        if _chain.finished(stage):
            _chain.wake(stage)
    if _produced(stage, result):
        for follower in FOLLOWERS.get(stage, ()):
            _chain.wake(follower)


def build_scheduler(config: AppConfig, stages: Collection[str] | None = None) -> BlockingScheduler:
    """Every stage with its jobs kept in the store (`wagewatch run`), or only `stages` (`wagewatch worker`).

    A worker keeps its jobs in memory: several schedulers cannot share one APScheduler job table, and a
    worker has nothing of its own to keep, since the work waits in the store by state. Its stages wake only
    followers that run in the same worker; the others' intervals pick the work up.
    """
    sched = config.settings.scheduler
    jobstore = (
        SQLAlchemyJobStore(url=config.settings.database_url, tablename="scheduler_jobs")
        if stages is None
        else MemoryJobStore()
    )
    scheduler = BlockingScheduler(
        jobstores={"default": jobstore},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": sched.misfire_grace_seconds},
        timezone="Asia/Shanghai",
    )
    for stage in STAGES if stages is None else stages:
        seconds = getattr(sched.intervals_seconds, stage)
        if not seconds:
            continue
        # Every stage runs once at start-up: a restarted service catches up at once instead of waiting a
        # whole interval (15 minutes for crawling) with the backlog untouched.
        scheduler.add_job(
            scheduled_stage,
            "interval",
            seconds=seconds,
            id=f"stage-{stage}",
            name=stage,
            args=[stage, str(config.directory)],
            replace_existing=True,
            next_run_time=datetime.now(UTC),  # the wall clock, as in `_Chain.wake`
        )
    _chain.scheduler = scheduler
    return scheduler


def run_forever(config: AppConfig, stages: Collection[str] | None = None) -> None:
    """Run until SIGTERM or SIGINT; a running stage finishes its transaction before exit."""
    scheduler = build_scheduler(config, stages)

    def stop(signum, _frame):
        log.info("signal %s: shutting down after running jobs finish", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
