"""The outbox feed: rejected documents stay queued with the reason, and time alone can make a lead overdue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import wagewatch.index.feed
from wagewatch.core import clock
from wagewatch.core.store.models import IndexQueue, Lead, Post
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
