"""Routing: which people must hear about an incident, and why.

The cases follow the notice: a real incident goes to the on-duty officer of its city (首问负责制), severity 3
adds the city leader and severity 4 the provincial office at once; a place the classifier could not pin down
goes to provincial triage, and so does a text the classifier could not call (待研判); an incident outside Shandong goes to the provincial office for transfer (转办); a
false claim goes to the city's publicity and cyberspace offices for clarification (澄清), not to inspectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wagewatch.core import clock, timewindow
from wagewatch.core.config import CitiesFile, Person, Rota

OUT_OF_PROVINCE = "out_of_province"


@dataclass(frozen=True)
class Target:
    person: Person
    reason: str  # e.g. "new", "severity-3", "severity-4", "transfer", "clarify", "triage"
    city: str | None  # the lead list the person belongs to (None: province)


def on_duty(rota: Rota | None, at: datetime) -> bool:
    """Whether a rota covers `at` (China Standard Time); a rota past midnight ('20:00-08:00') wraps."""
    if rota is None:
        return True
    local = clock.local(at)
    if not timewindow.covers(rota.hours, local.time()):
        return False
    # The night shift belongs to the day it started on.
    weekday = local.isoweekday()
    if timewindow.started_yesterday(rota.hours, local.time()):
        weekday = (weekday - 2) % 7 + 1
    return weekday in rota.weekdays


def duty_officers(cities: CitiesFile, city: str, at: datetime) -> list[Person]:
    """The city's duty officers on shift at `at`; everyone with the duty role if no rota covers it."""
    duty = cities.cities[city].with_role("duty")
    on_shift = [p for p in duty if on_duty(p.rota, at)]
    return on_shift or duty


def route(
    cities: CitiesFile, label: str, city: str | None, severity: int | None, at: datetime, review: bool = False
) -> list[Target]:
    """The people an incident's alert goes to, with the reason each is included; the first is the lead owner.
    A text the model could not call (`review`) goes to provincial triage whatever its best-guess label."""
    province = cities.province
    if review:
        return [Target(p, "review", None) for p in province.with_role("triage")]
    if label == "false":
        local = cities.cities[city].with_role("publicity") if city in cities.cities else []
        if local:
            return [Target(p, "clarify", city) for p in local]
        return [Target(p, "clarify", None) for p in province.with_role("publicity") or province.with_role("triage")]
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
