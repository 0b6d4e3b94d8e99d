"""Elasticsearch stops in the middle of a feed: the pipeline goes on, and once it is back the index
catches up with nothing lost and nothing twice."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch
from sqlalchemy import func, select

import wagewatch.index.feed
from tests.search.conftest import es_reachable, private_node, seeded, with_es, write_search_config
from tests.search.data import insert_posts
from wagewatch.core.store.models import Incident, IndexQueue, Lead, Post
from wagewatch.pipeline import run_stage

MORE_POSTS = [
    (f"later-{n}", f"德州{county}某工地拖欠{n + 5}名农民工工资{n + 2}万元，第{n}次找老板都没结果")
    for n, county in enumerate(["德城区", "乐陵市", "禹城市", "齐河县", "夏津县", "武城县", "宁津县"])
]


@pytest.fixture
def stoppable(es_cluster):
    """The session's own node (restarted afterwards), or a private one when the tests use an outside cluster."""
    if es_cluster.node is not None:
        yield es_cluster.node
        if es_cluster.node.process is None:
            es_cluster.node.start()
        return
    with private_node("the outage test needs a node it may stop") as node:
        yield node


def _store_counts(db) -> dict[str, int]:
    with db.session() as session:
        return {
            "posts": session.scalar(select(func.count()).select_from(Post)),
            "incidents": session.scalar(select(func.count()).select_from(Incident)),
            "leads": session.scalar(select(func.count()).select_from(Lead)),
        }


def _index_ids(client, alias: str) -> list[str]:
    client.indices.refresh(index=alias)
    hits = client.search(index=alias, size=1000, source=False, query={"match_all": {}})["hits"]["hits"]
    return [hit["_id"] for hit in hits]


def test_outage_mid_feed_loses_nothing(stoppable, tmp_path, monkeypatch, prefix):
    config = with_es(write_search_config(tmp_path, stoppable.url, prefix), bulk_batch_size=4)
    es = config.settings.elasticsearch
    db = seeded(config)
    assert run_stage("index", config, db)["error"] is None

    insert_posts(db, MORE_POSTS, start_minutes=5)
    run_stage("analyze", config, db)
    run_stage("cluster", config, db)
    with db.session() as session:
        queued = session.scalar(select(func.count()).select_from(IndexQueue))
    assert queued > 2 * es.bulk_batch_size  # several batches to go

    real_bulk_write = wagewatch.index.feed.bulk_write
    calls = []

    def stop_after_first_batch(*args, **kwargs):
        if calls:
            stoppable.stop()
        calls.append(1)
        return real_bulk_write(*args, **kwargs)

    monkeypatch.setattr(wagewatch.index.feed, "bulk_write", stop_after_first_batch)
    report = run_stage("index", config, db)
    assert not es_reachable(stoppable.url)
    assert report["error"] and "unavailable" in report["error"]
    assert 0 < report["pending"] < queued  # the first batch went through, the rest stayed queued

    # The pipeline goes on without Elasticsearch: later stages run, the index stage reports and waits.
    run_stage("dispatch", config, db)
    assert run_stage("index", config, db)["error"]

    monkeypatch.setattr(wagewatch.index.feed, "bulk_write", real_bulk_write)
    stoppable.start()
    caught_up = run_stage("index", config, db)
    assert caught_up["error"] is None and caught_up["pending"] == 0, caught_up

    client = Elasticsearch(stoppable.url, request_timeout=30)
    counts = _store_counts(db)
    for kind, expected in counts.items():
        ids = _index_ids(client, f"{prefix}-{kind}")
        assert len(ids) == len(set(ids)) == expected, kind
    with db.session() as session:
        assert set(_index_ids(client, f"{prefix}-posts")) == {str(i) for i in session.scalars(select(Post.id))}
    client.close()
