"""Read store rows by id and turn them into documents (None: the row is gone, delete its document)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wagewatch.core.store.models import Analysis, Incident, Lead, Post
from wagewatch.index import convert

Documents = dict[str, dict[str, Any] | None]


def post_documents(session: Session, ids: Iterable[int], now: datetime) -> Documents:
    ids = set(ids)
    rows = session.execute(
        select(Post, Analysis).outerjoin(Analysis, Analysis.post_id == Post.id).where(Post.id.in_(ids))
    ).all()
    found = {post.id: convert.post_document(post, analysis, now) for post, analysis in rows}
    return {str(i): found.get(i) for i in ids}


def incident_documents(session: Session, ids: Iterable[int], now: datetime) -> Documents:
    ids = set(ids)
    incidents = {i.id: i for i in session.scalars(select(Incident).where(Incident.id.in_(ids)))}
    leads = {lead.incident_id: lead for lead in session.scalars(select(Lead).where(Lead.incident_id.in_(ids)))}
    sources: dict[int, list[str]] = {}
    first_text: dict[int, str] = {}
    posts = session.execute(
        select(Analysis.incident_id, Post.source, Post.text)
        .join(Post, Post.id == Analysis.post_id)
        .where(Analysis.incident_id.in_(ids))
        .order_by(Post.published_at, Post.id)
    ).all()
    for incident_id, source, text in posts:
        sources.setdefault(incident_id, []).append(source)
        first_text.setdefault(incident_id, text)
    return {
        str(i): convert.incident_document(incidents[i], first_text.get(i), sources.get(i, []), leads.get(i), now)
        if i in incidents
        else None
        for i in ids
    }


def lead_documents(session: Session, ids: Iterable[int], now: datetime) -> Documents:
    ids = set(ids)
    rows = session.execute(
        select(Lead, Incident).join(Incident, Incident.id == Lead.incident_id).where(Lead.id.in_(ids))
    ).all()
    found = {lead.id: convert.lead_document(lead, incident, now) for lead, incident in rows}
    return {str(i): found.get(i) for i in ids}


LOADERS: dict[str, Callable[[Session, Iterable[int], datetime], Documents]] = {
    "posts": post_documents,
    "incidents": incident_documents,
    "leads": lead_documents,
}
_MODELS = {"posts": Post, "incidents": Incident, "leads": Lead}


def count_rows(session: Session, kind: str) -> int:
    return session.scalar(select(func.count()).select_from(_MODELS[kind])) or 0


def id_batches(session: Session, kind: str, size: int) -> Iterator[list[int]]:
    """All ids of a kind in ascending batches (keyset paging: no OFFSET scans on big tables)."""
    model = _MODELS[kind]
    last = 0
    while True:
        batch = list(session.scalars(select(model.id).where(model.id > last).order_by(model.id).limit(size)))
        if not batch:
            return
        yield batch
        last = batch[-1]
