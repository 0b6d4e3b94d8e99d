"""Whether an incident already alerted deserves a new alert: only when something that matters changed —
its severity rose, its reach (reposts + comments) jumped, or a new city became involved."""

from __future__ import annotations

from wagewatch.core.config import SHANDONG_CITIES, Realert
from wagewatch.core.store.models import Incident


def severity_rose(incident: Incident) -> bool:
    return incident.alerted_severity is not None and (incident.severity or 0) > incident.alerted_severity


def heat_jumped(incident: Incident, policy: Realert) -> bool:
    before = incident.alerted_reach
    if before is None:
        return False
    return incident.reach >= before * policy.reach_factor and incident.reach - before >= policy.reach_min_increase


def new_city(incident: Incident, city: str | None) -> bool:
    return city in SHANDONG_CITIES and city not in (incident.alerted_cities or [])


def needs_realert(incident: Incident, city: str | None, policy: Realert) -> bool:
    """For an incident that was alerted before (a post about `city` just joined it)."""
    if incident.alerted_severity is None and incident.alerted_reach is None:
        return False  # never alerted: still pending, or never worth alerting
    return severity_rose(incident) or heat_jumped(incident, policy) or new_city(incident, city)
