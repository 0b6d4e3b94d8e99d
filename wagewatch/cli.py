"""`wagewatch`: the one command-line entry point."""

from __future__ import annotations

import os
import sys

import click

from wagewatch import __version__
from wagewatch.commands import bench, contracts, elastic, model, officers, pipeline, reports, sources
from wagewatch.context import AppContext
from wagewatch.core.config import ConfigError

DEBUG_ENV = "WAGEWATCH_DEBUG"


def error_line(exc: BaseException) -> str:
    """One Chinese line saying what went wrong, for a person at a terminal (WAGEWATCH_DEBUG=1 shows the trace)."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    detail = " ".join(str(exc).split())[:300] or exc.__class__.__name__
    if isinstance(exc, OperationalError):
        return f"错误：无法访问数据库（请检查 settings.yaml 的 database_url 或 WAGEWATCH_DATABASE_URL）：{detail}"
    if isinstance(exc, SQLAlchemyError):
        return f"错误：数据库操作失败：{detail}"
    if isinstance(exc, PermissionError):
        return f"错误：没有权限读写文件：{detail}"
    if isinstance(exc, FileNotFoundError):
        return f"错误：找不到文件：{detail}"
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"错误：网络连接失败：{detail}"
    if isinstance(exc, OSError):
        return f"错误：系统或文件错误：{detail}"
    return f"错误：{exc.__class__.__name__}：{detail}（设置 {DEBUG_ENV}=1 可查看详细堆栈）"


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"配置错误 configuration error:\n{exc}", err=True)
            sys.exit(2)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("已中断 interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if os.environ.get(DEBUG_ENV):
                raise
            click.echo(error_line(exc), err=True)
            sys.exit(1)


@click.group(
    cls=_Group,
    help="欠薪舆情哨兵 WageWatch：监测农民工欠薪网络舆情并推送至属地责任人。\n\n"
    "Watches public posts for unpaid-wage incidents and alerts the responsible officials.",
)
@click.option(
    "--config",
    "config_dir",
    envvar="WAGEWATCH_CONFIG_DIR",
    default=None,
    help="配置目录 / Configuration directory (default: ./config).",
)
@click.version_option(__version__)
@click.pass_context
def cli(ctx: click.Context, config_dir: str | None) -> None:
    ctx.obj = AppContext(config_dir)


@cli.command(
    help="检查配置、数据库、Elasticsearch、SMTP与机器人 / Check config, store, Elasticsearch, SMTP and webhooks."
)
@click.pass_obj
def doctor(ctx: AppContext) -> None:
    from wagewatch.doctor import run_checks

    checks = run_checks(ctx.config_dir)
    for check in checks:
        click.echo(check.line())
    sys.exit(0 if all(c.ok for c in checks) else 1)


for command in [
    *pipeline.COMMANDS,
    *contracts.COMMANDS,
    *elastic.COMMANDS,
    *sources.COMMANDS,
    *officers.COMMANDS,
    *reports.COMMANDS,
    *model.COMMANDS,
    *bench.COMMANDS,
]:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="wagewatch")
