"""Cluster stage: posts about the same case join one incident (MinHash similarity within a city and window)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from sqlalchemy import func, insert, select
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
REBUILD_AFTER = timedelta(days=1)  # the index is rebuilt from the store once the window moved this far
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations


def signature(text: str) -> MinHash:
    """MinHash of the text's character 3-grams (Chinese has no spaces to split words on)."""
    sig = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_PERMUTATIONS, scheme=SCHEME)
    compact = "".join(text.split())
    sig.update_batch([compact[i : i + 3].encode("utf-8") for i in range(max(1, len(compact) - 2))])
    return sig


class _Bucket:
    """The incidents of one (label, city): an LSH over their signatures, keyed by row number in `matrix`,
    so the candidates it returns are scored against the query in one vectorised comparison."""

    def __init__(self) -> None:
        self.lsh = MinHashLSH(num_perm=NUM_PERM, params=LSH_BANDS)
        self.ids = np.zeros(64, dtype=np.int64)
        self.matrix = np.zeros((64, NUM_PERM), dtype=np.uint64)
        self.size = 0

    def add(self, incident_id: int, hashvalues: np.ndarray) -> None:
        if self.size == len(self.ids):  # grow by doubling: amortised constant per incident
            self.ids = np.concatenate([self.ids, np.zeros_like(self.ids)])
            self.matrix = np.concatenate([self.matrix, np.zeros_like(self.matrix)])
        self.ids[self.size] = incident_id
        self.matrix[self.size] = hashvalues
        self.lsh.insert(
            self.size, LeanMinHash(seed=SEED, hashvalues=hashvalues, scheme=SCHEME), check_duplication=False
        )
        self.size += 1


class IncidentIndex:
    """Candidate search for clustering: one MinHashLSH per (label, city) over the incidents of the window.

    A full scan rebuilt every incident's MinHash for every new post, so clustering cost grew with the
    square of the volume; the index makes each post cost a lookup, and the candidates it finds are scored
    together with numpy (one by one, their number growing with the city's incidents, they made the cost
    per post grow with the volume again). The store stays the system of record: incidents keep their
    signature (`incidents.signature`), the index is built from them after a restart and topped up before
    every batch with the incidents any worker created since, and a rolled-back batch discards it so it
    never holds an incident the store does not.
    """

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}
        self._known: set[int] = set()
        self._loaded_up_to = 0
        self._since: datetime | None = None

    def refresh(self, session: Session, since: datetime) -> None:
        """Load the window's incidents created since the last refresh (all of them the first time)."""
        newest = session.scalar(select(func.max(Incident.id))) or 0
        if self._since is None or not self._since <= since < self._since + REBUILD_AFTER or newest < self._loaded_up_to:
            # first use, a window reaching further back, a store that lost rows, or a day gone by: incidents
            # that left the window are dropped, so a long-running service does not score ever more of them
            self.__init__()
            self._since = since
        rows = session.execute(
            select(Incident.id, Incident.label, Incident.city, Incident.signature)
            .where(Incident.id > self._loaded_up_to, Incident.last_seen >= since)
            .order_by(Incident.id)
        ).all()
        for incident_id, label, city, hashvalues in rows:
            if incident_id not in self._known and hashvalues:
                self.add(incident_id, label, city, np.asarray(hashvalues, dtype=np.uint64))
        self._loaded_up_to = max(self._loaded_up_to, newest)

    def add(self, incident_id: int, label: str, city: str | None, hashvalues: np.ndarray) -> None:
        bucket = self._buckets.get((label, city))
        if bucket is None:
            bucket = self._buckets[(label, city)] = _Bucket()
        bucket.add(incident_id, hashvalues)
        self._known.add(incident_id)

    def candidates(self, label: str, city: str | None, sig: MinHash, threshold: float) -> list[int]:
        """Incidents at least `threshold` similar to `sig`, most similar first (the oldest on a tie)."""
        bucket = self._buckets.get((label, city))
        found = bucket.lsh.query(sig) if bucket is not None else []
        if not found:
            return []
        rows = np.fromiter(found, dtype=np.int64, count=len(found))
        # the fraction of equal values: datasketch's Jaccard estimate, as a full scan would compute it
        similarity = np.count_nonzero(bucket.matrix[rows] == sig.hashvalues, axis=1) / NUM_PERM
        close = similarity >= threshold
        ids, similarity = bucket.ids[rows[close]], similarity[close]
        return ids[np.lexsort((ids, -similarity))].tolist()


_INDEXES: dict[str, IncidentIndex] = {}
# on the table, not the mapped class: one statement compiled once, where the ORM's bulk path re-read the values
_INSERT_INCIDENT = insert(Incident.__table__).returning(Incident.__table__.c.id)


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


def cluster_pending(db: Database, policy: Policy, batch_size: int = 500) -> int:
    """Attach every analysed real or false post, and every post sent to review, to an incident, creating
    incidents as needed.

    A post joins the most similar incident of its label and city seen within the window, if that one is at
    least `cluster_similarity` alike (the oldest wins a tie); otherwise it starts an incident of its own.
    A batch is one transaction without autoflush: each incident it touches is read once, a new one is one
    INSERT (its id goes into the index at once, so the batch's later posts can join it), and the changed
    analyses and incidents are written together when the batch commits.
    """
    key = str(db.engine.url)
    index = _INDEXES.setdefault(key, IncidentIndex())
    done = 0
    while True:
        try:
            with db.session() as session, session.no_autoflush:
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
                batch = _Batch(session, index, since, policy)
                for analysis, post in rows:
                    batch.cluster(analysis, post)
                enqueue_index(session, Indexed.INCIDENT, *sorted(batch.touched))
                enqueue_index(session, Indexed.POST, *(post.id for _, post in rows))
        except BaseException:
            _INDEXES.pop(key, None)  # it may hold incidents that the rollback removed
            raise
        done += len(rows)


class _Batch:
    """One batch's incidents: those read from the store (in the window) or created by it, each read once."""

    def __init__(self, session: Session, index: IncidentIndex, since: datetime, policy: Policy) -> None:
        self.session = session
        self.index = index
        self.since = since
        self.policy = policy
        self.incidents: dict[int, Incident] = {}
        self.out_of_window: set[int] = set()
        self.touched: set[int] = set()

    def _best_in_window(self, ids: list[int]) -> Incident | None:
        """The first incident of `ids` (best first) still within the window. Only the ones tried are read:
        the number of candidates above the threshold grows with the city's incidents, the answer does not."""
        for incident_id in ids:
            if incident_id in self.out_of_window:
                continue
            incident = self.incidents.get(incident_id)
            if incident is None:
                incident = self.session.scalar(
                    select(Incident).where(Incident.id == incident_id, Incident.last_seen >= self.since)
                )
                if incident is None:
                    # last_seen only grows, and `since` is fixed for the batch: one outside stays outside
                    self.out_of_window.add(incident_id)
                    continue
                self.incidents[incident_id] = incident
            return incident
        return None

    def cluster(self, analysis: Analysis, post: Post) -> None:
        sig = signature(post.text)
        ids = self.index.candidates(analysis.label, analysis.city, sig, self.policy.cluster_similarity)
        incident = self._best_in_window(ids)
        if incident is None:
            seen = post.published_at or clock.now()
            values = {
                **analysis.case_fields(),
                "title": _title(post.title or post.text),
                "signature": [int(v) for v in sig.hashvalues],
                "post_count": 1,
                "reach": post.reach,
                "first_seen": seen,
                "last_seen": seen,
            }
            incident_id = self.session.execute(_INSERT_INCIDENT, values).scalar_one()
            self.index.add(incident_id, analysis.label, analysis.city, sig.hashvalues)
        else:
            _merge(incident, analysis, post, self.policy)
            incident_id = incident.id
        analysis.incident_id = incident_id
        analysis.clustered = True
        self.touched.add(incident_id)
