"""Commands that run the pipeline: run, worker, crawl, analyze, cluster, dispatch, escalate."""

from __future__ import annotations

import json
import logging

import click

from wagewatch.context import AppContext
from wagewatch.pipeline import STAGES, run_once, run_stage

STAGE_NAMES = {
    "crawl": "抓取",
    "analyze": "分析",
    "cluster": "归并",
    "index": "索引",
    "dispatch": "推送",
    "escalate": "督办",
    "report": "报告",
}


def _print(result) -> None:
    click.echo(json.dumps(result, ensure_ascii=False, default=str))


def _source_status(outcome: dict) -> str:
    """ok, or why a source's crawl did not succeed (its process's last line is the crawl's JSON result)."""
    try:
        result = json.loads(outcome.get("message") or "")
    except ValueError:
        result = None
    if outcome.get("exit_code") == 0 and isinstance(result, dict) and result.get("status") == "ok":
        return "ok"
    if isinstance(result, dict):
        return str(result.get("blocked_reason") or result.get("error_message") or result.get("status"))[:60]
    return (outcome.get("message") or f"退出码 {outcome.get('exit_code')}")[:60]


def _describe(name: str, result) -> tuple[bool, str]:
    """(succeeded, one line) for a stage's result."""
    if isinstance(result, str) and result.startswith("error:"):
        return False, result.removeprefix("error:").strip()[:120]
    if name == "crawl":
        statuses = {o["source"]: _source_status(o) for o in result["sources"]}
        failed = {source: why for source, why in statuses.items() if why != "ok"}
        line = f"{len(statuses)}个来源，成功{len(statuses) - len(failed)}个"
        if failed:
            line += "；未成功：" + "；".join(f"{source}（{why}）" for source, why in failed.items())
        return not statuses or len(failed) < len(statuses), line
    if isinstance(result, dict):
        return True, "，".join(f"{key}={value}" for key, value in result.items()) or "—"
    return True, str(result)


def print_summary(results: dict) -> bool:
    """The results of `run --once` as a table; False (and a warning) when a stage failed or every source did."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="本轮运行结果 / run summary", show_lines=False)
    table.add_column("环节")
    table.add_column("结果")
    table.add_column("说明", overflow="fold")
    healthy = True
    for name, result in results.items():
        ok, line = _describe(name, result)
        healthy &= ok
        table.add_row(f"{STAGE_NAMES.get(name, name)} {name}", "[green]成功[/]" if ok else "[red]失败[/]", line)
    console = Console()
    console.print(table)
    crawl = results.get("crawl")
    if isinstance(crawl, dict) and not _describe("crawl", crawl)[0]:
        console.print(
            "[bold red]警告：所有来源均抓取失败，本轮没有新数据。请检查网络、代理与来源配置（wagewatch sources）。[/]"
        )
    elif not healthy:
        console.print("[bold red]警告：有环节运行失败，详见上表与日志。[/]")
    return healthy


@click.command(help="运行主任务：按配置的间隔调度各环节 / Run the main job: every stage on its interval.")
@click.option("--once", is_flag=True, help="各环节各运行一次后退出 / Run every stage once and exit.")
@click.option("--json", "as_json", is_flag=True, help="与 --once 同用：输出JSON / With --once: print JSON.")
@click.pass_obj
def run(ctx: AppContext, once: bool, as_json: bool) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if once:
        results = run_once(ctx.config, ctx.db)
        if as_json:
            _print(results)
            healthy = all(_describe(name, result)[0] for name, result in results.items())
        else:
            healthy = print_summary(results)
        if not healthy:
            raise SystemExit(1)
        return
    from wagewatch.scheduler import run_forever

    _ = ctx.db  # opening the store migrates it, before the job store creates its table
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
