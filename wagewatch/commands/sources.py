"""`wagewatch sources`: every source's health, last success and last run figures."""

from __future__ import annotations

import json
import sys

import click

from wagewatch.context import AppContext
from wagewatch.core import clock


def _local(dt) -> str:
    return clock.local(dt).strftime("%m-%d %H:%M") if dt else "—"


@click.command(
    help="查看各数据源的健康状况、最近成功时间与最近一次运行数据 / Show each source's health, "
    "last success and last run figures."
)
@click.option("--json", "as_json", is_flag=True, help="输出JSON / Print JSON lines instead of a table.")
@click.pass_obj
def sources(ctx: AppContext, as_json: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from wagewatch.stages.sources import source_health

    report = source_health(ctx.config, ctx.db)
    if as_json:
        for h in report:
            run = h.last_run
            click.echo(
                json.dumps(
                    {
                        "source": h.source,
                        "enabled": h.enabled,
                        "health": h.health,
                        "last_success_at": h.last_success_at.isoformat() if h.last_success_at else None,
                        "last_new_post_at": h.last_new_post_at.isoformat() if h.last_new_post_at else None,
                        "blocked_until": h.blocked_until.isoformat() if h.blocked_until else None,
                        "failures_in_a_row": h.failures_in_a_row,
                        "last_run": None
                        if run is None
                        else {
                            "status": run.status,
                            "started_at": run.started_at.isoformat(),
                            "requests": run.requests,
                            "posts_found": run.posts_found,
                            "posts_new": run.posts_new,
                            "duplicates": run.duplicates,
                            "errors": run.errors,
                            "blocked_reason": run.blocked_reason,
                            "error_message": run.error_message,
                        },
                        "problems": [p.__dict__ for p in h.problems],
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table(title="数据源健康状况 / Source health")
    for column in ("来源", "健康", "最近成功", "最近新帖", "最近运行", "请求", "帖文(新)", "重复", "错误", "说明"):
        table.add_column(column)
    for h in report:
        run = h.last_run
        note = "；".join(p.summary for p in h.problems)
        if h.blocked_until:
            note = f"暂停至 {_local(h.blocked_until)}；{note}".rstrip("；")
        if run is not None and not note:
            note = run.error_message or run.blocked_reason or ""
        table.add_row(
            h.source,
            h.health_text,
            _local(h.last_success_at),
            _local(h.last_new_post_at),
            f"{_local(run.started_at)} {run.status}" if run else "—",
            str(run.requests) if run else "—",
            f"{run.posts_found}({run.posts_new})" if run else "—",
            str(run.duplicates) if run else "—",
            str(run.errors) if run else "—",
            note,
        )
    Console(file=sys.stdout, width=200).print(table)


COMMANDS = [sources]
