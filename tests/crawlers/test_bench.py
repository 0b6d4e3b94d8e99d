"""The crawl benchmark (the command in docs/crawlers.md) still runs end to end: a smoke test on a tiny site,
asserting what was crawled, never how fast."""

from __future__ import annotations

import subprocess
import sys

from tests.crawlers.conftest import ROOT


def test_crawl_benchmark_runs_on_a_small_site():
    result = subprocess.run(
        [sys.executable, "-m", "wagewatch.bench.crawl", "--pages", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    site, full, incremental = result.stdout.splitlines()[-3:]
    assert site.startswith("site: 3 pages × 10 posts")
    assert full.startswith("full crawl : 30 posts in ") and full.endswith("0 errors, status ok")
    assert incremental.startswith("incremental: 0 new posts in ") and incremental.endswith("0 errors, status ok")
