"""Store rows to search documents. Pure functions of the rows and the time, so a document rebuilt from
the same rows is the same document (the feed and `reindex` may both write it, in any order)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wagewatch.core.states import SEVERITY_CAPTIONS, Captioned, Label, LeadKind, LeadStatus
from wagewatch.core.store.models import Analysis, Incident, Lead, Post
from wagewatch.index import places

PROJECT_TYPE_NAMES = {
    "government": "政府投资项目",
    "soe": "国有企业项目",
    "real_estate": "房地产项目",
    "factory": "加工制造企业",
    "other": "其他",
}
# A lead's stage on the dashboards: its ledger status, with 已逾期 for an open lead past its deadline.
STAGE_OPEN, STAGE_ACKNOWLEDGED, STAGE_CLOSED = (
    LeadStatus.OPEN.value,
    LeadStatus.ACKNOWLEDGED.value,
    LeadStatus.CLOSED.value,
)
STAGE_OVERDUE = "已逾期"


def _caption(kind: type[Captioned], value: str | None) -> str | None:
    try:
        return kind(value).caption
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _case(source: Analysis | Incident, now: datetime) -> dict[str, Any]:
    return {
        "label": source.label,
        "label_name": _caption(Label, source.label),
        "severity": source.severity,
        "severity_name": SEVERITY_CAPTIONS.get(source.severity) if source.severity else None,
        "severity_score": source.severity_score,
        "city": source.city,
        "county": source.county,
        "location": places.location(source.city, source.county),
        "company": source.company,
        "project": source.project,
        "project_type": source.project_type,
        "project_type_name": PROJECT_TYPE_NAMES.get(source.project_type or ""),
        "amount_yuan": source.amount_yuan,
        "workers": source.workers,
        "extreme": source.extreme,
        "indexed_at": now.isoformat(),
    }


def post_document(post: Post, analysis: Analysis | None, now: datetime) -> dict[str, Any]:
    document: dict[str, Any] = {
        "post_id": post.id,
        "source": post.source,
        "external_id": post.external_id,
        "url": post.url,
        "title": post.title,
        "text": post.text,
        "author": post.author,
        "published_at": _iso(post.published_at),
        "fetched_at": _iso(post.fetched_at),
        "seen_at": _iso(post.published_at or post.fetched_at),
        "reposts": post.reposts,
        "comments": post.comments,
        "likes": post.likes,
        "reach": post.reach,
        "region": post.region,
        "analyzed": analysis is not None,
        "indexed_at": now.isoformat(),
    }
    if analysis is not None:
        document |= _case(analysis, now) | {
            "incident_id": analysis.incident_id,
            "model_version": analysis.model_version,
        }
    return document


def _hours(start: datetime, end: datetime | None) -> float | None:
    return round((end - start).total_seconds() / 3600, 2) if end is not None else None


def lead_stage(lead: Lead, now: datetime) -> tuple[str, bool]:
    """The ledger column a lead belongs in, and whether it is (or was closed) past its deadline."""
    if lead.closed_at is not None:
        return STAGE_CLOSED, lead.closed_at > lead.deadline
    if lead.deadline < now:
        return STAGE_OVERDUE, True
    return (STAGE_ACKNOWLEDGED if lead.acknowledged_at is not None else STAGE_OPEN), False


def incident_document(
    incident: Incident, first_text: str | None, sources: list[str], lead: Lead | None, now: datetime
) -> dict[str, Any]:
    stage, overdue = lead_stage(lead, now) if lead is not None else (None, False)
    return _case(incident, now) | {
        "incident_id": incident.id,
        "title": incident.title,
        "text": first_text,
        "explanation": "\n".join(str(line) for line in incident.explanation or []),
        "post_count": incident.post_count,
        "reach": incident.reach,
        "sources": sorted(set(sources)),
        "first_seen": _iso(incident.first_seen),
        "last_seen": _iso(incident.last_seen),
        "alert_state": incident.alert_state,
        "lead_id": lead.id if lead else None,
        "lead_status": lead.status if lead else None,
        "lead_stage": stage,
        "lead_deadline": _iso(lead.deadline) if lead else None,
        "overdue": overdue,
    }


def lead_document(lead: Lead, incident: Incident, now: datetime) -> dict[str, Any]:
    stage, overdue = lead_stage(lead, now)
    return _case(incident, now) | {
        "city": lead.city,  # the office that owns the lead, which may differ from the incident's place
        "location": places.location(lead.city, incident.county if lead.city == incident.city else None),
        "lead_id": lead.id,
        "incident_id": lead.incident_id,
        "title": incident.title,
        "officer_id": lead.officer_id,
        "kind": lead.kind,
        "kind_name": _caption(LeadKind, lead.kind),
        "status": lead.status,
        "stage": stage,
        "deadline": _iso(lead.deadline),
        "created_at": _iso(lead.created_at),
        "acknowledged_at": _iso(lead.acknowledged_at),
        "closed_at": _iso(lead.closed_at),
        "updated_at": _iso(lead.updated_at),
        "escalation_level": lead.escalation_level,
        "amount_recovered": lead.amount_recovered,
        "workers_paid": lead.workers_paid,
        "transferred_to": lead.transferred_to,
        "verdict": lead.verdict,
        "open": lead.closed_at is None,
        "acknowledged": lead.acknowledged_at is not None,
        "closed": lead.closed_at is not None,
        "overdue": overdue,
        "days_to_close": round(_hours(lead.created_at, lead.closed_at) / 24, 2) if lead.closed_at else None,
        "hours_to_acknowledge": _hours(lead.created_at, lead.acknowledged_at),
    }


def place_document(place: places.Place) -> dict[str, Any]:
    return {
        "name": place.name,
        "level": place.level,
        "city": place.city,
        "county": place.county,
        "location": place.location,
    }
