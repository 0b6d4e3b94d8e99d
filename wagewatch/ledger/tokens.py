"""Officer link tokens: random, one person's own, carried in the alert's link (never in a group robot's
message), stored only as a SHA-256 hash, expiring after policy.link_valid_hours, revocable per person."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wagewatch.core.store.models import OfficerToken, table_of

_INSERT = insert(table_of(OfficerToken))
_PENDING = "wagewatch.ledger.tokens.pending"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def mint(session: Session, person_id: str, now: datetime, valid_hours: int) -> str:
    """A new token for `person_id`, valid for `valid_hours`; only its hash is stored."""
    token = mint_pending(session, person_id, now, valid_hours)
    insert_pending(session)
    return token


def mint_pending(session: Session, person_id: str, now: datetime, valid_hours: int) -> str:
    """A new token whose row waits in the session until `insert_pending`: dispatch mints one for every personal
    alert of a wave, and one INSERT for all of them costs what one did for each."""
    token = secrets.token_urlsafe(24)
    session.info.setdefault(_PENDING, []).append(
        dict(
            token_hash=_digest(token),
            person_id=person_id,
            created_at=now,
            expires_at=now + timedelta(hours=valid_hours),
        )
    )
    return token


def insert_pending(session: Session) -> None:
    """Store the tokens `mint_pending` made in this session (one Core INSERT)."""
    rows = session.info.pop(_PENDING, None)
    if rows:
        session.execute(_INSERT, rows)


def resolve(session: Session, token: str, now: datetime) -> OfficerToken | None:
    """The token's record if it exists, has not expired and was not revoked."""
    if not token or len(token) > 128:
        return None
    record = session.scalar(select(OfficerToken).where(OfficerToken.token_hash == _digest(token)))
    if record is None or record.expires_at <= now or record.revoked_at is not None:
        return None
    return record


def revoke(session: Session, person_id: str, now: datetime) -> int:
    """Revoke every live token of `person_id` (a lost phone, a leaked link); returns how many."""
    return session.execute(
        update(OfficerToken)
        .where(OfficerToken.person_id == person_id, OfficerToken.revoked_at.is_(None), OfficerToken.expires_at > now)
        .values(revoked_at=now)
    ).rowcount
