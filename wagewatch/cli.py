"""`wagewatch`: the one command-line entry point."""

from __future__ import annotations

import sys

import click

from wagewatch import __version__
from wagewatch.commands import contracts, elastic, model, officers, pipeline, reports, sources
from wagewatch.context import AppContext
from wagewatch.core.config import ConfigError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo(f"配置错误 configuration error:\n{exc}", err=True)
            sys.exit(2)


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
]:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="wagewatch")
