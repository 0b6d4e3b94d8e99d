"""The embedded node's runner explains what is missing instead of failing obscurely."""

from __future__ import annotations

import pytest

from wagewatch.index.testing import es_runner


def test_missing_java_is_named(monkeypatch):
    monkeypatch.setattr(es_runner.shutil, "which", lambda name: None if name == "javac" else f"/usr/bin/{name}")
    with pytest.raises(es_runner.NodeUnavailable, match="javac not found.*WAGEWATCH_ES_URL"):
        es_runner.build()


def test_session_node_is_healthy(es_cluster):
    assert es_runner.wait_for_health(es_cluster.url, timeout=10) in ("green", "yellow")
