"""Commands that run the pipeline: run, worker, crawl, analyze, cluster, dispatch, escalate."""

from __future__ import annotations

import json
import logging

import click

from wagewatch.context import AppContext
from wagewatch.pipeline import STAGES, run_once, run_stage


def _print(result) -> None:
    click.echo(json.dumps(result, ensure_ascii=False, default=str))


@click.command(help="运行主任务：按配置的间隔调度各环节 / Run the main job: every stage on its interval.")
@click.option("--once", is_flag=True, help="各环节各运行一次后退出 / Run every stage once and exit.")
@click.pass_obj
def run(ctx: AppContext, once: bool) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        _print(run_once(ctx.config, ctx.db))
        return
    from wagewatch.scheduler import run_forever

    ctx.db  # migrate before the job store creates its table
    run_forever(ctx.config)


@click.command(
    help="运行工作进程：只按间隔调度指定环节，多个工作进程可共用一个PostgreSQL / "
    "Run a worker: only the named stages, on their intervals; any number of workers may share one PostgreSQL."
)
@click.option(
    "--stages",
    required=True,
    help=f"逗号分隔的环节 / comma-separated stages: {','.join(STAGES)}",
)
@click.pass_obj
def worker(ctx: AppContext, stages: str) -> None:
    names = [name.strip() for name in stages.split(",") if name.strip()]
    unknown = [name for name in names if name not in STAGES]
    if unknown or not names:
        raise click.UsageError(
            f"未知环节 unknown stage: {', '.join(unknown) or '（空）'}；可选 choose from: {', '.join(STAGES)}"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from wagewatch.scheduler import run_forever

    _ = ctx.db  # migrate first: a new worker may be the first to reach a fresh store
    run_forever(ctx.config, names)


@click.command(help="抓取一个来源 / Crawl one source now (e.g. weibo).")
@click.argument("source")
@click.pass_obj
def crawl(ctx: AppContext, source: str) -> None:
    from wagewatch.crawlers.runner import UnknownSource, run_crawl

    try:
        result = run_crawl(ctx.config, ctx.db, source)
    except UnknownSource as exc:
        raise click.UsageError(str(exc)) from None
    _print(
        {
            "source": source,
            "status": result.status,
            "requests": result.requests,
            "posts_found": result.posts_found,
            "posts_new": result.posts_new,
            "duplicates": result.duplicates,
            "errors": result.errors,
            "blocked_reason": result.blocked_reason,
            "error_message": result.error_message,
        }
    )


def _stage_command(name: str, help_text: str) -> click.Command:
    @click.pass_obj
    def command(ctx: AppContext) -> None:
        _print(run_stage(name, ctx.config, ctx.db))

    return click.command(name=name, help=help_text)(command)


analyze = _stage_command("analyze", "分析新抓取的帖文 / Classify posts not yet analysed.")
cluster = _stage_command("cluster", "将帖文归并为事件 / Group analysed posts into incidents.")
dispatch = _stage_command("dispatch", "生成台账并发送预警 / Create leads and deliver alerts.")
escalate = _stage_command("escalate", "逾期未签收的线索逐级升级 / Escalate unacknowledged leads.")

COMMANDS = [run, worker, crawl, analyze, cluster, dispatch, escalate]
