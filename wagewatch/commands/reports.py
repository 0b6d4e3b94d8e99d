"""`wagewatch report`: write (and optionally email) the weekly or monthly reports on demand."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wagewatch.context import AppContext


@click.command(
    help="生成周调度/月通报（情况表XLSX与通报Word），或一条线索的专报 / Write the weekly or monthly reports "
    "(XLSX and DOCX), or one incident's special report."
)
@click.option("--week", "week", default=None, help="ISO周，如 2026-W48 或 2026-48 / ISO week, e.g. 2026-W48.")
@click.option("--month", "month", default=None, help="月份，如 2026-11 / Month, e.g. 2026-11.")
@click.option(
    "--incident",
    "incident",
    type=int,
    default=None,
    help="线索编号：生成该线索的专报 / Case number: write its special report (专报).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="输出目录（默认 reports_dir/时段）/ Output folder (default: settings reports_dir/<period>).",
)
@click.option("--email", is_flag=True, help="同时发送给各级名单 / Also email them to the lead lists.")
@click.pass_obj
def report(
    ctx: AppContext, week: str | None, month: str | None, incident: int | None, out_dir: Path | None, email: bool
) -> None:
    from wagewatch.reports import periods
    from wagewatch.reports.build import build_all

    if sum(map(bool, (week, month, incident))) != 1:
        raise click.UsageError(
            "请指定 --week、--month 或 --incident 之一 / give exactly one of --week, --month or --incident"
        )
    if incident is not None:
        from wagewatch.reports.special import SpecialReportError, write_special

        target = out_dir / f"专报-线索编号{incident}.docx" if out_dir else None
        try:
            path = write_special(ctx.db, ctx.config, incident, target)
        except SpecialReportError as exc:
            raise click.UsageError(str(exc)) from None
        click.echo(json.dumps({"incident": incident, "docx": str(path)}, ensure_ascii=False))
        return
    try:
        period = periods.parse(week or month, "week" if week else "month")
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
