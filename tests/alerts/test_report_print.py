"""The reports as they come out of a printer: LibreOffice (headless) turns the weekly and monthly 情况表 and
通报 and a red alert's 专报 into PDF, and pdfinfo/pdftotext (poppler) measure page size, orientation, page
count and what lands on the first page. scripts/install-test-deps.sh installs LibreOffice and poppler."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.alerts.test_reports import _seed, at
from wagewatch.core import clock
from wagewatch.reports import periods
from wagewatch.reports.build import build_scope
from wagewatch.reports.special import write_special

A4 = (595, 842)  # points, rounded


def _tools() -> None:
    missing = [tool for tool in ("soffice", "pdfinfo", "pdftotext") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing {missing}: run scripts/install-test-deps.sh")
        pytest.skip(f"missing {missing}")


def to_pdf(files: list[Path], out: Path) -> list[Path]:
    """Convert with a private LibreOffice profile (a shared one locks concurrent runs)."""
    profile = out / "lo-profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
        ]
        + [str(f) for f in files],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return [out / f"{f.stem}.pdf" for f in files]


def pdf_info(path: Path) -> dict[str, object]:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    return {"pages": int(re.search(r"Pages:\s+(\d+)", info)[1]), "size": (round(width), round(height))}


def page_text(path: Path, page: int) -> str:
    """The page's text without white space (lines wrap wherever the layout puts them)."""
    args = ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"]
    return re.sub(r"\s+", "", subprocess.run(args, check=True, capture_output=True, text=True).stdout)


@pytest.mark.parametrize("key", ["2026-W48", "2026-11"])
def test_weekly_and_monthly_reports_print_on_a4(store, tmp_path, key):
    _tools()
    _seed(store)
    period = periods.parse(key)
    files = build_scope(store.db, store.config, period, "全省", tmp_path / "reports")
    xlsx_pdf, docx_pdf = to_pdf([files.xlsx, files.docx], tmp_path / "pdf")

    # 情况表: landscape A4, one page per sheet (summary, open leads, charts), the title on the first page.
    sheet = pdf_info(xlsx_pdf)
    assert sheet["size"] == A4[::-1] and sheet["pages"] == 3, sheet
    first = page_text(xlsx_pdf, 1)
    assert "山东省根治欠薪网络舆情线索办理情况" in first and "合计" in first and "排名" in first

    # 通报: portrait A4, title and office on page 1, page numbers, signed by the office with the issue date.
    circular = pdf_info(docx_pdf)
    assert circular["size"] == A4 and 2 <= circular["pages"] <= 4, circular
    first = page_text(docx_pdf, 1)
    assert "山东省根治拖欠农民工工资工作领导小组办公室" in first and "欠薪网络舆情线索办理情况的通报" in first
    assert "—1—" in first
    last = page_text(docx_pdf, circular["pages"])
    issued = "2026年11月30日" if key == "2026-W48" else "2026年12月1日"
    assert f"—{circular['pages']}—" in last and issued in last and "欠薪舆情哨兵" not in last


def test_special_report_for_a_red_alert_prints_on_a4(store, tmp_path):
    _tools()
    _seed(store)
    clock.freeze(at(28))
    path = write_special(store.db, store.config, 4, tmp_path / "专报.docx")  # the red Jinan incident
    [pdf] = to_pdf([path], tmp_path / "pdf")
    info = pdf_info(pdf)
    assert info["size"] == A4 and 1 <= info["pages"] <= 3, info
    first = page_text(pdf, 1)
    assert "专报" in first and "线索编号4" in first and "红色预警（特别重大）" in first
    text = "".join(page_text(pdf, p) for p in range(1, info["pages"] + 1))
    assert "已办结" in text and "济南白班值班员" in text and "2026年11月28日" in text
