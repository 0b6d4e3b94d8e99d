"""Named locks shared by every worker of one store, released by the operating system or the database when
their holder dies, so a crashed worker never leaves a lock behind for a person to clear.

PostgreSQL (any number of workers on any number of machines): a session advisory lock on a connection
held for as long as the lock. SQLite (the embedded store, one machine): an exclusive `flock` on a file
beside the database.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from wagewatch.core.store.db import Database


def _key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory lock functions."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big", signed=True)


@contextmanager
def try_lock(db: Database, name: str) -> Iterator[bool]:
    """Hold the lock `name` for the block if no other worker holds it; yields whether it was taken."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            taken = bool(conn.scalar(select(func.pg_try_advisory_lock(_key(name)))))
            conn.commit()
            try:
                yield taken
            finally:
                if taken:
                    conn.scalar(select(func.pg_advisory_unlock(_key(name))))
                    conn.commit()
        return
    database = make_url(db.url).database
    if not database or database == ":memory:":
        yield True  # a private in-memory store has no other worker
        return
    path = Path(f"{database}.locks") / hashlib.sha1(name.encode("utf-8")).hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the file releases the lock
