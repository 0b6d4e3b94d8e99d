"""Shared pieces of the crawler tests: one local test site for the session, throw-away configurations and
stores, and running a real crawl (`wagewatch crawl SOURCE`, the Scrapy engine in its own process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.crawlers.site import Site
from wagewatch.cli import cli
from wagewatch.core.store import Database

ROOT = Path(__file__).resolve().parents[2]
REPO_CONFIG = ROOT / "config"
KEYWORDS = ["欠薪", "讨薪", "拖欠工资", "工钱", "血汗钱"]
PLACES = ["山东", "济南", "青岛", "淄博", "烟台", "潍坊", "临沂", "济宁", "菏泽"]


@pytest.fixture(scope="session")
def site():
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture
def web(site):
    """The test site, emptied for this test."""
    site.reset()
    return site


@dataclass
class Env:
    """A configuration directory and store for one test."""

    directory: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.directory / 'store.db'}"

    @property
    def outbox(self) -> Path:
        return self.directory / "outbox"

    def db(self) -> Database:
        database = Database(self.db_url)
        database.upgrade()
        return database

    def write_sources(self, sources: dict, keywords: list[str] | None = None) -> None:
        data = {
            "keywords": keywords or KEYWORDS,
            "shandong_places": PLACES,
            "user_agents": ["WageWatchTest/1.0"],
            "sources": sources,
        }
        (self.directory / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            WAGEWATCH_CONFIG_DIR=str(self.directory),
            WAGEWATCH_DATABASE_URL=self.db_url,
            PYTHONPATH=str(ROOT),
        )

    def crawl(self, source: str, extra_env: dict[str, str] | None = None) -> dict:
        """Run one real crawl and return the figures it printed."""
        proc = subprocess.run(
            [sys.executable, "-m", "wagewatch", "crawl", source],
            cwd=ROOT,
            env={**self.env(), **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
        (self.directory / "last-crawl.log").write_text(proc.stderr, encoding="utf-8")  # to read after a failure
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def cli(self, *args: str):
        return CliRunner().invoke(
            cli,
            ["--config", str(self.directory), *args],
            env={"WAGEWATCH_DATABASE_URL": self.db_url},
            catch_exceptions=False,
        )


def source_config(base_url: str, **overrides) -> dict:
    """A source as a test configures it: fast (no delays, quick retries) and with a horizon wide enough for
    the fixtures' fixed dates."""
    config = {
        "base_url": base_url,
        "max_pages": 5,
        "horizon_days": 3650,
        "download_delay": 0,
        "retry_backoff_seconds": 0.05,
        "retry_times": 2,
    }
    config.update(overrides)
    return config


@pytest.fixture
def env(tmp_path) -> Env:
    directory = tmp_path / "config"
    directory.mkdir()
    for name in ("cities.yaml", "policy.yaml", "webhooks.yaml"):
        shutil.copy(REPO_CONFIG / name, directory / name)
    settings = yaml.safe_load((REPO_CONFIG / "settings.yaml").read_text(encoding="utf-8"))
    settings.update(
        database_url=f"sqlite:///{directory / 'store.db'}",
        outbox_dir=str(directory / "outbox"),
    )
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return Env(directory)


def parse_file(source: str, path: Path, url: str | None = None, config: Path | None = None):
    """`wagewatch parse` in this process (so a test can freeze the clock); returns (exit code, posts, stderr)."""
    args = (["--config", str(config)] if config else []) + ["parse", "--source", source, "--file", str(path)]
    if url:
        args += ["--url", url]
    result = CliRunner().invoke(cli, args)
    posts = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, posts, result.stderr
