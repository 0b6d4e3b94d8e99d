"""`wagewatch report`: write (and optionally email) the weekly or monthly reports on demand."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wagewatch.context import AppContext


@click.command(help="生成周调度/月通报（情况表XLSX与通报Word）/ Write the weekly or monthly reports (XLSX and DOCX).")
@click.option("--week", "week", default=None, help="ISO周，如 2026-W48 / ISO week, e.g. 2026-W48.")
@click.option("--month", "month", default=None, help="月份，如 2026-11 / Month, e.g. 2026-11.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="输出目录（默认 reports_dir/时段）/ Output folder (default: settings reports_dir/<period>).",
)
@click.option("--email", is_flag=True, help="同时发送给各级名单 / Also email them to the lead lists.")
@click.pass_obj
def report(ctx: AppContext, week: str | None, month: str | None, out_dir: Path | None, email: bool) -> None:
    from wagewatch.reports import periods
    from wagewatch.reports.build import build_all

    if bool(week) == bool(month):
        raise click.UsageError("请指定 --week 或 --month 之一 / give exactly one of --week or --month")
    try:
        period = periods.parse(week or month)
    except periods.PeriodError as exc:
        raise click.UsageError(str(exc)) from None
    if (period.kind == "week") != bool(week):
        raise click.UsageError(
            "--week 需要 2026-W48 格式，--month 需要 2026-11 格式 / --week takes 2026-W48, --month takes 2026-11"
        )
    files = build_all(ctx.db, ctx.config, period, out_dir)
    result = {
        "period": period.key,
        "files": [{"scope": f.scope, "xlsx": str(f.xlsx), "docx": str(f.docx)} for f in files],
    }
    if email:
        from wagewatch.stages.report import deliver_reports, queue_period

        result["queued"] = queue_period(ctx.db, ctx.config, period)
        result["sent"] = deliver_reports(ctx.db, ctx.config)
    click.echo(json.dumps(result, ensure_ascii=False))


COMMANDS = [report]
