"""Cluster stage: posts about the same case join one incident (MinHash similarity within a city and window)."""

from __future__ import annotations

from datetime import timedelta

from datasketch import MinHash
from sqlalchemy import select

from wagewatch.alerts.realert import needs_realert
from wagewatch.core import clock
from wagewatch.core.config import Policy
from wagewatch.core.states import AlertState, Indexed
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Incident, Post, enqueue_index

NUM_PERM = 64


def signature(text: str) -> MinHash:
    """MinHash of the text's character 3-grams (Chinese has no spaces to split words on)."""
    sig = MinHash(num_perm=NUM_PERM, seed=7)
    compact = "".join(text.split())
    for i in range(max(1, len(compact) - 2)):
        sig.update(compact[i : i + 3].encode("utf-8"))
    return sig


def _similar(sig: MinHash, incident: Incident) -> float:
    if not incident.signature:
        return 0.0
    other = MinHash(num_perm=NUM_PERM, seed=7, hashvalues=incident.signature, scheme=sig.scheme)
    return sig.jaccard(other)


def _title(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first[:60] + ("…" if len(first) > 60 else "")


def _merge(incident: Incident, analysis: Analysis, post: Post, policy: Policy) -> None:
    """Fold one more post into an incident; anything that raises the stakes re-opens alerting."""
    incident.post_count += 1
    incident.reach += post.reach
    incident.last_seen = max(incident.last_seen, post.published_at or clock.now())
    for attr in ("company", "project", "project_type", "county"):
        if getattr(incident, attr) is None and getattr(analysis, attr) is not None:
            setattr(incident, attr, getattr(analysis, attr))
    for attr in ("amount_yuan", "workers"):
        new = getattr(analysis, attr)
        if new is not None and (getattr(incident, attr) or 0) < new:
            setattr(incident, attr, new)
    incident.extreme = incident.extreme or analysis.extreme
    if (analysis.severity or 0) > (incident.severity or 0):
        incident.severity = analysis.severity
        incident.severity_score = max(incident.severity_score, analysis.severity_score)
        incident.explanation = analysis.explanation
    if needs_realert(incident, analysis.city, policy.realert):
        incident.alert_state = AlertState.PENDING


def cluster_pending(db: Database, policy: Policy, batch_size: int = 200) -> int:
    """Attach every analysed real or false post to an incident, creating incidents as needed."""
    done = 0
    while True:
        with db.session() as session:
            rows = session.execute(
                select(Analysis, Post)
                .join(Post, Post.id == Analysis.post_id)
                .where(Analysis.clustered.is_(False))
                .order_by(Analysis.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return done
            since = clock.now() - timedelta(days=policy.cluster_window_days)
            for analysis, post in rows:
                sig = signature(post.text)
                candidates = session.scalars(
                    select(Incident).where(
                        Incident.label == analysis.label, Incident.city == analysis.city, Incident.last_seen >= since
                    )
                ).all()
                best = max(candidates, key=lambda inc: _similar(sig, inc), default=None)
                if best is not None and _similar(sig, best) >= policy.cluster_similarity:
                    incident = best
                else:
                    incident = Incident(
                        **analysis.case_fields(),
                        title=_title(post.title or post.text),
                        signature=[int(v) for v in sig.hashvalues],
                        post_count=0,
                        reach=0,
                        first_seen=post.published_at or clock.now(),
                        last_seen=post.published_at or clock.now(),
                    )
                    session.add(incident)
                    session.flush()
                _merge(incident, analysis, post, policy) if incident.post_count else _first_post(incident, post)
                analysis.incident_id = incident.id
                analysis.clustered = True
                enqueue_index(session, Indexed.INCIDENT, incident.id)
                enqueue_index(session, Indexed.POST, post.id)
            done += len(rows)


def _first_post(incident: Incident, post: Post) -> None:
    incident.post_count = 1
    incident.reach = post.reach
