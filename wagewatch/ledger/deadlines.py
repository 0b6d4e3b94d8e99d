"""Handling deadlines from policy: new leads on government-investment or state-owned-enterprise projects
in 3 days, backlog and complex cases in 7 (鲁就办〔2023〕18号), others by the configured default."""

from __future__ import annotations

from datetime import datetime, timedelta

from wagewatch.core.config import Policy


def deadline_days(policy: Policy, project_type: str | None, kind: str) -> int:
    if kind in ("backlog", "complex"):
        return policy.deadlines.backlog_or_complex_days
    if project_type in ("government", "soe"):
        return policy.deadlines.government_or_soe_days
    return policy.deadlines.default_days


def deadline(policy: Policy, project_type: str | None, kind: str, start: datetime) -> datetime:
    return start + timedelta(days=deadline_days(policy, project_type, kind))
