"""The commands an operator types: index setup/status, bench index, reindex, search."""

from __future__ import annotations

import json

from click.testing import CliRunner, Result
from sqlalchemy import func, select

from tests.helpers import wagewatch
from wagewatch.cli import cli
from wagewatch.core.store.models import Post


def run(config_dir, *args: str) -> Result:
    """In-process (a subprocess per command would cost a second or two each); the last test uses one."""
    return CliRunner().invoke(cli, ["--config", str(config_dir), *args], catch_exceptions=False)


def test_setup_status_reindex_and_search(search_config, seeded_db, prefix):
    root = search_config.directory
    setup = run(root, "index", "setup")
    assert setup.exit_code == 0, setup.output
    with seeded_db.session() as session:
        posts = session.scalar(select(func.count()).select_from(Post))
    assert f"posts: 已创建 created {prefix}-posts-v1-" in setup.output
    assert f"{posts} 条文档 documents" in setup.output
    assert "unchanged" in run(root, "index", "setup").output

    status = run(root, "index", "status")
    assert status.exit_code == 0, status.output
    assert f"{prefix}-posts → {prefix}-posts-v1-" in status.output
    assert f"{posts} 文档 docs / 库中 store {posts}" in status.output

    reindexed = run(root, "reindex", "--kind", "posts")
    assert reindexed.exit_code == 0, reindexed.output
    assert f"已重建 reindexed: posts {posts}" in reindexed.output

    found = run(root, "search", "拖欠", "--kind", "posts", "--city", "济南")
    assert found.exit_code == 0, found.output
    assert "共 1 条" in found.output and "宏远建筑" in found.output
    as_json = json.loads(run(root, "search", "鑫达", "--kind", "posts", "--json").output)
    assert as_json["total"] == 2 and all("<em>" in "".join(h["highlights"]) for h in as_json["hits"])

    wrong = run(root, "search", "--kind", "posts", "--status", "待签收")
    assert wrong.exit_code == 2 and "status" in wrong.output


def test_bench_prints_throughput(search_config):
    done = run(search_config.directory, "bench", "index", "--docs", "400", "--batch", "200")
    assert done.exit_code == 0, done.output
    assert "docs/s" in done.output and "400 docs" in done.output and "rejected 0" in done.output


def test_without_elasticsearch_url_commands_say_what_to_set(config_files, monkeypatch):
    monkeypatch.delenv("WAGEWATCH_ES_URL", raising=False)
    done = wagewatch(config_files.root, "search", "欠薪")
    assert done.returncode == 2 and "elasticsearch.url" in done.stderr
