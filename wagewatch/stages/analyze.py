"""Analyse stage: classify new posts and store their analyses."""

from __future__ import annotations

from sqlalchemy import insert, select, update

from wagewatch.classifier import Classifier
from wagewatch.core.states import Indexed, PostState
from wagewatch.core.store import Database
from wagewatch.core.store.models import CASE_FIELDS, Analysis, Post, enqueue_index


def analyze_pending(db: Database, classifier: Classifier, batch_size: int = 256) -> int:
    """Analyse every post in state `new`; returns how many were analysed.

    Each batch commits its analyses and the posts' new state together, so a crash mid-way leaves the
    remaining posts `new` for the next run and never creates a second analysis of a post. On PostgreSQL a
    batch's posts stay locked until it commits and other workers skip them (`SKIP LOCKED`), so any number
    of analyze workers share the backlog without classifying a post twice. The batch is read and written
    with plain statements (one SELECT, one multi-row INSERT, one UPDATE): building and flushing an ORM
    object per post cost as much as the classifier itself.
    """
    done = 0
    while True:
        with db.session() as session:
            posts = session.execute(
                select(Post.id, Post.title, Post.text, Post.reach)
                .where(Post.state == PostState.NEW)
                .order_by(Post.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not posts:
                return done
            texts = [f"{p.title}\n{p.text}" if p.title else p.text for p in posts]
            results = classifier.analyze(texts, reach=[p.reach for p in posts])
            session.execute(
                insert(Analysis.__table__),
                [
                    {
                        **{name: getattr(result, name) for name in CASE_FIELDS},
                        "post_id": post.id,
                        "scores": result.scores,
                        "province": result.province,
                        "model_version": result.model_version,
                        # irrelevant posts never form incidents, unless the model could not call them (待研判)
                        "clustered": result.label == "irrelevant" and not result.needs_review,
                    }
                    for post, result in zip(posts, results, strict=True)
                ],
            )
            ids = [post.id for post in posts]
            session.execute(update(Post).where(Post.id.in_(ids)).values(state=PostState.ANALYZED))
            # the posts' search documents gain their label, place and facts
            enqueue_index(session, Indexed.POST, *ids)
            done += len(posts)
