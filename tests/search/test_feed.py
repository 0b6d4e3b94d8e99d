"""The outbox feed: rejected documents stay queued with the reason, time alone can make a lead overdue, and a
document queued several times is written once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import wagewatch.index.feed
from tests.search.conftest import with_es
from wagewatch.core import clock
from wagewatch.core.states import Indexed
from wagewatch.core.store.models import IndexQueue, Lead, Post, enqueue_index
from wagewatch.index.convert import STAGE_OVERDUE
from wagewatch.pipeline import run_stage


def test_rejected_document_keeps_its_row_and_reason(search_config, seeded_db, es_client, prefix, monkeypatch):
    with seeded_db.session() as session:
        victim = str(session.scalars(select(Post.id)).first())
    real_loader = wagewatch.index.feed.LOADERS["posts"]

    def one_bad_document(session, ids, now):
        documents = real_loader(session, ids, now)
        if documents.get(victim):
            documents[victim]["not_in_the_mapping"] = 1  # the strict mapping refuses it
        return documents

    monkeypatch.setitem(wagewatch.index.feed.LOADERS, "posts", one_bad_document)
    report = run_stage("index", search_config, seeded_db)
    assert report["error"] is None and report["rejected"] == 1 and report["pending"] >= 1
    with seeded_db.session() as session:
        rows = session.scalars(select(IndexQueue)).all()
        assert {(r.entity, str(r.entity_id)) for r in rows} == {("post", victim)}
        assert all(r.attempts == 1 and "strict_dynamic_mapping_exception" in r.last_error for r in rows)
    es_client.indices.refresh(index=f"{prefix}-posts")
    assert not es_client.exists(index=f"{prefix}-posts", id=victim)

    monkeypatch.setitem(wagewatch.index.feed.LOADERS, "posts", real_loader)  # the cause fixed: the next run writes it
    assert run_stage("index", search_config, seeded_db)["pending"] == 0
    assert es_client.exists(index=f"{prefix}-posts", id=victim)


def test_passing_deadline_refreshes_lead_documents(search_config, seeded_db, es_client, prefix):
    assert run_stage("index", search_config, seeded_db)["requeued_overdue"] == 0
    with seeded_db.session() as session:
        leads = session.scalars(select(Lead)).all()
        latest = max(lead.deadline for lead in leads)
    es_client.indices.refresh(index=f"{prefix}-leads")
    clock.freeze(latest + timedelta(hours=1))
    report = run_stage("index", search_config, seeded_db)
    assert report["requeued_overdue"] == len(leads) and report["pending"] == 0
    es_client.indices.refresh(index=f"{prefix}-*")
    for lead in leads:
        document = es_client.get(index=f"{prefix}-leads", id=str(lead.id))["_source"]
        assert document["overdue"] is True and document["stage"] == STAGE_OVERDUE
        incident = es_client.get(index=f"{prefix}-incidents", id=str(lead.incident_id))["_source"]
        assert incident["lead_stage"] == STAGE_OVERDUE
    assert run_stage("index", search_config, seeded_db)["requeued_overdue"] == 0


def test_a_document_queued_again_later_is_written_once(search_config, seeded_db, es_client, prefix, monkeypatch):
    """Rows queued for a document after a batch's own (analyze, cluster and dispatch each queue the post or
    incident they touch) are answered by the batch's write, however far apart they lie in the queue."""
    with seeded_db.session() as session:
        post_ids = session.scalars(select(Post.id).order_by(Post.id)).all()
        enqueue_index(session, Indexed.POST, *post_ids)  # every post queued once more, after all the rest
        queued = session.execute(select(IndexQueue.entity, IndexQueue.entity_id)).all()
    documents = len(set(queued))
    assert len(queued) > documents  # the seeding already queued some documents twice, and now every post
    written: list[str] = []
    real_write = wagewatch.index.feed.bulk_write

    def counting_write(client, index, docs, **kwargs):
        written.extend(f"{index}/{doc_id}" for doc_id in docs)
        return real_write(client, index, docs, **kwargs)

    monkeypatch.setattr(wagewatch.index.feed, "bulk_write", counting_write)
    report = run_stage("index", with_es(search_config, bulk_batch_size=5), seeded_db)
    assert report["pending"] == 0 and report["rejected"] == 0
    posts_written = [name for name in written if "-posts" in name]
    assert sorted(posts_written) == sorted(set(posts_written))  # no post document written twice in the run
    es_client.indices.refresh(index=f"{prefix}-posts")
    assert es_client.count(index=f"{prefix}-posts")["count"] == len(post_ids)
