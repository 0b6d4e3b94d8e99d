"""SQLAlchemy models of the store.

States drive the stages: a stage selects rows by state, does its work and moves them on in the same
transaction, so a crash leaves each row either untouched (picked up again) or fully done.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    insert,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.sql.expression import ColumnElement

from wagewatch.core import clock
from wagewatch.core.states import AlertState, CrawlStatus, Indexed, LeadKind, LeadStatus, PostState, SendStatus
from wagewatch.core.store.types import UTCDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class CrawlRun(Base):
    """One run of one spider: its figures make a dead source visible."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=CrawlStatus.RUNNING)
    requests: Mapped[int] = mapped_column(default=0)
    posts_found: Mapped[int] = mapped_column(default=0)
    posts_new: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)


class Post(Base):
    """A public post as collected; unique per source and the site's own id."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_posts_source_external_id"),
        Index("ix_posts_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_raw: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(256))
    published_at: Mapped[datetime | None]
    reposts: Mapped[int | None]
    comments: Mapped[int | None]
    likes: Mapped[int | None]
    region: Mapped[str | None] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(128))
    raw_ref: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=clock.now)
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    state: Mapped[str] = mapped_column(String(16), default=PostState.NEW)

    analysis: Mapped[Analysis | None] = relationship(back_populates="post", uselist=False)

    @hybrid_property
    def reach(self) -> int:
        """How far the post spread: reposts + comments (missing counts as 0). Also usable in queries."""
        return (self.reposts or 0) + (self.comments or 0)

    @reach.inplace.expression
    @classmethod
    def _reach_expression(cls) -> ColumnElement[int]:
        return func.coalesce(cls.reposts, 0) + func.coalesce(cls.comments, 0)


class CaseFields:
    """What a case is and where, as the classifier found it: one post's analysis and the incident it joins
    carry the same columns (the search documents' CaseFields mirror them), and an incident starts as a copy."""

    label: Mapped[str] = mapped_column(String(16))  # a Label
    city: Mapped[str | None] = mapped_column(String(32), index=True)
    county: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[int | None]
    severity_score: Mapped[float] = mapped_column(Float, default=0.0)
    company: Mapped[str | None] = mapped_column(Text)
    project: Mapped[str | None] = mapped_column(Text)
    project_type: Mapped[str | None] = mapped_column(String(16))
    amount_yuan: Mapped[float | None]
    workers: Mapped[int | None]
    extreme: Mapped[bool] = mapped_column(Boolean, default=False)
    explanation: Mapped[list[Any]] = mapped_column(default=list)
    # the model could not call it: provincial triage reads it (待研判) whatever its best-guess label; an
    # incident needs review while every post so far did (it goes to provincial triage, in the digest)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # real cases: unresolved|handling|resolved; an incident keeps its latest post's, and a resolved case is
    # counted and reported but pages nobody at night
    resolution: Mapped[str | None] = mapped_column(String(16))

    def case_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CASE_FIELDS}


CASE_FIELDS = tuple(name for name in CaseFields.__annotations__ if not name.startswith("_"))


class Analysis(CaseFields, Base):
    """The classifier's verdict and extracted facts for one post."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), unique=True)
    label: Mapped[str] = mapped_column(String(16), index=True)  # a Label; analyses are selected by it
    scores: Mapped[dict[str, Any]]
    province: Mapped[str | None] = mapped_column(String(32))
    model_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    clustered: Mapped[bool] = mapped_column(Boolean, default=False, index=True)

    post: Mapped[Post] = relationship(back_populates="analysis")
    incident: Mapped[Incident | None] = relationship(back_populates="analyses")


class Incident(CaseFields, Base):
    """One real-world case (or one false claim: label REAL or FALSE) that many posts may describe."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    signature: Mapped[list[Any]] = mapped_column(default=list)  # MinHash values of the first post
    post_count: Mapped[int] = mapped_column(default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)  # reposts + comments over its posts
    first_seen: Mapped[datetime] = mapped_column(default=clock.now)
    last_seen: Mapped[datetime] = mapped_column(default=clock.now)
    # pending: needs (re-)alerting; alerted: nothing new since the last alert
    alert_state: Mapped[str] = mapped_column(String(16), default=AlertState.PENDING, index=True)
    alerted_severity: Mapped[int | None]
    alerted_cities: Mapped[list[Any]] = mapped_column(default=list)
    alerted_reach: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    analyses: Mapped[list[Analysis]] = relationship(back_populates="incident")
    lead: Mapped[Lead | None] = relationship(back_populates="incident", uselist=False)


class Lead(Base):
    """The ledger (台账) entry of an alerted incident, owned by one responsible officer (首问负责制)."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    city: Mapped[str | None] = mapped_column(String(32), index=True)  # None: provincial office
    officer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default=LeadKind.NEW)
    status: Mapped[str] = mapped_column(String(16), default=LeadStatus.OPEN, index=True)
    deadline: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    acknowledged_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    # When the responsible officer was (or, for a held alert, will be) told: the acknowledgement clock starts here.
    notified_at: Mapped[datetime | None]
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    # Compare-and-set: every UPDATE names the version it read (SQLAlchemy's version counter), so of two
    # officers changing the same lead at once one is refused instead of both being applied.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    amount_recovered: Mapped[float | None]
    workers_paid: Mapped[int | None]
    transferred_to: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str | None] = mapped_column(String(16))  # a Label, the officer's finding
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    incident: Mapped[Incident] = relationship(back_populates="lead")

    __mapper_args__ = {"version_id_col": version}


class SendState:
    """How far one outgoing message got: pending -> sending -> sent | failed (retry later) | dead | unknown
    (outcome ambiguous, or the sender vanished and its lease expired). Shared by alert and report deliveries."""

    status: Mapped[str] = mapped_column(String(16), default=SendStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Set when a worker claims the row as `sending`: until then no other worker may call it interrupted.
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))


class AlertDelivery(SendState, Base):
    """One message to one person on one channel for one reason; the unique key forbids a second one."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("incident_id", "recipient_id", "channel", "reason", name="uq_delivery"),
        Index("ix_deliveries_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    recipient_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    channel_index: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(64))  # e.g. new, severity-3, escalate-1, transfer


class AuditEvent(Base):
    """An append-only trail of every change a person or stage made."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OfficerToken(Base):
    """A link token an officer's alert carries; only its SHA-256 is stored, so a database leak opens nothing."""

    __tablename__ = "officer_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]  # `wagewatch link revoke PERSON`


class ReportDelivery(SendState, Base):
    """One emailed report (周调度/月通报) to one person; unique per period, scope and recipient."""

    __tablename__ = "report_deliveries"
    __table_args__ = (
        UniqueConstraint("period", "scope", "recipient_id", name="uq_report_delivery"),
        Index("ix_report_deliveries_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(16))  # 2026-W48 or 2026-11
    scope: Mapped[str] = mapped_column(String(32))  # 全省 or a city
    recipient_id: Mapped[str] = mapped_column(String(64))


class IndexQueue(Base):
    """Outbox of rows whose search documents must be (re)written to Elasticsearch.

    One row per change (no unique key): the feed deletes the rows it read once their documents are
    written, so a change made while it was sending stays queued.
    """

    __tablename__ = "index_queue"
    __table_args__ = (Index("ix_index_queue_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))  # an Indexed
    entity_id: Mapped[int] = mapped_column(Integer)
    enqueued_at: Mapped[datetime] = mapped_column(default=clock.now)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


def table_of(model: type[Base]) -> Table:
    """The model's table, for Core statements: bulk writes on hot paths skip the ORM's per-row work."""
    return cast(Table, model.__table__)


def enqueue_index(session: Session, entity: Indexed, *entity_ids: int) -> None:
    """The one way rows reach the index_queue outbox: in the caller's transaction, so a document is queued
    exactly when the change that needs it commits. One multi-row INSERT on the table: an ORM object per row
    cost an INSERT each (the ORM reads every new id back), the larger part of a stage's writes."""
    if entity_ids:
        rows = [{"entity": entity, "entity_id": entity_id} for entity_id in entity_ids]
        session.execute(insert(table_of(IndexQueue)), rows)


class SourceState(Base):
    """Per-source crawl state that must outlive a run: the back-off after a block."""

    __tablename__ = "source_states"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    blocked_until: Mapped[datetime | None]  # no crawl of this source starts before this time
    consecutive_blocks: Mapped[int] = mapped_column(default=0)  # doubles the back-off each time
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class CrawlCursor(Base):
    """How far one query of one source has been read, so paging stops at what is known and an
    interrupted pass is finished by the next run instead of leaving a gap."""

    __tablename__ = "crawl_cursors"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_crawl_cursor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(512))  # the query, forum or time slice
    watermark: Mapped[datetime | None]  # newest post time of the last completed pass
    pass_started_at: Mapped[datetime | None]  # set while a pass runs; still set = it was interrupted
    completed_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what a resumed pass needs (time slices)


class OpsAlert(Base):
    """One message to one ops contact about one episode of a source's trouble (blocked, failing,
    silent). The episode key comes from the crawl history, so re-checking never alerts twice."""

    __tablename__ = "ops_alerts"
    __table_args__ = (
        UniqueConstraint("source", "kind", "episode", "recipient_id", "channel", name="uq_ops_alert"),
        Index("ix_ops_alerts_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # a ProblemKind
    episode: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[datetime | None]  # the source recovered
    # a SendStatus
    status: Mapped[str] = mapped_column(String(16), default=SendStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=clock.now)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
