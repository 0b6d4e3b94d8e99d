"""`wagewatch run`: the scheduler runs every stage on its interval and shuts down cleanly on SIGTERM."""

from __future__ import annotations

import signal
import time

from sqlalchemy import create_engine, func, select, text

from tests.helpers import spawn
from tests.test_end_to_end import point_at, serve_weibo
from wagewatch.core.config import load_config
from wagewatch.core.store.models import Analysis


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
    assert proc.wait(timeout=60) == 0
