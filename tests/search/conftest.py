"""A real Elasticsearch 8 for the search tests: one node per session, from index/testing/es_runner.py
(Java and Maven needed), or the cluster WAGEWATCH_ES_URL names. Without either the tests skip with the
reason, which tests/conftest.py turns into a failure when CI=true."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from elasticsearch import Elasticsearch

from tests.conftest import REPO
from tests.search.data import seed_store
from wagewatch.core import clock
from wagewatch.core.config import AppConfig, load_config
from wagewatch.core.store import Database
from wagewatch.index.testing.es_runner import EsNode, NodeUnavailable, wait_for_health
from wagewatch.pipeline import run_stage

SEEDED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=clock.LOCAL_TZ)
AFTER_SEEDING = SEEDED_AT + timedelta(hours=1)


class SearchCluster:
    """The cluster the tests use; `node` is None when WAGEWATCH_ES_URL names an outside one."""

    def __init__(self, url: str, node: EsNode | None) -> None:
        self.url = url
        self.node = node

    def client(self) -> Elasticsearch:
        return Elasticsearch(self.url, request_timeout=30)


@pytest.fixture(scope="session")
def es_cluster() -> Iterator[SearchCluster]:
    outside = os.environ.get("WAGEWATCH_ES_URL")
    if outside:
        try:
            wait_for_health(outside.rstrip("/"), timeout=30)
        except NodeUnavailable as exc:
            pytest.skip(f"WAGEWATCH_ES_URL={outside} is not a healthy Elasticsearch: {exc}")
        yield SearchCluster(outside.rstrip("/"), None)
        return
    with private_node("no Elasticsearch for the search tests") as node:
        yield SearchCluster(node.url, node)


@contextmanager
def private_node(purpose: str) -> Iterator[EsNode]:
    """A node of the test's own in a temporary folder, removed afterwards; skips saying why if none starts."""
    home = Path(tempfile.mkdtemp(prefix="wagewatch-es-test-"))
    node = EsNode(home)
    try:
        node.start()
    except NodeUnavailable as exc:
        shutil.rmtree(home, ignore_errors=True)
        pytest.skip(f"{purpose}: {exc}")
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def es_client(es_cluster) -> Iterator[Elasticsearch]:
    client = es_cluster.client()
    yield client
    client.close()


def _drop_prefix(client: Elasticsearch, name: str) -> None:
    indices = list(client.indices.get(index=f"{name}-*", expand_wildcards="all").body)
    if indices:
        client.indices.delete(index=",".join(indices))
    templates = client.options(ignore_status=404).indices.get_index_template(name=f"{name}-*").body
    for template in templates.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])


def _new_prefix() -> str:
    """Each test (or module) gets indices of its own on the shared node."""
    return f"t{uuid.uuid4().hex[:10]}"


def write_search_config(root: Path, url: str, prefix: str) -> AppConfig:
    """A copy of the shipped config with the store in `root` and Elasticsearch at `url` under `prefix`."""
    config_dir = root / "config"
    shutil.copytree(REPO / "config", config_dir)
    settings_file = config_dir / "settings.yaml"
    settings = yaml.safe_load(settings_file.read_text(encoding="utf-8"))
    settings.update(database_url=f"sqlite:///{root / 'wagewatch.db'}", outbox_dir=str(root / "outbox"))
    settings["elasticsearch"].update(url=url, index_prefix=prefix, bulk_batch_size=50, retries=1)
    settings_file.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return with_es(load_config(config_dir), url=url)  # `url` even where WAGEWATCH_ES_URL names another


def with_es(config: AppConfig, **changes) -> AppConfig:
    """The config with some elasticsearch settings changed."""
    es = config.settings.elasticsearch.model_copy(update=changes)
    return config.model_copy(update={"settings": config.settings.model_copy(update={"elasticsearch": es})})


@pytest.fixture
def prefix(es_client) -> Iterator[str]:
    name = _new_prefix()
    yield name
    _drop_prefix(es_client, name)


@pytest.fixture
def search_config(tmp_path, es_cluster, prefix) -> AppConfig:
    return write_search_config(tmp_path, es_cluster.url, prefix)


def seeded(config: AppConfig) -> Database:
    db = Database(config.settings.database_url)
    db.upgrade()
    clock.freeze(SEEDED_AT)
    seed_store(db, config)
    return db


@pytest.fixture
def seeded_db(search_config) -> Iterator[Database]:
    """The store after analyse, cluster and dispatch ran over tests/search/data.py's posts."""
    db = seeded(search_config)
    clock.freeze(AFTER_SEEDING)
    yield db
    db.dispose()


@dataclass
class IndexedStore:
    config: AppConfig
    db: Database
    prefix: str
    client: Elasticsearch
    report: dict


@pytest.fixture(scope="module")
def indexed_store(es_cluster, tmp_path_factory) -> Iterator[IndexedStore]:
    """Seeded store fed into Elasticsearch once per module, for tests that only read."""
    prefix = _new_prefix()
    config = write_search_config(tmp_path_factory.mktemp("search"), es_cluster.url, prefix)
    db = seeded(config)
    clock.freeze(AFTER_SEEDING)
    client = es_cluster.client()
    try:
        report = run_stage("index", config, db)
        client.indices.refresh(index=f"{prefix}-*")
        clock.freeze(None)
        yield IndexedStore(config, db, prefix, client, report)
    finally:
        clock.freeze(None)
        _drop_prefix(client, prefix)
        client.close()
        db.dispose()


def es_reachable(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_cluster/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
