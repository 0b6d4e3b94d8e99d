"""Officer link tokens: random, carried in the alert's link, stored only as a SHA-256 hash, expiring."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wagewatch.core.store.models import OfficerToken


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def mint(session: Session, person_id: str, now: datetime, valid_hours: int) -> str:
    """A new token for `person_id`, valid for `valid_hours`; only its hash is stored."""
    token = secrets.token_urlsafe(24)
    session.add(
        OfficerToken(
            token_hash=_digest(token),
            person_id=person_id,
            created_at=now,
            expires_at=now + timedelta(hours=valid_hours),
        )
    )
    return token


def resolve(session: Session, token: str, now: datetime) -> OfficerToken | None:
    """The token's record if it exists and has not expired."""
    if not token or len(token) > 128:
        return None
    record = session.scalar(select(OfficerToken).where(OfficerToken.token_hash == _digest(token)))
    if record is None or record.expires_at <= now:
        return None
    return record
