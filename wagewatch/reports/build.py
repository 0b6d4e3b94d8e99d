"""Write a period's reports: the province's (all cities) and one per city, each an XLSX and a DOCX."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wagewatch.core.config import SHANDONG_CITIES, AppConfig
from wagewatch.core.store import Database
from wagewatch.reports import figures
from wagewatch.reports.circular import Heading, write_circular
from wagewatch.reports.periods import Period, issue_day
from wagewatch.reports.workbook import write_workbook

PROVINCE_SCOPE = "全省"


@dataclass
class ReportFiles:
    scope: str  # 全省 or a city
    xlsx: Path
    docx: Path


def report_dir(config: AppConfig, period: Period) -> Path:
    return Path(config.settings.reports_dir) / period.key


def files_for(directory: Path, period: Period, scope: str) -> ReportFiles:
    stem = f"{scope}-{period.name}-{period.key}"
    return ReportFiles(scope, directory / f"{stem}-情况表.xlsx", directory / f"{stem}-通报.docx")


def heading_for(config: AppConfig, period: Period, city: str | None) -> Heading:
    """Issuer, addressee, title and date of a circular, from policy.yaml's `reports`."""
    style = config.policy.reports
    where = "全省" if city is None else f"{city}市"
    return Heading(
        issuer=style.issuer,
        addressee=style.addressee if city is None else config.cities.cities[city].name,
        title=style.title.format(period=period.short, where=where),
        issued_on=issue_day(period, style),
    )


def build_scope(db: Database, config: AppConfig, period: Period, scope: str, directory: Path) -> ReportFiles:
    """Compute and write the workbook and circular of one scope."""
    city = None if scope == PROVINCE_SCOPE else scope
    names = {p.id: p.name for _, p in config.cities.everyone()}
    start = config.policy.reports.campaign_start
    with db.session() as session:
        numbers = figures.compute_figures(session, period, city, start)
        leads = figures.open_leads(session, period, city)
    where = "全省" if city is None else f"{city}市"
    heading = f"{'山东省' if city is None else where}根治欠薪网络舆情线索办理情况{period.name}"
    files = files_for(directory, period, scope)
    write_workbook(files.xlsx, f"{heading}情况表（{period.title}）", numbers, leads, names, start)
    write_circular(files.docx, heading_for(config, period, city), where, numbers, leads, start)
    return files


def build_all(db: Database, config: AppConfig, period: Period, directory: Path | None = None) -> list[ReportFiles]:
    """The province's reports and every city's, written under `directory` (default reports_dir/<period>)."""
    target = directory or report_dir(config, period)
    return [build_scope(db, config, period, scope, target) for scope in (PROVINCE_SCOPE, *SHANDONG_CITIES)]
