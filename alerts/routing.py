"""Routing: which people must hear about an incident, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from wagewatch import clock
from wagewatch.config import CitiesFile, Person, Rota

OUT_OF_PROVINCE = "out_of_province"


@dataclass(frozen=True)
class Target:
    person: Person
    reason: str  # e.g. "new", "severity-3", "severity-4", "transfer", "clarify", "triage"
    city: str | None  # the lead list the person belongs to (None: province)


def _parse(hhmm: str) -> time:
    hh, mm = (int(x) for x in hhmm.split(":"))
    return time(23, 59, 59) if hh == 24 else time(hh, mm)


def on_duty(rota: Rota | None, at: datetime) -> bool:
    """Whether a rota covers `at` (China Standard Time); a rota past midnight ('20:00-08:00') wraps."""
    if rota is None:
        return True
    local = clock.local(at)
    start_s, end_s = rota.hours.split("-")
    start, end = _parse(start_s), _parse(end_s)
    now_t = local.time()
    if start <= end:
        return local.isoweekday() in rota.weekdays and start <= now_t <= end
    # The night shift belongs to the day it started on.
    if now_t >= start:
        return local.isoweekday() in rota.weekdays
    yesterday = (local.isoweekday() - 2) % 7 + 1
    return yesterday in rota.weekdays and now_t < end


def duty_officers(cities: CitiesFile, city: str, at: datetime) -> list[Person]:
    """The city's duty officers on shift at `at`; everyone with the duty role if no rota covers it."""
    duty = cities.cities[city].with_role("duty")
    on_shift = [p for p in duty if on_duty(p.rota, at)]
    return on_shift or duty


def route(cities: CitiesFile, label: str, city: str | None, severity: int | None, at: datetime) -> list[Target]:
    """The people an incident's alert goes to, with the reason each is included."""
    province = cities.province
    if label == "false":
        if city in cities.cities:
            return [Target(p, "clarify", city) for p in cities.cities[city].with_role("publicity")]
        return [Target(p, "clarify", None) for p in province.with_role("triage")]
    if city == OUT_OF_PROVINCE:
        return [Target(p, "transfer", None) for p in province.with_role("triage")]
    if city not in cities.cities:
        return [Target(p, "triage", None) for p in province.with_role("triage")]
    reason = f"severity-{severity}" if severity else "new"
    targets = [Target(p, reason, city) for p in duty_officers(cities, city, at)]
    if (severity or 0) >= 3:
        targets += [Target(p, reason, city) for p in cities.cities[city].with_role("leader")]
    if (severity or 0) >= 4:
        targets += [Target(p, reason, None) for p in province.with_role("triage")]
    return targets
