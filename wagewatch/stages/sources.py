"""Source health: what `wagewatch sources` shows, and the ops alerts that keep a dead source from looking
like a quiet day (blocked, failing repeatedly, silent: see stages/silence.py).

Each problem is an episode whose key comes from the crawl history (the run that began it, or the time of
the last new post), so checking again and again opens it once; the ops contacts get one message per
episode, sent at most once like the incident alerts (see stages/dispatch.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from wagewatch.alerts.channels.base import ChannelError, Envelope
from wagewatch.alerts.delivery import record_failed_send, send
from wagewatch.alerts.render import AlertMessage, template_environment
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, Channel, Person
from wagewatch.core.states import CrawlStatus, Health, ProblemKind, SendStatus
from wagewatch.core.store import Database
from wagewatch.core.store.models import AuditEvent, CrawlRun, OpsAlert, SourceState
from wagewatch.stages.silence import LEARN_DAYS, RunRecord, silence

ACTOR = "system:sources"
HISTORY = 50  # runs looked at per source; a streak longer than this is still reported, keyed by its oldest
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass
class Problem:
    kind: ProblemKind
    episode: str
    summary: str


@dataclass
class SourceHealth:
    source: str
    enabled: bool
    health: Health
    last_run: CrawlRun | None
    last_success_at: datetime | None
    last_new_post_at: datetime | None
    failures_in_a_row: int
    blocked_until: datetime | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def health_text(self) -> str:
        return self.health.caption


def _problems(
    source: str,
    runs: list[CrawlRun],
    history: list[RunRecord],
    last_new: datetime | None,
    first_start: datetime | None,
    config: AppConfig,
    now: datetime,
) -> tuple[list[Problem], int]:
    """Open problems of one source from its newest runs (newest first), and its failures in a row."""
    source_config = config.sources.sources[source]
    streak = []
    for run in runs:
        if run.status == CrawlStatus.OK:
            break
        if run.status in (CrawlStatus.FAILED, CrawlStatus.BLOCKED):
            streak.append(run)
    problems = []
    blocked = [r for r in streak if r.status == CrawlStatus.BLOCKED]
    if blocked:
        problems.append(
            Problem(
                ProblemKind.BLOCKED,
                f"run-{blocked[-1].id}",
                f"{blocked[0].blocked_reason or '被封禁'}；{blocked[0].error_message or ''}".rstrip("；"),
            )
        )
    failed = [r for r in streak if r.status == CrawlStatus.FAILED]
    if len(failed) >= source_config.failure_alert_after:
        problems.append(
            Problem(
                ProblemKind.FAILING,
                f"run-{failed[-1].id}",
                f"连续{len(failed)}次抓取失败，最近一次：{failed[0].error_message or '原因不明'}",
            )
        )
    quiet_since = last_new or first_start
    if reason := silence(source_config, history, quiet_since, last_new is not None, now):
        problems.append(Problem(ProblemKind.SILENT, f"since-{int(quiet_since.timestamp())}", reason))
    return problems, len(streak)


def _history(session, source: str, now: datetime) -> list[RunRecord]:
    """The source's runs of the last LEARN_DAYS, oldest first, as silence detection reads them."""
    rows = session.execute(
        select(CrawlRun.status, CrawlRun.posts_new, CrawlRun.started_at, CrawlRun.finished_at)
        .where(CrawlRun.source == source, CrawlRun.started_at >= now - timedelta(days=LEARN_DAYS))
        .order_by(CrawlRun.id)
    )
    return [RunRecord(status, posts_new or 0, started, finished) for status, posts_new, started, finished in rows]


def source_health(config: AppConfig, db: Database) -> list[SourceHealth]:
    """Every configured source's health, last run and last success."""
    now = clock.now()
    report = []
    with db.session() as session:
        for source, source_config in config.sources.sources.items():
            runs = session.scalars(
                select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id.desc()).limit(HISTORY)
            ).all()
            last_success = session.scalar(
                select(func.max(CrawlRun.finished_at)).where(
                    CrawlRun.source == source, CrawlRun.status == CrawlStatus.OK
                )
            )
            last_new = session.scalar(
                select(func.max(CrawlRun.finished_at)).where(CrawlRun.source == source, CrawlRun.posts_new > 0)
            )
            first_start = session.scalar(select(func.min(CrawlRun.started_at)).where(CrawlRun.source == source))
            state = session.get(SourceState, source)
            blocked_until = state.blocked_until if state and state.blocked_until and state.blocked_until > now else None
            history = _history(session, source, now)
            problems, failures = (
                _problems(source, runs, history, last_new, first_start, config, now) if runs else ([], 0)
            )
            if not source_config.enabled:
                health, problems = Health.DISABLED, []
            elif not runs:
                health = Health.NEVER
            elif blocked_until:
                health = Health.BACKOFF
            else:
                kinds = [p.kind for p in problems]
                health = next((Health(k) for k in ProblemKind if k in kinds), Health.OK)
                if health == Health.OK and runs[0].status in (CrawlStatus.FAILED, CrawlStatus.BLOCKED):
                    health = Health.FAILING if runs[0].status == CrawlStatus.FAILED else Health.BLOCKED
            report.append(
                SourceHealth(
                    source,
                    source_config.enabled,
                    health,
                    runs[0] if runs else None,
                    last_success,
                    last_new,
                    failures,
                    blocked_until,
                    problems,
                )
            )
    return report


# ---------------------------------------------------------------------------- ops alerts


def ops_people(config: AppConfig) -> list[Person]:
    """Everyone with the ops role in cities.yaml; the settings' ops contact when nobody has it."""
    people = [p for office in [config.cities.province, *config.cities.cities.values()] for p in office.with_role("ops")]
    return people or [
        Person(
            id="ops-contact",
            name="运维联系人",
            role="ops",
            channels=[Channel(type="email", to=config.settings.ops_contact)],
        )
    ]


def open_episodes(config: AppConfig, db: Database, report: list[SourceHealth]) -> int:
    """One ops alert per problem episode and ops person; episodes of recovered sources are closed."""
    opened = 0
    now = clock.now()
    people = ops_people(config)
    with db.session() as session:
        for health in report:
            current = {(p.kind, p.episode) for p in health.problems}
            for alert in session.scalars(
                select(OpsAlert).where(OpsAlert.source == health.source, OpsAlert.closed_at.is_(None))
            ).all():
                if (alert.kind, alert.episode) not in current:
                    alert.closed_at = now
            for problem in health.problems:
                for person in people:
                    values = dict(
                        source=health.source,
                        kind=problem.kind,
                        episode=problem.episode,
                        recipient_id=person.id,
                        channel=person.channels[0].type,
                        summary=problem.summary,
                        opened_at=now,
                        status=SendStatus.PENDING,
                        attempts=0,
                        next_attempt_at=now,
                    )
                    alert_id = db.insert_ignore(session, OpsAlert, values)
                    if alert_id is not None:
                        opened += 1
                        session.add(
                            AuditEvent(
                                actor=ACTOR,
                                entity="ops_alert",
                                entity_id=alert_id,
                                action="opened",
                                detail={
                                    "source": health.source,
                                    "kind": problem.kind,
                                    "summary": problem.summary,
                                    "recipient": person.id,
                                },
                            )
                        )
    return opened


_env = template_environment(TEMPLATES)


def render_ops_alert(alert: OpsAlert, health: SourceHealth | None, person: Person) -> AlertMessage:
    context = {"a": alert, "h": health, "kind_text": ProblemKind(alert.kind).caption, "person": person}
    subject = f"【数据源告警】{alert.source}：{ProblemKind(alert.kind).caption}"
    return AlertMessage(
        subject=subject,
        text=_env.get_template("ops_source_alert.txt.j2").render(**context),
        html=_env.get_template("ops_source_alert.html.j2").render(**context),
    )


def deliver_ops_alerts(config: AppConfig, db: Database, report: list[SourceHealth]) -> int:
    """Send due ops alerts; a send interrupted by a crash is marked unknown, never repeated."""
    by_source = {h.source: h for h in report}
    people = {p.id: p for p in ops_people(config)}
    with db.session() as session:
        for alert in session.scalars(select(OpsAlert).where(OpsAlert.status == SendStatus.SENDING)).all():
            alert.status = SendStatus.UNKNOWN
            alert.last_error = "进程在发送过程中中断，是否送达未知；为避免重复发送未自动重发"
        due = session.scalars(
            select(OpsAlert.id)
            .where(
                OpsAlert.status.in_((SendStatus.PENDING, SendStatus.FAILED)), OpsAlert.next_attempt_at <= clock.now()
            )
            .order_by(OpsAlert.id)
        ).all()
    sent = 0
    for alert_id in due:
        with db.session() as session:
            alert = session.get(OpsAlert, alert_id)
            person = people.get(alert.recipient_id)
            if person is None:
                alert.status = SendStatus.DEAD
                alert.last_error = f"recipient {alert.recipient_id} no longer has the ops role in cities.yaml"
                continue
            alert.status = SendStatus.SENDING
            alert.attempts += 1
            envelope = Envelope(
                alert.id,
                person,
                person.channels[0],
                render_ops_alert(alert, by_source.get(alert.source), person),
                kind="ops",
            )
        try:
            message_id = send(envelope, config)
        except ChannelError as exc:
            _record_failure(db, config, alert_id, exc)
            continue
        with db.session() as session:
            alert = session.get(OpsAlert, alert_id)
            alert.status, alert.sent_at, alert.message_id = SendStatus.SENT, clock.now(), message_id
            session.add(
                AuditEvent(
                    actor=ACTOR,
                    entity="ops_alert",
                    entity_id=alert_id,
                    action="sent",
                    detail={"recipient": alert.recipient_id, "channel": alert.channel},
                )
            )
        sent += 1
    return sent


def _record_failure(db: Database, config: AppConfig, alert_id: int, exc: ChannelError) -> None:
    with db.session() as session:
        alert = session.get(OpsAlert, alert_id)
        if record_failed_send(alert, exc, config.policy):
            session.add(
                AuditEvent(
                    actor=ACTOR, entity="ops_alert", entity_id=alert_id, action="dead", detail={"error": str(exc)[:500]}
                )
            )


def check_sources(config: AppConfig, db: Database) -> dict[str, int]:
    """The health check the crawl stage ends with: open new episodes, then deliver their alerts."""
    report = source_health(config, db)
    return {"opened": open_episodes(config, db, report), "sent": deliver_ops_alerts(config, db, report)}
