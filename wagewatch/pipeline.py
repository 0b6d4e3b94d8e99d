"""The stages in order, each callable on its own (scheduler jobs, CLI commands) or all at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from wagewatch.core.config import AppConfig
from wagewatch.core.store import Database

log = logging.getLogger("wagewatch.pipeline")


@lru_cache(maxsize=4)
def _classifier(model_dir: str | None):
    from wagewatch.classifier import load_classifier

    return load_classifier(model_dir)


def stage_crawl(config: AppConfig, db: Database) -> Any:
    from wagewatch.stages.crawl import crawl_stage

    return crawl_stage(config, db)


def stage_analyze(config: AppConfig, db: Database) -> Any:
    from wagewatch.stages.analyze import analyze_pending

    return analyze_pending(db, _classifier(config.settings.model_dir), config.settings.analyze_batch_size)


def stage_cluster(config: AppConfig, db: Database) -> Any:
    from wagewatch.stages.cluster import cluster_pending

    return cluster_pending(db, config.policy)


def stage_index(config: AppConfig, db: Database) -> Any:
    from wagewatch.stages.index import index_pending

    return index_pending(db, config)


def stage_dispatch(config: AppConfig, db: Database) -> Any:
    from wagewatch.stages.dispatch import dispatch

    return dispatch(db, config)


def stage_escalate(config: AppConfig, db: Database) -> Any:
    from wagewatch.stages.escalate import follow_up

    return follow_up(db, config)


def stage_report(config: AppConfig, db: Database) -> Any:
    from wagewatch.stages.report import report_due

    return report_due(db, config)


STAGES: dict[str, Callable[[AppConfig, Database], Any]] = {
    "crawl": stage_crawl,
    "analyze": stage_analyze,
    "cluster": stage_cluster,
    "index": stage_index,
    "dispatch": stage_dispatch,
    "escalate": stage_escalate,
    "report": stage_report,
}


def run_stage(name: str, config: AppConfig, db: Database) -> Any:
    result = STAGES[name](config, db)
    log.info("stage %s: %s", name, result)
    return result


def run_once(config: AppConfig, db: Database) -> dict[str, Any]:
    """Every stage once, in pipeline order. A failing stage is logged and the others still run."""
    results: dict[str, Any] = {}
    for name in STAGES:
        try:
            results[name] = run_stage(name, config, db)
        except Exception as exc:
            log.exception("stage %s failed", name)
            results[name] = f"error: {exc}"
    return results
