"""Cluster stage: posts about the same case join one incident (MinHash similarity within a city and window)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wagewatch.alerts.realert import needs_realert
from wagewatch.core import clock
from wagewatch.core.config import Policy
from wagewatch.core.states import AlertState, Indexed
from wagewatch.core.store import Database
from wagewatch.core.store.models import Analysis, Incident, Post, enqueue_index

NUM_PERM = 64
SEED = 7
SCHEME = "affine32"
# 32 bands of 2 rows: two posts whose MinHashes agree on half of their 64 values (the shipped
# `cluster_similarity`) share a band with probability 1 - 1e-4, so the index finds what a full scan would;
# every candidate is then checked against the threshold with the exact same estimate the scan used.
LSH_BANDS = (32, 2)
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def signature(text: str) -> MinHash:
    """MinHash of the text's character 3-grams (Chinese has no spaces to split words on)."""
    sig = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_PERMUTATIONS, scheme=SCHEME)
    compact = "".join(text.split())
    sig.update_batch([compact[i : i + 3].encode("utf-8") for i in range(max(1, len(compact) - 2))])
    return sig


class IncidentIndex:
    """Candidate search for clustering: one MinHashLSH per (label, city) over the incidents of the window.

    A full scan rebuilt every incident's MinHash for every new post, so clustering cost grew with the
    square of the volume; the index makes each post cost a lookup. The store stays the system of record:
    incidents keep their signature (`incidents.signature`), the index is built from them after a restart
    and topped up before every batch with the incidents any worker created since, and a rolled-back batch
    discards it so it never holds an incident the store does not.
    """

    def __init__(self) -> None:
        self._lsh: dict[tuple[str, str | None], MinHashLSH] = {}
        self._signatures: dict[int, np.ndarray] = {}
        self._loaded_up_to = 0
        self._since: datetime | None = None

    def refresh(self, session: Session, since: datetime) -> None:
        """Load the window's incidents created since the last refresh (all of them the first time)."""
        newest = session.scalar(select(func.max(Incident.id))) or 0
        if self._since is None or since < self._since or newest < self._loaded_up_to:
            self.__init__()  # first use, a window reaching further back, or a store that lost rows
            self._since = since
        rows = session.execute(
            select(Incident.id, Incident.label, Incident.city, Incident.signature)
            .where(Incident.id > self._loaded_up_to, Incident.last_seen >= since)
            .order_by(Incident.id)
        ).all()
        for incident_id, label, city, hashvalues in rows:
            if incident_id not in self._signatures and hashvalues:
                self.add(incident_id, label, city, np.asarray(hashvalues, dtype=np.uint64))
        self._loaded_up_to = max(self._loaded_up_to, newest)

    def add(self, incident_id: int, label: str, city: str | None, hashvalues: np.ndarray) -> None:
        lsh = self._lsh.get((label, city))
        if lsh is None:
            lsh = self._lsh[(label, city)] = MinHashLSH(num_perm=NUM_PERM, params=LSH_BANDS)
        lsh.insert(incident_id, LeanMinHash(seed=SEED, hashvalues=hashvalues, scheme=SCHEME), check_duplication=False)
        self._signatures[incident_id] = hashvalues

    def candidates(self, label: str, city: str | None, sig: MinHash, threshold: float) -> list[int]:
        """Incidents at least `threshold` similar to `sig`, most similar first (the oldest on a tie)."""
        lsh = self._lsh.get((label, city))
        if lsh is None:
            return []
        scored = []
        for incident_id in lsh.query(sig):
            similarity = np.count_nonzero(self._signatures[incident_id] == sig.hashvalues) / NUM_PERM
            if similarity >= threshold:
                scored.append((-similarity, incident_id))
        return [incident_id for _, incident_id in sorted(scored)]


_INDEXES: dict[str, IncidentIndex] = {}


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
    # one post the model could call settles the incident; the latest post tells how the case stands
    incident.needs_review = incident.needs_review and analysis.needs_review
    if analysis.resolution is not None:
        incident.resolution = analysis.resolution
    if (analysis.severity or 0) > (incident.severity or 0):
        incident.severity = analysis.severity
        incident.severity_score = max(incident.severity_score, analysis.severity_score)
        incident.explanation = analysis.explanation
    if needs_realert(incident, analysis.city, policy.realert):
        incident.alert_state = AlertState.PENDING


def cluster_pending(db: Database, policy: Policy, batch_size: int = 200) -> int:
    """Attach every analysed real or false post, and every post sent to review, to an incident, creating
    incidents as needed.

    A post joins the most similar incident of its label and city seen within the window, if that one is at
    least `cluster_similarity` alike (the oldest wins a tie); otherwise it starts an incident of its own.
    """
    key = str(db.engine.url)
    index = _INDEXES.setdefault(key, IncidentIndex())
    done = 0
    while True:
        try:
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
                index.refresh(session, since)
                for analysis, post in rows:
                    _cluster_one(session, db, index, analysis, post, since, policy)
        except BaseException:
            _INDEXES.pop(key, None)  # it may hold incidents that the rollback removed
            raise
        done += len(rows)


def _cluster_one(
    session: Session,
    db: Database,
    index: IncidentIndex,
    analysis: Analysis,
    post: Post,
    since: datetime,
    policy: Policy,
) -> None:
    sig = signature(post.text)
    ids = index.candidates(analysis.label, analysis.city, sig, policy.cluster_similarity)
    in_window = (
        {
            inc.id: inc
            for inc in session.scalars(select(Incident).where(Incident.id.in_(ids), Incident.last_seen >= since))
        }
        if ids
        else {}
    )
    incident = next((in_window[i] for i in ids if i in in_window), None)
    if incident is None:
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
        index.add(incident.id, incident.label, incident.city, sig.hashvalues)
    _merge(incident, analysis, post, policy) if incident.post_count else _first_post(incident, post)
    analysis.incident_id = incident.id
    analysis.clustered = True
    enqueue_index(session, Indexed.INCIDENT, incident.id)
    enqueue_index(session, Indexed.POST, post.id)


def _first_post(incident: Incident, post: Post) -> None:
    incident.post_count = 1
    incident.reach = post.reach
