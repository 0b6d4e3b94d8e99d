"""Analysts search in their own words: the synonym set in settings.yaml (`elasticsearch.synonyms`) makes
`wagewatch search 欠薪` find a case whose posts only say 拖欠工资, on a real Elasticsearch node."""

from __future__ import annotations

import json

from click.testing import CliRunner

from tests.search.data import insert_posts
from wagewatch.cli import cli
from wagewatch.pipeline import run_stage

JINING = ("j1", "济宁任城区某商住楼项目拖欠工资40多万元，28名农民工多次讨要无果，项目经理电话一直打不通")


def _search(config_dir, *args: str) -> dict:
    done = CliRunner().invoke(cli, ["--config", str(config_dir), "search", *args, "--json"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def test_search_for_qianxin_finds_a_tuoqian_gongzi_case_in_jining(search_config, seeded_db, es_client, prefix):
    assert "欠薪" not in JINING[1] and "拖欠工资" in JINING[1]
    insert_posts(seeded_db, [JINING])
    for stage in ("analyze", "cluster", "dispatch", "index"):
        run_stage(stage, search_config, seeded_db)
    es_client.indices.refresh(index=f"{prefix}-*")
    root = search_config.directory

    found = _search(root, "欠薪", "--city", "济宁")
    assert found["total"] == 1 and "拖欠工资" in found["hits"][0]["fields"]["title"] + "".join(
        found["hits"][0]["highlights"]
    )
    assert any("<em>" in h for h in found["hits"][0]["highlights"])
    for word in ("讨薪", "血汗钱", "不发工资"):  # any word of the group finds it
        assert _search(root, word, "--city", "济宁")["total"] == 1, word
    assert _search(root, "欠薪", "--city", "济宁", "--kind", "posts")["total"] == 1
    assert _search(root, "包工头", "--city", "济宁")["total"] == 0  # another group does not leak in

    # The analysis chain itself: the query 欠薪 expands to the bigrams of 拖欠工资 among others.
    analysed = es_client.indices.analyze(
        index=f"{prefix}-incidents", body={"analyzer": "wagewatch_zh_search", "text": "欠薪"}
    ).body
    assert {"拖欠", "欠工", "工资", "欠薪", "讨薪"} <= {t["token"] for t in analysed["tokens"]}
