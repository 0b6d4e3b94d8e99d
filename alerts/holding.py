"""When a delivery may go out: at once, at the end of quiet hours, or with the next digest.

Only real incidents of low severity wait, and texts sent to review or cases already resolved, which always
go with the digest. Other incidents of severity 3 and 4 are never held (policy.yaml cannot set a digest
or quiet-hours threshold above 2), and neither are false claims: the notice asks for prompt clarification
of 虚假讨薪 rumours before they spread, which matters most at night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wagewatch.core import timewindow
from wagewatch.core.config import Policy
from wagewatch.core.states import SendStatus
from wagewatch.core.store.models import Incident


@dataclass(frozen=True)
class Release:
    status: SendStatus  # PENDING (sent individually) or DIGEST (batched with others for the same person)
    at: datetime


def held_for_digest(incident: Incident) -> bool:
    """A text sent to review (待研判) or a case already resolved: recorded, reported, in the digest, and no
    page at night — not even when it escalates."""
    return bool(incident.needs_review) or incident.resolution == "resolved"


def release(
    policy: Policy, label: str, severity: int | None, now: datetime, digest: bool = True, hold: bool = False
) -> Release:
    """When an alert about an incident of this label and severity may be sent; `digest=False` for follow-ups
    (escalations, reminders) that must stand on their own. `hold`: a text sent to review (待研判) or a case
    already resolved waits for the next digest whatever its severity: nobody is paged at night for it."""
    if hold:
        return Release(SendStatus.DIGEST, timewindow.next_time(policy.digest.times, now))
    level = severity or 0
    if label != "real" or not level:
        return Release(SendStatus.PENDING, now)
    if digest and level <= policy.digest.max_severity:
        return Release(SendStatus.DIGEST, timewindow.next_time(policy.digest.times, now))
    quiet = policy.quiet_hours
    if quiet.hours and level <= quiet.max_severity:
        return Release(SendStatus.PENDING, timewindow.window_end(quiet.hours, now))
    return Release(SendStatus.PENDING, now)
