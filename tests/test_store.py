"""The store on SQLite and PostgreSQL: migrations, unique keys and the same stage code on both."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text

from tests.helpers import wagewatch
from tests.test_end_to_end import DAYTIME, point_at, serve_weibo
from wagewatch.core import clock
from wagewatch.core.config import load_config
from wagewatch.core.store import Database
from wagewatch.core.store.models import AlertDelivery, Incident, Lead, Post
from wagewatch.pipeline import run_stage

TABLES = {"crawl_runs", "posts", "analyses", "incidents", "leads", "alert_deliveries", "audit_events", "index_queue"}


def _post(external_id: str) -> dict:
    return dict(
        source="weibo", external_id=external_id, url="u", text="t", text_raw="t", fetched_at=clock.now(), state="new"
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Database:
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = Database(url)
    db.upgrade()
    yield db
    if request.param == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
    db.dispose()


def test_migrations_create_every_table_and_are_idempotent(database):
    database.upgrade()  # a second upgrade is a no-op
    assert set(inspect(database.engine).get_table_names()) >= TABLES
    if database.engine.dialect.name == "sqlite":
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_post_unique_per_source_and_external_id(database):
    with database.session() as session:
        first = database.insert_ignore(session, Post, _post("1"))
        assert isinstance(first, int)
        assert database.insert_ignore(session, Post, _post("1")) is None
        assert database.insert_ignore(session, Post, {**_post("1"), "source": "tieba"}) not in (None, first)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 2


def test_pipeline_on_both_databases(database, config_files, test_site, smtp_server, monkeypatch):
    point_at(config_files, test_site, smtp_server)
    serve_weibo(test_site)
    config_files.update("settings.yaml", lambda s: s.update(database_url=database.url))
    assert wagewatch(config_files.root, "crawl", "weibo").returncode == 0
    config = load_config(config_files.root)
    clock.freeze(DAYTIME)
    for stage in ("analyze", "cluster", "dispatch"):
        run_stage(stage, config, database)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 3
        assert session.scalar(select(func.count()).select_from(Lead)) == session.scalar(
            select(func.count()).select_from(Incident)
        )
        sent = session.scalar(select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status == "sent"))
    assert sent == len(smtp_server.messages) > 0
