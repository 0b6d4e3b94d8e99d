"""Analyse stage: classify new posts and store their analyses."""

from __future__ import annotations

from sqlalchemy import select

from wagewatch.classifier import Classifier
from wagewatch.core.states import Indexed, PostState
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Post, enqueue_index


def analyze_pending(db: Database, classifier: Classifier, batch_size: int = 256) -> int:
    """Analyse every post in state `new`; returns how many were analysed.

    Each batch commits its analyses and the posts' new state together, so a crash mid-way leaves the
    remaining posts `new` for the next run and never creates a second analysis of a post. On PostgreSQL a
    batch's posts stay locked until it commits and other workers skip them (`SKIP LOCKED`), so any number
    of analyze workers share the backlog without classifying a post twice.
    """
    done = 0
    while True:
        with db.session() as session:
            posts = session.scalars(
                select(Post)
                .where(Post.state == PostState.NEW)
                .order_by(Post.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not posts:
                return done
            texts = [f"{p.title}\n{p.text}" if p.title else p.text for p in posts]
            reach = [p.reach for p in posts]
            for post, result in zip(posts, classifier.analyze(texts, reach=reach), strict=True):
                session.add(
                    Analysis(
                        post_id=post.id,
                        label=result.label,
                        scores=result.scores,
                        severity=result.severity,
                        severity_score=result.severity_score,
                        province=result.province,
                        city=result.city,
                        county=result.county,
                        amount_yuan=result.amount_yuan,
                        workers=result.workers,
                        company=result.company,
                        project=result.project,
                        project_type=result.project_type,
                        extreme=result.extreme,
                        explanation=result.explanation,
                        model_version=result.model_version,
                        needs_review=result.needs_review,
                        resolution=result.resolution,
                        # irrelevant posts never form incidents, unless the model could not call them (待研判)
                        clustered=result.label == "irrelevant" and not result.needs_review,
                    )
                )
                post.state = PostState.ANALYZED
                # the post's search document gains its label, place and facts
                enqueue_index(session, Indexed.POST, post.id)
            done += len(posts)
