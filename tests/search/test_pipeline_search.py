"""Posts, incidents and leads from the real stages land in Elasticsearch and can be searched in Chinese."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from wagewatch.core.store.models import Analysis, Incident, IndexQueue, Lead, Post
from wagewatch.index.client import make_client
from wagewatch.index.search import SearchQuery, search
from wagewatch.pipeline import run_stage


@pytest.fixture
def store(indexed_store):
    assert indexed_store.report["error"] is None, indexed_store.report
    return indexed_store


def _count(es_client, alias: str, **query) -> int:
    return es_client.count(index=alias, query=query or {"match_all": {}})["count"]


def test_everything_in_the_store_is_indexed_once(store):
    search_config, seeded_db, es_client, prefix = store.config, store.db, store.client, store.prefix
    with seeded_db.session() as session:
        posts = session.scalar(select(func.count()).select_from(Post))
        incidents = session.scalar(select(func.count()).select_from(Incident))
        leads = session.scalar(select(func.count()).select_from(Lead))
        assert session.scalar(select(func.count()).select_from(IndexQueue)) == 0
    assert incidents >= 3 and leads >= 2, "the seed posts should form incidents and leads"
    assert _count(es_client, f"{prefix}-posts") == posts
    assert _count(es_client, f"{prefix}-incidents") == incidents
    assert _count(es_client, f"{prefix}-leads") == leads
    assert _count(es_client, f"{prefix}-places") > 150  # 16 cities and their counties

    # Running the stage again with nothing queued, or after re-queuing everything, changes no count.
    with seeded_db.session() as session:
        for post_id in session.scalars(select(Post.id)):
            seeded_db.insert_ignore(session, IndexQueue, {"entity": "post", "entity_id": post_id})
    assert run_stage("index", search_config, seeded_db)["error"] is None
    es_client.indices.refresh(index=f"{prefix}-posts")
    assert _count(es_client, f"{prefix}-posts") == posts


def test_post_documents_carry_the_analysis(store):
    seeded_db, es_client, prefix = store.db, store.client, store.prefix
    with seeded_db.session() as session:
        analysis = session.scalars(select(Analysis).where(Analysis.city == "临沂")).first()
        document = es_client.get(index=f"{prefix}-posts", id=str(analysis.post_id))["_source"]
    assert document["label"] == analysis.label
    assert document["city"] == "临沂" and document["county"] == analysis.county
    assert document["incident_id"] == analysis.incident_id
    assert 34.3 < document["location"]["lat"] < 35.5 and 117.5 < document["location"]["lon"] < 119


def test_two_character_query_and_highlights(store):
    search_config, seeded_db, prefix = store.config, store.db, store.prefix
    es = search_config.settings.elasticsearch
    page = search(make_client(es), prefix, SearchQuery(kind="posts", text="欠薪"))
    # 欠薪 finds the posts that say it and those that say any word of its synonym group (讨薪, 拖欠工资 …).
    [group] = [[w.strip() for w in g.split(",")] for g in es.synonyms if "欠薪" in g.split(", ")]
    with seeded_db.session() as session:
        expected = {str(p.id) for p in session.scalars(select(Post)) if any(w in p.text for w in group)}
        assert any("欠薪" not in p.text for p in session.scalars(select(Post)) if str(p.id) in expected)
    assert {hit.id for hit in page.hits} == expected
    assert page.total == len(expected)
    assert all(any("<em>" in h for h in hit.highlights) for hit in page.hits)
    joined = "".join(h for hit in page.hits for h in hit.highlights).replace("<em>", "").replace("</em>", "")
    assert "欠薪" in joined


def test_company_name_query_finds_its_incidents(store):
    search_config, seeded_db, prefix = store.config, store.db, store.prefix
    client = make_client(search_config.settings.elasticsearch)
    with seeded_db.session() as session:
        expected = {
            str(i)
            for i in session.scalars(
                select(Analysis.incident_id)
                .join(Post, Post.id == Analysis.post_id)
                .where(Post.text.contains("鑫达建设有限公司"))
            )
        }
    page = search(client, prefix, SearchQuery(kind="incidents", text="鑫达建设有限公司"))
    assert expected and {h.id for h in page.hits} == expected
    assert all(h.fields["city"] == "临沂" for h in page.hits)
    assert search(client, prefix, SearchQuery(kind="posts", text="鑫达建设")).total == 2
    # A one-character query works through the character sub-field.
    assert search(client, prefix, SearchQuery(kind="posts", text="鑫")).total == 2


def test_aggregation_by_city_matches_the_store(store):
    search_config, seeded_db, prefix = store.config, store.db, store.prefix
    page = search(make_client(search_config.settings.elasticsearch), prefix, SearchQuery(kind="posts"))
    with seeded_db.session() as session:
        cities = Counter(c for c in session.scalars(select(Analysis.city)) if c)
    assert {b.key: b.count for b in page.by_city} == dict(cities)


def test_filters_sorting_and_paging(store):
    search_config, seeded_db, prefix = store.config, store.db, store.prefix
    client = make_client(search_config.settings.elasticsearch)
    with seeded_db.session() as session:
        real = session.scalars(select(Incident).where(Incident.label == "real")).all()
        leads = session.scalars(select(Lead)).all()
    jinan = search(client, prefix, SearchQuery(city=["济南"]))
    assert jinan.total >= 1 and all(h.fields["city"] == "济南" for h in jinan.hits)
    assert search(client, prefix, SearchQuery(label=["real"])).total == len(real)
    by_severity = search(client, prefix, SearchQuery(label=["real"], sort="severity"))
    levels = [h.fields.get("severity") or 0 for h in by_severity.hits]
    assert levels == sorted(levels, reverse=True)
    top = max(levels)
    assert search(client, prefix, SearchQuery(min_severity=top)).total == levels.count(top)
    assert search(client, prefix, SearchQuery(kind="leads", status=["待签收"])).total == sum(
        1 for lead in leads if lead.status == "待签收"
    )
    first, second = (search(client, prefix, SearchQuery(kind="posts", size=3, page=n)) for n in (1, 2))
    assert len(first.hits) == 3 and not {h.id for h in first.hits} & {h.id for h in second.hits}
    assert search(client, prefix, SearchQuery(kind="posts", company="鑫达")).total == 2


def test_query_syntax_and_markup_are_plain_text(store):
    search_config, prefix = store.config, store.prefix
    client = make_client(search_config.settings.elasticsearch)
    literal = search(client, prefix, SearchQuery(kind="posts", text="city:济南 OR *"))
    assert literal.total == 1  # only the post that contains those very characters
    script = search(client, prefix, SearchQuery(kind="posts", text="<script>"))
    assert script.total == 1
    assert all("<script>" not in h for h in script.hits[0].highlights)
    assert any("&lt;" in h for h in script.hits[0].highlights)
    with pytest.raises(ValueError):
        SearchQuery(kind="posts", status=["待签收"])
