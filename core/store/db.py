"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web app read while a stage writes; busy_timeout makes writers wait instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema (idempotent)."""
    command.upgrade(alembic_config(url), "head")


class Database:
    """The store: one engine and a session factory. Call `upgrade()` once at start."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def upgrade(self) -> None:
        upgrade(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any error.

        `write=True` for a transaction that reads rows and then changes them depending on what it read: on
        SQLite it takes the write lock first (BEGIN IMMEDIATE), so two processes cannot both act on the same
        reading; on PostgreSQL the caller locks the rows it reads (FOR UPDATE [SKIP LOCKED]).
        """
        with self._sessions() as session, session.begin():
            if write and self.is_sqlite:
                session.execute(text("BEGIN IMMEDIATE"))
            yield session

    def insert_ignore(self, session: Session, model: Any, values: dict[str, Any]) -> int | None:
        """INSERT unless a unique key already exists (SQLite and PostgreSQL); the new row's id, else None.

        RETURNING rather than rowcount: PostgreSQL drivers report -1 rows for such inserts.
        """
        insert = sqlite_insert if self.is_sqlite else pg_insert
        statement = insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
        return session.execute(statement).scalar()

    def insert_ignore_many(self, session: Session, model: Any, rows: list[dict[str, Any]]) -> int:
        """INSERT each row unless its unique key exists, in one statement (executemany); how many were new.
        A Core statement on the table: the ORM's bulk path costs more than the rows themselves."""
        insert = sqlite_insert if self.is_sqlite else pg_insert
        table = model.__table__
        statement = insert(table).on_conflict_do_nothing().returning(table.c.id)
        return len(session.execute(statement, rows).all())

    def dispose(self) -> None:
        self.engine.dispose()
