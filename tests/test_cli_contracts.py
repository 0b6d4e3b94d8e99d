"""`wagewatch parse` and `wagewatch classify`: the stable contracts other tools call."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES
from tests.helpers import wagewatch

CONTRACT_FIELDS = {
    "source",
    "external_id",
    "url",
    "title",
    "text",
    "author",
    "published_at",
    "reposts",
    "comments",
    "likes",
    "region",
    "thread_id",
}
CLASSIFY_FIELDS = {
    "label",
    "scores",
    "severity",
    "severity_score",
    "province",
    "city",
    "county",
    "amount_yuan",
    "workers",
    "company",
    "project",
    "project_type",
    "extreme",
    "explanation",
}


def test_parse_weibo_search_page(config_files):
    result = wagewatch(
        config_files.root, "parse", "--source", "weibo", "--file", str(FIXTURES / "weibo/search_page1.json")
    )
    assert result.returncode == 0, result.stderr
    posts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["external_id"] for p in posts] == ["5101000000000001", "5101000000000002", "5101000000000003"]
    first = posts[0]
    assert set(first) == CONTRACT_FIELDS
    assert first["published_at"] == "2026-11-27T09:12:00+08:00"
    assert first["region"] == "山东" and first["reposts"] == 215 and first["likes"] == 340
    assert "#农民工讨薪#" in first["text"] and "[怒]" in first["text"] and "<" not in first["text"]
    assert first["url"] == "https://m.weibo.cn/detail/5101000000000001"


def test_parse_block_page_exits_3(tmp_path, config_files):
    page = tmp_path / "visitor.html"
    page.write_text("<html><head><title>Sina Visitor System</title></head><body></body></html>", encoding="utf-8")
    result = wagewatch(config_files.root, "parse", "--source", "weibo", "--file", str(page))
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr.strip().startswith("blocked:") and len(result.stderr.strip().splitlines()) == 1


def test_parse_malformed_and_unknown_source(tmp_path, config_files):
    page = tmp_path / "broken.json"
    page.write_text('{"ok": 1, "data": ', encoding="utf-8")
    result = wagewatch(config_files.root, "parse", "--source", "weibo", "--file", str(page))
    assert result.returncode == 4 and "malformed" in result.stderr
    result = wagewatch(config_files.root, "parse", "--source", "myspace", "--file", str(page))
    assert result.returncode == 2 and "unknown source" in result.stderr


def test_classify_contract(tmp_path, config_files):
    src = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "text": "我们20多个工人在潍坊寿光的工地干了半年，老板拖欠工资12万元不给，求助！"},
        {"id": "b", "text": "经人社局核实，网传讨薪视频不属实，系以讨薪为名讨要工程款。"},
        {"id": "c", "text": ""},
        {"id": "d", "text": "\x00\x01\x02\ufffd" * 50},
        {"id": "e", "text": "Workers in Ohio protest over delayed paychecks."},
    ]
    src.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\nnot json\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = wagewatch(config_files.root, "classify", "--input", str(src), "--output", str(out))
    assert result.returncode == 1 and "line 6" in result.stderr  # the bad line is named, the rest is written
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e"]
    for row in rows:
        assert set(row) >= CLASSIFY_FIELDS
        assert row["label"] in {"real", "false", "irrelevant"}
        assert abs(sum(row["scores"].values()) - 1) < 1e-3
        assert (row["severity"] is None) == (row["label"] != "real")
    assert rows[0]["label"] == "real" and rows[0]["city"] == "潍坊" and rows[0]["amount_yuan"] == 120000
    assert rows[0]["workers"] == 20
    assert rows[1]["label"] == "false"
    assert rows[2]["label"] == "irrelevant"


def test_help_is_bilingual(config_files):
    result = wagewatch(config_files.root, "--help")
    assert result.returncode == 0
    assert "欠薪舆情哨兵" in result.stdout and "Watches public posts" in result.stdout
