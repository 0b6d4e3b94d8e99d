"""`wagewatch run`: the scheduler runs every stage on its interval and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import signal
import threading
import time

from sqlalchemy import create_engine, func, select, text

from tests.helpers import spawn, wagewatch
from tests.test_end_to_end import DAYTIME, point_at, serve_weibo
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis
from wagewatch.scheduler import build_scheduler


def test_run_schedules_stages_and_stops_on_sigterm(config_files, test_site):
    point_at(config_files, test_site)
    serve_weibo(test_site)
    # A stage left out keeps its default interval; `report` is turned off explicitly.
    intervals = {"crawl": 1, "analyze": 1, "cluster": 1, "index": 1, "dispatch": 1, "escalate": 1, "report": None}
    config_files.update("settings.yaml", lambda s: s["scheduler"].update(intervals_seconds=intervals))
    engine = create_engine(load_config(config_files.root).settings.database_url)

    proc = spawn(config_files.root, "run")
    deadline = time.monotonic() + 90
    analysed = 0
    while time.monotonic() < deadline and analysed < 3:
        time.sleep(0.5)
        try:
            with engine.connect() as conn:
                analysed = conn.execute(select(func.count()).select_from(Analysis)).scalar()
        except Exception:  # noqa: BLE001 - tables appear once the service has migrated the store
            continue
    assert analysed == 3
    with engine.connect() as conn:
        jobs = conn.execute(text("SELECT id FROM scheduler_jobs ORDER BY id")).scalars().all()
    assert jobs == sorted(f"stage-{name}" for name, seconds in intervals.items() if seconds)

    proc.send_signal(signal.SIGTERM)
    # communicate() drains the pipes: a busy service logs more than a pipe holds and would block on a write
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-2000:]


def test_a_crawl_wakes_analyze_cluster_and_dispatch_at_once(config_files, test_site, smtp_server):
    """With hour-long intervals for everything after the crawl, the officer still gets the email right after
    the crawl: each stage that produced work runs its followers at once."""
    point_at(config_files, test_site, smtp_server)
    serve_weibo(test_site)
    intervals = {"crawl": 3600, "analyze": 3600, "cluster": 3600, "index": 3600, "dispatch": 3600}
    config_files.update("settings.yaml", lambda s: s["scheduler"].update(intervals_seconds=intervals))
    config = load_config(config_files.root)
    Database(config.settings.database_url).upgrade()
    clock.freeze(DAYTIME)  # the day-shift officer is on duty
    scheduler = build_scheduler(config)
    runner = threading.Thread(target=scheduler.start, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 180  # long before any interval comes round again
        while not smtp_server.to("duty-day@linyi.example.gov.cn") and time.monotonic() < deadline:
            time.sleep(0.05)  # emails go out side by side: the officer's need not be the first to arrive
        assert smtp_server.to("duty-day@linyi.example.gov.cn")
    finally:
        scheduler.shutdown(wait=True)
        runner.join(timeout=60)


def test_a_worker_schedules_only_its_stages_and_refuses_unknown_ones(config_files):
    config = load_config(config_files.root)
    scheduler = build_scheduler(config, ["crawl", "analyze"])
    assert sorted(job.id for job in scheduler.get_jobs()) == ["stage-analyze", "stage-crawl"]
    refused = wagewatch(config_files.root, "worker", "--stages", "crawl,nonsense")
    assert refused.returncode == 2 and "未知环节" in refused.stderr and "nonsense" in refused.stderr
