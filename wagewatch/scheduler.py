"""The main job: APScheduler runs every stage on its interval, jobs persisted in the store's database."""

from __future__ import annotations

import logging
import signal
from functools import lru_cache

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from wagewatch.core import clock
from wagewatch.core.config import AppConfig, load_config
from wagewatch.core.store import Database
from wagewatch.pipeline import STAGES, run_stage

log = logging.getLogger("wagewatch.scheduler")


@lru_cache(maxsize=2)
def _context(config_dir: str) -> tuple[AppConfig, Database]:
    config = load_config(config_dir)
    return config, Database(config.settings.database_url)


def scheduled_stage(stage: str, config_dir: str) -> None:
    """Job entry point; takes only plain arguments so the persistent job store can keep it."""
    config, db = _context(config_dir)
    try:
        run_stage(stage, config, db)
    except Exception:
        log.exception("stage %s failed; it runs again at its next interval", stage)


def build_scheduler(config: AppConfig) -> BlockingScheduler:
    sched = config.settings.scheduler
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=config.settings.database_url, tablename="scheduler_jobs")},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": sched.misfire_grace_seconds},
        timezone="Asia/Shanghai",
    )
    for stage in STAGES:
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
            next_run_time=clock.now(),
        )
    return scheduler


def run_forever(config: AppConfig) -> None:
    """Run until SIGTERM or SIGINT; a running stage finishes its transaction before exit."""
    scheduler = build_scheduler(config)

    def stop(signum, _frame):
        log.info("signal %s: shutting down after running jobs finish", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
