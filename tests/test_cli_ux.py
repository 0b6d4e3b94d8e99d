"""What a person at the terminal sees: doctor's warning about unusable links, one Chinese line instead of a
traceback, `report --week 2026-48`, and `wagewatch bench` finding every benchmark module."""

from __future__ import annotations

import sys

from click.testing import CliRunner

from tests.helpers import wagewatch
from wagewatch import bench as bench_package
from wagewatch.cli import cli


def test_doctor_warns_when_links_point_at_this_machine(config_files):
    result = wagewatch(config_files.root, "doctor")
    assert "⚠ 访问地址 public_base_url: http://localhost:8000 是本机地址" in result.stdout
    assert "✗" not in result.stdout and result.returncode == 0  # a warning, not a failure

    config_files.update("settings.yaml", lambda s: s.update(public_base_url="http://wagewatch.invalid"))
    result = wagewatch(config_files.root, "doctor")
    assert "⚠ 访问地址 public_base_url: http://wagewatch.invalid 无法访问" in result.stdout


def test_errors_are_one_chinese_line(config_files):
    config_files.update("settings.yaml", lambda s: s.update(database_url="sqlite:////proc/no/such/dir/w.db"))
    result = wagewatch(config_files.root, "analyze")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and "WARNING" not in line]
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr


def test_report_takes_week_numbers_without_w(config_files, tmp_path):
    result = wagewatch(config_files.root, "report", "--week", "2026-48", "--out", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "r" / "全省-周调度-2026-W48-情况表.xlsx").exists()
    bad = wagewatch(config_files.root, "report", "--week", "48")
    assert bad.returncode == 2 and "2026-W48" in bad.stderr


def test_bench_lists_every_benchmark_module_and_new_ones(tmp_path, monkeypatch):
    listed = CliRunner().invoke(cli, ["bench", "--help"]).output
    for name in ("classify", "crawl", "index", "alerts", "pipeline", "runtime"):
        assert f"  {name} " in listed, listed
    extra = tmp_path / "benches"
    extra.mkdir()
    (extra / "later.py").write_text(
        '"""A benchmark added later."""\nimport sys\n\ndef main():\n    print("later", sys.argv)\n', encoding="utf-8"
    )
    monkeypatch.setattr(bench_package, "__path__", [str(extra)])
    assert "later  A benchmark added later." in CliRunner().invoke(cli, ["bench", "--help"]).output
    try:
        ran = CliRunner().invoke(cli, ["bench", "later", "--events", "10"])
    finally:  # the stand-in must not shadow the real module for later tests
        sys.modules.pop("wagewatch.bench.later", None)
    assert ran.exit_code == 0 and "later ['wagewatch bench later', '--events', '10']" in ran.output, ran.output
